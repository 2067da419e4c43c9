# Single-frame Faster R-CNN R-18-DC5 trained from scratch on the synthetic VID data (see
# ../_base_/datasets/synthetic_vid.py for making it): a CPU-sized baseline for the video
# detectors, scored by VIDMetric on all val frames and on its clean / degraded frames.
#   python tools/train.py configs/synthetic/faster-rcnn_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/faster-rcnn_r18-dc5_synthetic.py <work_dir>/epoch_8.pth
# The model (../_base_/models/faster-rcnn_r18-dc5_synthetic.py) is the MAMBA variants' too.
_base_ = [
    '../_base_/models/faster-rcnn_r18-dc5_synthetic.py',
    '../_base_/datasets/synthetic_vid.py',
    '../_base_/schedules/synthetic_8e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
