# Single-frame Faster R-CNN R-101-DC5 on ImageNet VID + DET: the baseline the MAMBA paper reports
# (75.4 mAP@0.5 on VID val). Needs torchvision's ImageNet weights
# checkpoints/resnet101-63fe2227.pth (download.pytorch.org/models/).
_base_ = './faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
