# MAMBA ResNeXt-101 64x4d DC5 (pixel + instance level).
# Backbone: OpenMMLab's ImageNet ResNeXt-101 64x4d (open-mmlab://resnext101_64x4d, cached by torch hub).
_base_ = './mamba_r50-dc5_8xb1-6e_imagenetvid.py'

model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=64,
        base_width=4,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
