# Single-frame Faster R-CNN R-18-DC5 trained from scratch on the synthetic VID data (see
# ../_base_/datasets/synthetic_vid.py for making it): a CPU-sized baseline for the video
# detectors, scored by VIDMetric on all val frames and on its clean / degraded frames.
#   python tools/train.py configs/synthetic/faster-rcnn_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/faster-rcnn_r18-dc5_synthetic.py <work_dir>/epoch_8.pth
# Sized for 2 CPU cores: a half-width ResNet-18 (base_channels 32, so C5 has 256 channels)
# with the DC5 layout (stride 16), 64-channel neck/RPN/RoI features and a 256-d box head.
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/datasets/synthetic_vid.py',
    '../_base_/schedules/synthetic_8e.py',
    '../_base_/default_runtime.py',
]

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

train_dataloader = dict(num_workers=1)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
