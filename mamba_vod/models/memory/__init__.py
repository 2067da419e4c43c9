"""Feature memories of the video detectors, and the interface of everything carried between frames."""
from .carried_state import CarriedState, StateCarrier
from .frame_cache import CachedFrame, FrameCache, FrameCacheState
from .memory_bank import MemoryBank, MemorySample, random_permutation

__all__ = ['CachedFrame', 'CarriedState', 'FrameCache', 'FrameCacheState', 'MemoryBank', 'MemorySample',
           'StateCarrier', 'random_permutation']
