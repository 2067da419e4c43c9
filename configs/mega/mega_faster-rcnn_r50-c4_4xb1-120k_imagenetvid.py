# MEGA R-50-C4 as mega.pytorch releases it (configs/MEGA/vid_R_50_C4_MEGA_1x.yaml; 77.3 mAP@0.5,
# "not so stable" says its README): ./mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py with
# ResNet-50, res5 followed by a 1x1 conv 2048 -> 256 + ReLU (REDUCE_CHANNEL) and no global
# relation after the local stages (RES_STAGE 0). Released weights:
#   python tools/model_converters/mega_to_mamba_vod.py MEGA_R_50.pth mega_r50_c4.pth --config THIS
_base_ = './mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py'

model = dict(
    backbone=dict(depth=50, init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    roi_head=dict(
        bbox_roi_extractor=dict(res_layer=dict(depth=50), reduce_channels=256, out_channels=256),
        bbox_head=dict(in_channels=256)),
    relation_level=dict(num_global=1))
