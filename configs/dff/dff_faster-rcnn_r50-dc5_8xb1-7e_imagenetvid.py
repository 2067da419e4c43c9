# DFF R-50-DC5 on ImageNet VID + DET, evaluated on VID val (mmtracking 1.x's config of this
# name: 70.3 mAP@0.5 published, 44.0 fps). The backbone runs on every 10th frame (key frames,
# model.test_cfg.key_frame_interval); the frames between warp the key frame's maps by the flow of
# FlowNetSimple, pretrained (mmtracking's flownet_simple.pth). Training: the annotated frame + 1
# reference within 9 frames; the reference plays the key frame: it goes through the backbone and
# its maps are warped to the annotated frame. 8 GPUs x 1 clip, mmtracking's schedule: SGD lr 0.01,
# 7 epochs, lr / 10 after epochs 2 and 5.
#   bash tools/dist_train.sh configs/dff/dff_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py 8
#   python tools/test.py configs/dff/dff_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py CKPT   (online: DFF's only protocol)
# mmtracking's checkpoints: tools/model_converters/mmtrack_to_mamba_vod.py.
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/models/flownet_simple.py',
    '../_base_/datasets/imagenet_vid_mamba_style.py',
    '../_base_/schedules/mmtrack_vid_7e.py',  # lr 0.01 for 8 clips, steps at epochs 2 and 5
    '../_base_/default_runtime.py',
]

model = dict(
    type='DFF',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    motion=_base_.flownet_simple,  # normalised as the data preprocessor: RGB, ImageNet mean/std, as mmtracking's
    train_cfg=dict(rpn_proposal=dict(max_per_img=1000), rcnn=dict(sampler=dict(num=512))),
    test_cfg=dict(key_frame_interval=10))

# mmtracking 1.x's DFF data: 1 reference drawn uniformly within 9 frames, the key frame left out; DET: a copy
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, pipeline=_base_.video_train_pipeline,
             ref_img_sampler=dict(num_ref_imgs=1, frame_range=9, filter_key_img=True, method='uniform')),
        dict(_base_.det_train_dataset, pipeline=_base_.video_train_pipeline,
             ref_img_sampler=dict(num_ref_imgs=1, method='uniform')),  # DET images: a copy of the image
    ]))
