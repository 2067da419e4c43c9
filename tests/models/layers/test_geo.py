"""Tests of :class:`mamba_vod.models.layers.GEO`: the folded paper form equals the literal formula,
the SELSA form equals PyTorch's multi-head attention, cosine similarity by hand and as a
selection of the nearest key, parameter names, shapes and errors."""
import pytest
import torch
import torch.nn.functional as F
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
    grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(1)).to(out.dtype)
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
    (dict(channels=32, similarity='l2'), None, 'similarity must be one of'),
    (dict(channels=32, query_key_init='orthogonal'), None, "query_key_init must be 'default' or 'identity'"),
    (dict(channels=32, similarity='cosine', cosine_scale=1.0), None, r'cosine_scale must be in \(1, 100\]'),
    (dict(channels=32, num_heads=4), (torch.randn(3, 16), torch.randn(2, 16)), 'expected 32 channels'),
    (dict(channels=32, num_heads=4), (torch.randn(1, 3, 32), torch.randn(2, 32)), 'both'),
    (dict(channels=32, num_heads=4), (torch.randn(1, 3, 32), torch.randn(2, 2, 32)), 'batch sizes'),
])
def test_rejects_bad_configuration_and_inputs(kwargs, args, message):
    with pytest.raises(ValueError, match=message):
        geo = GEO(**kwargs)
        geo(*args)


@pytest.mark.parametrize('value_projection', [False, True])
@pytest.mark.parametrize('similarity, centre_values', [('dot', False), ('cosine', True)])
def test_no_queries_and_no_keys(value_projection, similarity, centre_values):
    """Nq = 0 gives an empty (0, C); Nk = 0 (references without proposals, mmtracking #370) gives
    the query plus the output mapping's bias (an empty weighted sum is 0), by every path."""
    torch.manual_seed(0)
    geo = GEO(32, num_heads=4, value_projection=value_projection, similarity=similarity,
              centre_values=centre_values)
    query, keys = torch.randn(3, 32, requires_grad=True), torch.randn(5, 32)
    bias = geo.output_proj.bias if value_projection else geo.group_conv.bias
    assert bias.abs().max() > 0
    for forward in (geo, geo.forward_literal, lambda q, k: geo(q, geo.project_keys(k))):
        assert forward(query[:0], keys).shape == (0, 32)
        assert forward(query[:0], keys[:0]).shape == (0, 32)
        out = forward(query, keys[:0])
        torch.testing.assert_close(out, query + bias)
    empty_set = geo.project_keys(keys)._replace(index=torch.zeros(0, dtype=torch.long))
    torch.testing.assert_close(geo(query, empty_set), query + bias)
    geo(query, keys[:0]).sum().backward()
    torch.testing.assert_close(query.grad, torch.ones_like(query))


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


def test_cosine_similarity_by_hand():
    # two heads of 2 dims: per head, softmax(s_h * cos(q_h, k_h)) over the keys, written out
    torch.manual_seed(0)
    geo = GEO(4, num_heads=2, similarity='cosine', cosine_scale=7.0, backend='reference')
    with torch.no_grad():
        geo.log_cosine_scale[1] = torch.log(torch.tensor(3.0))
    query, keys = torch.randn(3, 4), torch.randn(5, 4)
    q, k = geo.query_proj(query), geo.key_proj(keys)
    expected = query + geo.group_conv.bias
    for head, scale in enumerate((7.0, 3.0)):
        block = slice(2 * head, 2 * head + 2)
        cos = torch.tensor([[torch.dot(q[i, block], k[j, block]).item()
                             / (q[i, block].norm() * k[j, block].norm()).item() for j in range(5)] for i in range(3)])
        weights = torch.softmax(scale * cos, dim=1)
        expected[:, block] += (weights @ keys) @ geo.group_conv.weight[block, :, 0].T
    torch.testing.assert_close(geo(query, keys), expected)
    torch.testing.assert_close(geo.forward_literal(query, keys), expected)


def _projected_key_set(geo, keys):
    """:class:`ProjectedKeys` of ``keys`` (Nk, C) placed after 3 other rows, the key set their slots."""
    rows = torch.cat([torch.randn(3, keys.shape[1], generator=torch.Generator().manual_seed(5)).to(keys.dtype), keys])
    projected = geo.project_keys(rows)
    return geo_module.ProjectedKeys(projected.keys, projected.values, torch.arange(3, len(rows)))


@pytest.mark.parametrize('value_projection', [False, True])
@pytest.mark.parametrize('centre_values', [False, True])
def test_cosine_forms_agree_in_values_and_gradients(value_projection, centre_values):
    torch.manual_seed(0)
    # float64: the three forms sum in different orders, and in float32 how far apart that leaves
    # the gradients depends on the thread count (one parameter's grad missed 1e-5 with one thread)
    geo = GEO(64, num_heads=4, similarity='cosine', value_projection=value_projection, backend='torch',
              centre_values=centre_values).double()
    query, keys = (tensor.double() for tensor in _inputs(1, 11, 7, 64))
    folded = _outputs_and_grads(geo, geo.forward, query, keys)
    literal = _outputs_and_grads(geo, geo.forward_literal, query, keys)
    projected = _outputs_and_grads(geo, lambda q, k: geo(q[0], _projected_key_set(geo, k[0]))[None], query, keys)
    assert 'log_cosine_scale' in folded[3] and folded[3]['log_cosine_scale'].abs().sum() > 0
    for other in (literal, projected):
        for got, want in zip(folded[:3], other[:3]):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
        for name in folded[3]:
            torch.testing.assert_close(folded[3][name], other[3][name], rtol=1e-10, atol=1e-10, msg=name)


def test_cosine_similarity_selects_the_nearest_key_where_the_dot_product_averages():
    # 64 random keys in 256 dims (pairwise cosines near 0) and, among them, the query itself with
    # identity projections: at the largest scale, each head's weight on that key is e^100 times
    # another's, so the output is query + that key's value; the dot product of default-initialised
    # projections spreads the weights, and its output is far from it
    torch.manual_seed(0)
    channels, heads = 256, 8
    query, keys = torch.randn(1, channels), torch.randn(64, channels)
    keys[17] = query[0]
    outputs = {}
    for similarity in ('dot', 'cosine'):
        geo = GEO(channels, num_heads=heads, similarity=similarity, value_projection=True, backend='torch',
                  cosine_scale=100.0)
        with torch.no_grad():
            if similarity == 'cosine':
                for proj in (geo.query_proj, geo.key_proj):
                    proj.weight.copy_(torch.eye(channels))
                    proj.bias.zero_()
            geo.value_proj.weight.copy_(torch.eye(channels))
            geo.value_proj.bias.zero_()
            geo.output_proj.weight.copy_(torch.eye(channels))
            geo.output_proj.bias.zero_()
        outputs[similarity] = geo(query, keys) - query  # the attention-weighted mean of the keys
    torch.testing.assert_close(outputs['cosine'], keys[17:18], rtol=0, atol=1e-4)
    assert (outputs['dot'] - keys[17:18]).norm() > 0.5 * keys[17].norm()


def test_cosine_scale_is_learned_per_head_and_capped():
    torch.manual_seed(0)
    geo = GEO(32, num_heads=4, similarity='cosine', cosine_scale=10.0)
    assert geo.log_cosine_scale.shape == (4,)
    torch.testing.assert_close(geo.log_cosine_scale.exp(), torch.full((4,), 10.0))
    assert 'log_cosine_scale' not in GEO(32, num_heads=4).state_dict()  # dot-product checkpoints unchanged
    query, keys = torch.randn(5, 32), torch.randn(9, 32)
    with torch.no_grad():
        geo.log_cosine_scale.fill_(torch.log(torch.tensor(100.0)).item())
        at_cap = geo(query, keys)
        geo.log_cosine_scale.fill_(8.0)  # e^8 > 100: clamped to the cap
        torch.testing.assert_close(geo(query, keys), at_cap)


def test_identity_query_key_init_attends_by_the_cosine_of_the_features_themselves():
    torch.manual_seed(0)
    geo = GEO(16, num_heads=1, similarity='cosine', cosine_scale=20.0, query_key_init='identity',
              value_projection=True)
    geo.init_weights()  # a second initialisation (MMEngine's) keeps the identity
    for projection in (geo.query_proj, geo.key_proj):
        assert torch.equal(projection.weight, torch.eye(16)) and not projection.bias.any()
    query, keys = torch.randn(4, 16), torch.randn(6, 16)
    weights = torch.softmax(20.0 * F.normalize(query, dim=1) @ F.normalize(keys, dim=1).T, dim=1)
    expected = query + geo.output_proj(weights @ geo.value_proj(keys))
    torch.testing.assert_close(geo(query, keys), expected)
    # the projections still learn
    geo(query, keys).square().sum().backward()
    assert geo.query_proj.weight.grad.abs().sum() > 0 and geo.key_proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('value_projection', [False, True])
def test_centred_values_make_uniform_attention_add_only_the_bias(value_projection):
    torch.manual_seed(0)
    geo = GEO(32, num_heads=4, value_projection=value_projection, centre_values=True)
    query, keys = torch.randn(5, 32), torch.randn(9, 32)
    with torch.no_grad():
        geo.query_proj.weight.zero_()  # every logit 0: each query weighs the keys uniformly
        geo.query_proj.bias.zero_()
        bias = geo.output_proj(torch.zeros(32)) if value_projection else geo.group_conv.bias
        torch.testing.assert_close(geo(query, keys), query + bias)
        torch.testing.assert_close(geo(query, geo.project_keys(keys)), query + bias)
        geo.centre_values = False
        assert (geo(query, keys) - query - bias).abs().max() > 1e-2  # raw values: their mean is added
