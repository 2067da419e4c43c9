# The synthetic data of ./synthetic_vid.py for the video detectors (MAMBA): key frame + 2
# reference frames per training sample, shared resize/flip, packed by PackVideoInputs; the
# same overrides as ./imagenet_vid_mamba_style.py apply (test protocol, other N).
_base_ = './synthetic_vid.py'

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
