"""Tests of :func:`mamba_vod.ops.geo_attention`: dispatch, the PyTorch paths and input checks.

The Triton kernels have their own module (test_geo_attention_triton.py)."""
import math

import pytest
import torch

import mamba_vod.ops.geo_attention_triton as triton_host
from mamba_vod.ops import geo_attention, geo_attention_reference, resolve_backend


def test_auto_picks_torch_on_cpu(monkeypatch, make_qkv):
    assert resolve_backend('auto', torch.device('cpu')) == 'torch'

    def fail(*args, **kwargs):
        raise AssertionError('the Triton path ran for CPU tensors')

    monkeypatch.setattr(triton_host, 'geo_attention_triton', fail)
    q, k, v, _ = make_qkv(1, 2, 5, 7, 8, 8)
    assert torch.equal(geo_attention(q, k, v), geo_attention(q, k, v, backend='torch'))


def test_auto_picks_sdpa_on_cuda_too_and_explicit_backends_stay():
    assert resolve_backend('auto', torch.device('cuda')) == 'torch'  # measured faster (docs/benchmarks.md)
    assert resolve_backend('triton', torch.device('cuda')) == 'triton'
    assert resolve_backend('reference', torch.device('cuda')) == 'reference'


@pytest.mark.parametrize('backend', ['torch', 'reference'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16], ids=str)
def test_pytorch_paths_match_reference(backend, dtype, make_qkv, assert_matches_reference):
    q, k, v, grad_out = make_qkv(2, 2, 9, 13, 16, 24, dtype=dtype)
    assert_matches_reference(lambda *a: geo_attention(*a, backend=backend), q, k, v, grad_out, scale=0.7)


def test_scale_defaults_to_inverse_sqrt_head_dim(make_qkv):
    q, k, v, _ = make_qkv(1, 1, 4, 6, 16, 8)
    default = geo_attention_reference(q, k, v)
    assert torch.allclose(default, geo_attention_reference(q, k, v, scale=1 / math.sqrt(16)))
    assert not torch.allclose(default, geo_attention_reference(q, k, v, scale=1.0))


def test_single_key_returns_its_value(make_qkv):
    q, k, v, _ = make_qkv(1, 2, 5, 1, 8, 8)
    assert torch.allclose(geo_attention(q, k, v), v.expand(1, 2, 5, 8))


@pytest.mark.parametrize('change, message', [
    (lambda q, k, v: (q[0], k, v), '4-D'),
    (lambda q, k, v: (q, k[..., :4], v), 'head dim'),
    (lambda q, k, v: (q, k, v[:, :, :3]), 'number of keys'),
    (lambda q, k, v: (q, k[:, :, :0], v[:, :, :0]), 'no keys'),
    (lambda q, k, v: (q, k.double(), v), 'one dtype'),
    (lambda q, k, v: (q, k[:, :1], v[:, :1]), r'\(B, H\)'),
    (lambda q, k, v: (q.long(), k.long(), v.long()), 'floating point'),
])
def test_rejects_bad_inputs(change, message, make_qkv):
    q, k, v, _ = make_qkv(1, 2, 5, 7, 8, 8)
    for backend in ('torch', 'reference'):
        with pytest.raises(ValueError, match=message):
            geo_attention(*change(q, k, v), backend=backend)


def test_rejects_bad_backend_and_scale(make_qkv):
    q, k, v, _ = make_qkv(1, 1, 2, 2, 8, 8)
    with pytest.raises(ValueError, match='backend must be one of'):
        geo_attention(q, k, v, backend='cuda')
    with pytest.raises(ValueError, match='scale'):
        geo_attention(q, k, v, scale=float('nan'))
