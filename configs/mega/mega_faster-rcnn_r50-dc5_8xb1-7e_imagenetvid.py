# MEGA R-50-DC5 on ImageNet VID + DET: MEGA (mega.pytorch, mamba_vod/models/detectors/mega.py) on
# the DC5 detector every method of this project shares (ResNet C5 dilated, ChannelMapper 512,
# RoIAlign 7x7 -> 3 FCs of 1024), so that it compares with SELSA, FGFA and MAMBA on one
# detector; mega.pytorch's own R-C4 form: ./mega_faster-rcnn_r50-c4_4xb1-120k_imagenetvid.py.
# Relation stages as released: 3 local stages (16 groups, box geometry, key bias), one global
# relation before them (R-50: none after), 75 rows a reference frame, the top 20% for the later
# stages; window 25 frames, memory 25 frames a stage, 10 global frames.
# Training: the key frame + 2 local, 3 memory (no gradients) and 2 global frames; the data side
# draws all 7 from one window of +-12 frames (MEGA's local range; its memory frames around t-25
# and global frames from the whole video are approximated). mmtracking's 7-epoch schedule.
# Test: --protocol mega_offline (MEGA's: 12 past + 12 future frames, 10 global frames of the
# whole video) or online (the default: the last 25 frames, global frames a seeded sample of the past).
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/datasets/imagenet_vid_mega_style.py',  # 7 frames within +-12; tested with mega_offline
    '../_base_/schedules/mmtrack_vid_7e.py',  # the schedule of the DC5 peers (SELSA, TRA, DFF, FGFA)
    '../_base_/default_runtime.py',
]

model = dict(
    type='MEGA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    roi_head=dict(type='RelationRoIHead', bbox_head=dict(type='RelationBBoxHead', num_shared_fcs=3)),
    relation_level=dict(num_groups=16, num_global=1, proposals_per_frame=75, distilled_ratio=0.2,
                        window_size=25, memory_size=25, global_size=10),
    train_references={'local': 2, 'memory': 3, 'global_frames': 2},
    # mega.pytorch: 300 proposals for the key frame in training and test, 128 RoIs sampled
    train_cfg=dict(rpn_proposal=dict(max_per_img=300), rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=6000, max_per_img=300)))

find_unused_parameters = True
