# mmtracking's schedule of its VID methods (DFF, FGFA, SELSA, Temporal RoI Align; and
# X-101 alike): SGD lr 0.01 for 8 GPUs x 1 clip, momentum 0.9, weight decay 1e-4, gradient
# clipping at 35, a linear warm-up over 500 iterations from lr / 3, 7 epochs with lr / 10 after
# epochs 2 and 5. `tools/train.py --auto-scale-lr` rescales lr from this total batch to the real one.
_base_ = './sgd_7e.py'

optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=7, by_epoch=True, milestones=[2, 5], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
