# The hard synthetic ImageNet VID look-alike: every video holds 2-3 objects of different classes
# and 1-2 unlabelled look-alikes (a class's pattern in another class's colours, on the silhouette
# of one of the video's objects), 64 frames; made by
#   python tools/misc/make_synthetic_vid.py --out data/synthetic_vid_hard --preset hard
#   python tools/dataset_converters/imagenet_vid.py -i data/synthetic_vid_hard -o data/synthetic_vid_hard/annotations
# (tools/misc/synthetic_vid_hard.py says why: a summary of the whole video is wrong for some
# objects, so a memory must find the keys of the same object). The settings of ./synthetic_vid.py
# under another root. The model configs on it: ../../synthetic/*_hard.py.
_base_ = './synthetic_vid.py'

data_root = 'data/synthetic_vid_hard/'
vid_train_dataset = dict(_base_.vid_train_dataset, data_root=data_root)
det_train_dataset = dict(_base_.det_train_dataset, data_root=data_root)
vid_val_dataset = dict(_base_.vid_val_dataset, data_root=data_root)

train_dataloader = dict(dataset=dict(datasets=[vid_train_dataset, det_train_dataset]))
val_dataloader = dict(dataset=vid_val_dataset)
test_dataloader = val_dataloader

frame_subsets = {name: f'{data_root}Lists/VID_val_{name}_frames.txt' for name in ('degraded', 'clean')}
val_evaluator = dict(ann_file=data_root + 'annotations/imagenet_vid_val.json', frame_subsets=frame_subsets)
test_evaluator = val_evaluator
