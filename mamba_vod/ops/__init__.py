"""Operators of mamba_vod: GEO attention with Triton kernels and PyTorch paths.

``geo_attention`` takes (B, H, N, D) tensors; ``geo_attention_gather`` takes projected rows and
the slots of a key set (a memory bank's cached projections), with the residual fused.
Importing this package does not import Triton; the kernels load on first use.
"""
from .geo_attention import BACKENDS, geo_attention, geo_attention_torch, resolve_backend
from .geo_attention_gather import (geo_attention_gather, geo_attention_gather_reference, geo_attention_gather_torch,
                                   resolve_gather_backend)
from .geo_attention_reference import geo_attention_reference

__all__ = [
    'BACKENDS', 'geo_attention', 'geo_attention_gather', 'geo_attention_gather_reference',
    'geo_attention_gather_torch', 'geo_attention_reference', 'geo_attention_torch', 'resolve_backend',
    'resolve_gather_backend'
]
