"""Detectors of mamba_vod."""
from .mamba import MAMBA
from .memory_state import MemoryState

__all__ = ['MAMBA', 'MemoryState']
