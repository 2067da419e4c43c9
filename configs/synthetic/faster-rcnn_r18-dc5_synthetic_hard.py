# ./faster-rcnn_r18-dc5_synthetic.py on the hard synthetic set (several classes and unlabelled
# look-alikes per video, 64 frames: ../_base_/datasets/synthetic_vid_hard.py says how to make it).
_base_ = [
    '../_base_/models/faster-rcnn_r18-dc5_synthetic.py',
    '../_base_/datasets/synthetic_vid_hard.py',
    '../_base_/schedules/synthetic_8e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
