# SELSA R-101-DC5 (mmtracking: 81.5 mAP@0.5 on VID val). Backbone: torchvision's ImageNet
# ResNet-101 (torchvision://resnet101, cached by torch hub).
_base_ = './selsa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
