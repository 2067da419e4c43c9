# ImageNet VID, single-frame style (the Faster R-CNN baseline): train on the mixture of
# ImageNet VID train key frames (the FGFA list: 15 frames per video, `is_vid_train_frame`) and
# the 30-class ImageNet DET train images, through mmengine's ConcatDataset; test on VID val,
# every frame, video after video (VideoSampler). Annotations: the COCO-VID json files written by
# `python tools/dataset_converters/imagenet_vid.py -i data/ILSVRC -o data/ILSVRC/annotations`.
# The DET json's category 31 ("other") is dropped by the dataset (as mmtracking does).
# Multi-frame pipelines (key + reference frames): ./imagenet_vid_mamba_style.py.
dataset_type = 'ImagenetVIDDataset'
data_root = 'data/ILSVRC/'
img_scale = (1000, 600)
video_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'video_id', 'frame_id', 'video_length')

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=video_meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=video_meta_keys),
]

vid_train_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/imagenet_vid_train.json',
    data_prefix=dict(img_path='Data/VID'),
    load_as_video=True,
    filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline)
det_train_dataset = dict(
    vid_train_dataset,
    ann_file='annotations/imagenet_det_30plus1cls.json',
    data_prefix=dict(img_path='Data/DET'),
    load_as_video=False)
vid_val_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/imagenet_vid_val.json',
    data_prefix=dict(img_path='Data/VID'),
    load_as_video=True,
    test_mode=True,
    pipeline=test_pipeline)

train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type='ConcatDataset', datasets=[vid_train_dataset, det_train_dataset]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    # whole videos per rank, in the order of the dataset's test protocol (dataset.test_protocol)
    sampler=dict(type='VideoSampler'),
    dataset=vid_val_dataset)
test_dataloader = val_dataloader

val_evaluator = dict(type='VIDMetric', ann_file=data_root + 'annotations/imagenet_vid_val.json')
test_evaluator = val_evaluator
