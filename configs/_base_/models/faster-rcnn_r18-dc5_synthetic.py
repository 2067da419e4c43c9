# Faster R-CNN sized for 2 CPU cores, the model of every synthetic-data config (the baseline and,
# as its detector part, every MAMBA variant): a half-width ResNet-18 (base_channels 32, so C5 has
# 256 channels) with the DC5 layout (stride 16), 64-channel neck/RPN/RoI features and a 256-d box
# head, trained from scratch.
_base_ = './faster-rcnn_r50-dc5.py'

channels = 64
model = dict(
    # no ImageNet weights: every layer learns, BN statistics included
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[256], out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=256)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=100)))
