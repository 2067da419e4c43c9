"""Finding a video's frames on disk: one folder per video, frames in file name order.

:func:`locate_frames` pairs a :class:`~.video_annotation.VideoAnnotation` with its frame files
and frame size, and checks what the export says against them: the number of frames it declares,
the frames its boxes name, and its frame size (against the first frame's header).
"""
import os
import os.path as osp
from typing import List, NamedTuple, Optional, Tuple

from PIL import Image

from .video_annotation import AnnotationError, VideoAnnotation

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


class LocatedVideo(NamedTuple):
    """A video with its F frame files (absolute paths, in order) and its (width, height)."""
    annotation: VideoAnnotation
    frame_files: List[str]
    size: Tuple[int, int]


def list_frames(folder: str) -> List[str]:
    """The image files of ``folder`` (absolute paths) in name order; [] for a missing folder."""
    if not osp.isdir(folder):
        return []
    names = sorted(name for name in os.listdir(folder) if name.lower().endswith(IMAGE_EXTENSIONS))
    return [osp.abspath(osp.join(folder, name)) for name in names]


def image_size(path: str) -> Tuple[int, int]:
    """(width, height) of an image, from its header."""
    try:
        with Image.open(path) as image:
            return image.size
    except OSError as err:
        raise AnnotationError(f'{path}: cannot read the image ({err})') from None


def frame_folder(video: VideoAnnotation, frames_root: Optional[str]) -> str:
    """``frames_root/<video name>``, or the export's own frame folder when no root is given."""
    if frames_root is not None:
        return osp.join(frames_root, video.name)
    if video.frame_dir is None:
        raise AnnotationError(f'{video.where()}: give --frames DIR, the folder that holds one folder of frames '
                              'per video (named as the video)')
    return video.frame_dir


def locate_frames(video: VideoAnnotation, frames_root: Optional[str]) -> LocatedVideo:
    """The frames of ``video``, checked against the export.

    Raises:
        AnnotationError: the folder has no frames, fewer or more than the export declares, fewer
            than a box needs, or frames of another size than the export's.
    """
    folder = frame_folder(video, frames_root)
    files = list_frames(folder)
    if not files:
        raise AnnotationError(f'{video.where()}: no frames in {folder} (expected one image per frame, in name '
                              'order; --videos DIR decodes video files there)')
    if video.num_frames is not None and len(files) != video.num_frames:
        missing = f'frame {len(files)} is listed but missing' if len(files) < video.num_frames else 'extra files'
        raise AnnotationError(f'{video.where(frame=min(len(files), video.num_frames))}: the export declares '
                              f'{video.num_frames} frames but {folder} holds {len(files)} ({missing})')
    last = max(video.boxes, key=lambda box: box.frame, default=None)
    if last is not None and last.frame >= len(files):
        raise AnnotationError(f'{video.where(last.track, last.frame)}: frame {last.frame} has a box but is missing '
                              f'({folder} holds frames 0..{len(files) - 1})')
    size = image_size(files[0])
    if video.size is not None and tuple(video.size) != size:
        raise AnnotationError(f'{files[0]}: the frame is {size[0]}x{size[1]} but {video.source} declares '
                              f'{video.size[0]}x{video.size[1]} for video {video.name!r}')
    return LocatedVideo(video, files, size)
