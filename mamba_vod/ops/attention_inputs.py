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
