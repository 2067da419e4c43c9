# Faster R-CNN R-101-C4 in mega.pytorch's form (its BASE_RCNN configs and R-101-C4 body), the
# detector of its released MEGA / RDN models, so that their weights map
# (tools/model_converters/mega_to_mamba_vod.py): a caffe-style ResNet (stride in the 1x1 convs,
# frozen BN, BGR input minus the MSRA means, std 1) up to C4 (stride 16, 1024 channels); the RPN
# on C4 (anchors 64-512, i.e. scales 4/8/16/32 at stride 16); res5 (dilation 2, stride 1) on the
# whole C4 map, then RoIAlign 7x7 on it (Res5RoIExtractor); box coder weights (10, 10, 5, 5).
# Not exact against mega.pytorch (conversion cannot change it): their anchors, box coder and
# RoIAlign use the "+1" pixel convention and no half-pixel offset (here: aligned=False,
# sampling_ratio=0 as theirs; mmdet's anchors and deltas), their FrozenBatchNorm has no eps.
_base_ = './faster-rcnn_r50-dc5.py'

norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    data_preprocessor=dict(mean=[102.9801, 115.9465, 122.7717], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(depth=101, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ), style='caffe',
                  norm_cfg=norm_cfg, frozen_stages=1,
                  init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    neck=None,
    rpn_head=dict(in_channels=1024, feat_channels=1024),
    roi_head=dict(
        bbox_roi_extractor=dict(
            type='Res5RoIExtractor',
            res_layer=dict(type='ResLayer', depth=101, stage=3, stride=1, dilation=2, style='caffe',
                           norm_cfg=norm_cfg, norm_eval=True),
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=False),
            out_channels=2048),
        bbox_head=dict(in_channels=2048,
                       bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=6000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=6000, max_per_img=300), rcnn=dict(max_per_img=300)))
