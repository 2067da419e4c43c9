"""Annotation-tool video exports (CVAT for video, MOT Challenge, per-frame COCO) to COCO-VID json.

One reader per format turns an export into format-free :class:`AnnotationSet` tracks;
:func:`convert_export` finds the frames, splits by video and builds the COCO-VID dicts that
``tools/dataset_converters/to_coco_vid.py`` writes.
"""
from .coco_video import read_coco_video
from .coco_vid_builder import ConversionStats, build_coco_vid
from .cvat_video import read_cvat_video
from .export_conversion import READERS, convert_export, split_paths
from .frame_folders import LocatedVideo, list_frames, locate_frames
from .mot_challenge import read_mot
from .video_annotation import AnnotationError, AnnotationSet, TrackBox, VideoAnnotation
from .video_decoding import decode_video
from .video_split import split_videos

__all__ = [
    'AnnotationError', 'AnnotationSet', 'ConversionStats', 'LocatedVideo', 'READERS', 'TrackBox', 'VideoAnnotation',
    'build_coco_vid', 'convert_export', 'decode_video', 'list_frames', 'locate_frames', 'read_coco_video',
    'read_cvat_video', 'read_mot', 'split_paths', 'split_videos'
]
