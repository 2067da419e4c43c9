import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from mamba_vod.datasets import PackVideoInputs


def frame(value, height=4, width=6):
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = value
    img[0, :, 2] = np.arange(width)  # the column index in the first row, to check the layout
    return img


def frame_results(value, frame_id):
    return dict(img=frame(value), img_id=100 + frame_id, img_path=f'{frame_id}.jpg', ori_shape=(4, 6),
                img_shape=(4, 6), scale_factor=(1.0, 1.0), flip=False, flip_direction=None, video_id=3,
                frame_id=frame_id, video_length=9,
                gt_bboxes=HorizontalBoxes(torch.tensor([[1., 1., 3., 3.], [0., 0., 2., 2.]])),
                gt_bboxes_labels=np.array([4, 5]), gt_ignore_flags=np.array([False, True]))


def test_lists_of_frames_become_one_t_stack_and_the_key_sample():
    frames = [frame_results(10 * (i + 1), fid) for i, fid in enumerate([5, 2, 8])]
    results = {name: [f[name] for f in frames] for name in frames[0]}
    packed = PackVideoInputs().transform(results)
    inputs = packed['inputs']
    assert inputs.shape == (3, 3, 4, 6) and inputs.dtype == torch.uint8
    assert inputs[:, 0, 0, 0].tolist() == [10, 20, 30]  # key first, then references in order
    assert inputs[0, 2, 0].tolist() == list(range(6))  # (H, W, C) -> (C, H, W)
    sample = packed['data_samples']
    assert (sample.img_id, sample.frame_id, sample.video_id, sample.video_length) == (105, 5, 3, 9)
    assert sample.ref_frame_ids == [2, 8]
    assert sample.gt_instances.labels.tolist() == [4]
    assert sample.gt_instances.bboxes.tensor.tolist() == [[1., 1., 3., 3.]]
    assert sample.ignored_instances.labels.tolist() == [5]


def test_a_single_frame_packs_with_t_equal_1_and_no_references():
    packed = PackVideoInputs(meta_keys=('img_id', 'frame_id')).transform(frame_results(7, 4))
    assert packed['inputs'].shape == (1, 3, 4, 6)
    assert packed['data_samples'].metainfo == dict(img_id=104, frame_id=4, ref_frame_ids=[])


def test_frames_of_different_sizes_are_an_error_naming_them():
    frames = [frame_results(1, 0), frame_results(2, 1)]
    frames[1]['img'] = np.zeros((8, 6, 3), np.uint8)
    results = {name: [f[name] for f in frames] for name in frames[0]}
    with pytest.raises(ValueError, match=r'reference frame 1.jpg has shape \(8, 6, 3\) but the key frame 0.jpg'):
        PackVideoInputs().transform(results)
