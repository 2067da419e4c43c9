# Single-frame Faster R-CNN R-101-DC5 on ImageNet VID + DET: the baseline the MAMBA paper reports
# (75.4 mAP@0.5 on VID val). Backbone: torchvision's ImageNet ResNet-101 (torchvision://resnet101,
# downloaded once into the torch hub cache).
_base_ = './faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
