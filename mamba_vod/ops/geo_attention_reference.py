"""Plain PyTorch reference of GEO attention: the explicit softmax, (Nq, Nk) matrix and all.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.
Slow and memory-hungry by design; the kernels are tested against it.
"""
from typing import Optional

import torch

from .attention_inputs import check_attention_inputs, resolve_scale


def geo_attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                            scale: Optional[float] = None) -> torch.Tensor:
    """softmax(q k^T * scale) v for q (B, H, Nq, D), k (B, H, Nk, D), v (B, H, Nk, Dv) -> (B, H, Nq, Dv).

    Computed in the inputs' dtype; ``scale`` defaults to 1/sqrt(D).
    """
    shape = check_attention_inputs(q, k, v)
    scale = resolve_scale(scale, shape.head_dim)
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale  # (B, H, Nq, Nk)
    return torch.matmul(torch.softmax(scores, dim=-1), v)
