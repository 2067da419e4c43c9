# DFF R-18-DC5 trained from scratch on the synthetic VID data: the model of
# ./faster-rcnn_r18-dc5_synthetic.py (the same base file), its data, image size and training
# budget, with mmtracking's DFF settings scaled as ./mamba_r18-dc5_synthetic.py scales MAMBA's.
#   python tools/train.py configs/synthetic/dff_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/dff_r18-dc5_synthetic.py <work_dir>/epoch_8.pth
# Online only (past key frames): the backbone runs on every 10th frame of a video or stream, the
# frames between warp the key frame's maps by FlowNetSimple's flow (model.test_cfg.key_frame_interval;
# 1 = Faster R-CNN on every frame).
_base_ = [
    '../_base_/models/faster-rcnn_r18-dc5_synthetic.py',
    '../_base_/models/flownet_simple.py',
    '../_base_/datasets/synthetic_vid_mamba_style.py',
    '../_base_/schedules/synthetic_8e.py',  # the baseline's budget
    '../_base_/default_runtime.py',
]

model = dict(
    type='DFF',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    # FlowNetSimple from scratch: mmtracking's pretrained flownet_simple.pth (configs/dff/) is a
    # download this offline, CPU-sized setting does without; every warp starts as the identity
    # (zero flow on the exact grid); its normalisation is the data preprocessor's (FlowInput)
    motion=_base_.flownet_simple_from_scratch,
    # mmtracking's DFF: 1000 RPN proposals and 512 RoIs in training, for the base's 600 / 256;
    # here the synthetic base's 300 / 128 scaled the same way
    train_cfg=dict(rpn_proposal=dict(max_per_img=500), rcnn=dict(sampler=dict(num=256))),
    test_cfg=dict(key_frame_interval=10))

# mmtracking's DFF training clips: the key frame + 1 reference drawn uniformly within 9 frames
# (the reference goes through the backbone and is warped to the key frame); DET: a copy
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, pipeline=_base_.video_train_pipeline,
             ref_img_sampler=dict(num_ref_imgs=1, frame_range=9, filter_key_img=True, method='uniform')),
        dict(_base_.det_train_dataset, pipeline=_base_.video_train_pipeline,
             ref_img_sampler=dict(num_ref_imgs=1, method='uniform')),  # DET images: a copy of the image
    ]))

# the flow network (the part DFF adds to Faster R-CNN) learns at a tenth of the rate, as the
# synthetic MAMBA and SELSA configs' GEOs do: from scratch at the full rate FlowNetSimple's
# activations blow up (flows of 1e8 pixels after 16 epochs on the tuning set; every warp then reads
# the border)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'motion': dict(lr_mult=0.1)}))

default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
