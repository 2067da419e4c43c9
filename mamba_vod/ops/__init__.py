"""Operators of mamba_vod: GEO attention with Triton kernels and PyTorch paths.

Importing this package does not import Triton; the kernels load on first use.
"""
from .geo_attention import BACKENDS, geo_attention, geo_attention_torch, resolve_backend
from .geo_attention_reference import geo_attention_reference

__all__ = ['BACKENDS', 'geo_attention', 'geo_attention_reference', 'geo_attention_torch', 'resolve_backend']
