"""GEO attention: softmax(q k^T * scale) v per (batch, head), with a choice of backend.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.

Backends:
- ``'triton'``: fused flash-attention style kernels (:mod:`.geo_attention_triton`), forward and
  backward, never materialising the (Nq, Nk) matrix; any strides (inputs expanded over heads or
  batch included); fp32 on tensor cores (``tf32x3``); blocks from a fixed table, no autotuning
  (:mod:`.geo_attention_configs`). CUDA tensors, or CPU tensors through the Triton interpreter
  (slow; meant for tests).
- ``'torch'``: :func:`torch.nn.functional.scaled_dot_product_attention`.
- ``'reference'``: the explicit softmax of :mod:`.geo_attention_reference`.
- ``'auto'``: ``'torch'`` on every device. On an H200 (torch 2.11, Triton 3.6) SDPA was as fast
  as the Triton kernels or faster at all of MAMBA's shapes, in fp16 and fp32 (docs/benchmarks.md,
  GEO attention on a GPU; measured before the kernels dropped autotuning and moved fp32 onto
  tensor cores, so worth measuring again: ``tools/analysis/device_check.sh``); ``'triton'`` stays
  selectable.

For a key set given as slots of a memory bank's cached projections, see
:func:`mamba_vod.ops.geo_attention_gather`.
"""
from typing import Optional

import torch
import torch.nn.functional as F

from .attention_inputs import check_attention_inputs, resolve_scale
from .geo_attention_reference import geo_attention_reference

BACKENDS = ('auto', 'triton', 'torch', 'reference')


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend ('triton', 'torch' or 'reference') that ``backend`` means on ``device``
    (the choice may depend on the device; today 'auto' means 'torch' on all)."""
    if backend not in BACKENDS:
        raise ValueError(f'geo_attention: backend must be one of {BACKENDS}, got {backend!r}')
    return 'torch' if backend == 'auto' else backend


def geo_attention_torch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        scale: Optional[float] = None) -> torch.Tensor:
    """softmax(q k^T * scale) v through PyTorch's ``scaled_dot_product_attention``; shapes as
    :func:`geo_attention`."""
    shape = check_attention_inputs(q, k, v)
    return F.scaled_dot_product_attention(q, k, v, scale=resolve_scale(scale, shape.head_dim))


def geo_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: Optional[float] = None,
                  backend: str = 'auto') -> torch.Tensor:
    """Multi-head attention without masks or dropout: softmax(q k^T * scale) v.

    Args:
        q: (B, H, Nq, D) queries.
        k: (B, H, Nk, D) keys, Nk >= 1.
        v: (B, H, Nk, Dv) values.
        scale: multiplies the scores; None means 1/sqrt(D).
        backend: 'auto' | 'triton' | 'torch' | 'reference' (see the module docstring).

    Returns:
        (B, H, Nq, Dv) in the dtype of the inputs (fp32, fp16 or bf16 for 'triton').
    """
    name = resolve_backend(backend, q.device)
    if name == 'triton':
        from .geo_attention_triton import geo_attention_triton
        return geo_attention_triton(q, k, v, scale)
    if name == 'torch':
        return geo_attention_torch(q, k, v, scale)
    return geo_attention_reference(q, k, v, scale)
