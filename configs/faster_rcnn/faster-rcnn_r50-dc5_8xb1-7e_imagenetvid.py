# Single-frame Faster R-CNN R-50-DC5 on ImageNet VID + DET (30 classes), evaluated on VID val:
# the baseline of the video detectors (mmtracking's faster_rcnn_r50-dc5_1x_imagenetvid).
# 8 GPUs x 1 image; the paper's SGD (lr 1e-3 per 4 images, so 2e-3 for 8) for 7 epochs.
#   bash tools/dist_train.sh configs/faster_rcnn/faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py 8
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/datasets/imagenet_vid_fgfa_style.py',
    '../_base_/schedules/sgd_7e.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=2e-3))
# `tools/train.py --auto-scale-lr` rescales lr 2e-3 from this total batch to the real one
auto_scale_lr = dict(enable=False, base_batch_size=8)
