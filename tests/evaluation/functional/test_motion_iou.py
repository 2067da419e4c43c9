"""Motion IoU (FGFA's speed measure) from instance tracks."""
import numpy as np
import pytest

from mamba_vod.evaluation.functional import ISOLATED_MOTION_IOU, coco_vid_motion_iou, motion_iou


def _shift_iou(k):
    """IoU of two 10x10-pixel boxes shifted by k pixels along x (devkit)."""
    return (10 - k) * 10 / (200 - (10 - k) * 10)


def test_track_moving_one_pixel_per_frame():
    frames = np.arange(5)
    boxes = np.stack([frames, np.zeros(5), frames + 9, np.full(5, 9.0)], axis=1)
    # Shuffled input order: the result must follow the input order.
    perm = np.array([3, 0, 4, 2, 1])
    result = motion_iou(np.zeros(5), np.ones(5), frames[perm], boxes[perm])
    expected = [np.mean([_shift_iou(abs(f - g)) for g in frames if g != f]) for f in frames]
    np.testing.assert_allclose(result, np.array(expected)[perm])


def test_window_tracks_and_isolated_boxes():
    # video 0, instance 7: frames 0, 10 (neighbours) and 21 (11 frames from 10: alone).
    # video 1, instance 7: same id, other video -> its own track, a single box.
    video = [0, 0, 0, 1]
    instance = [7, 7, 7, 7]
    frame = [0, 10, 21, 0]
    boxes = np.array([[0, 0, 9, 9], [2, 0, 11, 9], [0, 0, 9, 9], [0, 0, 9, 9]], dtype=float)
    result = motion_iou(video, instance, frame, boxes)
    np.testing.assert_allclose(result, [_shift_iou(2), _shift_iou(2), ISOLATED_MOTION_IOU,
                                        ISOLATED_MOTION_IOU])
    assert motion_iou(video, instance, frame, boxes, window=11)[2] == pytest.approx(_shift_iou(2))


def test_two_boxes_of_one_instance_in_one_frame_is_an_error():
    with pytest.raises(ValueError, match='instance 3 of video 5 has two boxes in frame 2'):
        motion_iou([5, 5], [3, 3], [2, 2], np.zeros((2, 4)))


def test_from_coco_vid_dict():
    coco = dict(
        images=[dict(id=10, video_id=1, frame_id=0), dict(id=11, video_id=1, frame_id=1)],
        annotations=[dict(id=1, image_id=11, instance_id=4, bbox=[1, 0, 9, 9]),
                     dict(id=2, image_id=10, instance_id=4, bbox=[0, 0, 9, 9])])
    # bbox [x, y, w, h] -> x2 = x + w: boxes [1, 0, 10, 9] and [0, 0, 9, 9], shift 1.
    np.testing.assert_allclose(coco_vid_motion_iou(coco), [_shift_iou(1)] * 2)
    del coco['annotations'][0]['instance_id']
    with pytest.raises(ValueError, match='instance_id'):
        coco_vid_motion_iou(coco)
