# Your own videos (./custom_vid.py) for the video detectors (MAMBA): every training sample is a
# key frame plus 2 reference frames of its video, with the same resize and flip, packed by
# PackVideoInputs; test: the dataset's test_protocol ('online' by default; `tools/test.py
# --protocol paper` for MAMBA's offline protocol).
_base_ = './custom_vid.py'

# MAMBA's training references: one frame drawn uniformly before the key frame and one after it,
# over the whole video (frame_range=1000), as the test-time memory spans the whole video
ref_img_sampler = dict(num_ref_imgs=2, frame_range=1000, filter_key_img=True, method='bilateral_uniform')

# the single-frame pipelines of the base, without their packing, applied to every frame
video_train_pipeline = [
    dict(type='FrameBroadcaster', share_random_params=True, transforms=_base_.train_pipeline[:-1]),
    dict(type='PackVideoInputs'),
]
video_test_pipeline = [
    dict(type='FrameBroadcaster', share_random_params=True, transforms=_base_.test_pipeline[:-1]),
    dict(type='PackVideoInputs'),
]

train_dataloader = dict(dataset=dict(ref_img_sampler=ref_img_sampler, pipeline=video_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=video_test_pipeline))
test_dataloader = val_dataloader
