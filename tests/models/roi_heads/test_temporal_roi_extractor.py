"""Tests of :class:`mamba_vod.models.roi_heads.TemporalRoIAlign`: against a float64 reference written
from the description of Temporal RoI Align (mmtracking's ``TemporalRoIAlign``; facts in
/work/notes/peers_facts.md s.2.1), in values and gradients; one reference map; no RoIs; a hand-made
map whose two most similar points are known; parameter names; reference RoIs get plain RoIAlign."""
import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from mamba_vod.models.roi_heads import TemporalRoIAlign
from mamba_vod.models.roi_heads.temporal_roi_extractor import most_similar_roi_align
from mamba_vod.registry import MODELS

STRIDE, BINS = 16, 7


def build(channels, num_points=2, heads=4):
    return TemporalRoIAlign(num_most_similar_points=num_points, num_temporal_attention_blocks=heads,
                            roi_layer=dict(type='RoIAlign', output_size=BINS, sampling_ratio=2),
                            out_channels=channels, featmap_strides=[STRIDE]).double()


def reference(x, rois, ref_x, conv_weight, conv_bias, num_points=2, heads=4):
    """Temporal RoI Align by the description, one bin, frame and head at a time (float64).

    x (1, C, h, w), rois (R, 5), ref_x (T, C, h', w') -> (R, C, 7, 7)."""
    bins = roi_align(x, rois, BINS, 1 / STRIDE, sampling_ratio=2, aligned=True)  # (R, C, 7, 7)
    num_rois, channels = bins.shape[:2]
    frames = [bins]  # the key frame's own bins first
    for ref_map in ref_x:
        pixels = ref_map.reshape(channels, -1).t()  # (h'*w', C)
        similar = torch.zeros_like(bins)
        for r in range(num_rois):
            for i in range(BINS):
                for j in range(BINS):
                    b = bins[r, :, i, j]
                    cosine = pixels @ b / (pixels.norm(dim=1) * b.norm())
                    best = torch.argsort(cosine, descending=True)[:num_points]
                    weights = torch.softmax(cosine[best], dim=0)
                    similar[r, :, i, j] = (weights[:, None] * pixels[best]).sum(0)
        frames.append(similar)
    frames = torch.stack(frames)  # (T+1, R, C, 7, 7)
    d = channels // heads
    out = torch.zeros_like(bins)
    for r in range(num_rois):
        embedded = F.conv2d(frames[:, r], conv_weight, conv_bias, padding=1)  # (T+1, C, 7, 7)
        for g in range(heads):
            part = slice(g * d, (g + 1) * d)
            logits = (embedded[:, part] * embedded[0, part]).sum(1) / math.sqrt(d)  # (T+1, 7, 7)
            weights = torch.softmax(logits, dim=0)  # over the frames, per bin
            out[r, part] = (weights[:, None] * frames[:, r, part]).sum(0)
    return out


def _inputs(channels, num_refs, num_rois=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, channels, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    ref_x = torch.randn(num_refs, channels, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    corners = torch.tensor([[4., 2., 60., 50.], [20., 10., 90., 75.], [0., 0., 95., 79.]], dtype=torch.float64)
    rois = torch.cat([torch.zeros(3, 1, dtype=torch.float64), corners], dim=1)[:num_rois]
    return x, rois, ref_x


@pytest.mark.parametrize('num_refs', [1, 3])
def test_equals_reference_in_values_and_gradients(num_refs):
    torch.manual_seed(0)
    extractor = build(8)
    conv = extractor.embed_network.conv
    x, rois, ref_x = _inputs(8, num_refs)
    ours = extractor((x,), rois, ref_feats=(ref_x,))
    theirs = reference(x, rois, ref_x, conv.weight, conv.bias)
    assert ours.shape == (3, 8, BINS, BINS)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    assert (ours - roi_align(x, rois, BINS, 1 / STRIDE, 2, aligned=True)).abs().max() > 1e-2  # it does enrich
    upstream = torch.randn_like(ours)
    inputs = [x, ref_x, conv.weight, conv.bias]
    expected_grads = torch.autograd.grad(theirs, inputs, upstream)
    for mine, expected in zip(torch.autograd.grad(ours, inputs, upstream), expected_grads):
        assert expected.abs().max() > 0
        torch.testing.assert_close(mine, expected, rtol=0, atol=1e-12)


def test_two_most_similar_points_by_hand():
    """Bins of a constant key map equal its pixel v = (1, 0, 0). The reference map holds (2, 0, 0)
    (cosine 1), (1, 0.5, 0) (cosine 2/sqrt(5)) and points of lower cosine, so each bin takes
    softmax(1, 2/sqrt(5)) of those two; with no attention heads the key and that are averaged."""
    v = torch.tensor([1., 0., 0.], dtype=torch.float64)
    x = v.view(1, 3, 1, 1).expand(1, 3, 4, 4).contiguous()
    ref_map = torch.tensor([[-1., 0., 0.], [0., 1., 0.], [2., 0., 0.], [1., 1., 1.], [1., 0.5, 0.], [0., 0., 3.]],
                           dtype=torch.float64).t().reshape(1, 3, 2, 3)  # the 6 pixels in row order
    cos2 = 2 / math.sqrt(5)
    w1, w2 = math.exp(1) / (math.exp(1) + math.exp(cos2)), math.exp(cos2) / (math.exp(1) + math.exp(cos2))
    expected = torch.tensor([2 * w1 + 1 * w2, 0.5 * w2, 0.], dtype=torch.float64)
    similar = most_similar_roi_align(x.expand(2, 3, 4, 4), ref_map, 2)  # as 2 RoIs of 4x4 bins
    assert similar.shape == (1, 2, 3, 4, 4)
    torch.testing.assert_close(similar, expected.view(1, 1, 3, 1, 1).expand_as(similar), rtol=0, atol=1e-14)
    rois = torch.tensor([[0., 8., 8., 40., 40.]], dtype=torch.float64)
    averaged = build(3, heads=0)((x,), rois, ref_feats=(ref_map,))
    torch.testing.assert_close(averaged, ((v + expected) / 2).view(1, 3, 1, 1).expand(1, 3, BINS, BINS),
                               rtol=0, atol=1e-14)


def test_one_point_takes_the_most_similar_pixel():
    ref_map = torch.tensor([[0., 1.], [3., 0.1], [-2., 0.]], dtype=torch.float64).t().reshape(1, 2, 1, 3)
    bins = torch.tensor([1., 0.], dtype=torch.float64).view(1, 2, 1, 1)
    torch.testing.assert_close(most_similar_roi_align(bins, ref_map, 1).flatten(), torch.tensor([3., 0.1],
                               dtype=torch.float64))


def test_no_rois_and_reference_rois():
    extractor = build(8)
    x, rois, ref_x = _inputs(8, 2)
    assert extractor((x,), rois[:0], ref_feats=(ref_x,)).shape == (0, 8, BINS, BINS)
    plain = extractor((x,), rois)  # reference RoIs: no reference maps, plain RoIAlign
    torch.testing.assert_close(plain, roi_align(x, rois, BINS, 1 / STRIDE, 2, aligned=True), rtol=0, atol=1e-12)


def test_parameters_named_as_mmtracking_and_built_from_config():
    extractor = MODELS.build(dict(type='TemporalRoIAlign', num_most_similar_points=2, num_temporal_attention_blocks=4,
                                  roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2), out_channels=16,
                                  featmap_strides=[16]))
    assert {k: tuple(v.shape) for k, v in extractor.state_dict().items()} == {
        'embed_network.conv.weight': (16, 16, 3, 3), 'embed_network.conv.bias': (16,)}
    assert not list(build(8, heads=0).parameters())
    with pytest.raises(ValueError, match='multiple of num_temporal_attention_blocks'):
        build(10, heads=4)
    with pytest.raises(ValueError, match='num_most_similar_points'):
        build(8, num_points=0)
