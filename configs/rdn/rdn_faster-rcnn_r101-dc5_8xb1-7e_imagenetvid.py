# RDN R-101-DC5 (the shared DC5 detector; mega.pytorch's R-101-C4 form and the released weights:
# ./rdn_faster-rcnn_r101-c4_4xb1-60k_imagenetvid.py): ./rdn_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py with ResNet-101.
_base_ = './rdn_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
