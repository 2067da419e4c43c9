"""Fidelity: the release-form instance level and box head (the released checkpoint's) against
vfe.pytorch, ``mmdet/models/roi_heads/vid/bbox_heads/mamba_bbox_head.py``,
``MambaBBoxHead._first_frame_forward`` (explicit references: frame 0) and ``MambaBBoxHead.forward``
(later frames: each level's key set from its own memory, which then takes the level's enhanced
rows of the first K proposals), with ``mmdet/models/memory/memory_bank.py`` (``init_memory``,
``update``), restated in float64.

Restated: each level is ``a = fc_i(x)``, ``y = a + Agg_i(a, R_i)``, ``x = ReLU(y)``; frame 0:
R_i are the references through the same FCs (r_0 = fc6(ref), r_1 = fc7(ReLU(r_0))), and memory i
starts as r_i; later frames: R_i a key set of memory i, to which y[:K] is appended.
"""
import torch

from .instance_fixtures import HEADS, K, build_head_and_level, rois, spy_key_sets
from .restated import fc_weights, linear, selsa_aggregate, selsa_weights


def restated_level(x, fc, geo, keys):
    """One level: (y, ReLU(y)) of x (R, C_in) over keys R_i (k, C)."""
    a = linear(x, **fc)
    y = a + selsa_aggregate(a, keys, selsa_weights(geo), HEADS)
    return y, torch.relu(y)


def test_frame_zero_with_references_then_frames_from_the_memories():
    head, level = build_head_and_level(geo=dict(type='GEO', channels=64, num_heads=HEADS, value_projection=True),
                                       composition='release', memory_features='enhanced')
    fcs = fc_weights(head)
    drawn = [spy_key_sets(bank) for bank in level.memories]
    x0, refs = rois(8), rois(3 * K)
    with torch.no_grad():
        # frame 0: keys from the references (our detector then refills the memories with them)
        ref_rows = head.embed(refs, level.without_keys())
        cls_score, bbox_pred = head(x0, level.keys_from_rows([ref_rows]))
        level.update(ref_rows, torch.rand(len(refs)), torch.zeros(len(refs)), replace=True)
        x, r, memories = x0.flatten(1), refs.flatten(1), []
        for i, geo in enumerate(level.geos):
            r_pre = linear(r, **fcs[i])
            memories.append(r_pre)  # init_memory with the pre-ReLU reference rows
            _, x = restated_level(x, fcs[i], geo, r_pre)
            r = torch.relu(r_pre)
        torch.testing.assert_close(cls_score, linear(x, **fcs[2]), rtol=0, atol=1e-12)
        torch.testing.assert_close(bbox_pred, linear(x, **fcs[3]), rtol=0, atol=1e-12)
        for frame in range(2):  # later frames: sample, enhance, append y[:K]
            roi = rois(9)
            keys = level.keys(None)
            cls_score, _ = head(roi, keys)
            level.update(head.embed(roi[:K], keys), torch.rand(K), torch.full((K, ), frame + 1))
            x = roi.flatten(1)
            for i, geo in enumerate(level.geos):
                y, x = restated_level(x, fcs[i], geo, memories[i][drawn[i][frame]])
                memories[i] = torch.cat([memories[i], y[:K]])
            torch.testing.assert_close(cls_score, linear(x, **fcs[2]), rtol=0, atol=1e-12)
    for bank, memory in zip(level.memories, memories):
        torch.testing.assert_close(bank.features, memory, rtol=0, atol=1e-12)
    assert all(len(d) == 2 and len(d[0]) == 12 for d in drawn)  # each memory draws its own key set
