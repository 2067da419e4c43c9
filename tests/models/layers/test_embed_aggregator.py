"""Tests of :class:`mamba_vod.models.layers.EmbedAggregator` (FGFA): mmtracking's parameter names,
the forward against the float64 literal formula (values and gradients), identical frames, and
all-zero embeddings (finite, where mmtracking's division without epsilon gives NaN)."""
import pytest
import torch

from mamba_vod.models.layers import EmbedAggregator
from mamba_vod.registry import MODELS


def _maps(num_refs, channels=6, height=5, width=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, channels, height, width, generator=gen, dtype=torch.float64)
    return x, torch.randn(num_refs, channels, height, width, generator=gen, dtype=torch.float64)


def _aggregator(channels=6, seed=0, **kwargs):
    torch.manual_seed(seed)
    return EmbedAggregator(channels=channels, **kwargs).double()


def _output_and_grads(aggregator, forward, x, ref_x):
    aggregator.zero_grad()
    x, ref_x = (t.detach().clone().requires_grad_() for t in (x, ref_x))
    out = forward(x, ref_x)
    out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype))
    return [out.detach(), x.grad, ref_x.grad] + [p.grad.clone() for p in aggregator.parameters()]


def test_names_are_mmtrackings_and_only_the_last_conv_is_plain():
    fgfa = MODELS.build(dict(type='EmbedAggregator', num_convs=1, channels=512, kernel_size=3))
    assert {k: tuple(v.shape) for k, v in fgfa.state_dict().items()} == {
        'embed_convs.0.conv.weight': (512, 512, 3, 3), 'embed_convs.0.conv.bias': (512, )}
    deeper = EmbedAggregator(num_convs=2, channels=8, norm_cfg=dict(type='BN'))
    assert [conv.with_activation for conv in deeper.embed_convs] == [True, False]
    assert [conv.with_norm for conv in deeper.embed_convs] == [True, False]


@pytest.mark.parametrize('num_convs, num_refs', [(1, 3), (2, 4), (1, 1)])
def test_forward_equals_the_literal_formula_in_values_and_gradients(num_convs, num_refs):
    aggregator = _aggregator(num_convs=num_convs)
    x, ref_x = _maps(num_refs)
    got = _output_and_grads(aggregator, aggregator.forward, x, ref_x)
    want = _output_and_grads(aggregator, aggregator.forward_literal, x, ref_x)
    assert got[0].shape == (1, 6, 5, 7) and len(got) == 3 + 2 * num_convs
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_weights_are_a_softmax_over_frames_of_the_cosine_per_pixel():
    aggregator = _aggregator()
    x, ref_x = _maps(3)
    weights = aggregator.frame_weights(x, ref_x)
    assert weights.shape == (3, 1, 5, 7)
    torch.testing.assert_close(weights.sum(dim=0), torch.ones(1, 5, 7, dtype=torch.float64))
    embed = lambda t: aggregator.embed_convs[0](t)  # noqa: E731
    cosine = torch.cosine_similarity(embed(ref_x), embed(x), dim=1)[:, None]  # (3, 1, h, w)
    torch.testing.assert_close(weights, cosine.softmax(dim=0))


def test_identical_frames_give_back_the_frame():
    aggregator = EmbedAggregator(channels=16)
    x = torch.randn(1, 16, 9, 11, generator=torch.Generator().manual_seed(4))
    # float32: the weights sum to 1 within a few ulps, so the output is x to ~1e-7 relative
    torch.testing.assert_close(aggregator(x, x.expand(5, -1, -1, -1)), x, rtol=1e-6, atol=1e-6)


def test_an_all_zero_embedding_gives_cosine_zero_not_nan():
    aggregator = _aggregator()
    aggregator.embed_convs[0].conv.bias.data.zero_()  # a zero map then embeds to zero
    x, ref_x = _maps(3)
    ref_x[1] = 0  # a blank reference (a ReLU'd map can be all zero)
    x_grad = x.clone().requires_grad_()
    out = aggregator(x_grad, ref_x)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x_grad.grad).all()
    torch.testing.assert_close(out, aggregator.forward_literal(x, ref_x))
    weights = aggregator.frame_weights(x, ref_x)
    embedded = aggregator.embed_convs[0](torch.cat((x, ref_x[[0, 2]])))
    cos = [torch.cosine_similarity(embedded[i], embedded[0], dim=0) for i in (1, 2)]
    torch.testing.assert_close(weights[1, 0], 1 / (1 + cos[0].exp() + cos[1].exp()))  # exp(0) / sum
    # mmtracking's division without epsilon would give NaN here
    raw = aggregator.embed_convs[0](ref_x)
    assert torch.isnan(raw / raw.norm(dim=1, keepdim=True)).any()
    # a zero embedding of the current frame: every cosine is 0, the output the references' mean
    torch.testing.assert_close(aggregator(torch.zeros_like(x), ref_x), ref_x.mean(dim=0, keepdim=True))


def test_wrong_shapes_are_refused():
    aggregator = EmbedAggregator(channels=4)
    with pytest.raises(ValueError, match=r'\(1, C, h, w\)'):
        aggregator(torch.zeros(2, 4, 3, 3), torch.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match='ref_x'):
        aggregator(torch.zeros(1, 4, 3, 3), torch.zeros(2, 4, 3, 5))
    with pytest.raises(ValueError, match='num_convs'):
        EmbedAggregator(num_convs=0)
