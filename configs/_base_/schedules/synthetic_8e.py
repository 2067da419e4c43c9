# The synthetic-data budget shared by the baseline and every MAMBA variant, sized for the
# quickstart on 2 CPU cores: 8 epochs (75 iterations of 4 images each), lr / 10 after epoch 6.
# AdamW: from random weights it gets going in far fewer iterations than the paper's SGD.
# Every model is still improving at 8 epochs; the accuracy evidence trains 16 (lr step at 12):
#   python tools/analysis/synthetic_ablation.py --epochs 16   (docs/benchmarks.md)
max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
