"""Validation of the inputs every GEO attention backend accepts.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.
"""
import math
import numbers
from typing import NamedTuple, Optional

import torch


class AttentionShape(NamedTuple):
    """Sizes of one attention call: q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv)."""
    batch: int
    heads: int
    num_queries: int
    num_keys: int
    head_dim: int
    value_dim: int


def check_attention_inputs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> AttentionShape:
    """Check q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv) and return their sizes.

    Raises:
        ValueError: when a tensor is not 4-D, the sizes disagree, there are no keys, or the
            tensors differ in dtype or device.
    """
    for name, tensor in (('q', q), ('k', k), ('v', v)):
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != 4:
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise ValueError(f'geo_attention: {name} must be a 4-D tensor (B, H, N, D), got {got}')
        if not tensor.is_floating_point():
            raise ValueError(f'geo_attention: {name} must be a floating point tensor, got {tensor.dtype}')
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise ValueError(f'geo_attention: q, k, v must share one dtype, got {q.dtype}, {k.dtype}, {v.dtype}; '
                         'cast them (or run under torch.autocast) first')
    if q.device != k.device or q.device != v.device:
        raise ValueError(f'geo_attention: q, k, v must be on one device, got {q.device}, {k.device}, {v.device}')
    batch, heads, num_queries, head_dim = q.shape
    if k.shape[:2] != (batch, heads) or v.shape[:2] != (batch, heads):
        raise ValueError('geo_attention: q, k, v must agree in (B, H), got '
                         f'{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}')
    if k.shape[3] != head_dim:
        raise ValueError(f'geo_attention: q and k must share the head dim D, got {q.shape[3]} and {k.shape[3]}')
    if k.shape[2] != v.shape[2]:
        raise ValueError(f'geo_attention: k and v must have the same number of keys Nk, got {k.shape[2]} and '
                         f'{v.shape[2]}')
    if k.shape[2] == 0:
        raise ValueError('geo_attention: there are no keys (Nk=0); softmax over an empty set is undefined, '
                         'so pass at least one key (e.g. the query features themselves)')
    return AttentionShape(batch, heads, num_queries, k.shape[2], head_dim, v.shape[3])


def resolve_scale(scale: Optional[float], head_dim: int) -> float:
    """Return ``scale``, or ``1/sqrt(head_dim)`` when it is None."""
    if scale is None:
        return 1.0 / math.sqrt(head_dim)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not math.isfinite(scale):
        raise ValueError(f'geo_attention: scale must be a finite real number or None, got {scale!r}')
    return float(scale)


class GatherShape(NamedTuple):
    """Sizes of one gathered attention call (see :func:`check_gather_inputs`)."""
    heads: int
    num_queries: int
    num_keys: int
    num_slots: int
    head_dim: int
    value_dim: int


def check_gather_inputs(q: torch.Tensor, k_rows: torch.Tensor, v_rows: torch.Tensor, index: torch.Tensor,
                        num_heads: int, residual: Optional[torch.Tensor] = None) -> GatherShape:
    """Check the inputs of :func:`mamba_vod.ops.geo_attention_gather` and return their sizes.

    q (Nq, H*D), k_rows (M, H*D), v_rows (M, H*Dv), index (Nk,) int64 or int32 slots, residual
    (Nq, H*Dv) or None. The slots' range (0 <= index < M) is not checked here: that needs the
    values on the host, which would make a GPU call wait (the 'torch' path checks it itself).

    Raises:
        ValueError: when a tensor has the wrong rank, dtype or device, the sizes disagree, the
            channels do not split into ``num_heads`` heads, or there are no keys (Nk=0).
    """
    name = 'geo_attention_gather'
    for arg, tensor in (('q', q), ('k_rows', k_rows), ('v_rows', v_rows), ('residual', residual)):
        if arg == 'residual' and tensor is None:
            continue
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != 2 or not tensor.is_floating_point():
            got = f'{tuple(tensor.shape)} {tensor.dtype}' if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise ValueError(f'{name}: {arg} must be a 2-D floating point tensor (rows, channels), got {got}')
        if tensor.dtype != q.dtype or tensor.device != q.device:
            raise ValueError(f'{name}: {arg} must share the dtype and device of q ({q.dtype}, {q.device}), got '
                             f'{tensor.dtype}, {tensor.device}')
    if not isinstance(index, torch.Tensor) or index.dim() != 1 or index.dtype not in (torch.int64, torch.int32):
        got = f'{tuple(index.shape)} {index.dtype}' if isinstance(index, torch.Tensor) else type(index).__name__
        raise ValueError(f'{name}: index must be a 1-D int64 (or int32) tensor of slots, got {got}')
    if index.device != q.device:
        raise ValueError(f'{name}: index must be on the device of q ({q.device}), got {index.device}')
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
        raise ValueError(f'{name}: num_heads must be a positive int, got {num_heads!r}')
    if q.shape[1] % num_heads or v_rows.shape[1] % num_heads:
        raise ValueError(f'{name}: the channels of q ({q.shape[1]}) and v_rows ({v_rows.shape[1]}) must split '
                         f'into num_heads={num_heads} heads')
    if k_rows.shape[1] != q.shape[1]:
        raise ValueError(f'{name}: q and k_rows must have the same channels H*D, got {q.shape[1]} and '
                         f'{k_rows.shape[1]}')
    if v_rows.shape[0] != k_rows.shape[0]:
        raise ValueError(f'{name}: k_rows and v_rows must have the same slots M, got {k_rows.shape[0]} and '
                         f'{v_rows.shape[0]}')
    if residual is not None and residual.shape != (q.shape[0], v_rows.shape[1]):
        raise ValueError(f'{name}: residual must have shape (Nq, H*Dv) = {(q.shape[0], v_rows.shape[1])}, got '
                         f'{tuple(residual.shape)}')
    if index.shape[0] == 0:
        raise ValueError(f'{name}: there are no keys (index is empty); softmax over an empty set is undefined')
    if k_rows.shape[0] == 0:
        raise ValueError(f'{name}: k_rows holds no slots (M=0), so no index can be valid')
    return GatherShape(num_heads, q.shape[0], index.shape[0], k_rows.shape[0], q.shape[1] // num_heads,
                       v_rows.shape[1] // num_heads)
