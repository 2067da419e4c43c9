"""Reader of CVAT's "CVAT for video 1.1" XML export (one file per task, or a folder of them).

The parts read::

    <annotations>
      <meta><task>                        (<job> in a job export)
        <name>street</name>               the video's name: its frames are --frames/street/
        <size>120</size>                  F frames, numbered 0..F-1 in the boxes
        <start_frame>0</start_frame> <stop_frame>119</stop_frame> <frame_filter>step=1</frame_filter>
        <labels><label><name>car</name>...</label>...</labels>     the classes, in this order
        <original_size><width>1280</width><height>720</height></original_size>
        <source>street.mp4</source>       (also directly under <meta>)
      </task></meta>
      <track id="0" label="car">
        <box frame="0" outside="0" occluded="0" keyframe="1" xtl=".." ytl=".." xbr=".." ybr=".."/>
        ...                               interpolated frames are in the export (keyframe="0")
      </track>
    </annotations>

A box with ``outside="1"`` marks a frame where the object is not visible: no box. ``occluded``
is kept; ``keyframe="0"`` (interpolated by CVAT) becomes ``generated``. Tracks of other shapes
(polygons, points ...) hold no ``<box>`` and give no boxes.
"""
import os
import os.path as osp
import re
import xml.etree.ElementTree as ET
from typing import List, Optional, Tuple

from .video_annotation import AnnotationError, AnnotationSet, TrackBox, VideoAnnotation

_BOX_FIELDS = ('xtl', 'ytl', 'xbr', 'ybr')


def read_cvat_video(path: str) -> AnnotationSet:
    """The videos of a CVAT for video 1.1 file, or of every ``*.xml`` in a folder (name order).

    Classes: the labels the tasks declare, in order of first appearance.
    """
    files = _xml_files(path)
    videos, classes = [], []
    for file in files:
        video, labels = read_cvat_task(file)
        videos.append(video)
        classes += [label for label in labels if label not in classes]
    return AnnotationSet(videos, classes)


def _xml_files(path: str) -> List[str]:
    if osp.isdir(path):
        files = sorted(osp.join(path, name) for name in os.listdir(path) if name.lower().endswith('.xml'))
        if not files:
            raise AnnotationError(f'{path}: no .xml file in this folder (expected CVAT for video 1.1 exports)')
        return files
    if not osp.isfile(path):
        raise AnnotationError(f'{path}: no such file or folder')
    return [path]


def read_cvat_task(path: str) -> Tuple[VideoAnnotation, List[str]]:
    """One task's video and its declared labels."""
    root = _parse(path)
    meta = root.find('meta')
    task = None if meta is None else (meta.find('task') if meta.find('task') is not None else meta.find('job'))
    if task is None:
        raise AnnotationError(f'{path}: no <meta><task> (or <job>); expected a "CVAT for video 1.1" export')
    if root.find('track') is None and root.find('image') is not None:
        raise AnnotationError(f'{path}: a "CVAT for images" export (<image> elements); export the task as '
                              '"CVAT for video 1.1"')
    num_frames = _int_text(task, 'size', path)
    video = VideoAnnotation(
        name=(task.findtext('name') or '').strip() or osp.splitext(osp.basename(path))[0],
        source=path, num_frames=num_frames, size=_original_size(task, path),
        video_file=(task.findtext('source') or meta.findtext('source') or '').strip() or None,
        video_frames=_video_frames(task, num_frames, path))
    labels = [label.findtext('name', '').strip() for label in task.iter('label')]
    for track in root.findall('track'):
        video.boxes += _track_boxes(track, video)
    return video, [label for label in labels if label]


def _parse(path: str) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise AnnotationError(f'{path}: malformed XML ({err})') from None
    if root.tag != 'annotations':
        raise AnnotationError(f'{path}: the root element is <{root.tag}>, not <annotations> (not a CVAT export)')
    return root


def _int_text(element: ET.Element, tag: str, path: str) -> Optional[int]:
    text = element.findtext(tag)
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f'{path}: <{tag}> is {text!r}, not an integer') from None


def _original_size(task: ET.Element, path: str) -> Optional[Tuple[int, int]]:
    size = task.find('original_size')
    if size is None:
        return None
    width, height = _int_text(size, 'width', path), _int_text(size, 'height', path)
    return None if width is None or height is None else (width, height)


def _video_frames(task: ET.Element, num_frames: Optional[int], path: str) -> Optional[range]:
    """The video file's frames that are the task's: start_frame, every step-th, F of them."""
    if num_frames is None:
        return None
    start = _int_text(task, 'start_frame', path) or 0
    step = re.search(r'step\s*=\s*(\d+)', task.findtext('frame_filter') or '')
    step = int(step.group(1)) if step else 1
    return range(start, start + step * num_frames, step)


def _track_boxes(track: ET.Element, video: VideoAnnotation) -> List[TrackBox]:
    """The visible boxes of a ``<track>`` (none for a track of another shape)."""
    track_id = track.get('id', '?')
    label = track.get('label')
    if label is None:
        raise AnnotationError(f'{video.where(track_id)}: the <track> has no label')
    boxes = []
    for element in track.findall('box'):
        frame = _attribute(element, 'frame', video, track_id, None, int)
        if _attribute(element, 'outside', video, track_id, frame, int, '0'):
            continue
        box = tuple(_attribute(element, name, video, track_id, frame, float) for name in _BOX_FIELDS)
        boxes.append(TrackBox(frame=frame, track=track_id, label=label, box=box,
                              occluded=bool(_attribute(element, 'occluded', video, track_id, frame, int, '0')),
                              generated=not _attribute(element, 'keyframe', video, track_id, frame, int, '1')))
    return boxes


def _attribute(element: ET.Element, name: str, video: VideoAnnotation, track: str, frame: Optional[int],
               kind, default: Optional[str] = None):
    text = element.get(name, default)
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise AnnotationError(f'{video.where(track, frame)}: <box> attribute {name}={text!r} is not '
                              f'{"an integer" if kind is int else "a number"}') from None
