"""Feature memories of the video detectors, and the interface of everything carried between frames."""
from .carried_state import CarriedState, StateCarrier
from .memory_bank import MemoryBank, MemorySample, random_permutation

__all__ = ['CarriedState', 'MemoryBank', 'MemorySample', 'StateCarrier', 'random_permutation']
