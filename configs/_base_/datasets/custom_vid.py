# Your own videos, single-frame style (the Faster R-CNN baseline): COCO-VID json written by
#   python tools/dataset_converters/to_coco_vid.py --format cvat|mot|coco-video EXPORT \
#       [--videos VIDEOS] --frames DATA_ROOT/frames -o DATA_ROOT/annotations/vid.json --val-fraction 0.2
# which writes annotations/vid_train.json and annotations/vid_val.json, with file_names relative
# to DATA_ROOT. Train on every annotated frame of the train videos, test on every frame of the
# val videos, video after video; the pipelines and samplers of ./imagenet_vid_fgfa_style.py.
# CocoVIDDataset takes the classes from the json; the configs of configs/custom name the same
# list (metainfo) to set the model's num_classes from it. Multi-frame variant:
# ./custom_vid_mamba_style.py.
_base_ = './imagenet_vid_fgfa_style.py'

dataset_type = 'CocoVIDDataset'
data_root = 'data/my_videos/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/vid_train.json',
        data_prefix=dict(img_path=''),
        load_as_video=True,
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='annotations/vid_val.json',
                 data_prefix=dict(img_path='')))
test_dataloader = val_dataloader

# the VID metric (mAP@0.5, motion breakdown) and COCO-style AP (mAP@[.5:.95], AP50, AP75, by size)
val_evaluator = dict(ann_file=data_root + 'annotations/vid_val.json', coco_ap=True)
test_evaluator = val_evaluator
