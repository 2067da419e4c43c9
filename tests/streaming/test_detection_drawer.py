import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mamba_vod.streaming import DetectionDrawer
from mamba_vod.streaming.detection_drawer import BOX_THICKNESS, class_color, label_rect, tag_size


def detections(boxes, scores, labels) -> DetDataSample:
    sample = DetDataSample()
    sample.pred_instances = InstanceData(bboxes=torch.tensor(np.asarray(boxes), dtype=torch.float32).reshape(-1, 4),
                                         scores=torch.tensor(scores, dtype=torch.float32),
                                         labels=torch.tensor(labels, dtype=torch.long))
    return sample


def outline_mask(box, shape) -> np.ndarray:
    """The pixels of the outline of ``box`` (x1, y1, x2, y2) drawn with ``BOX_THICKNESS``."""
    x1, y1, x2, y2 = box
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    near_x = (cols >= x1 - 1) & (cols <= x2 + 1)
    near_y = (rows >= y1 - 1) & (rows <= y2 + 1)
    on_vertical = ((abs(cols - x1) <= 1) | (abs(cols - x2) <= 1)) & near_y
    on_horizontal = ((abs(rows - y1) <= 1) | (abs(rows - y2) <= 1)) & near_x
    return on_vertical | on_horizontal


def rect_mask(rect, shape) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[rect.y1:rect.y2 + 1, rect.x1:rect.x2 + 1] = True
    return mask


def test_kept_box_and_its_label_are_drawn_and_the_low_score_box_is_not():
    frame = np.zeros((120, 160, 3), np.uint8)
    kept, dropped = (20, 40, 70, 100), (90, 10, 150, 30)
    sample = detections([kept, dropped], [0.8, 0.2], [1, 0])
    image = DetectionDrawer(('cat', 'dog'), score_thr=0.5).draw(frame, sample)
    assert frame.max() == 0 and image.shape == frame.shape  # drawn on a copy

    tag = label_rect(kept, 'dog 0.80', frame.shape[:2])
    tag_pixels = rect_mask(tag, frame.shape[:2])
    kept_outline = outline_mask(kept, frame.shape[:2]) & ~tag_pixels
    assert (image[kept_outline] == class_color(1)).all(axis=1).mean() > 0.9
    # The dropped box's outline is untouched wherever the kept box's label does not reach.
    dropped_outline = outline_mask(dropped, frame.shape[:2]) & ~tag_pixels
    assert dropped_outline.sum() > 100 and image[dropped_outline].max() == 0
    # The label: a tag of the class color with dark text on it, and nothing else outside box and tag.
    tag_colors = image[tag_pixels]
    assert (tag_colors == class_color(1)).all(axis=1).mean() > 0.5
    assert (tag_colors.max(axis=1) < 100).sum() >= 10  # the text's strokes
    elsewhere = ~(tag_pixels | outline_mask(kept, frame.shape[:2]))
    assert image[elsewhere].max() == 0


@pytest.mark.parametrize('box', [(20, 40, 70, 100), (0, 0, 30, 30), (5, 2, 150, 118), (140, 50, 159, 60),
                                 (-10, -5, 40, 20), (100, 100, 159, 119)])
def test_label_stays_inside_the_frame_and_off_the_box_outline(box):
    shape = (120, 160)
    text = 'domestic_cat 0.99'
    rect = label_rect(box, text, shape)
    width, height = tag_size(text)
    assert (rect.x2 - rect.x1 + 1, rect.y2 - rect.y1 + 1) == (width, height)
    assert 0 <= rect.x1 and rect.x2 <= shape[1] - 1 and 0 <= rect.y1 and rect.y2 <= shape[0] - 1
    if box[3] - box[1] > height + 2 * BOX_THICKNESS or box[1] >= height + BOX_THICKNESS:
        assert not (rect_mask(rect, shape) & outline_mask(box, shape)).any()


def test_label_goes_above_a_box_with_room_and_below_a_box_at_the_top():
    shape = (200, 200)
    above = label_rect((50, 100, 120, 150), 'cat 0.90', shape)
    below = label_rect((50, 0, 120, 60), 'cat 0.90', shape)
    assert above.y2 < 100 - 1
    assert below.y1 > 60 + 1


def test_fps_text_is_drawn_top_left_and_colors_differ():
    frame = np.zeros((60, 120, 3), np.uint8)
    sample = detections(np.zeros((0, 4)), [], [])
    image = DetectionDrawer(()).draw(frame, sample, fps=12.5)
    assert image[:20, :60].max() > 0 and image[30:].max() == 0
    assert len({class_color(label) for label in range(30)}) == 30
