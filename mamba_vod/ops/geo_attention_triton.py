"""Host side of the Triton GEO attention over (B, H, N, D) tensors: checked launches and autograd.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.

Layers (kernel -> host wrapper -> autograd Function -> public function):
:mod:`.geo_attention_kernels` holds the jitted kernels and :mod:`.geo_attention_launch` launches
them; :func:`attention_forward` and :func:`attention_backward` check their inputs once and call
it; :class:`GeoAttentionFunction` ties the two together for autograd; :func:`geo_attention_triton`
is what ``geo_attention(..., backend='triton')`` calls. CPU tensors run the kernels through the
Triton interpreter (see :mod:`.geo_attention_launch`).

Any strides are accepted, zero strides included (keys expanded over heads, queries expanded over
the batch): the kernels read through the inputs' strides, and the gradients are written to fresh
buffers of their own, stored (B, N, H, D) like the output, which autograd then sums back over the
expanded dims.
"""
from typing import Optional, Tuple

import torch

from .attention_inputs import AttentionShape, check_attention_inputs, resolve_scale
from .geo_attention_launch import (check_launchable, heads_last_empty, last_dim_contiguous, launch_backward,
                                   launch_forward, plan_for)


def prepare_inputs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: Optional[float]):
    """Check q, k, v for the kernels once; returns (shape, scale, q, k, v) with the scale resolved
    and every last dim contiguous (copied where it is not)."""
    shape = check_attention_inputs(q, k, v)
    check_launchable(q.dtype, q.device, shape.head_dim, shape.value_dim)
    return (shape, resolve_scale(scale, shape.head_dim), last_dim_contiguous(q), last_dim_contiguous(k),
            last_dim_contiguous(v))


def _forward(shape: AttentionShape, scale: float, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
             store_lse: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    batch, heads, num_queries = shape.batch, shape.heads, shape.num_queries
    o = heads_last_empty(batch, heads, num_queries, shape.value_dim, q)
    if num_queries == 0:
        return o, (torch.empty(batch, heads, 0, 2, device=q.device) if store_lse else None)
    plan = plan_for(q, batch * heads, num_queries, shape.head_dim, shape.value_dim)
    return o, launch_forward(plan, q, k, v, o, shape.num_keys, scale, store_lse=store_lse)


def attention_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: Optional[float] = None,
                      store_lse: bool = True) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Check the inputs and launch the forward kernel.

    Args:
        q, k, v: (B, H, Nq, D), (B, H, Nk, D), (B, H, Nk, Dv); any strides (a last dim that is
            not contiguous is copied).
        scale: None means 1/sqrt(D).
        store_lse: also return the softmax statistics (B, H, Nq, 2) fp32 that the backward needs
            (per query: max scaled score, log2 of the softmax denominator).

    Returns:
        O (B, H, Nq, Dv) stored as (B, Nq, H, Dv), so merging the heads back into channels
        (``o.transpose(1, 2).reshape(B, Nq, H * Dv)``) is free; and the LSE or None.
    """
    return _forward(*prepare_inputs(q, k, v, scale), store_lse=store_lse)


def attention_backward(do: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
                       lse: torch.Tensor, scale: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Launch the backward kernels for the output gradient dO (B, H, Nq, Dv); returns dQ, dK, dV
    shaped like q, k, v (never overlapping: each is (B, N, H, D) memory of its own).

    ``q, k, v`` are what the forward read (after :func:`prepare_inputs`), ``o, lse`` what it
    returned; they are not checked again.
    """
    batch, heads, num_queries, head_dim = q.shape
    num_keys, value_dim = v.shape[2], v.shape[3]
    dq = heads_last_empty(batch, heads, num_queries, head_dim, q)
    dk = heads_last_empty(batch, heads, num_keys, head_dim, k)
    dv = heads_last_empty(batch, heads, num_keys, value_dim, v)
    if num_queries == 0:
        return dq, dk.zero_(), dv.zero_()
    do = last_dim_contiguous(do.to(o.dtype))
    plan = plan_for(q, batch * heads, num_queries, head_dim, value_dim)
    launch_backward(plan, do, q, k, v, o, lse, dq, dk, dv, num_keys, scale)
    return dq, dk, dv


class GeoAttentionFunction(torch.autograd.Function):
    """Autograd wrapper: forward saves Q, K, V, O and the LSE; backward recomputes probabilities."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: Optional[float]) -> torch.Tensor:
        shape, scale, q, k, v = prepare_inputs(q, k, v, scale)
        o, lse = _forward(shape, scale, q, k, v, store_lse=True)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.scale = scale
        return o

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, do: torch.Tensor):
        q, k, v, o, lse = ctx.saved_tensors
        dq, dk, dv = attention_backward(do, q, k, v, o, lse, ctx.scale)
        return dq, dk, dv, None


def geo_attention_triton(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                         scale: Optional[float] = None) -> torch.Tensor:
    """softmax(q k^T * scale) v with the Triton kernels: q (B, H, Nq, D), k (B, H, Nk, D),
    v (B, H, Nk, Dv) -> (B, H, Nq, Dv) (stored (B, Nq, H, Dv)), differentiable in q, k, v, any
    strides. Checked once per call; without an autograd graph to build (no input requires grad,
    or grad mode is off) it skips the autograd Function and stores no LSE."""
    if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad):
        return GeoAttentionFunction.apply(q, k, v, scale)
    return attention_forward(q, k, v, scale, store_lse=False)[0]
