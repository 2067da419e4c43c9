"""Host side of the fused gather attention: the key set is read by index straight from a memory
bank's cached projections, and the residual is added in the forward kernel's epilogue.

Shape shorthand: Nq queries, M memory slots, Nk keys (slots of the key set), H heads, D query/key
head dim, Dv value head dim.

Layers (kernel -> host wrapper -> autograd Function -> public function): the kernels of
:mod:`.geo_attention_kernels` with ``GATHER`` (launched by :mod:`.geo_attention_launch`);
:func:`gather_forward` / :func:`gather_backward` check once and launch; :class:`GatherAttentionFunction`;
:func:`geo_attention_gather_triton`, what ``geo_attention_gather(..., backend='triton')`` calls.

Rows are 2-D, heads side by side in the channels (channel h*D + i is lane i of head h), exactly
what ``nn.Linear`` produces, so q (Nq, H*D) is read as the (1, H, Nq, D) view
``q.unflatten(1, (H, D)).transpose(0, 1)[None]`` with no copy, and likewise the bank's rows.

Gradients: dq (Nq, H*D); dk_rows (M, H*D) and dv_rows (M, H*Dv) are zero except at the slots in
``index``, where the gradients of the keys that read them add up (duplicates included). The
kernels write one row per key (no two programs write one row) in fp32, and the host adds them per
slot in fp32 (``index_add_``) before one rounding to the inputs' dtype.
"""
from typing import Optional, Tuple

import torch

from .attention_inputs import GatherShape, check_gather_inputs, resolve_scale
from .geo_attention_launch import check_launchable, last_dim_contiguous, launch_backward, launch_forward, plan_for

_CALLER = "geo_attention_gather backend='triton'"


def _heads(rows: torch.Tensor, heads: int) -> torch.Tensor:
    """(N, H*D) -> (1, H, N, D), a view."""
    return rows.unflatten(1, (heads, rows.shape[1] // heads)).transpose(0, 1).unsqueeze(0)


def prepare_gather_inputs(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor,
                          num_heads: int, scale: Optional[float], residual: Optional[torch.Tensor]):
    """Check once; returns (shape, scale, q, k_rows, v_rows, index, residual) with the scale
    resolved, channels contiguous and the index a contiguous 1-D tensor."""
    shape = check_gather_inputs(q, k_rows, v_rows, index, num_heads, residual)
    check_launchable(q.dtype, q.device, shape.head_dim, shape.value_dim, _CALLER)
    return (shape, resolve_scale(scale, shape.head_dim), last_dim_contiguous(q), last_dim_contiguous(k_rows),
            last_dim_contiguous(v_rows), index.contiguous(),
            None if residual is None else last_dim_contiguous(residual))


def _forward(shape: GatherShape, scale: float, q, k_rows, v_rows, index, residual,
             store_lse: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    heads = shape.heads
    out = q.new_empty(shape.num_queries, heads * shape.value_dim)
    if shape.num_queries == 0:
        return out, (torch.empty(1, heads, 0, 2, device=q.device) if store_lse else None)
    plan = plan_for(q, heads, shape.num_queries, shape.head_dim, shape.value_dim)
    lse = launch_forward(plan, _heads(q, heads), _heads(k_rows, heads), _heads(v_rows, heads), _heads(out, heads),
                         shape.num_keys, scale, index=index,
                         residual=None if residual is None else _heads(residual, heads), store_lse=store_lse)
    return out, lse


def gather_forward(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor,
                   num_heads: int, scale: Optional[float] = None, residual: Optional[torch.Tensor] = None,
                   store_lse: bool = False) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Check the inputs and launch the gathering forward kernel.

    Args:
        q: (Nq, H*D) projected queries.
        k_rows, v_rows: (M, H*D), (M, H*Dv) cached projections of the memory slots.
        index: (Nk,) slots of the key set (0 <= index < M, duplicates allowed).
        num_heads: H.
        scale: None means 1/sqrt(D).
        residual: (Nq, H*Dv) added to the output in the kernel's epilogue, or None.
        store_lse: also return the softmax statistics (1, H, Nq, 2) fp32 of the attention (for a
            backward).

    Returns:
        out (Nq, H*Dv), heads merged in head order; and the LSE or None.
    """
    return _forward(*prepare_gather_inputs(q, k_rows, v_rows, index, num_heads, scale, residual),
                    store_lse=store_lse)


def gather_backward(do: torch.Tensor, q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor,
                    index: torch.Tensor, out: torch.Tensor, lse: torch.Tensor, num_heads: int,
                    scale: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """dq (Nq, H*D), dk_rows (M, H*D), dv_rows (M, H*Dv) for the output gradient ``do`` (Nq, H*Dv).

    ``q, k_rows, v_rows, index`` are what the forward read (after :func:`prepare_gather_inputs`),
    ``out`` (the attention alone, without residual) and ``lse`` what it returned.
    """
    num_queries, num_keys = q.shape[0], index.shape[0]
    head_dim, value_dim = q.shape[1] // num_heads, v_rows.shape[1] // num_heads
    dq = torch.empty_like(q, memory_format=torch.contiguous_format)
    # one row per key, not per slot; zeros when there are no queries (then no kernel runs)
    new_keys_grad = torch.zeros if num_queries == 0 else torch.empty
    dk_keys = new_keys_grad(num_keys, k_rows.shape[1], device=q.device, dtype=torch.float32)
    dv_keys = new_keys_grad(num_keys, v_rows.shape[1], device=q.device, dtype=torch.float32)
    if num_queries:
        plan = plan_for(q, num_heads, num_queries, head_dim, value_dim)
        launch_backward(plan, _heads(last_dim_contiguous(do.to(out.dtype)), num_heads), _heads(q, num_heads),
                        _heads(k_rows, num_heads), _heads(v_rows, num_heads), _heads(out, num_heads), lse,
                        _heads(dq, num_heads), _heads(dk_keys, num_heads), _heads(dv_keys, num_heads), num_keys,
                        scale, index=index)
    # the keys' gradients, added up per slot: duplicated slots sum, unread slots stay 0
    dk_rows = torch.zeros(k_rows.shape, device=q.device, dtype=torch.float32).index_add_(0, index, dk_keys)
    dv_rows = torch.zeros(v_rows.shape, device=q.device, dtype=torch.float32).index_add_(0, index, dv_keys)
    return dq, dk_rows.to(k_rows.dtype), dv_rows.to(v_rows.dtype)


class GatherAttentionFunction(torch.autograd.Function):
    """Autograd wrapper of the gathered attention (no residual: the caller adds it)."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor,
                num_heads: int, scale: Optional[float]) -> torch.Tensor:
        shape, scale, q, k_rows, v_rows, index, _ = prepare_gather_inputs(q, k_rows, v_rows, index, num_heads,
                                                                          scale, None)
        out, lse = _forward(shape, scale, q, k_rows, v_rows, index, None, store_lse=True)
        ctx.save_for_backward(q, k_rows, v_rows, index, out, lse)
        ctx.num_heads, ctx.scale = num_heads, scale
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, do: torch.Tensor):
        q, k_rows, v_rows, index, out, lse = ctx.saved_tensors
        dq, dk_rows, dv_rows = gather_backward(do, q, k_rows, v_rows, index, out, lse, ctx.num_heads, ctx.scale)
        return dq, dk_rows, dv_rows, None, None, None


def geo_attention_gather_triton(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor,
                                *, num_heads: int, scale: Optional[float] = None,
                                residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The fused gather (shapes: :func:`gather_forward`) -> (Nq, H*Dv).

    Without an autograd graph to build, one kernel does it all, residual included. When an input
    requires grad (training with explicit keys), the residual is added after the kernel instead,
    because the backward needs the attention without it; the gradients of the residual are the
    output's.
    """
    tensors = (q, k_rows, v_rows) if residual is None else (q, k_rows, v_rows, residual)
    if not (torch.is_grad_enabled() and any(getattr(t, 'requires_grad', False) for t in tensors)):
        return gather_forward(q, k_rows, v_rows, index, num_heads, scale, residual)[0]
    if residual is None:
        return GatherAttentionFunction.apply(q, k_rows, v_rows, index, num_heads, scale)
    check_gather_inputs(q, k_rows, v_rows, index, num_heads, residual)  # the Function does not see it
    return GatherAttentionFunction.apply(q, k_rows, v_rows, index, num_heads, scale) + residual
