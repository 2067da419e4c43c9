# Single-frame Faster R-CNN R-50-DC5 on your own videos, starting from MMDetection's COCO-trained
# Faster R-CNN R-50-DC5 (backbone, RPN and box-head FCs trained; the classifier and box regressor
# re-initialised for your classes: ../_base_/models/faster-rcnn_r50-caffe-dc5.py says which part
# loads). The baseline of ./mamba_r50-dc5_custom.py: same model without the memory, same data.
# Edit data_root and classes below, nothing else; then (1 GPU, or a CPU for a try):
#   python tools/dataset_converters/to_coco_vid.py --format cvat EXPORT --frames data/my_videos/frames \
#       -o data/my_videos/annotations/vid.json --val-fraction 0.2        (prints the classes line)
#   python tools/train.py configs/custom/faster-rcnn_r50-dc5_custom.py
#   python tools/test.py configs/custom/faster-rcnn_r50-dc5_custom.py work_dirs/faster-rcnn_r50-dc5_custom/epoch_6.pth
_base_ = [
    '../_base_/models/faster-rcnn_r50-caffe-dc5.py',
    '../_base_/datasets/custom_vid.py',
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
model = dict(roi_head=dict(bbox_head=dict(num_classes=len(classes))))

# 1 GPU x 1 image: the paper's lr of 1e-3 per 4 images; `tools/train.py --auto-scale-lr` rescales it
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
auto_scale_lr = dict(enable=False, base_batch_size=1)
