"""Reader of per-frame COCO json with a video field (Datumaro, Label Studio and CVAT's COCO export).

Each image is one frame and names its video by one of:

- ``video_id``, with a top-level ``videos`` list of ``{id, name}`` (mmtracking's COCO-VID);
- ``video`` or ``video_name``: the video's name.

Its position in the video is ``frame_id``, ``frame_index`` or ``frame`` (0-based; frames need not
all be listed), else the order of the video's images by ``file_name``. The frames themselves are
the folder ``--frames/<video name>``, in name order: frame k of a video is the k-th file there.
An annotation's track is ``instance_id`` or ``track_id`` (also inside ``attributes``, as
Datumaro and CVAT write it); a box without one is a track of its own. ``occluded`` is read the
same way. ``width`` / ``height`` of the images give the frame size. Classes: ``categories`` in
id order.
"""
import json
from collections import defaultdict
from typing import Dict, List, Optional

from .video_annotation import AnnotationError, AnnotationSet, TrackBox, VideoAnnotation

_VIDEO_NAME_FIELDS = ('video', 'video_name')
_FRAME_FIELDS = ('frame_id', 'frame_index', 'frame')
_TRACK_FIELDS = ('instance_id', 'track_id')


def read_coco_video(path: str) -> AnnotationSet:
    """The videos of a per-frame COCO json, in order of first appearance."""
    coco = _load(path)
    names = {c['id']: c['name'] for c in sorted(coco['categories'], key=lambda c: c['id'])}
    video_of = _video_names(coco, path)
    videos: Dict[str, VideoAnnotation] = {}
    frames: Dict[int, tuple] = {}  # image id -> (video, frame index)
    for video_name, images in _images_by_video(coco['images'], video_of).items():
        video = videos[video_name] = VideoAnnotation(name=video_name, source=path)
        for index, image in _frame_indices(images, path):
            frames[image['id']] = (video, index)
            if image.get('width') and image.get('height'):
                video.size = (int(image['width']), int(image['height']))
    for k, ann in enumerate(coco['annotations']):
        video, frame = _annotation_frame(ann, k, frames, path)
        if ann.get('category_id') not in names:
            raise AnnotationError(f'{video.where(frame=frame)}: annotation {ann.get("id", k)} has category_id '
                                  f'{ann.get("category_id")}, which is not in "categories"')
        video.boxes.append(_track_box(ann, k, frame, names[ann['category_id']], video))
    return AnnotationSet(list(videos.values()), list(names.values()))


def _load(path: str) -> dict:
    try:
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
    except FileNotFoundError:
        raise AnnotationError(f'{path}: no such file') from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AnnotationError(f'{path}: not valid json ({err})') from None
    if not isinstance(coco, dict) or any(key not in coco for key in ('images', 'annotations', 'categories')):
        raise AnnotationError(f'{path}: not a COCO json (needs "images", "annotations" and "categories")')
    return coco


def _video_names(coco: dict, path: str):
    """A function image -> its video's name."""
    by_id = {v['id']: str(v.get('name', v['id'])) for v in coco.get('videos', [])}

    def video_of(image: dict) -> str:
        if 'video_id' in image and image['video_id'] in by_id:
            return by_id[image['video_id']]
        for key in _VIDEO_NAME_FIELDS:
            if image.get(key) not in (None, ''):
                return str(image[key])
        raise AnnotationError(f'{path}: image {image.get("id")} ({image.get("file_name")}) names no video '
                              '(video_id listed in "videos", video or video_name); a per-frame video json '
                              'has one on every image')

    return video_of


def _images_by_video(images: List[dict], video_of) -> Dict[str, List[dict]]:
    grouped = defaultdict(list)
    for image in images:
        grouped[video_of(image)].append(image)
    return grouped


def _frame_indices(images: List[dict], path: str):
    """(frame index, image) of a video's images: their frame field, else file name order."""
    field = next((key for key in _FRAME_FIELDS if all(key in image for image in images)), None)
    if field is None:
        return list(enumerate(sorted(images, key=lambda image: str(image.get('file_name')))))
    indexed = [(int(image[field]), image) for image in images]
    seen = set()
    for index, image in indexed:
        if index < 0 or index in seen:
            raise AnnotationError(f'{path}: image {image.get("id")} ({image.get("file_name")}): {field} {index} '
                                  'is negative or repeats within its video')
        seen.add(index)
    return indexed


def _annotation_frame(ann: dict, k: int, frames: Dict[int, tuple], path: str) -> tuple:
    if ann.get('image_id') not in frames:
        raise AnnotationError(f'{path}: annotation {ann.get("id", k)} names image_id {ann.get("image_id")}, '
                              'which is not in "images"')
    return frames[ann['image_id']]


def _field(ann: dict, key: str):
    """``ann[key]``, else ``ann['attributes'][key]``, else None."""
    if key in ann:
        return ann[key]
    return (ann.get('attributes') or {}).get(key)


def _track_box(ann: dict, k: int, frame: int, label: str, video: VideoAnnotation) -> TrackBox:
    track: Optional[object] = next((_field(ann, key) for key in _TRACK_FIELDS if _field(ann, key) is not None),
                                   None)
    track = f'box {ann.get("id", k)}' if track is None else str(track)
    bbox = ann.get('bbox')
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        raise AnnotationError(f'{video.where(track, frame)}: annotation {ann.get("id", k)} has bbox {bbox!r}, '
                              'not [x, y, w, h]')
    x, y, w, h = (float(v) for v in bbox)
    return TrackBox(frame=frame, track=track, label=label, box=(x, y, x + w, y + h),
                    occluded=bool(_field(ann, 'occluded')))
