"""Fidelity: the SELSA-form GEO is mmtracking's ``SelsaAggregator`` plus the residual that
mmtracking's ``SelsaBBoxHead`` adds (``x + aggregator(x, ref_x)``), in float64.

mmtracking (master 0.14 and dev-1.x alike), ``mmtrack/models/aggregators/selsa_aggregator.py``,
``SelsaAggregator(in_channels, num_attention_blocks=16)`` after the empty-input fix (#463), restated
here from the facts in /work/notes/peers_facts.md s.1.1 and s.1.6 (not from its code):
four ``nn.Linear(C, C)`` with bias, ``fc_embed`` (query), ``ref_fc_embed`` (key), ``ref_fc``
(value), ``fc`` (output); head h owns channels h*d .. h*d+d-1, d = C/16; softmax over the
references of ``q_h k_h^T / sqrt(d)``; heads back side by side through ``fc``; no residual, norm,
dropout or geometry. With N = 0 key RoIs the output is (0, C); with M = 0 references the empty
softmax gives zeros and the output is ``fc.bias`` for every RoI, so ours gives ``x + fc.bias``.

The mapping a converter uses, mmtracking name -> our GEO name, is :data:`MMTRACK_TO_GEO`
(under ``roi_head.bbox_head.aggregator.{i}.`` in mmtracking's checkpoints).
"""
import math

import pytest
import torch

from mamba_vod.models.layers import GEO

from .restated import linear

C, HEADS = 128, 16
MMTRACK_TO_GEO = {'fc_embed': 'query_proj', 'ref_fc_embed': 'key_proj', 'ref_fc': 'value_proj', 'fc': 'output_proj'}


def mmtrack_selsa_aggregator(x, ref_x, state, heads=HEADS):
    """mmtracking's ``SelsaAggregator.forward(x (N, C), ref_x (M, C))`` -> (N, C); ``state`` holds its
    parameters under its own names."""
    num, channels = x.shape
    d = channels // heads
    q = linear(x, state['fc_embed.weight'], state['fc_embed.bias']).reshape(num, heads, d)
    k = linear(ref_x, state['ref_fc_embed.weight'], state['ref_fc_embed.bias']).reshape(len(ref_x), heads, d)
    v = linear(ref_x, state['ref_fc.weight'], state['ref_fc.bias']).reshape(len(ref_x), heads, d)
    weights = (torch.einsum('nhd,mhd->hnm', q, k) / math.sqrt(d)).softmax(dim=2)  # over the M references
    merged = torch.einsum('hnm,mhd->nhd', weights, v).reshape(num, channels)  # head h at channels h*d ..
    return linear(merged, state['fc.weight'], state['fc.bias'])


def mmtrack_state(seed=0):
    """A random float64 state dict of one mmtracking aggregator, under mmtracking's names."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name in MMTRACK_TO_GEO:
        state[f'{name}.weight'] = torch.randn(C, C, generator=gen, dtype=torch.float64) / math.sqrt(C)
        state[f'{name}.bias'] = torch.randn(C, generator=gen, dtype=torch.float64)
    return state


def our_name(key):
    """Our GEO's name of an mmtracking aggregator key, e.g. ``ref_fc.weight`` -> ``value_proj.weight``."""
    module, param = key.split('.')
    return f'{MMTRACK_TO_GEO[module]}.{param}'


def geo_from_mmtrack(state, num_heads=HEADS):
    """Our SELSA-form GEO loaded strictly from mmtracking's names through :data:`MMTRACK_TO_GEO`."""
    geo = GEO(C, num_heads=num_heads, value_projection=True).double()
    renamed = {our_name(key): value for key, value in state.items()}
    geo.load_state_dict(renamed, strict=True)  # every GEO parameter named, every mmtracking tensor used
    return geo


def _inputs(num, num_refs, seed=1):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num, C, generator=gen, dtype=torch.float64, requires_grad=True)
    ref_x = torch.randn(num_refs, C, generator=gen, dtype=torch.float64, requires_grad=True)
    return x, ref_x


def test_geo_is_mmtrack_selsa_aggregator_plus_residual_in_values_and_gradients():
    state = {k: v.requires_grad_() for k, v in mmtrack_state().items()}
    geo = geo_from_mmtrack({k: v.detach() for k, v in state.items()})
    x, ref_x = _inputs(7, 23)
    aggregated = mmtrack_selsa_aggregator(x, ref_x, state)
    assert aggregated.abs().max() > 0.1
    ours = geo(x, ref_x)
    torch.testing.assert_close(ours, x + aggregated, rtol=0, atol=1e-12)
    upstream = torch.randn_like(ours)
    theirs_grads = torch.autograd.grad(x + aggregated, [x, ref_x, *state.values()], upstream)
    ours_grads = torch.autograd.grad(ours, [x, ref_x, *(geo.get_parameter(our_name(k)) for k in state)], upstream)
    for theirs, mine in zip(theirs_grads, ours_grads):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-12)


def test_the_comparison_sees_the_head_count_and_the_mapping():
    """Guards that the test above could fail: 8 heads, or value and key swapped, give other numbers."""
    state = mmtrack_state()
    x, ref_x = _inputs(5, 9)
    expected = x + mmtrack_selsa_aggregator(x, ref_x, state)
    with torch.no_grad():
        assert (geo_from_mmtrack(state, num_heads=8)(x, ref_x) - expected).abs().max() > 1e-3
        swapped = dict(state, **{'ref_fc.weight': state['ref_fc_embed.weight'],
                                 'ref_fc_embed.weight': state['ref_fc.weight']})
        assert (geo_from_mmtrack(swapped)(x, ref_x) - expected).abs().max() > 1e-3


@pytest.mark.parametrize('num, num_refs', [(0, 9), (5, 0), (0, 0)])
def test_empty_key_rois_or_references_as_mmtrack_after_its_fix(num, num_refs):
    """mmtracking #370 / #463: N = 0 gives (0, C); M = 0 gives fc.bias per RoI, i.e. x + fc.bias here."""
    state = mmtrack_state()
    geo = geo_from_mmtrack(state)
    x, ref_x = _inputs(num, num_refs)
    theirs = mmtrack_selsa_aggregator(x, ref_x, state)
    if num_refs == 0:
        torch.testing.assert_close(theirs, state['fc.bias'].expand(num, C))
    ours = geo(x, ref_x)
    assert ours.shape == (num, C) and torch.isfinite(ours).all()
    torch.testing.assert_close(ours, x + theirs, rtol=0, atol=1e-12)
    ours.sum().backward()  # differentiable: the residual passes the gradient through
    torch.testing.assert_close(x.grad, torch.ones_like(x))
