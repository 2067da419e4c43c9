# Temporal RoI Align R-101-DC5 (mmtracking: 82.6 mAP@0.5 on VID val).
_base_ = './selsa-troialign_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
