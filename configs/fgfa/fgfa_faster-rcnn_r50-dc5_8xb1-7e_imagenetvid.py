# FGFA R-50-DC5 on ImageNet VID + DET, evaluated on VID val (mmtracking 1.x's config of this
# name: 74.7 mAP@0.5 published, 6.9 fps). Every frame's maps: the maps of other frames, warped
# to it by the flow of FlowNetSimple (pretrained: mmtracking's flownet_simple.pth), weighted per
# pixel by the cosine similarity of an embedding (EmbedAggregator), softmax over frames.
# Training: the key frame + 2 references within 9 frames (bilateral uniform). 8 GPUs x 1 clip,
# mmtracking's schedule: SGD lr 0.01, 7 epochs, lr / 10 after epochs 2 and 5.
#   bash tools/dist_train.sh configs/fgfa/fgfa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py 8
# Tested as mmtracking tests it, behind the published figure: 'fgfa_offline' (15 past + 15 future
# frames, stride 1). Past frames only (a camera): python tools/test.py CONFIG CKPT --protocol online
# (the last 15 frames, model.test_cfg.num_online_refs). mmtracking's checkpoints:
# tools/model_converters/mmtrack_to_mamba_vod.py.
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/models/flownet_simple.py',
    '../_base_/datasets/imagenet_vid_mamba_style.py',
    '../_base_/schedules/mmtrack_vid_7e.py',  # lr 0.01 for 8 clips, steps at epochs 2 and 5
    '../_base_/default_runtime.py',
]

model = dict(
    type='FGFA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    motion=_base_.flownet_simple,  # normalised as the data preprocessor: RGB, ImageNet mean/std, as mmtracking's
    aggregator=dict(type='EmbedAggregator', num_convs=1, channels=512, kernel_size=3),
    test_cfg=dict(num_online_refs=15))

# mmtracking's FGFA data: 2 references within 9 frames, one on each side, the key frame left out; DET: 2 copies
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, pipeline=_base_.video_train_pipeline,
             ref_img_sampler=dict(num_ref_imgs=2, frame_range=9, filter_key_img=True, method='bilateral_uniform')),
        dict(_base_.det_train_dataset, pipeline=_base_.video_train_pipeline, ref_img_sampler=dict(num_ref_imgs=2)),
    ]))
val_dataloader = dict(dataset=dict(test_protocol='fgfa_offline'))
test_dataloader = val_dataloader
