"""Decoding a video file into a folder of frames (OpenCV), for exports made on video files.

Frame k of the annotation (k = 0..F-1) becomes ``<folder>/<k:06d>.jpg``, so the frames sort in
order. The folder appears whole or not at all (written under a temporary name, then renamed); an
existing folder is kept, not decoded again.
"""
import os
import os.path as osp
from typing import Optional

import cv2

from mamba_vod.utils import AtomicOutput
from .video_annotation import AnnotationError, VideoAnnotation

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpg', '.mpeg', '.m4v', '.wmv')


def find_video_file(videos_dir: str, video: VideoAnnotation) -> str:
    """The video file of ``video`` in ``videos_dir``: its ``video_file`` (CVAT's ``<source>``)
    when there, else the one file named ``<video name>.<video extension>``."""
    if video.video_file and osp.isfile(osp.join(videos_dir, osp.basename(video.video_file))):
        return osp.join(videos_dir, osp.basename(video.video_file))
    names = [name for name in sorted(os.listdir(videos_dir))
             if osp.splitext(name)[0] == video.name and name.lower().endswith(VIDEO_EXTENSIONS)]
    if len(names) != 1:
        wanted = f'{video.video_file!r} or ' if video.video_file else ''
        raise AnnotationError(f'{video.where()}: {len(names)} video files named {wanted}{video.name!r}.<ext> in '
                              f'{videos_dir}; expected one')
    return osp.join(videos_dir, names[0])


def decode_video(video_path: str, folder: str, frames: Optional[range] = None) -> int:
    """Writes the frames ``frames`` of ``video_path`` (all when None) into ``folder``; returns
    how many were written (0 when ``folder`` already exists and is kept).

    Raises:
        AnnotationError: OpenCV cannot open the file, or it ends before the last wanted frame.
    """
    if osp.isdir(folder):
        return 0
    capture = cv2.VideoCapture(video_path)
    if not capture.isOpened():
        raise AnnotationError(f'{video_path}: OpenCV cannot open this video')
    written = 0
    try:
        with AtomicOutput(folder, directory=True, make_dirs=True) as output:
            written = _write_frames(capture, output.temp_path, frames, video_path)
    finally:
        capture.release()
    return written


def _write_frames(capture, folder: str, frames: Optional[range], video_path: str) -> int:
    wanted = None if frames is None else set(frames)
    last = None if frames is None else (max(frames) if len(frames) else -1)
    index = written = 0
    while last is None or index <= last:
        ok, image = capture.read()
        if not ok:
            break
        if wanted is None or index in wanted:
            cv2.imwrite(osp.join(folder, f'{written:06d}.jpg'), image)
            written += 1
        index += 1
    if last is not None and index <= last:
        raise AnnotationError(f'{video_path}: the video ends after {index} frames, but the annotation needs frames '
                              f'{frames.start}..{last} (step {frames.step})')
    return written
