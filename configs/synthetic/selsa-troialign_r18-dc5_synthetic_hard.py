# ./selsa-troialign_r18-dc5_synthetic.py (Temporal RoI Align) on the hard synthetic set: that model,
# recipe and budget on the data of ./selsa_r18-dc5_synthetic_hard.py.
_base_ = './selsa-troialign_r18-dc5_synthetic.py'

data_root = 'data/synthetic_vid_hard/'
train_dataloader = dict(
    dataset=dict(datasets=[dict(dataset, data_root=data_root) for dataset in _base_.train_dataloader.dataset.datasets]))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
frame_subsets = {name: f'{data_root}Lists/VID_val_{name}_frames.txt' for name in ('degraded', 'clean')}
val_evaluator = dict(ann_file=data_root + 'annotations/imagenet_vid_val.json', frame_subsets=frame_subsets)
test_evaluator = val_evaluator
