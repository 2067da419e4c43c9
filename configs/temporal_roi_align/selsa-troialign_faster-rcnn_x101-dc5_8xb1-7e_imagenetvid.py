# Temporal RoI Align ResNeXt-101 64x4d DC5 (mmtracking: 84.1 mAP@0.5 on VID val).
_base_ = './selsa-troialign_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=64,
        base_width=4,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
