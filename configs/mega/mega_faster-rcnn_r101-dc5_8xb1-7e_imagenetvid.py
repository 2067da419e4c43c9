# MEGA R-101-DC5 (the shared DC5 detector; mega.pytorch's R-101-C4 form and the released weights:
# ./mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py): ./mega_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py
# with ResNet-101 and, as mega.pytorch's R-101, a second global relation after the local stages.
_base_ = './mega_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')),
    relation_level=dict(num_global=2))
