# RDN R-101-C4 as mega.pytorch releases it (configs/RDN/vid_R_101_C4_RDN_1x.yaml; 81.7 mAP@0.5 on
# VID val): its detector (../_base_/models/faster-rcnn_r101-c4_mega.py) with RDN's relation stages:
# 2 stages on fc6 / fc7 (16 groups, geometry, no key bias, references kept at fc6) and the
# advanced stage (its own fc) on the references' top 20%; window 37 frames; no memory, no global.
# Its released weights:
#   python tools/model_converters/mega_to_mamba_vod.py RDN_R_101.pth rdn_r101_c4.pth --config THIS
# Training as released (stage 2 of 2: from the RDN-base model, 60k iterations, lr / 10 at 40k,
# 4 GPUs x 1 clip); its clip: the key frame + 2 frames within +-18.
_base_ = '../mega/mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py'

model = dict(
    type='RDN',
    roi_head=dict(bbox_head=dict(num_shared_fcs=2)),
    relation_level=dict(_delete_=True, form='rdn', advanced=True, num_groups=16, num_global=0, memory_size=0,
                        global_size=0, proposals_per_frame=75, distilled_ratio=0.2, window_size=37),
    train_references={'local': 2, 'memory': 0, 'global_frames': 0})

train_cfg = dict(max_iters=60000, val_interval=60000)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=60000, milestones=[40000], gamma=0.1)
]
vid_ref_img_sampler = dict(num_ref_imgs=2, frame_range=18, filter_key_img=False, method='uniform')
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, ref_img_sampler=vid_ref_img_sampler, pipeline=_base_.video_train_pipeline),
        dict(_base_.det_train_dataset, ref_img_sampler=dict(num_ref_imgs=2), pipeline=_base_.video_train_pipeline),
    ]))
val_dataloader = dict(dataset=dict(test_protocol='rdn_offline'))
test_dataloader = val_dataloader
