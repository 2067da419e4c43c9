# The authors' released MAMBA R-101-DC5 (instance level, their mmdet 2.19 fork; 83.8 mAP@0.5 on
# VID val) in compatible mode: SELSA-form GEOs (value and output projections), the 'paper' test
# protocol (frame 0 with 14 references spread over the video, the rest shuffled with seed 10).
# Convert the released file, then test:
#   python tools/model_converters/vfe_to_mamba_vod.py epoch_6_model.pth checkpoints/mamba-ins_r101_vfe.pth
#   python tools/test.py configs/mamba/mamba-ins_r101-dc5_vfe-release_imagenetvid.py \
#       checkpoints/mamba-ins_r101_vfe.pth
# Online (camera-style) testing of the same weights: add --protocol online.
_base_ = './mamba_r50-dc5_8xb1-6e_imagenetvid.py'

model = dict(
    backbone=dict(depth=101, init_cfg=None),
    pixel_level=None,
    instance_level=dict(
        geo=dict(type='GEO', channels=1024, num_heads=16, value_projection=True),
        # the released model's box head: fc -> GEO -> ReLU, one memory per FC level, to which it
        # writes its enhanced pre-ReLU features
        composition='release',
        memory_features='enhanced'))

# the paper's test protocol by default (frame 0 with 14 references, the rest shuffled)
test_dataloader = dict(dataset=dict(test_protocol='paper'))
val_dataloader = test_dataloader
