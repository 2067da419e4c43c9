# The paper's schedule (MAMBA, after SELSA/FGFA): SGD lr 1e-3 for a total batch of 4
# images (scaled linearly by auto_scale_lr), momentum 0.9, weight decay 1e-4,
# gradient clipping at 35, 6 epochs with the lr divided by 10 after epoch 4,
# and a linear warm-up over the first 500 iterations.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=6, val_interval=6)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=6, by_epoch=True, milestones=[4], gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))

auto_scale_lr = dict(enable=False, base_batch_size=4)
