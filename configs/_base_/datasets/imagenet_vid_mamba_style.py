# ImageNet VID for the video detectors (MAMBA): the data of ./imagenet_vid_fgfa_style.py, but
# every training sample is a key frame plus `num_ref_imgs` reference frames of its video (DET
# images: copies of the key image), with the same resize and flip on all of them, packed by
# PackVideoInputs into inputs (T, 3, H, W), T = 1 + num_ref_imgs. FrameBroadcaster is mmcv's
# TransformBroadcaster that also takes a single frame (samples without references).
# Test: the dataset's test_protocol, 'online' (default: one frame per sample, in frame order) or
# 'paper' (frame 0 of each video with 14 references spread over the video, the other frames after
# it in shuffled order): `tools/test.py --protocol paper`, or test_dataloader = dict(dataset=dict(
# test_protocol='paper')) in a config. Another number of training references: list
# the two train datasets again, e.g. dict(vid_train_dataset of the base,
# ref_img_sampler=dict(vid_ref_img_sampler, num_ref_imgs=1)) and the same for DET.
_base_ = './imagenet_vid_fgfa_style.py'

# MAMBA's training references (the authors' released config): one frame drawn uniformly from the
# part of the video before the key frame and one from the part after it, over the whole video
# (frame_range=1000 reaches both ends of any ImageNet VID snippet), as the test-time memory spans
# the whole video. Local sampling, for comparison (SELSA's, and this project's before):
#   --cfg-options "train_dataloader.dataset.datasets.0.ref_img_sampler.frame_range=9"
vid_ref_img_sampler = dict(num_ref_imgs=2, frame_range=1000, filter_key_img=True, method='bilateral_uniform')
det_ref_img_sampler = dict(num_ref_imgs=2)

# the single-frame pipelines of the base, without their packing, applied to every frame
video_train_pipeline = [
    dict(type='FrameBroadcaster', share_random_params=True, transforms=_base_.train_pipeline[:-1]),
    dict(type='PackVideoInputs'),
]
video_test_pipeline = [
    dict(type='FrameBroadcaster', share_random_params=True, transforms=_base_.test_pipeline[:-1]),
    dict(type='PackVideoInputs'),
]

train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, ref_img_sampler=vid_ref_img_sampler, pipeline=video_train_pipeline),
        dict(_base_.det_train_dataset, ref_img_sampler=det_ref_img_sampler, pipeline=video_train_pipeline),
    ]))
val_dataloader = dict(dataset=dict(pipeline=video_test_pipeline))
test_dataloader = val_dataloader
