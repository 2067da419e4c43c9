"""ImagenetVIDDataset on tiny json + PNG sets (see tiny_vid.py for what each pixel says)."""
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset

from mamba_vod.datasets import ImagenetVIDDataset
from .tiny_vid import frame_value, write_det, write_vid

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip', 'flip_direction',
             'video_id', 'frame_id', 'video_length')


def broadcast(*transforms):
    return dict(type='FrameBroadcaster', share_random_params=True, transforms=list(transforms))


LOAD = dict(type='LoadImageFromFile')
ANNS = dict(type='LoadAnnotations', with_bbox=True)
RESIZE = dict(type='Resize', scale=(96, 64), keep_ratio=True)
VIDEO_TRAIN = [broadcast(LOAD, ANNS, RESIZE, dict(type='RandomFlip', prob=0.5)), dict(type='PackVideoInputs')]
VIDEO_TEST = [broadcast(LOAD, RESIZE), dict(type='PackVideoInputs')]


def dataset(root, ann_file, **kwargs):
    return ImagenetVIDDataset(ann_file=ann_file, data_prefix=dict(img_path=str(root / 'Data')), **kwargs)


def frame_ids_in_pixels(inputs):
    """(T, 3, H, W) uint8 -> frame value of each frame (channel 1 is constant per frame)."""
    return [int(v) for v in inputs[:, 1, 0, 0]]


def is_flipped(frame):
    """(3, H, W): channel 0 rises left to right in the file, so it falls after a flip."""
    return bool(frame[0, 0, 0] > frame[0, 0, -1])


def test_item_has_key_frame_and_references_of_its_video_with_shared_flips(tmp_path):
    ann = write_vid(tmp_path, [6, 5, 4])
    ds = dataset(tmp_path, ann, pipeline=VIDEO_TRAIN,
                 ref_img_sampler=dict(num_ref_imgs=2, frame_range=2, method='bilateral_uniform'))
    assert len(ds) == 15
    random.seed(0)
    flips = []
    for idx in range(len(ds)):
        out = ds[idx]
        sample = out['data_samples']
        inputs = out['inputs']
        assert inputs.dtype == torch.uint8 and inputs.shape == (3, 3, 64, 96)
        video_id, frame_id = sample.video_id, sample.frame_id
        assert len(sample.ref_frame_ids) == 2 and frame_id not in sample.ref_frame_ids
        assert all(abs(r - frame_id) <= 2 for r in sample.ref_frame_ids)
        # the pixels are those of the key frame and of the named references of the same video
        assert frame_ids_in_pixels(inputs) == [frame_value(video_id, f) for f in [frame_id] + sample.ref_frame_ids]
        assert (inputs[:, 2] == video_id * 30).all()
        # one flip decision for all T frames, and it is the one in the metainfo
        assert [is_flipped(f) for f in inputs] == [sample.flip] * 3
        x1 = sample.gt_instances.bboxes.tensor[0, 0].item()
        expected_x1 = 96 - 2 * (4 + frame_id + 20) if sample.flip else 2 * (4 + frame_id)
        assert x1 == pytest.approx(expected_x1)
        assert sample.gt_instances.labels.tolist() == [video_id % 3 + 1 - 1]
        flips.append(sample.flip)
    assert any(flips) and not all(flips)


def test_training_uses_train_frames_as_keys_and_any_frame_as_reference(tmp_path):
    ann = write_vid(tmp_path, [9], train_every=4, empty_frames={(1, 8)})
    ds = dataset(tmp_path, ann, pipeline=VIDEO_TRAIN, filter_cfg=dict(filter_empty_gt=True),
                 ref_img_sampler=dict(num_ref_imgs=2, frame_range=1, method='uniform'))
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == [0, 4]  # frame 8 has no box
    refs = ds.reference_infos(1)
    assert sorted(r['frame_id'] for r in refs) == [3, 5]
    assert ds.get_cat_ids(1) == [1 % 3]  # video 1's boxes are category 2, label 1
    no_filter = dataset(tmp_path, ann, pipeline=[], test_mode=False)
    assert [no_filter.get_data_info(i)['frame_id'] for i in range(len(no_filter))] == [0, 4, 8]


def test_det_images_repeat_the_key_image_and_drop_other_classes(tmp_path):
    ann = write_det(tmp_path, 3)
    ds = dataset(tmp_path, ann, load_as_video=False, pipeline=VIDEO_TRAIN,
                 ref_img_sampler=dict(num_ref_imgs=2, frame_range=9, method='bilateral_uniform'))
    assert len(ds) == 3
    for idx in range(3):
        out = ds[idx]
        sample = out['data_samples']
        assert torch.equal(out['inputs'][1], out['inputs'][0]) and torch.equal(out['inputs'][2], out['inputs'][0])
        assert frame_ids_in_pixels(out['inputs']) == [frame_value(7, idx)] * 3
        assert (sample.video_id, sample.frame_id, sample.video_length) == (-1, 0, 1)
        assert sample.ref_frame_ids == [0, 0]
        assert sample.gt_instances.labels.tolist() == [1]  # antelope kept, category 31 dropped


def test_test_mode_gives_every_frame_in_video_order_with_video_metainfo(tmp_path):
    ann = write_vid(tmp_path, [4, 2], train_every=100)
    pipeline = [LOAD, RESIZE, dict(type='PackDetInputs', meta_keys=META_KEYS)]
    ds = dataset(tmp_path, ann, pipeline=pipeline, test_mode=True)
    metas = [ds[i]['data_samples'].metainfo for i in range(len(ds))]
    assert [(m['video_id'], m['frame_id'], m['video_length']) for m in metas] == \
        [(1, 0, 4), (1, 1, 4), (1, 2, 4), (1, 3, 4), (2, 0, 2), (2, 1, 2)]
    assert [m['img_id'] for m in metas] == list(range(1, 7))
    assert metas[5]['img_path'].endswith('vid_02/000001.png')
    assert ds.video_frame_indices() == [[0, 1, 2, 3], [4, 5]]
    assert ds[0]['inputs'].shape == (3, 64, 96)  # mmdet's single-frame packing


def test_paper_protocol_gives_14_references_at_frame_0_only_and_the_rest_shuffled(tmp_path):
    ann = write_vid(tmp_path, [27, 3])
    ds = dataset(tmp_path, ann, pipeline=VIDEO_TEST, test_mode=True, test_protocol='paper')
    first = ds[0]
    assert first['inputs'].shape == (15, 3, 64, 96)
    assert first['data_samples'].ref_frame_ids == list(range(0, 27, 2))
    assert frame_ids_in_pixels(first['inputs']) == [frame_value(1, f) for f in [0] + list(range(0, 27, 2))]
    later = ds[5]
    assert later['inputs'].shape == (1, 3, 64, 96) and later['data_samples'].ref_frame_ids == []
    short = ds[27]['data_samples']
    assert (short.video_id, short.frame_id, short.ref_frame_ids) == (2, 0, [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    order = ds.video_frame_indices()
    assert order[0][0] == 0 and sorted(order[0]) == list(range(27)) and order[0] != list(range(27))
    assert order[1][0] == 27 and sorted(order[1]) == [27, 28, 29]
    online = dataset(tmp_path, ann, pipeline=VIDEO_TEST, test_mode=True, test_protocol='online')
    assert online.video_frame_indices() == [list(range(27)), [27, 28, 29]] and len(online[0]['inputs']) == 1


def test_vid_and_det_mix_through_concat_dataset(tmp_path):
    vid = dict(type='ImagenetVIDDataset', ann_file=write_vid(tmp_path, [3]), pipeline=VIDEO_TRAIN,
               data_prefix=dict(img_path=str(tmp_path / 'Data')), ref_img_sampler=dict(num_ref_imgs=2))
    det = dict(vid, ann_file=write_det(tmp_path, 2), load_as_video=False)
    mixture = ConcatDataset(datasets=[vid, det])
    assert len(mixture) == 5
    assert [mixture[i]['data_samples'].video_id for i in range(5)] == [1, 1, 1, -1, -1]
    assert mixture.metainfo['classes'][29] == 'zebra'


def test_misconfigurations_are_refused(tmp_path):
    ann = write_vid(tmp_path, [3])
    with pytest.raises(ValueError, match='indices'):
        dataset(tmp_path, ann, indices=[0])
    with pytest.raises(ValueError, match="references from its test protocol.*test_protocol='mamba_offline'"):
        dataset(tmp_path, ann, test_mode=True, ref_img_sampler=dict(method='uniform'))
    with pytest.raises(ValueError, match="test_protocol='paper' is for test datasets"):
        dataset(tmp_path, ann, test_protocol='paper')
    with pytest.raises(ValueError, match="unknown test protocol .*: one of 'online', 'mamba_offline'"):
        dataset(tmp_path, ann, test_mode=True, test_protocol='offline')
    with pytest.raises(ValueError, match='does not fit test_mode=False'):
        dataset(tmp_path, ann, ref_img_sampler=dict(method='test_with_adaptive_stride'))
    with pytest.raises(NotImplementedError, match='select videos in the json'):
        dataset(tmp_path, ann).get_subset([0])


def test_lazy_init_and_serialization_keep_the_samples(tmp_path):
    ann = write_vid(tmp_path, [5, 5], train_every=2)
    eager = dataset(tmp_path, ann, pipeline=[])
    lazy = dataset(tmp_path, ann, pipeline=[], lazy_init=True, serialize_data=False)
    assert len(lazy) == len(eager) == 6
    assert [lazy.get_data_info(i)['img_id'] for i in range(6)] == [eager.get_data_info(i)['img_id'] for i in range(6)]
    assert np.array_equal(eager.get_data_info(-1)['instances'][0]['bbox'], [8, 6, 28, 18])


def test_online_video_pipeline_packs_single_frames(tmp_path):
    ann = write_vid(tmp_path, [3])
    ds = dataset(tmp_path, ann, pipeline=VIDEO_TEST, test_mode=True)
    out = ds[2]
    assert out['inputs'].shape == (1, 3, 64, 96)
    assert out['data_samples'].frame_id == 2 and out['data_samples'].ref_frame_ids == []
    assert frame_ids_in_pixels(out['inputs']) == [frame_value(1, 2)]
