"""Feature memories of the video detectors."""
from .memory_bank import MemoryBank, MemorySample

__all__ = ['MemoryBank', 'MemorySample']
