"""The library API: build a detector, and run it over the frames of a video as they come.

The camera/video application built on it (frame sources, writers, the demo loop) lives in
:mod:`mamba_vod.streaming`.
"""
from .init_detector import init_detector
from .multi_stream_detector import MultiStreamDetector
from .stream_pipeline import build_stream_pipeline
from .streaming_detector import StreamingDetector

__all__ = ['init_detector', 'StreamingDetector', 'MultiStreamDetector', 'build_stream_pipeline']
