# ImageNet VID + DET for MEGA (mega.pytorch's training frames): the key frame + 7 frames drawn
# uniformly within +-12, the key frame allowed (MEGA's local range; the detector splits them into
# 2 local, 3 memory and 2 global frames, its memory frames around t-25 and global frames from the
# whole video approximated by this one window); DET images: 7 copies. Tested with MEGA's offline
# protocol by default ('mega_offline': 12 past + 12 future frames, 10 global frames).
_base_ = './imagenet_vid_mamba_style.py'

vid_ref_img_sampler = dict(num_ref_imgs=7, frame_range=12, filter_key_img=False, method='uniform')
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, ref_img_sampler=vid_ref_img_sampler, pipeline=_base_.video_train_pipeline),
        dict(_base_.det_train_dataset, ref_img_sampler=dict(num_ref_imgs=7, method='uniform'),  # DET: copies
             pipeline=_base_.video_train_pipeline),
    ]))
val_dataloader = dict(dataset=dict(test_protocol='mega_offline'))
test_dataloader = val_dataloader
