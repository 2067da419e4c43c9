# SELSA R-18-DC5 trained from scratch on the synthetic VID data: the model of
# ./faster-rcnn_r18-dc5_synthetic.py (the same base file), its data, image size and training
# budget, with clips of a key frame + 2 references (mmtracking's: within 9 frames).
#   python tools/train.py configs/synthetic/selsa_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/selsa_r18-dc5_synthetic.py <work_dir>/epoch_8.pth
# tests online (the last 14 frames' proposals); add --protocol selsa_offline for mmtracking's.
_base_ = [
    '../_base_/models/faster-rcnn_r18-dc5_synthetic.py',
    '../_base_/datasets/synthetic_vid_mamba_style.py',
    '../_base_/schedules/synthetic_8e.py',  # the baseline's budget
    '../_base_/default_runtime.py',
]

model = dict(
    type='SELSA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    roi_head=dict(type='MAMBARoIHead', bbox_head=dict(type='InstanceAggregationBBoxHead')),
    # scaled as ./mamba_r18-dc5_synthetic.py scales MAMBA: SELSA-form GEOs with heads of 32 dims
    # (8 of the 256-d box head), started as the identity (zero output projection); every proposal
    # of a frame is a row (the test RPN's 100 here, 300 on ImageNet VID)
    instance_level=dict(geo=dict(type='GEO', channels=256, num_heads=8, value_projection=True,
                                 zero_init_output=True)),
    past_frames=14)

vid_ref_img_sampler = dict(num_ref_imgs=2, frame_range=9, filter_key_img=True, method='bilateral_uniform')
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.train_dataloader.dataset.datasets[0], ref_img_sampler=vid_ref_img_sampler),
        _base_.train_dataloader.dataset.datasets[1],
    ]))
# the GEOs learn at a tenth of the rate, as MAMBA's on this data
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'instance_level.geos': dict(lr_mult=0.1)}))

default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
