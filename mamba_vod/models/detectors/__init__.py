"""Detectors of mamba_vod: the video detector base and one file per method."""
from .dff import DFF
from .fgfa import FGFA
from .mamba import MAMBA
from .mega import MEGA, RDN
from .memory_state import MemoryState, StreamMemories
from .selsa import SELSA
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame

__all__ = ['BaseVideoDetector', 'DFF', 'FGFA', 'MAMBA', 'MEGA', 'MemoryState', 'RDN', 'SELSA', 'StreamMemories',
           'VideoFrame']
