"""Fixtures of the ops tests: random attention inputs and the error check against float64.

A kernel passes when its error against a float64 reference is at most twice the error of the
PyTorch reference computed in the same dtype, plus a small absolute slack (the rule of Triton's
fused-attention tests), for the output and for the gradients of q, k and v.
"""
import pytest
import torch

from mamba_vod.ops import geo_attention_reference

ABS_SLACK = {torch.float32: 1e-5, torch.float16: 1e-3, torch.bfloat16: 1e-2}


def _run(fn, q, k, v, grad_out, scale):
    leaves = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    out = fn(*leaves, scale)
    out.backward(grad_out.to(out.dtype))
    return [out.detach()] + [t.grad for t in leaves]


@pytest.fixture
def make_qkv():
    """``make_qkv(B, H, Nq, Nk, D, Dv, dtype)`` -> (q, k, v, grad_out) with a fixed seed."""

    def make(batch, heads, num_queries, num_keys, head_dim, value_dim, dtype=torch.float32, device='cpu'):
        gen = torch.Generator().manual_seed(num_queries * 1000 + num_keys)
        shapes = [(batch, heads, num_queries, head_dim), (batch, heads, num_keys, head_dim),
                  (batch, heads, num_keys, value_dim), (batch, heads, num_queries, value_dim)]
        return [torch.randn(s, generator=gen).to(device=device, dtype=dtype) for s in shapes]

    return make


@pytest.fixture
def assert_matches_reference():
    """``check(fn, q, k, v, grad_out, scale=None)``: outputs and gradients of
    ``fn(q, k, v, scale)`` against float64, by the rule in this module's docstring."""

    def check(fn, q, k, v, grad_out, scale=None):
        exact = _run(geo_attention_reference, *(t.double() for t in (q, k, v, grad_out)), scale)
        baseline = _run(geo_attention_reference, q, k, v, grad_out, scale)
        actual = _run(fn, q, k, v, grad_out, scale)
        for name, got, ref, base in zip(('out', 'dq', 'dk', 'dv'), actual, exact, baseline):
            assert got.dtype == q.dtype and got.shape == ref.shape, name
            err = (got.double() - ref).abs().max().item()
            base_err = (base.double() - ref).abs().max().item()
            limit = 2 * base_err + ABS_SLACK[q.dtype]
            assert err <= limit, f'{name}: error {err:.3g} > {limit:.3g} (PyTorch {q.dtype}: {base_err:.3g})'

    return check
