"""Feature memories of the video detectors."""
from .memory_bank import MemoryBank, MemorySample, random_permutation

__all__ = ['MemoryBank', 'MemorySample', 'random_permutation']
