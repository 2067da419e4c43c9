# DFF ResNeXt-101 64x4d DC5 (mmtracking 1.x's config of this name: 75.5 mAP@0.5 published):
# ./dff_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py with OpenMMLab's ImageNet ResNeXt-101 64x4d
# (open-mmlab://resnext101_64x4d, cached by torch hub).
_base_ = './dff_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=64,
        base_width=4,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
