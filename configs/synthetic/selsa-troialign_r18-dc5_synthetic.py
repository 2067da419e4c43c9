# Temporal RoI Align R-18-DC5 on the synthetic VID data: ./selsa_r18-dc5_synthetic.py with
# mmtracking's TemporalRoIAlign extractor (2 most similar points; attention across frames with
# heads of 32 dims: 2 of the 64-channel map) and a 3rd shared FC (3 GEOs).
_base_ = './selsa_r18-dc5_synthetic.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(type='TemporalRoIAlign', num_most_similar_points=2, num_temporal_attention_blocks=2),
        bbox_head=dict(num_shared_fcs=3)))

# what Temporal RoI Align adds to SELSA (its embedding network) learns at a tenth of the rate, as
# SELSA's GEOs do (the base file's custom_keys, merged with this one)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'roi_head.bbox_roi_extractor.embed_network': dict(lr_mult=0.1)}))
