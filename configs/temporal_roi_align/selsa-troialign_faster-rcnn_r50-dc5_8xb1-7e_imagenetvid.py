# Temporal RoI Align R-50-DC5 on ImageNet VID + DET: mmtracking 1.x's
# selsa-troialign_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid (79.8 mAP@0.5). As there, SELSA with
# another RoI extractor and a 3rd shared FC (so 3 SELSA aggregators): the key frame's RoIs take,
# per bin, the 2 most similar pixels of each reference map, then attention across the frames
# (4 heads). Reference maps: the training references'; at test those of the same frames as the
# rows (14), then the frame's own. Data, protocol and schedule: SELSA's.
_base_ = '../selsa/selsa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(type='TemporalRoIAlign', num_most_similar_points=2, num_temporal_attention_blocks=4),
        bbox_head=dict(num_shared_fcs=3)))
