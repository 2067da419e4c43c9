# SELSA R-50-DC5 on ImageNet VID + DET, evaluated on VID val: mmtracking 1.x's
# selsa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid (78.4 mAP@0.5 in its model zoo), on mamba_vod's
# detector base (mamba_vod/models/detectors/selsa.py). Faster R-CNN R-50-DC5 whose box head
# aggregates after each of its 2 shared FCs (x = fc(x); x = x + aggregator(x, refs); ReLU) over
# the proposals of reference frames: SELSA-form GEOs, 16 heads, no memory.
# mmtracking's training: key frame + 2 references within 9 frames (bilateral uniform), 300
# proposals per reference (the test RPN settings), 600 for the key frame; 8 GPUs x 1 clip, SGD
# lr 0.01, momentum 0.9, wd 1e-4, clip 35, warm-up 500 iterations from 1/3, 7 epochs, lr / 10
# after epochs 2 and 5.
#   bash tools/dist_train.sh configs/selsa/selsa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py 8
# Test protocol: mmtracking's, 'selsa_offline' (frame 0 with 14 references spread over the video,
# kept for the whole video); past frames only: --protocol online (mmtracking #174: about -0.2 mAP).
# mmtracking's checkpoints: tools/model_converters/mmtrack_to_mamba_vod.py IN.pth OUT.pth --config THIS
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/datasets/imagenet_vid_mamba_style.py',
    '../_base_/schedules/mmtrack_vid_7e.py',  # lr 0.01 for 8 clips, steps at epochs 2 and 5
    '../_base_/default_runtime.py',
]

model = dict(
    type='SELSA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    roi_head=dict(type='MAMBARoIHead', bbox_head=dict(type='InstanceAggregationBBoxHead')),
    # mmtracking's SelsaAggregator(in_channels=1024, num_attention_blocks=16): q/k/v/output projections
    instance_level=dict(geo=dict(type='GEO', channels=1024, num_heads=16, value_projection=True)),
    # online protocol: the rows (and maps) of the last 14 frames
    past_frames=14)

# mmtracking's references: 2 within 9 frames of the key frame, one before and one after
vid_ref_img_sampler = dict(num_ref_imgs=2, frame_range=9, filter_key_img=True, method='bilateral_uniform')
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(_base_.vid_train_dataset, ref_img_sampler=vid_ref_img_sampler, pipeline=_base_.video_train_pipeline),
        dict(_base_.det_train_dataset, ref_img_sampler=_base_.det_ref_img_sampler,
             pipeline=_base_.video_train_pipeline),
    ]))
val_dataloader = dict(dataset=dict(test_protocol='selsa_offline'))
test_dataloader = val_dataloader
