"""The relation box head alone: the RoIs (boxes for the geometry terms) come as an argument."""
import pytest
import torch

from mamba_vod.models.levels import RelationKeys, RelationLevel
from mamba_vod.models.levels.relation_level import RelationBatchKeys
from mamba_vod.registry import MODELS

CHANNELS = 32


def _head_and_level():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='RelationBBoxHead', in_channels=8, fc_out_channels=CHANNELS, roi_feat_size=7,
                             num_classes=5, num_shared_fcs=3))
    level = RelationLevel(channels=CHANNELS, num_stages=3, num_groups=4, num_global=1, proposals_per_frame=6)
    return head.eval(), level.eval()


def _boxes(num, seed):
    xy = torch.rand(num, 2, generator=torch.Generator().manual_seed(seed)) * 40
    return torch.cat([xy, xy + 8], 1)


def test_the_head_alone_reads_the_rois_it_is_given():
    head, level = _head_and_level()
    window = [(torch.randn(6, CHANNELS), _boxes(6, seed)) for seed in range(2)]
    keys = RelationBatchKeys(level, [RelationKeys(window=window), None])  # image 1 unaggregated
    boxes = _boxes(5, 10)
    rois = torch.cat([torch.tensor([0., 0., 0., 1., 1.])[:, None], boxes], 1)
    feats = torch.randn(5, 8, 7, 7)
    with torch.no_grad():
        cls_score, bbox_pred = head(feats, keys, rois)
        plain_cls, plain_reg = head(feats)
        moved = rois.clone()
        moved[:, 1:] += 5.
        moved_cls, _ = head(feats, keys, moved)
    assert cls_score.shape == (5, 6) and bbox_pred.shape == (5, 20)
    assert not torch.allclose(cls_score[:3], plain_cls[:3])  # image 0 related to its window
    torch.testing.assert_close(cls_score[3:], plain_cls[3:])  # image 1: the plain head
    torch.testing.assert_close(bbox_pred[3:], plain_reg[3:])
    assert not torch.allclose(moved_cls[:3], cls_score[:3])  # the geometry reads the boxes given
    with pytest.raises(ValueError, match=r'needs the RoIs \(5, 5\)'):
        head(feats, keys, rois[:, 0])


def test_the_roi_head_hands_its_box_head_the_rois():
    _, level = _head_and_level()
    roi_head = MODELS.build(dict(
        type='RelationRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=8, featmap_strides=[16],
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
        bbox_head=dict(type='RelationBBoxHead', in_channels=8, fc_out_channels=CHANNELS, roi_feat_size=7,
                       num_classes=5, num_shared_fcs=3))).eval()
    keys = RelationBatchKeys(level, [RelationKeys(window=[(torch.randn(6, CHANNELS), _boxes(6, 0))])])
    rois = torch.cat([torch.zeros(4, 1), _boxes(4, 3)], 1)
    seen = []
    forward = roi_head.bbox_head.forward
    roi_head.bbox_head.forward = lambda x, instance_keys=None, rois=None: seen.append(rois) or forward(
        x, instance_keys, rois)
    with torch.no_grad():
        out = roi_head._bbox_forward((torch.randn(1, 8, 4, 4), ), rois, keys)
    assert out['cls_score'].shape == (4, 6) and torch.equal(seen[0], rois)
