"""Inference APIs: build a detector, run it over a stream (file, camera, URL), draw and write results."""
from .atomic_output import AtomicOutput
from .detection_drawer import DetectionDrawer
from .frame_source import FrameSource, SourceError, parse_source
from .init_detector import init_detector, load_config
from .json_lines_writer import JsonLinesWriter, detections_record
from .latest_frame_reader import LatestFrameReader
from .preview_window import PreviewWindow, display_available
from .stop_signals import StopSignals
from .stream_demo import EXIT_SOURCE_FAILED, StreamDemo
from .stream_pipeline import build_stream_pipeline, stream_transforms
from .stream_stats import StreamStats
from .streaming_detector import StreamingDetector, check_frame
from .video_file_writer import VideoFileWriter

__all__ = [
    'init_detector', 'load_config', 'StreamingDetector', 'check_frame', 'build_stream_pipeline',
    'stream_transforms', 'FrameSource', 'SourceError', 'parse_source', 'LatestFrameReader', 'DetectionDrawer',
    'VideoFileWriter', 'JsonLinesWriter', 'detections_record', 'AtomicOutput', 'StreamStats', 'StopSignals',
    'PreviewWindow', 'display_available', 'StreamDemo', 'EXIT_SOURCE_FAILED'
]
