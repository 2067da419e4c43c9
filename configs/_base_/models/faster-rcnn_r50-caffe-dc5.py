# Faster R-CNN R-50-DC5 in the shape of MMDetection's COCO model zoo entry
# faster_rcnn_r50_caffe_dc5_mstrain_3x_coco (box AP 38.7 on COCO val2017), and starting from it:
# for data sets of one's own (configs/custom/), where a detector that already finds objects
# learns new classes from a few videos.
#
# The zoo model differs from ./faster-rcnn_r50-dc5.py (the ImageNet VID model) in four ways, all
# kept here so that its weights fit: a caffe-style ResNet-50 (stride in the 1x1 convs, frozen BN,
# BGR input minus the caffe means, std 1); no neck (the RPN and the RoI head read the 2048-channel
# C5 map, stride 16); an RPN conv of 2048 channels with 5 anchor scales x 3 ratios; RoI features of
# 2048 x 7 x 7 into the first FC. Which parts start trained (load_from, below):
#   backbone (ResNet-50 C1-C5)                     trained on COCO
#   rpn_head (rpn_conv, rpn_cls, rpn_reg)          trained on COCO
#   roi_head.bbox_head.shared_fcs (fc6, fc7)       trained on COCO
#   roi_head.bbox_head.fc_cls / fc_reg             re-initialised (81 / 320 outputs in the zoo model:
#                                                  COCO's 80 classes; here num_classes + 1 / 4 x num_classes)
# A MAMBA built on this model adds its GEOs (pixel level on the 2048-channel map, instance level on
# the 1024-d FCs), which start from their own initialisation. A config sets
# `load_from = _base_.zoo_checkpoint` (default_runtime.py owns load_from); tools/train.py logs
# what it leaves untrained.
#
# The checkpoint is downloaded once into the torch hub cache ($TORCH_HOME/hub/checkpoints,
# ~/.cache/torch/hub/checkpoints by default) and read with weights_only=True; offline, the error
# names the URL and the cache file to put it at (mamba_vod/compat/checkpoint_sources.py).
_base_ = './faster-rcnn_r50-dc5.py'

model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(style='caffe', norm_cfg=dict(type='BN', requires_grad=False), init_cfg=None),
    neck=None,
    rpn_head=dict(in_channels=2048, feat_channels=2048, anchor_generator=dict(scales=[2, 4, 8, 16, 32])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=2048, roi_layer=dict(sampling_ratio=0)),
        bbox_head=dict(in_channels=2048)))

zoo_checkpoint = ('https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
                  'faster_rcnn_r50_caffe_dc5_mstrain_3x_coco/'
                  'faster_rcnn_r50_caffe_dc5_mstrain_3x_coco_20201028_002107-34a53b2c.pth')
