"""Writes a tiny COCO-style detection set and a config that trains a small
Faster R-CNN (ResNet-18 DC5, from scratch) on it, for the tool tests."""
import json
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config

BASE_MODEL = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models', 'faster-rcnn_r50-dc5.py')
CLASSES = ('airplane', 'antelope')


def write_tiny_coco(root, num_images=4, height=64, width=96, seed=0):
    """Images with one bright rectangle each, and their COCO json. Returns the json path."""
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for index in range(num_images):
        image = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
        x, y = int(rng.integers(4, width // 2)), int(rng.integers(4, height // 2))
        w, h = width // 3, height // 3
        image[y:y + h, x:x + w] = (200, 80 + 60 * (index % 2), 40)
        name = f'{index:04d}.jpg'
        cv2.imwrite(osp.join(root, name), image)
        images.append(dict(id=index + 1, file_name=name, height=height, width=width))
        annotations.append(dict(id=index + 1, image_id=index + 1, category_id=index % 2 + 1, bbox=[x, y, w, h],
                                area=w * h, iscrowd=0))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    path = osp.join(root, 'tiny.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return path


def tiny_config(root, max_iters=4):
    """A runnable config dict (iteration-based) for the tiny set under ``root``."""
    ann_file = write_tiny_coco(root)
    model = Config.fromfile(BASE_MODEL).model
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.update(in_channels=[512], out_channels=32)
    model.rpn_head.update(in_channels=32, feat_channels=32)
    model.roi_head.bbox_roi_extractor.out_channels = 32
    model.roi_head.bbox_head.update(in_channels=32, fc_out_channels=32, num_classes=len(CLASSES))
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs'),
    ]
    dataset = dict(type='CocoDataset', data_root=root, ann_file=ann_file, data_prefix=dict(img=''),
                   metainfo=dict(classes=CLASSES), pipeline=pipeline)
    return dict(
        default_scope='mamba_vod',
        model=model,
        train_dataloader=dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                              dataset=dataset),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
    )


def write_tiny_config(root, max_iters=4):
    path = osp.join(root, 'tiny_config.py')
    Config(tiny_config(root, max_iters)).dump(path)
    return path
