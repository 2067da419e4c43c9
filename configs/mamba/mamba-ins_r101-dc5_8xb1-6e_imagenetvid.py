# MAMBA R-101-DC5, instance level only (the paper's ablation: 83.7 mAP@0.5 on VID val).
_base_ = './mamba_r50-dc5_8xb1-6e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')),
    pixel_level=None)
