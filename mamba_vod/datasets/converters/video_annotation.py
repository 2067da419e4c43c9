"""What every annotation-tool reader returns: the boxes of each video's tracks, format-free.

A reader (``cvat_video``, ``mot_challenge``, ``coco_video``) turns an export into an
:class:`AnnotationSet`; :mod:`.coco_vid_builder` turns that, with the frames on disk, into a
COCO-VID dict. Frames are numbered 0..F-1 in the order of the video's frame files (file name
order), whatever numbering the export uses.

Bad input raises :class:`AnnotationError`, one line naming the file and, where it applies, the
track and the frame.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

Box = Tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


class AnnotationError(ValueError):
    """An export that cannot be converted; the message is one line naming file, track, frame."""


@dataclass
class TrackBox:
    """One box of one track in one frame.

    Attributes:
        frame: 0-based index of the frame among the video's frames.
        track: the track's id within its video, as the export spells it.
        label: class name.
        box: (x1, y1, x2, y2) pixels.
        occluded: the tool marked the object occluded.
        generated: the box was interpolated by the tool, not drawn (CVAT's ``keyframe="0"``).
    """
    frame: int
    track: str
    label: str
    box: Box
    occluded: bool = False
    generated: bool = False


@dataclass
class VideoAnnotation:
    """The tracks of one video.

    Attributes:
        name: the video's name; its frames are the folder ``--frames/<name>``.
        source: the export file it was read from (named in errors).
        boxes: every visible box, any order.
        num_frames: F, the number of frames the export declares (None: the folder decides).
        size: (width, height) the export declares (None: read from the first frame).
        frame_dir: where the frames are when no ``--frames`` is given (MOT's ``img1/``).
        video_file: the video file the tool was given (CVAT's ``<source>``), for ``--videos``.
        video_frames: which frames of that video file are the video's frames, in order
            (CVAT's start_frame / stop_frame / step); None: all of them.
    """
    name: str
    source: str
    boxes: List[TrackBox] = field(default_factory=list)
    num_frames: Optional[int] = None
    size: Optional[Tuple[int, int]] = None
    frame_dir: Optional[str] = None
    video_file: Optional[str] = None
    video_frames: Optional[range] = None

    def where(self, track: Optional[str] = None, frame: Optional[int] = None) -> str:
        """``source (video name), track T, frame F`` for an error message."""
        parts = [f'{self.source} (video {self.name!r})']
        if track is not None:
            parts.append(f'track {track}')
        if frame is not None:
            parts.append(f'frame {frame}')
        return ', '.join(parts)


@dataclass
class AnnotationSet:
    """An export: its videos and the class names it declares, in the export's order."""
    videos: List[VideoAnnotation]
    classes: List[str]


def check_labels(annotations: AnnotationSet, classes: Sequence[str]) -> None:
    """Raises :class:`AnnotationError` naming the first box whose label is not in ``classes``."""
    known = set(classes)
    for video in annotations.videos:
        for box in video.boxes:
            if box.label not in known:
                raise AnnotationError(f'{video.where(box.track, box.frame)}: class {box.label!r} is not in '
                                      f'the class list {list(classes)}')


def check_one_box_per_frame(video: VideoAnnotation) -> None:
    """Raises :class:`AnnotationError` when a track has two boxes in one frame."""
    seen = set()
    for box in video.boxes:
        key = (box.track, box.frame)
        if key in seen:
            raise AnnotationError(f'{video.where(box.track, box.frame)}: the track has two boxes in this frame')
        seen.add(key)


def clip_box(box: Box, size: Tuple[int, int], where: str) -> Tuple[Box, bool]:
    """``box`` clipped to a ``size`` = (width, height) frame, and whether clipping changed it.

    Raises:
        AnnotationError: the box has no area inside the frame (naming ``where``).
    """
    width, height = size
    x1, y1, x2, y2 = box
    clipped = (min(max(x1, 0.0), width), min(max(y1, 0.0), height),
               min(max(x2, 0.0), width), min(max(y2, 0.0), height))
    if clipped[2] - clipped[0] <= 0 or clipped[3] - clipped[1] <= 0:
        raise AnnotationError(f'{where}: box {_rounded(box)} lies outside the {width}x{height} frame '
                              '(or has no area)')
    return clipped, clipped != tuple(box)


def _rounded(box: Box) -> str:
    return '(' + ', '.join(f'{v:g}' for v in box) + ')'
