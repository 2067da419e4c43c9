# RDN R-50-DC5 on ImageNet VID + DET: RDN (mega.pytorch's RDNFeatureExtractor, on MEGA's class:
# mamba_vod/models/detectors/mega.py, RDN) on the DC5 detector every method shares; mega.pytorch's
# R-C4 form: ./rdn_faster-rcnn_r101-c4_4xb1-60k_imagenetvid.py. 2 relation stages on the 2 shared
# FCs (references kept at fc6, no key bias) and the advanced stage on their top 20%; no memory, no
# global frames; window 37 frames (18 past + 18 future offline).
# Training: the key frame + 2 frames within +-18 (RDN's); mmtracking's 7-epoch schedule.
# Test: --protocol rdn_offline (RDN's) or online (the last 37 frames).
_base_ = '../mega/mega_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    type='RDN',
    roi_head=dict(bbox_head=dict(num_shared_fcs=2)),
    relation_level=dict(_delete_=True, form='rdn', advanced=True, num_groups=16, num_global=0, memory_size=0,
                        global_size=0, proposals_per_frame=75, distilled_ratio=0.2, window_size=37),
    train_references={'local': 2, 'memory': 0, 'global_frames': 0})

vid_ref_img_sampler = dict(num_ref_imgs=2, frame_range=18, filter_key_img=False, method='uniform')
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, ref_img_sampler=vid_ref_img_sampler, pipeline=_base_.video_train_pipeline),
        dict(_base_.det_train_dataset, ref_img_sampler=dict(num_ref_imgs=2), pipeline=_base_.video_train_pipeline),
    ]))
val_dataloader = dict(dataset=dict(test_protocol='rdn_offline'))
test_dataloader = val_dataloader
