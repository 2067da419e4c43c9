"""GEO attention over a key set given as slots of cached projections: gather, attend, add residual.

Shape shorthand: Nq queries, M memory slots, Nk keys (slots of the key set), H heads, D query/key
head dim, Dv value head dim. Rows carry their heads side by side: channel h*D + i is lane i of
head h (what ``nn.Linear`` gives), in q, k_rows, v_rows, the residual and the output alike.

What it computes, per head h::

    k_h = k_rows[index][:, h*D:(h+1)*D]            (Nk, D)
    v_h = v_rows[index][:, h*Dv:(h+1)*Dv]          (Nk, Dv)
    out[:, h*Dv:(h+1)*Dv] = softmax(q_h k_h^T * scale) v_h  (+ residual[:, h*Dv:(h+1)*Dv])

Why: at inference a memory row is projected through its GEO's key/value projections once, when
written, and the bank keeps the projections in the slots of the rows
(:meth:`mamba_vod.models.memory.MemoryBank.rows`). A frame's key set is then a list of slots
(:meth:`MemoryBank.sample_index`), and GEO's paper form ``out = Q + merge_heads(attn) + bias`` is
this function with ``residual = Q + bias``.

Backends:
- ``'triton'``: one fused kernel reads the key set's rows by index straight from k_rows/v_rows
  (no (Nk, C) key-set copy) and adds the residual in its epilogue
  (:mod:`.geo_attention_gather_triton`); forward and backward. CUDA, or CPU through the Triton
  interpreter (tests).
- ``'torch'``: the unfused path, ``index_select`` + ``scaled_dot_product_attention`` + add.
- ``'reference'``: ``index_select`` + the explicit softmax of :mod:`.geo_attention_reference` + add.
- ``'auto'``: ``'torch'`` on every device, today. The fused kernel becomes the default only where
  a GPU measurement shows it faster (``tools/analysis/device_check.sh`` measures it against the
  SDPA path at MAMBA's shapes); none has been made yet.
"""
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from .attention_inputs import check_gather_inputs, resolve_scale
from .geo_attention import BACKENDS
from .geo_attention_reference import geo_attention_reference


def resolve_gather_backend(backend: str, device: torch.device) -> str:
    """The concrete backend ('triton', 'torch' or 'reference') that ``backend`` means for
    :func:`geo_attention_gather` on ``device``; 'auto' is 'torch' everywhere until measured."""
    if backend not in BACKENDS:
        raise ValueError(f'geo_attention_gather: backend must be one of {BACKENDS}, got {backend!r}')
    return 'torch' if backend == 'auto' else backend


def _gather_unfused(attend: Callable, q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor,
                    index: torch.Tensor, num_heads: int, scale: Optional[float],
                    residual: Optional[torch.Tensor]) -> torch.Tensor:
    """The key set copied out with ``index_select``, then ``attend(q, k, v, scale)`` on
    (1, H, N, D) head views, heads merged back, residual added."""
    shape = check_gather_inputs(q, k_rows, v_rows, index, num_heads, residual)

    def heads(rows: torch.Tensor) -> torch.Tensor:  # (N, H*D) -> (1, H, N, D), a view
        return rows.unflatten(1, (num_heads, -1)).transpose(0, 1).unsqueeze(0)

    k = heads(k_rows.index_select(0, index))  # (1, H, Nk, D)
    v = heads(v_rows.index_select(0, index))  # (1, H, Nk, Dv)
    attn = attend(heads(q), k, v, resolve_scale(scale, shape.head_dim))  # (1, H, Nq, Dv)
    out = attn[0].transpose(0, 1).reshape(shape.num_queries, num_heads * shape.value_dim)  # merge heads
    return out if residual is None else out + residual


def geo_attention_gather_torch(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor,
                               *, num_heads: int, scale: Optional[float] = None,
                               residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The unfused path: ``index_select`` + PyTorch SDPA + add; arguments as :func:`geo_attention_gather`."""
    return _gather_unfused(lambda q4, k4, v4, s: F.scaled_dot_product_attention(q4, k4, v4, scale=s),
                           q, k_rows, v_rows, index, num_heads, scale, residual)


def geo_attention_gather_reference(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor,
                                   index: torch.Tensor, *, num_heads: int, scale: Optional[float] = None,
                                   residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``index_select`` + the explicit softmax + add; arguments as :func:`geo_attention_gather`."""
    return _gather_unfused(geo_attention_reference, q, k_rows, v_rows, index, num_heads, scale, residual)


def geo_attention_gather(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor, *,
                         num_heads: int, scale: Optional[float] = None, residual: Optional[torch.Tensor] = None,
                         backend: str = 'auto') -> torch.Tensor:
    """Multi-head attention of projected queries over the key set ``index`` of cached projections.

    Args:
        q: (Nq, H*D) projected queries, heads side by side in the channels.
        k_rows: (M, H*D) projected keys of every memory slot (e.g. ``bank.rows('key')``).
        v_rows: (M, H*Dv) projected values of every memory slot.
        index: (Nk,) int64 (or int32) slots of the key set, Nk >= 1, 0 <= index < M; duplicates
            allowed (their gradients add up in dk_rows/dv_rows). The 'torch' and 'reference'
            paths fail on a slot out of range (``index_select``'s check; on CUDA a device-side
            assert); the fused kernel does not check (it would need a host sync): a slot out of
            range gives undefined values.
        num_heads: H.
        scale: multiplies the scores; None means 1/sqrt(D).
        residual: (Nq, H*Dv) added to the output (GEO passes ``Q + bias``), or None.
        backend: 'auto' | 'triton' | 'torch' | 'reference' (see the module docstring).

    Returns:
        (Nq, H*Dv) in the inputs' dtype, heads merged in head order (channels h*Dv..h*Dv+Dv-1 are
        head h), differentiable in q, k_rows, v_rows and residual.
    """
    name = resolve_gather_backend(backend, q.device)
    if name == 'triton':
        from .geo_attention_gather_triton import geo_attention_gather_triton
        return geo_attention_gather_triton(q, k_rows, v_rows, index, num_heads=num_heads, scale=scale,
                                           residual=residual)
    if name == 'torch':
        return geo_attention_gather_torch(q, k_rows, v_rows, index, num_heads=num_heads, scale=scale,
                                          residual=residual)
    return geo_attention_gather_reference(q, k_rows, v_rows, index, num_heads=num_heads, scale=scale,
                                          residual=residual)
