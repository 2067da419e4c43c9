# MAMBA R-101-DC5 (pixel + instance level): the paper's main model (84.6 mAP@0.5 on VID val).
# Backbone: torchvision's ImageNet ResNet-101 (torchvision://resnet101, cached by torch hub).
_base_ = './mamba_r50-dc5_8xb1-6e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
