import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mamba_vod.streaming import DetectionDrawer
from mamba_vod.streaming.detection_drawer import class_color


def test_boxes_above_the_threshold_are_drawn_on_a_copy():
    frame = np.zeros((60, 80, 3), np.uint8)
    sample = DetDataSample()
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[10., 20., 50., 55.], [60., 5., 75., 15.]]),
                                         scores=torch.tensor([0.8, 0.2]), labels=torch.tensor([1, 0]))
    image = DetectionDrawer(('cat', 'dog'), score_thr=0.5).draw(frame, sample)
    assert frame.max() == 0 and image.shape == frame.shape
    assert tuple(image[40, 10]) == class_color(1)  # left edge of the kept box
    assert image[10, 60:76].max() == 0  # the low-score box is not drawn


def test_fps_text_is_drawn_top_left_and_colors_differ():
    frame = np.zeros((60, 120, 3), np.uint8)
    sample = DetDataSample()
    sample.pred_instances = InstanceData(bboxes=torch.zeros((0, 4)), scores=torch.zeros(0),
                                         labels=torch.zeros(0, dtype=torch.long))
    image = DetectionDrawer(()).draw(frame, sample, fps=12.5)
    assert image[:20, :60].max() > 0 and image[30:].max() == 0
    assert len({class_color(label) for label in range(30)}) == 30
