# MAMBA R-50-DC5 (pixel + instance level) on your own videos, starting from MMDetection's
# COCO-trained Faster R-CNN R-50-DC5: backbone, RPN and box-head FCs trained, the classifier and
# box regressor re-initialised for your classes, the GEOs (pixel level on the 2048-channel C5 map,
# instance level after each 1024-d FC) from their own initialisation
# (../_base_/models/faster-rcnn_r50-caffe-dc5.py says which part loads). Training clips: a key
# frame + 2 reference frames from the whole video. Baseline: ./faster-rcnn_r50-dc5_custom.py.
# Edit data_root and classes below, nothing else; then (1 GPU, or a CPU for a try):
#   python tools/dataset_converters/to_coco_vid.py --format cvat EXPORT --frames data/my_videos/frames \
#       -o data/my_videos/annotations/vid.json --val-fraction 0.2        (prints the classes line)
#   python tools/train.py configs/custom/mamba_r50-dc5_custom.py
#   python tools/test.py configs/custom/mamba_r50-dc5_custom.py work_dirs/mamba_r50-dc5_custom/epoch_6.pth
# Tests online (past frames only); add --protocol paper for the paper's offline protocol.
_base_ = [
    '../_base_/models/faster-rcnn_r50-caffe-dc5.py',
    '../_base_/datasets/custom_vid_mamba_style.py',
    '../_base_/schedules/sgd_6e.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/my_videos/'  # the converter's --data-root: the json's file_names are relative to it
classes = ('class_a', 'class_b')  # the json's categories in id order, as the converter prints them

# ----- from here on nothing needs editing: the two lines above reach the data, the metric and the model
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/vid_val.json')
test_evaluator = val_evaluator
load_from = _base_.zoo_checkpoint  # COCO-trained Faster R-CNN R-50-DC5, cached by torch hub

# MAMBA as in ../mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py, on the zoo model's 2048-channel map
# (no neck): 16 pixel heads of 128 dims, 16 instance heads of 64
model = dict(
    type='MAMBA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    roi_head=dict(type='MAMBARoIHead', bbox_head=dict(type='InstanceAggregationBBoxHead', num_classes=len(classes))),
    pixel_level=dict(
        geo=dict(type='GEO', channels=2048, num_heads=16),
        memory=dict(type='MemoryBank', capacity=20000, key_set_size=2000, strategy='random')),
    instance_level=dict(
        composition='paper',  # the paper's box head (README: "Two forms of MAMBA's instance level")
        geo=dict(type='GEO', channels=1024, num_heads=16),
        memory=dict(type='MemoryBank', capacity=20000, key_set_size=2000, strategy='random'),
        proposals_per_frame=75),
    train_cfg=dict(pixel=dict(num_keys=2000)),
    test_cfg=dict(pixel=dict(score_thr=0.8, pixels_per_detection=100)))

# 1 GPU x 1 clip: the paper's lr of 1e-3 per 4 clips; `tools/train.py --auto-scale-lr` rescales it
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
auto_scale_lr = dict(enable=False, base_batch_size=1)
