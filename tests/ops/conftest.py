"""Fixtures of the ops tests: random attention inputs and the error check against float64.

A kernel passes when its error against a float64 reference is at most twice the error of the
PyTorch reference computed in the same dtype, plus a small absolute slack (the rule of Triton's
fused-attention tests), for the output and for the gradient of every input.

Inputs are leaves: the function under test receives them as they are (``prepare`` may expand or
otherwise view them *inside* the function, so a kernel sees zero strides and the test compares
the gradients of the leaves, which autograd sums back over the expanded dims).
"""
from typing import Callable, Optional, Sequence

import pytest
import torch

from mamba_vod.ops import geo_attention_reference

ABS_SLACK = {torch.float32: 1e-5, torch.float16: 1e-3, torch.bfloat16: 1e-2}


def _run(fn: Callable, tensors: Sequence[torch.Tensor], grad_out: torch.Tensor):
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = fn(*leaves)
    out.backward(grad_out.to(out.dtype))
    return [out.detach()] + [t.grad for t in leaves]


def _max_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    return (got.double() - ref).abs().max().item() if ref.numel() else 0.0


def check_against_float64(fn: Callable, reference: Callable, tensors: Sequence[torch.Tensor], grad_out: torch.Tensor,
                          names: Sequence[str], baseline: Optional[Callable] = None) -> None:
    """``fn(*tensors)`` (output and the tensors' gradients) against ``reference`` run in float64,
    with ``baseline`` (default ``reference``) in the tensors' dtype setting the allowed error."""
    dtype = tensors[0].dtype
    exact = _run(reference, [t.double() for t in tensors], grad_out.double())
    base = _run(baseline or reference, tensors, grad_out)
    actual = _run(fn, tensors, grad_out)
    for name, got, ref, base_out in zip(('out', ) + tuple(names), actual, exact, base):
        assert got is not None, f'{name}: no gradient'
        assert got.dtype == dtype and got.shape == ref.shape, (name, got.dtype, got.shape, ref.shape)
        assert torch.isfinite(got).all(), f'{name}: not finite'
        err, base_err = _max_error(got, ref), _max_error(base_out, ref)
        limit = 2 * base_err + ABS_SLACK[dtype]
        assert err <= limit, f'{name}: error {err:.3g} > {limit:.3g} (PyTorch {dtype}: {base_err:.3g})'


@pytest.fixture
def float64_check():
    """:func:`check_against_float64`, for tests of other signatures than (q, k, v, scale)."""
    return check_against_float64


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
    """``check(fn, q, k, v, grad_out, scale=None, prepare=None)``: outputs and gradients of
    ``fn(*prepare(q, k, v), scale)`` against float64, by the rule in this module's docstring.
    ``grad_out`` is shaped like the output (after ``prepare``)."""

    def check(fn, q, k, v, grad_out, scale=None, prepare=None):
        prepare = prepare or (lambda *qkv: qkv)
        check_against_float64(lambda *qkv: fn(*prepare(*qkv), scale),
                              lambda *qkv: geo_attention_reference(*prepare(*qkv), scale), (q, k, v), grad_out,
                              ('dq', 'dk', 'dv'))

    return check
