"""The camera/video application the demos are built from, on top of :mod:`mamba_vod.apis`.

Frame sources (file, camera, URL) with reconnection, a latest-frame reader for live sources,
annotated-video and JSON-lines writers whose files are complete however a run ends, drawing,
a preview window (and a grid tiling several streams), stop signals, throughput statistics,
:class:`StreamDemo`, the loop of ``demo/video_demo.py`` and ``demo/webcam_demo.py``, and
:class:`MultiStreamDemo`, the loop of ``demo/multi_stream_demo.py`` (many sources, one model).
Their command-line plumbing (arguments, exit codes) is :mod:`.demo_cli`.
"""
from .detection_drawer import DetectionDrawer
from .frame_source import FrameSource, SourceError, parse_source
from .json_lines_writer import JsonLinesWriter, detections_record
from .latest_frame_reader import LatestFrameReader
from .multi_stream_demo import MultiStreamDemo, stream_output_paths
from .preview_window import PreviewWindow, display_available, tile_frames
from .stop_signals import StopSignals
from .stream_demo import EXIT_SOURCE_FAILED, StreamDemo
from .stream_stats import StreamStats
from .video_file_writer import VideoFileWriter

__all__ = [
    'FrameSource', 'SourceError', 'parse_source', 'LatestFrameReader', 'DetectionDrawer', 'VideoFileWriter',
    'JsonLinesWriter', 'detections_record', 'StreamStats', 'StopSignals', 'PreviewWindow', 'display_available',
    'tile_frames', 'StreamDemo', 'EXIT_SOURCE_FAILED', 'MultiStreamDemo', 'stream_output_paths'
]
