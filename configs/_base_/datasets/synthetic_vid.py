# The synthetic ImageNet VID look-alike, single-frame style: data made by
#   python tools/misc/make_synthetic_vid.py --out data/synthetic_vid
#   python tools/dataset_converters/imagenet_vid.py -i data/synthetic_vid -o data/synthetic_vid/annotations
# (160x128 JPEG frames in the ILSVRC2015 layout). The data of ./imagenet_vid_fgfa_style.py
# (VID train key frames + DET images; VID val, every frame) under another root and frame size,
# batches of 4, and VIDMetric also scored on the generator's degraded / clean frame lists.
# Multi-frame variant: ./synthetic_vid_mamba_style.py.
_base_ = './imagenet_vid_fgfa_style.py'

data_root = 'data/synthetic_vid/'
img_scale = (160, 128)

train_pipeline = [dict(step, scale=img_scale) if step['type'] == 'Resize' else step for step in _base_.train_pipeline]
test_pipeline = [dict(step, scale=img_scale) if step['type'] == 'Resize' else step for step in _base_.test_pipeline]
vid_train_dataset = dict(_base_.vid_train_dataset, data_root=data_root, pipeline=train_pipeline)
det_train_dataset = dict(_base_.det_train_dataset, data_root=data_root, pipeline=train_pipeline)
vid_val_dataset = dict(_base_.vid_val_dataset, data_root=data_root, pipeline=test_pipeline)

# every frame has the same size: no aspect-ratio grouping
train_dataloader = dict(batch_size=4, batch_sampler=None, num_workers=1,
                        dataset=dict(datasets=[vid_train_dataset, det_train_dataset]))
val_dataloader = dict(num_workers=1, dataset=vid_val_dataset)
test_dataloader = val_dataloader

frame_subsets = {name: f'{data_root}Lists/VID_val_{name}_frames.txt' for name in ('degraded', 'clean')}
val_evaluator = dict(ann_file=data_root + 'annotations/imagenet_vid_val.json', frame_subsets=frame_subsets)
test_evaluator = val_evaluator
