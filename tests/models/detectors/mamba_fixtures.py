"""A tiny MAMBA (ResNet-18 DC5, random weights) and clips for the detector tests."""
import copy
from typing import Optional

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from mamba_vod.registry import MODELS

BASE = 'configs/_base_/models/faster-rcnn_r50-dc5.py'


def tiny_model_cfg(*, pixel_level: bool = True, instance_level: bool = True, pixel: Optional[dict] = None,
                   instance: Optional[dict] = None, train: Optional[dict] = None, test: Optional[dict] = None) -> dict:
    """The repository's Faster R-CNN R-50-DC5 base shrunk to ResNet-18, few proposals, as MAMBA.

    Args:
        pixel_level / instance_level: switch each level.
        pixel / instance: entries merged into the level's config (e.g. ``dict(seed=1)``).
        train / test: entries merged into ``train_cfg`` / ``test_cfg`` (e.g. ``dict(pixel=dict(num_keys=9))``).
    """
    cfg = copy.deepcopy(Config.fromfile(BASE).model)
    cfg.type = 'MAMBA'
    cfg.data_preprocessor.type = 'VideoDataPreprocessor'
    cfg.backbone.update(depth=18, init_cfg=None)
    cfg.neck.update(in_channels=[512], out_channels=64)
    cfg.rpn_head.update(in_channels=64, feat_channels=64)
    cfg.roi_head.type = 'MAMBARoIHead'
    cfg.roi_head.bbox_roi_extractor.out_channels = 64
    cfg.roi_head.bbox_head.update(type='InstanceAggregationBBoxHead', in_channels=64, fc_out_channels=128)
    cfg.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=40)
    cfg.train_cfg.rcnn.sampler.num = 32
    cfg.train_cfg.pixel = dict(num_keys=50)
    cfg.test_cfg.rpn.update(nms_pre=200, max_per_img=30)
    cfg.test_cfg.rcnn.max_per_img = 10
    pixel_cfg = dict(geo=dict(type='GEO', channels=64, num_heads=16), seed=0,
                     memory=dict(type='MemoryBank', capacity=400, key_set_size=100, seed=0))
    instance_cfg = dict(geo=dict(type='GEO', channels=128, num_heads=16), proposals_per_frame=10,
                        memory=dict(type='MemoryBank', capacity=300, key_set_size=80, seed=0))
    cfg.pixel_level = {**pixel_cfg, **(pixel or {})} if pixel_level else None
    cfg.instance_level = {**instance_cfg, **(instance or {})} if instance_level else None
    cfg = cfg.to_dict()
    for phase, entries in (('train_cfg', train), ('test_cfg', test)):
        for name, options in (entries or {}).items():
            cfg[phase].setdefault(name, {}).update(options)
    return cfg


def build_tiny_mamba(**options):
    """A tiny MAMBA with seeded random weights; ``options`` as :func:`tiny_model_cfg`."""
    torch.manual_seed(0)
    return MODELS.build(tiny_model_cfg(**options))


def make_sample(video_id=0, frame_id=0, ref_frame_ids=(), height=64, width=96, num_gts=2, img_id=None):
    """A key-frame DetDataSample of the packed format (boxes in the 64x96 image)."""
    sample = DetDataSample(metainfo=dict(
        img_id=frame_id if img_id is None else img_id, img_path=f'v{video_id}/{frame_id:06d}.JPEG',
        ori_shape=(height, width), img_shape=(height, width), scale_factor=(1.0, 1.0), flip=False,
        flip_direction=None, video_id=video_id, frame_id=frame_id, video_length=30,
        ref_frame_ids=list(ref_frame_ids)))
    boxes = torch.tensor([[10., 8., 50., 40.], [40., 20., 90., 60.]])[:num_gts]
    sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.arange(num_gts) % 30)
    sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    return sample


def make_clip(num_frames, height=64, width=96, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (num_frames, 3, height, width), generator=generator, dtype=torch.uint8)


def preprocess(model, clips, samples, training=False):
    data = model.data_preprocessor(dict(inputs=clips, data_samples=samples), training)
    return data['inputs'], data['data_samples']
