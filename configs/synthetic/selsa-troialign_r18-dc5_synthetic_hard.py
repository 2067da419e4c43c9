# ./selsa-troialign_r18-dc5_synthetic.py (Temporal RoI Align) on the hard synthetic set: the
# model switch of that file on the data of ./selsa_r18-dc5_synthetic_hard.py.
_base_ = './selsa_r18-dc5_synthetic_hard.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(type='TemporalRoIAlign', num_most_similar_points=2, num_temporal_attention_blocks=2),
        bbox_head=dict(num_shared_fcs=3)))
