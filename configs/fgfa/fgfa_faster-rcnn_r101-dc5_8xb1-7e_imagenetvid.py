# FGFA R-101-DC5 (mmtracking 1.x's config of this name: 77.8 mAP@0.5 published):
# ./fgfa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py
# with torchvision's ImageNet ResNet-101 (torchvision://resnet101, cached by torch hub).
_base_ = './fgfa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
