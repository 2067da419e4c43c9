# Single-frame Faster R-CNN baseline schedule (7 epochs):
# the paper's SGD settings for 7 epochs, lr divided by 10 after epoch 5.
_base_ = './sgd_6e.py'

train_cfg = dict(max_epochs=7, val_interval=7)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=7, by_epoch=True, milestones=[5], gamma=0.1)
]
