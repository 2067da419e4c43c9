"""Fidelity: the paper-form instance level and box head against ``Duckduckgod/MAMBA``,
``mamba_core/modeling/roi_heads/box_head/roi_box_feature_extractors.py``,
``MAMBAFeatureExtractor._forward_train`` (keys from references), ``_forward_ref`` (the rows a
memory holds) and ``_forward_test`` (keys from memory), with
``mamba_core/modeling/detector/generalized_rcnn_mamba.py``, ``GeneralizedRCNNMAMBA._forward_test``
(one key set drawn per frame, the frame's top-K first-FC rows written after), restated in float64.

Restated: each level is ``x = GEO_i(ReLU(fc_i(x)), R_i)``; the last x goes to the classifier and
regressor with no ReLU; R_1 are first-FC rows ReLU(fc6(roi)) (of the references, or a key set of
the memory) and R_2 = ReLU(fc7(R_1)).
"""
import pytest
import torch

from .instance_fixtures import HEADS, K, build_head_and_level, rois, spy_key_sets
from .restated import fc_weights, linear, paper_geo, paper_geo_weights


def restated_head(x, first_fc_keys, head, geos):
    """(cls_score, bbox_pred) of RoIs x (R, Cin, 7, 7) over first-FC key rows (k, C)."""
    fcs, keys = fc_weights(head), first_fc_keys
    x = x.flatten(1)
    for level, geo in enumerate(geos):
        if level:
            keys = torch.relu(linear(keys, **fcs[level]))
        x = paper_geo(torch.relu(linear(x, **fcs[level])), keys, paper_geo_weights(geo), HEADS)
    return linear(x, **fcs[2]), linear(x, **fcs[3])


def first_fc_rows(x, head):
    """``_forward_ref``: ReLU(fc6(roi)) (n, C) of RoIs (n, Cin, 7, 7)."""
    return torch.relu(linear(x.flatten(1), **fc_weights(head)[0]))


def test_keys_from_references_as_in_training():
    head, level = build_head_and_level(geo=dict(type='GEO', channels=64, num_heads=HEADS), composition='paper')
    x, refs = rois(6), rois(2 * K)
    with torch.no_grad():
        rows = head.embed(refs, level.without_keys())  # the references through the FCs, not enhanced
        cls_score, bbox_pred = head(x, level.keys_from_rows([rows]))
        expected_cls, expected_reg = restated_head(x, first_fc_rows(refs, head), head, level.geos)
        plain_cls, _ = head(x)
    assert (expected_cls - plain_cls).abs().max() > 1e-3  # the keys matter
    torch.testing.assert_close(cls_score, expected_cls, rtol=0, atol=1e-12)
    torch.testing.assert_close(bbox_pred, expected_reg, rtol=0, atol=1e-12)


@pytest.mark.parametrize('cache_keys', [True, False])
def test_keys_from_one_memory_of_first_fc_rows(cache_keys):
    head, level = build_head_and_level(geo=dict(type='GEO', channels=64, num_heads=HEADS), composition='paper',
                                       cache_keys=cache_keys)
    assert len(level.memories) == 1
    drawn = spy_key_sets(level.memories[0])
    written = []
    with torch.no_grad():
        for frame_id in range(4):  # 20 rows written: key sets of 12 are drawn
            frame = rois(9)
            level.update(head.embed(frame[:K], level.without_keys()), torch.rand(K), torch.full((K, ), frame_id))
            written.append(first_fc_rows(frame[:K], head))
        memory = torch.cat(written)
        torch.testing.assert_close(level.memories[0].features, memory, rtol=0, atol=1e-12)
        x = rois(7)
        keys = level.keys(head.embed(x[:K], level.without_keys()))
        cls_score, bbox_pred = head(x, keys)
        assert len(drawn) == 1 and len(drawn[0]) == 12  # one key set for both levels
        expected_cls, expected_reg = restated_head(x, memory[drawn[0]], head, level.geos)
    torch.testing.assert_close(cls_score, expected_cls, rtol=0, atol=1e-12)
    torch.testing.assert_close(bbox_pred, expected_reg, rtol=0, atol=1e-12)
