# The synthetic ImageNet VID look-alike, single-frame style: data made by
#   python tools/misc/make_synthetic_vid.py --out data/synthetic_vid
#   python tools/dataset_converters/imagenet_vid.py -i data/synthetic_vid -o data/synthetic_vid/annotations
# (160x128 JPEG frames in the ILSVRC2015 layout). Train: VID train key frames + DET images
# (ConcatDataset); test: VID val, every frame, scored by VIDMetric overall and on the generator's
# clean / degraded frame lists. Multi-frame variant: ./synthetic_vid_mamba_style.py.
dataset_type = 'ImagenetVIDDataset'
data_root = 'data/synthetic_vid/'
img_scale = (160, 128)
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
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ConcatDataset', datasets=[vid_train_dataset, det_train_dataset]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='VideoSampler', shuffle_frames=False, seed=10),
    dataset=vid_val_dataset)
test_dataloader = val_dataloader

val_evaluator = dict(
    type='VIDMetric',
    ann_file=data_root + 'annotations/imagenet_vid_val.json',
    frame_subsets=dict(
        degraded=data_root + 'Lists/VID_val_degraded_frames.txt',
        clean=data_root + 'Lists/VID_val_clean_frames.txt'))
test_evaluator = val_evaluator
