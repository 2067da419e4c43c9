# MAMBA R-50-DC5 (pixel + instance level) on ImageNet VID + DET, evaluated on VID val.
# Faster R-CNN R-50-DC5 whose stride-16 map is enhanced by a pixel-level GEO (keys from the
# pixel memory) and whose box head has a GEO after each shared FC (keys from the instance
# memories); training clips: key frame + 2 reference frames. 8 GPUs x 1 clip, the paper's
# schedule: SGD lr 1e-3 per 4 clips (2e-3 for 8), 6 epochs, lr / 10 after epoch 4.
#   bash tools/dist_train.sh configs/mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py 8
# Test protocol: 'online' (past frames only). The authors' offline protocol, behind the paper's figures:
#   python tools/test.py CONFIG CKPT --protocol paper
# (mamba_vod/datasets/test_protocol.py; mamba-ins_r101-dc5_vfe-release_imagenetvid.py sets it in the config).
_base_ = [
    '../_base_/models/faster-rcnn_r50-dc5.py',
    '../_base_/datasets/imagenet_vid_mamba_style.py',
    '../_base_/schedules/sgd_6e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='MAMBA',
    data_preprocessor=dict(type='VideoDataPreprocessor'),
    roi_head=dict(type='MAMBARoIHead', bbox_head=dict(type='InstanceAggregationBBoxHead')),
    # paper form of GEO: raw keys as values, grouped 1x1 conv back to C (folded into 16 heads);
    # memories of 20000 rows, key sets of 2000 drawn at random
    pixel_level=dict(
        geo=dict(type='GEO', channels=512, num_heads=16),
        memory=dict(type='MemoryBank', capacity=20000, key_set_size=2000, strategy='random')),
    # the paper's composition of the box head (the first author's code): ReLU(fc) before each GEO,
    # none after the last; one memory of ReLU(fc6) rows whose key set feeds both GEOs through the FCs
    instance_level=dict(
        geo=dict(type='GEO', channels=1024, num_heads=16),
        memory=dict(type='MemoryBank', capacity=20000, key_set_size=2000, strategy='random'),
        proposals_per_frame=75,
        composition='paper'),
    # training keys: 2000 reference pixels; test writes: 100 pixels of each detection >= 0.8
    train_cfg=dict(pixel=dict(num_keys=2000)),
    test_cfg=dict(pixel=dict(score_thr=0.8, pixels_per_detection=100)))

optim_wrapper = dict(optimizer=dict(lr=2e-3))
# `tools/train.py --auto-scale-lr` rescales lr 2e-3 from this total batch to the real one
auto_scale_lr = dict(enable=False, base_batch_size=8)
