"""Detectors of mamba_vod: the video detector base and one file per method."""
from .mamba import MAMBA
from .memory_state import MemoryState, StreamMemories
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame

__all__ = ['BaseVideoDetector', 'MAMBA', 'MemoryState', 'StreamMemories', 'VideoFrame']
