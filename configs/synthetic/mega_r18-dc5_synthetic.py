# MEGA R-18-DC5 (the DC5 form every method of this project shares, not mega.pytorch's R-C4)
# trained from scratch on the synthetic VID data: the model of ./faster-rcnn_r18-dc5_synthetic.py
# (the same base file) with 3 shared FCs interleaved with MEGA's 3 local relation stages, one
# global relation before them and one after (mega.pytorch's R-101 layout), its data, image size
# and training budget.
#   python tools/train.py configs/synthetic/mega_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/mega_r18-dc5_synthetic.py <work_dir>/epoch_8.pth [--protocol mega_offline]
# tests online (past frames only: the window holds the last 25 frames, the global pool a seeded
# random sample of the past); --protocol mega_offline is MEGA's (12 past + 12 future frames,
# 10 global frames of the whole video).
_base_ = [
    '../_base_/models/faster-rcnn_r18-dc5_synthetic.py',
    '../_base_/datasets/synthetic_vid_mamba_style.py',
    '../_base_/schedules/synthetic_8e.py',  # the baseline's budget
    '../_base_/default_runtime.py',
]

model = dict(
    type='MEGA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    roi_head=dict(type='RelationRoIHead', bbox_head=dict(type='RelationBBoxHead', num_shared_fcs=3)),
    # MEGA's settings scaled to 160x128 frames (100 RPN proposals) as the synthetic MAMBA config
    # scales its own: K = 25 rows a frame (75 of 300 there), the top 20% (5) for later stages,
    # groups of 32 channels (8 groups of the 256-d FCs; 16 of 64 there). The window, memory and
    # global pool keep mega.pytorch's sizes (25, 25, 10 frames): MEGA's offline protocol
    # ('mega_offline') hands in a window of 25 frames, as MAMBA's keeps its 14 references.
    relation_level=dict(num_groups=8, num_global=2, proposals_per_frame=25, distilled_ratio=0.2,
                        window_size=25, memory_size=25, global_size=10),
    # the released config's training clip: 2 local, 3 memory (no gradients), 2 global frames
    train_references={'local': 2, 'memory': 3, 'global_frames': 2})

# 7 references a training clip, all from one window of +-12 frames around the key frame (the
# data side draws from one window): MEGA's local frames exactly (offsets in [-12, 12], 0 allowed);
# its memory frames (around t - 25) and global frames (the whole video) approximated, which on
# the 24-frame synthetic videos covers nearly the same frames.
vid_ref_img_sampler = dict(num_ref_imgs=7, frame_range=12, filter_key_img=False, method='uniform')
vid_train_dataset, det_train_dataset = _base_.train_dataloader.dataset.datasets
train_dataloader = dict(dataset=dict(datasets=[
    dict(vid_train_dataset, ref_img_sampler=vid_ref_img_sampler),
    dict(det_train_dataset, ref_img_sampler=dict(num_ref_imgs=7, method='uniform')),  # DET images: 7 copies
]))

# the relation modules (what MEGA adds to Faster R-CNN; RDN's too, which inherits this) learn at a
# tenth of the rate, as every synthetic config's added parts do (MAMBA's and SELSA's GEOs, the flow
# networks): at the full rate MEGA's training loss stalls after 5 epochs, far above the baseline's
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'relation_level': dict(lr_mult=0.1)}))

# global frames and memory frames are missing from some clips' graphs: DDP must look for unused
# parameters (--launcher pytorch)
find_unused_parameters = True
default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
