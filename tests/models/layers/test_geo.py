"""Tests of :class:`mamba_vod.models.layers.GEO`: the folded paper form equals the literal formula,
the SELSA form equals PyTorch's multi-head attention, parameter names, shapes and errors."""
import pytest
import torch
from torch import nn

import mamba_vod.models.layers.geo as geo_module
from mamba_vod.models.layers import GEO
from mamba_vod.registry import MODELS


def _inputs(batch, num_queries, num_keys, channels, seed=0):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, num_queries, channels, generator=gen, requires_grad=True)
    keys = torch.randn(batch, num_keys, channels, generator=gen, requires_grad=True)
    return query, keys


def _outputs_and_grads(geo, forward, query, keys):
    geo.zero_grad()
    query, keys = (t.detach().clone().requires_grad_() for t in (query, keys))
    out = forward(query, keys)
    grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    out.backward(grad_out)
    grads = {name: p.grad.clone() for name, p in geo.named_parameters()}
    return out.detach(), query.grad, keys.grad, grads


@pytest.mark.parametrize('channels, batch', [(64, 2), (1024, 1)])
def test_folded_paper_form_equals_literal_formula(channels, batch):
    torch.manual_seed(0)
    geo = GEO(channels, num_heads=16, backend='torch')
    query, keys = _inputs(batch, 11, 7, channels)
    folded = _outputs_and_grads(geo, geo.forward, query, keys)
    literal = _outputs_and_grads(geo, geo.forward_literal, query, keys)
    for got, want in zip(folded[:3], literal[:3]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert folded[3].keys() == literal[3].keys() == {
        'query_proj.weight', 'query_proj.bias', 'key_proj.weight', 'key_proj.bias', 'group_conv.weight',
        'group_conv.bias'}
    for name in folded[3]:
        torch.testing.assert_close(folded[3][name], literal[3][name], rtol=1e-5, atol=1e-5, msg=name)


def test_literal_formula_by_hand():
    # one head, C=2: the formula with explicit loops, independent of GEO's reshapes
    torch.manual_seed(0)
    geo = GEO(2, num_heads=1, backend='reference')
    query, keys = torch.randn(3, 2), torch.randn(4, 2)
    q, k = geo.query_proj(query), geo.key_proj(keys)
    weights = torch.softmax(q @ k.T / 2 ** 0.5, dim=1)
    expected = query + (weights @ keys) @ geo.group_conv.weight[:, :, 0].T + geo.group_conv.bias
    torch.testing.assert_close(geo(query, keys), expected)
    torch.testing.assert_close(geo.forward_literal(query, keys), expected)


def test_selsa_form_equals_torch_multihead_attention():
    torch.manual_seed(0)
    channels = 64
    geo = GEO(channels, num_heads=16, value_projection=True, backend='torch')
    mha = nn.MultiheadAttention(channels, 16, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([geo.query_proj.weight, geo.key_proj.weight, geo.value_proj.weight]))
        mha.in_proj_bias.copy_(torch.cat([geo.query_proj.bias, geo.key_proj.bias, geo.value_proj.bias]))
        mha.out_proj.load_state_dict(geo.output_proj.state_dict())
    query, keys = _inputs(2, 9, 5, channels)
    expected = query + mha(query, keys, keys, need_weights=False)[0]
    torch.testing.assert_close(geo(query, keys), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(geo.forward_literal(query, keys), expected, rtol=1e-5, atol=1e-5)
    assert {name for name, _ in geo.named_parameters()} == {
        f'{m}.{p}' for m in ('query_proj', 'key_proj', 'value_proj', 'output_proj') for p in ('weight', 'bias')}


def test_parameter_shapes_of_paper_form():
    geo = GEO(64, num_heads=16)
    assert geo.group_conv.weight.shape == (64, 64, 1) and geo.group_conv.groups == 16
    assert geo.query_proj.weight.shape == geo.key_proj.weight.shape == (64, 64)


def test_unbatched_input_equals_batch_of_one_and_batches_are_independent():
    torch.manual_seed(0)
    geo = GEO(32, num_heads=4)
    query, keys = _inputs(2, 6, 5, 32)
    batched = geo(query, keys)
    assert batched.shape == query.shape
    for b in range(2):
        single = geo(query[b], keys[b])
        assert single.shape == query[b].shape
        torch.testing.assert_close(single, batched[b], rtol=1e-6, atol=1e-6)


def test_backend_is_passed_to_geo_attention(monkeypatch):
    seen = []
    real = geo_module.geo_attention

    def spy(q, k, v, scale=None, backend='auto'):
        seen.append((backend, q.shape, v.shape))
        return real(q, k, v, scale=scale, backend=backend)

    monkeypatch.setattr(geo_module, 'geo_attention', spy)
    geo = GEO(32, num_heads=4, backend='reference')
    geo(torch.randn(6, 32), torch.randn(3, 32))
    assert seen == [('reference', (1, 4, 6, 8), (1, 4, 3, 8))]


def test_triton_backend_through_interpreter_matches_torch():
    pytest.importorskip('triton')
    torch.manual_seed(0)
    geo = GEO(16, num_heads=4, backend='triton')  # head dim 4, padded to a 16-wide tile
    query, keys = _inputs(1, 20, 9, 16)
    with_triton = _outputs_and_grads(geo, geo.forward, query, keys)
    geo.backend = 'torch'
    with_torch = _outputs_and_grads(geo, geo.forward, query, keys)
    for got, want in zip(with_triton[:3], with_torch[:3]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_registered_and_built_from_config():
    geo = MODELS.build(dict(type='GEO', channels=32, num_heads=4, value_projection=True, backend='torch'))
    assert isinstance(geo, GEO) and geo.value_projection and geo.backend == 'torch'


@pytest.mark.parametrize('kwargs, args, message', [
    (dict(channels=30, num_heads=16), None, 'multiple of num_heads'),
    (dict(channels=32, backend='fast'), None, 'backend must be one of'),
    (dict(channels=32, num_heads=4), (torch.randn(3, 16), torch.randn(2, 16)), 'expected 32 channels'),
    (dict(channels=32, num_heads=4), (torch.randn(1, 3, 32), torch.randn(2, 32)), 'both'),
    (dict(channels=32, num_heads=4), (torch.randn(1, 3, 32), torch.randn(2, 2, 32)), 'batch sizes'),
    (dict(channels=32, num_heads=4), (torch.randn(3, 32), torch.randn(0, 32)), 'no keys'),
])
def test_rejects_bad_configuration_and_inputs(kwargs, args, message):
    with pytest.raises(ValueError, match=message):
        geo = GEO(**kwargs)
        geo(*args)


def test_zero_initialised_output_starts_as_the_identity_and_still_learns():
    torch.manual_seed(0)
    for value_projection in (False, True):
        geo = GEO(64, num_heads=16, value_projection=value_projection, zero_init_output=True)
        query, keys = torch.randn(5, 64), torch.randn(9, 64)
        out = geo(query, keys)
        assert torch.equal(out, query)
        out.square().sum().backward()
        output = geo.output_proj if value_projection else geo.group_conv
        assert output.weight.grad.abs().sum() > 0
