"""Tests of :class:`mamba_vod.models.layers.RelationModule` and the box geometry embedding: against a
float64 reference written from the description of mega.pytorch's relation module (facts in
/work/notes/peers_facts.md s.7.2, s.8.1), with and without geometry and key bias, in values and
gradients; the geometry on hand-made boxes; no queries, no keys; parameter names and shapes."""
import math

import pytest
import torch

from mamba_vod.models.layers import RelationModule, box_geometry_embedding, relative_box_geometry
from mamba_vod.registry import MODELS

C, GROUPS, EMBED = 32, 4, 16


def reference(query, keys, module, geometry=None):
    """The relation by the description, one group at a time: logits (q_g + u_g) . k_g / sqrt(d) plus
    log(ReLU(Wg e) + 1e-6); softmax over keys; the group's weights times the raw keys (all C) through
    group g of the 1x1 conv Wv; plus the query. Float64, weights read from ``module``."""
    d = C // GROUPS
    q = query @ module.Wq.weight.t() + module.Wq.bias
    k = keys @ module.Wk.weight.t() + module.Wk.bias
    out = torch.zeros_like(query)
    for g in range(GROUPS):
        part = slice(g * d, (g + 1) * d)
        logits = q[:, part] @ k[:, part].t()  # (Nq, Nk)
        if module.u is not None:
            logits = logits + (module.u[g, 0] @ k[:, part].t())[None]  # the same for every query
        logits = logits / math.sqrt(d)
        if geometry is not None:
            weight = torch.relu(geometry @ module.Wg.weight[g, :, 0, 0] + module.Wg.bias[g])  # (Nq, Nk)
            logits = logits + torch.log(weight + 1e-6)
        head = torch.softmax(logits, dim=1) @ keys  # (Nq, C)
        out[:, part] = head @ module.Wv.weight[part, :, 0, 0].t() + module.Wv.bias[part]
    return query + out


def _module(geometry_dim, key_bias, seed=0):
    torch.manual_seed(seed)
    module = RelationModule(C, num_groups=GROUPS, geometry_dim=geometry_dim, key_bias=key_bias).double()
    with torch.no_grad():  # larger than mega's N(0, 0.01) start, so every term moves the output
        for param in module.parameters():
            param.normal_(0, 0.5)
    return module


def _boxes(num, gen):
    corner = torch.rand(num, 2, generator=gen, dtype=torch.float64) * 100
    return torch.cat([corner, corner + 5 + torch.rand(num, 2, generator=gen, dtype=torch.float64) * 60], dim=1)


def _inputs(num_q, num_k, seed=1):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(num_q, C, generator=gen, dtype=torch.float64, requires_grad=True)
    keys = torch.randn(num_k, C, generator=gen, dtype=torch.float64, requires_grad=True)
    geometry = box_geometry_embedding(_boxes(num_q, gen), _boxes(num_k, gen), dim=EMBED).requires_grad_()
    return query, keys, geometry


@pytest.mark.parametrize('geometry_dim, key_bias', [(EMBED, True), (EMBED, False), (None, True), (None, False)])
def test_equals_reference_in_values_and_gradients(geometry_dim, key_bias):
    module = _module(geometry_dim, key_bias)
    query, keys, geometry = _inputs(6, 11)
    geometry = geometry if geometry_dim else None
    ours, theirs = module(query, keys, geometry), reference(query, keys, module, geometry)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    inputs = [query, keys, *module.parameters()] + ([geometry] if geometry_dim else [])
    upstream = torch.randn_like(ours)
    expected_grads = torch.autograd.grad(theirs, inputs, upstream)
    for mine, expected in zip(torch.autograd.grad(ours, inputs, upstream), expected_grads):
        assert expected.abs().max() > 0
        torch.testing.assert_close(mine, expected, rtol=0, atol=1e-12)


def test_geometry_and_key_bias_change_the_output():
    query, keys, geometry = _inputs(6, 11)
    with_both = _module(EMBED, True)(query, keys, geometry)
    no_bias = _module(EMBED, False)  # same seed: the same weights but u
    assert (no_bias(query, keys, geometry) - with_both).abs().max() > 1e-3
    assert (no_bias(query, keys, torch.zeros_like(geometry)) - no_bias(query, keys, geometry)).abs().max() > 1e-3


@pytest.mark.parametrize('geometry_dim', [EMBED, None])
def test_no_queries_and_no_keys(geometry_dim):
    """Nq = 0 gives (0, C). Nk = 0 (no reference proposals) gives query + Wv's bias: every weighted
    sum over no keys is 0, as mega.pytorch's formula gives (softmax of nothing, times nothing)."""
    module = _module(geometry_dim, True)
    query, keys, geometry = _inputs(4, 5)
    geo = (lambda rows, cols: geometry[rows][:, cols]) if geometry_dim else (lambda rows, cols: None)
    assert module(query[:0], keys, geo(slice(0), slice(None))).shape == (0, C)
    assert module(query[:0], keys[:0], geo(slice(0), slice(0))).shape == (0, C)
    out = module(query, keys[:0], geo(slice(None), slice(0)))
    torch.testing.assert_close(out, query + module.Wv.bias)
    torch.testing.assert_close(reference(query, keys[:0], module, geo(slice(None), slice(0))), out)


def test_relative_geometry_and_embedding_by_hand():
    """+1 widths (mega.pytorch): box a is 10 x 20 at centre (4.5, 9.5); b is a shifted right by its
    width; c is twice a's size, same centre."""
    a, b, c = [0., 0., 9., 19.], [10., 0., 19., 19.], [-5., -10., 14., 29.]
    boxes = torch.tensor([a, b, c], dtype=torch.float64)
    position = relative_box_geometry(boxes[:1], boxes)  # query a against a, b, c
    log = math.log
    expected = torch.tensor([[log(1e-3), log(1e-3), 0., 0.], [log(1 + 1e-3), log(1e-3), 0., 0.],
                             [log(1e-3), log(1e-3), log(0.5), log(0.5)]], dtype=torch.float64)
    torch.testing.assert_close(position[0], expected, rtol=0, atol=1e-14)
    assert relative_box_geometry(boxes[2:], boxes[:1])[0, 0, 2] == pytest.approx(log(2))  # the query's size first
    assert relative_box_geometry(boxes[:1], boxes[:1], box_offset=0.)[0, 0, 2] == 0  # continuous boxes

    embedding = box_geometry_embedding(boxes[:1], boxes[:2], dim=64, wave_length=1000)  # (1, 2, 64)
    assert embedding.shape == (1, 2, 64)
    for j, dx in enumerate([log(1e-3), log(1 + 1e-3)]):
        for r in range(8):  # dx block: channels 0..7 sines, 8..15 cosines
            angle = 100 * dx / 1000 ** (r / 8)
            assert embedding[0, j, r] == pytest.approx(math.sin(angle), abs=1e-12)
            assert embedding[0, j, 8 + r] == pytest.approx(math.cos(angle), abs=1e-12)
    assert torch.equal(embedding[0, 0, :16], embedding[0, 0, 16:32])  # same box: dy = dx = log(1e-3)
    zero_blocks = torch.tensor([0.] * 8 + [1.] * 8, dtype=torch.float64).repeat(2)  # dw = dh = 0
    torch.testing.assert_close(embedding[0, :, 32:], zero_blocks.expand(2, 32), rtol=0, atol=0)
    with pytest.raises(ValueError, match='multiple of 8'):
        box_geometry_embedding(boxes, boxes, dim=60)


def test_parameters_named_and_shaped_as_mega_and_built_from_config():
    module = MODELS.build(dict(type='RelationModule', channels=1024, num_groups=16, geometry_dim=64, key_bias=True))
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert shapes == {'Wq.weight': (1024, 1024), 'Wq.bias': (1024,), 'Wk.weight': (1024, 1024), 'Wk.bias': (1024,),
                      'Wv.weight': (1024, 1024, 1, 1), 'Wv.bias': (1024,), 'Wg.weight': (16, 64, 1, 1),
                      'Wg.bias': (16,), 'u': (16, 1, 64)}
    location_free = RelationModule(1024, geometry_dim=None, key_bias=False)  # RDN-style without geometry
    assert set(location_free.state_dict()) == {'Wq.weight', 'Wq.bias', 'Wk.weight', 'Wk.bias', 'Wv.weight', 'Wv.bias'}
    assert module.Wv.bias.abs().max() == 0 and 0 < module.Wv.weight.std() < 0.02  # mega's initialisation


def test_rejects_wrong_geometry_and_shapes():
    query, keys, geometry = _inputs(3, 4)
    with pytest.raises(ValueError, match='geometry embedding is required'):
        _module(EMBED, True)(query, keys)
    with pytest.raises(ValueError, match='geometry embedding is required'):
        _module(None, True)(query, keys, geometry)
    with pytest.raises(ValueError, match=r'geometry must be \(Nq, Nk, E\)'):
        _module(EMBED, True)(query, keys, geometry[:, :2])
    with pytest.raises(ValueError, match='expected query'):
        _module(None, True)(query[:, :8], keys)
    with pytest.raises(ValueError, match='multiple of num_groups'):
        RelationModule(30, num_groups=16)
