"""Detectors of mamba_vod."""
from .mamba import MAMBA

__all__ = ['MAMBA']
