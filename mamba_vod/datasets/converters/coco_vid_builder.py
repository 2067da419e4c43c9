"""COCO-VID dict (mmtracking's fields) from videos whose frames were located on disk.

Written fields, as ``tools/dataset_converters/imagenet_vid.py`` writes them for ImageNet VID:

- ``categories``: ``id`` 1..C in class-list order, ``name``;
- ``videos``: ``id`` 1..V, ``name``;
- ``images``: one per frame, video after video in frame order: ``id``, ``video_id``, ``frame_id``
  (0-based), ``file_name`` (relative to the data root, '/'-separated), ``height``, ``width``,
  ``is_vid_train_frame`` (every frame);
- ``annotations``: ``id``, ``video_id``, ``image_id``, ``category_id``, ``instance_id`` (one per
  (video, track), numbered in order of first appearance), ``bbox`` [x, y, w, h] clipped to the
  frame, ``area``, ``iscrowd`` False, ``occluded``, ``generated`` (interpolated by the tool).
"""
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from .frame_folders import LocatedVideo
from .video_annotation import AnnotationError, TrackBox, check_one_box_per_frame, clip_box


@dataclass
class ConversionStats:
    """What a converted file holds, for the printed summary."""
    title: str
    videos: int = 0
    frames: int = 0
    tracks: int = 0
    occluded: int = 0
    generated: int = 0
    clipped: int = 0
    boxes: Counter = field(default_factory=Counter)  # class name -> boxes

    def lines(self) -> List[str]:
        out = [f'----- {self.title} -----',
               f'{self.videos} videos, {self.frames} frames, {self.tracks} tracks, {sum(self.boxes.values())} boxes '
               f'({self.occluded} occluded, {self.generated} interpolated, {self.clipped} clipped to their frame)']
        return out + [f'  {name}: {count} boxes' for name, count in self.boxes.items()]


def build_coco_vid(videos: Sequence[LocatedVideo], classes: Sequence[str], data_root: str,
                   stats: ConversionStats) -> dict:
    """The COCO-VID dict of ``videos``; file names relative to ``data_root``.

    Raises:
        AnnotationError: a box outside its frame, two boxes of a track in one frame, or a frame
            outside ``data_root``.
    """
    out = dict(categories=[dict(id=i, name=name) for i, name in enumerate(classes, 1)],
               videos=[], images=[], annotations=[])
    category_ids = {name: i for i, name in enumerate(classes, 1)}
    instance_ids: Dict[Tuple[int, str], int] = {}
    for video_id, video in enumerate(videos, 1):
        out['videos'].append(dict(id=video_id, name=video.annotation.name))
        first_image = len(out['images']) + 1
        out['images'] += _frame_images(video, video_id, first_image, data_root)
        boxes = sorted(video.annotation.boxes, key=lambda box: (box.frame, box.track))
        check_one_box_per_frame(video.annotation)
        for box in boxes:
            instance = instance_ids.setdefault((video_id, box.track), len(instance_ids) + 1)
            out['annotations'].append(_annotation(box, video, len(out['annotations']) + 1, video_id,
                                                  first_image + box.frame, category_ids[box.label], instance, stats))
        stats.videos += 1
        stats.frames += len(video.frame_files)
    stats.tracks = len(instance_ids)
    return out


def _frame_images(video: LocatedVideo, video_id: int, first_id: int, data_root: str) -> List[dict]:
    width, height = video.size
    return [dict(id=first_id + frame_id, video_id=video_id, frame_id=frame_id,
                 file_name=relative_file_name(path, data_root), height=height, width=width, is_vid_train_frame=True)
            for frame_id, path in enumerate(video.frame_files)]


def relative_file_name(path: str, data_root: str) -> str:
    """``path`` relative to ``data_root``, '/'-separated; an error when it lies outside it."""
    relative = osp.relpath(osp.abspath(path), osp.abspath(data_root))
    if relative == '..' or relative.startswith('..' + osp.sep):
        raise AnnotationError(f'{path}: the frame lies outside the data root {data_root} (--data-root); put the '
                              'frames under the folder your config names as data_root')
    return relative.replace(osp.sep, '/')


def _annotation(box: TrackBox, video: LocatedVideo, ann_id: int, video_id: int, image_id: int, category_id: int,
                instance_id: int, stats: ConversionStats) -> dict:
    (x1, y1, x2, y2), clipped = clip_box(box.box, video.size, video.annotation.where(box.track, box.frame))
    stats.clipped += int(clipped)
    stats.occluded += int(box.occluded)
    stats.generated += int(box.generated)
    stats.boxes[box.label] += 1
    return dict(id=ann_id, video_id=video_id, image_id=image_id, category_id=category_id, instance_id=instance_id,
                bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=False,
                occluded=box.occluded, generated=box.generated)
