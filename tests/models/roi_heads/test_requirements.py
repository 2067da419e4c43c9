"""require_roi_head: the one check (and message) of the detectors that need a given RoI head."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.models.roi_heads import (InstanceAggregationBBoxHead, MAMBARoIHead, RelationBBoxHead, RelationRoIHead,
                                        require_roi_head)
from mamba_vod.registry import MODELS


def _roi_head(roi_type, bbox_type):
    bbox_head = dict(type=bbox_type, in_channels=8, fc_out_channels=16, roi_feat_size=7, num_classes=3)
    if bbox_type != 'Shared2FCBBoxHead':
        bbox_head['num_shared_fcs'] = 2
    return MODELS.build(dict(
        type=roi_type, bbox_head=bbox_head,
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=8, featmap_strides=[16],
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0))))


def test_the_right_heads_pass_and_others_are_named_in_the_error():
    require_roi_head(_roi_head('MAMBARoIHead', 'InstanceAggregationBBoxHead'), MAMBARoIHead,
                     InstanceAggregationBBoxHead, 'SELSA')
    require_roi_head(_roi_head('RelationRoIHead', 'RelationBBoxHead'), RelationRoIHead, RelationBBoxHead, 'MEGA')
    expected = (r"^MEGA with a relation level needs roi_head=dict\(type='RelationRoIHead', bbox_head=dict\("
                r"type='RelationBBoxHead', \.\.\.\)\), got StandardRoIHead / Shared2FCBBoxHead$")
    with pytest.raises(TypeError, match=expected):
        require_roi_head(_roi_head('StandardRoIHead', 'Shared2FCBBoxHead'), RelationRoIHead, RelationBBoxHead,
                         'MEGA with a relation level')
    with pytest.raises(TypeError, match='got MAMBARoIHead / Shared2FCBBoxHead$'):  # the box head counts too
        require_roi_head(_roi_head('MAMBARoIHead', 'Shared2FCBBoxHead'), MAMBARoIHead, InstanceAggregationBBoxHead,
                         'SELSA')


@pytest.mark.parametrize('method, needs', [
    ('mamba', "MAMBA with an instance level needs roi_head=dict(type='MAMBARoIHead', bbox_head=dict("
              "type='InstanceAggregationBBoxHead'"),
    ('selsa', "SELSA needs roi_head=dict(type='MAMBARoIHead', bbox_head=dict(type='InstanceAggregationBBoxHead'"),
    ('mega', "MEGA with a relation level needs roi_head=dict(type='RelationRoIHead', bbox_head=dict("
             "type='RelationBBoxHead'"),
])
def test_each_detector_refuses_a_standard_roi_head_with_the_one_message(method, needs):
    cfg = Config.fromfile(f'configs/synthetic/{method}_r18-dc5_synthetic.py')
    bbox_head = cfg.model.roi_head.bbox_head
    cfg.model.roi_head.type = 'StandardRoIHead'
    cfg.model.roi_head.bbox_head = dict(type='Shared2FCBBoxHead', num_classes=bbox_head.get('num_classes', 30))
    init_default_scope('mamba_vod')
    with pytest.raises(TypeError) as error, torch.device('meta'):
        MODELS.build(cfg.model)
    assert str(error.value).startswith(needs) and str(error.value).endswith('got StandardRoIHead / Shared2FCBBoxHead')
