# FGFA R-18-DC5 trained from scratch on the synthetic VID data: the model of
# ./faster-rcnn_r18-dc5_synthetic.py (the same base file), its data, image size and training
# budget, with mmtracking's FGFA settings scaled as ./mamba_r18-dc5_synthetic.py scales MAMBA's.
#   python tools/train.py configs/synthetic/fgfa_r18-dc5_synthetic.py
#   python tools/test.py configs/synthetic/fgfa_r18-dc5_synthetic.py <work_dir>/epoch_8.pth [--protocol fgfa_offline]
# Tests online (the last 15 past frames, model.test_cfg.num_online_refs); --protocol fgfa_offline
# is mmtracking's window of 15 past + 15 future frames.
_base_ = [
    '../_base_/models/faster-rcnn_r18-dc5_synthetic.py',
    '../_base_/models/flownet_simple.py',
    '../_base_/datasets/synthetic_vid_mamba_style.py',
    '../_base_/schedules/synthetic_8e.py',  # the baseline's budget
    '../_base_/default_runtime.py',
]

model = dict(
    type='FGFA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    # FlowNetSimple from scratch: mmtracking's pretrained flownet_simple.pth (configs/fgfa/) is a
    # download this offline, CPU-sized setting does without; every warp starts as the identity
    # (zero flow on the exact grid); its normalisation is the data preprocessor's (FlowInput)
    motion=_base_.flownet_simple_from_scratch,
    aggregator=dict(type='EmbedAggregator', num_convs=1, channels=_base_.channels, kernel_size=3),
    test_cfg=dict(num_online_refs=15))

# mmtracking's FGFA training clips: the key frame + 2 references within 9 frames, one on each
# side (bilateral uniform); DET: 2 copies
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, pipeline=_base_.video_train_pipeline,
             ref_img_sampler=dict(num_ref_imgs=2, frame_range=9, filter_key_img=True, method='bilateral_uniform')),
        dict(_base_.det_train_dataset, pipeline=_base_.video_train_pipeline, ref_img_sampler=dict(num_ref_imgs=2)),
    ]))

# the flow network and the embedding (the parts FGFA adds to Faster R-CNN) learn at a tenth of the
# rate, as the synthetic MAMBA and SELSA configs' GEOs do: from scratch at the full rate
# FlowNetSimple's activations blow up (DFF: flows of 1e8 pixels after 16 epochs on the tuning set;
# every warp then reads the border)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'motion': dict(lr_mult=0.1), 'aggregator': dict(lr_mult=0.1)}))

default_hooks = dict(logger=dict(interval=15), checkpoint=dict(interval=1, max_keep_ckpts=2))
randomness = dict(seed=0)
