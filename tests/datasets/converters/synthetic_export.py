"""A small synthetic tracking set, and the exports three annotation tools would write of it.

Three videos of 64x48 PNG frames with two classes (not ImageNet VID's). In every video:
a ``boat`` that leaves the frame at frames 4-6 and comes back (a gap in its track), a ``buoy``
that appears at frame 2 and is occluded at frames 3 and 4, and, in the first video, a second
``boat`` that is never occluded. Each box is drawn as a coloured rectangle on its frame.

:func:`expected_boxes` lists what a converted json must hold; the writers produce the same
set as CVAT for video 1.1 XML, MOT Challenge folders and per-frame COCO json.
"""
import json
import os
import os.path as osp
from typing import List, NamedTuple, Tuple
from xml.etree import ElementTree as ET

import cv2
import numpy as np

CLASSES = ('boat', 'buoy')
WIDTH, HEIGHT = 64, 48
VIDEOS = (('harbour', 12), ('pier', 10), ('bay', 9))
GAP = range(4, 7)  # frames the first boat is out of view
COLOURS = {'boat': (40, 200, 240), 'buoy': (230, 60, 60)}


class GtBox(NamedTuple):
    video: str
    frame: int
    track: int  # unique over the whole set
    label: str
    box: Tuple[int, int, int, int]  # x1, y1, x2, y2
    occluded: bool


def tracks(video_index: int, num_frames: int) -> List[GtBox]:
    """The visible boxes of one video."""
    name = VIDEOS[video_index][0]
    boxes = []
    for frame in range(num_frames):
        if frame not in GAP:
            x = 2 + 3 * frame
            boxes.append(GtBox(name, frame, 10 * video_index, 'boat', (x, 4, x + 20, 18), False))
        if frame >= 2:
            y = 20 + frame
            boxes.append(GtBox(name, frame, 10 * video_index + 1, 'buoy', (40, y, 52, y + 10), frame in (3, 4)))
        if video_index == 0:
            boxes.append(GtBox(name, frame, 2, 'boat', (4, 30, 28, 44), False))
    return boxes


def expected_boxes() -> List[GtBox]:
    return [box for index, (_, frames) in enumerate(VIDEOS) for box in tracks(index, frames)]


def _frame(video_index: int, frame: int, boxes: List[GtBox]) -> np.ndarray:
    image = np.random.default_rng([video_index, frame]).integers(0, 50, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    for box in boxes:
        x1, y1, x2, y2 = box.box
        image[y1:y2, x1:x2] = COLOURS[box.label]
    return image


def write_frames(folder_of, extension: str = '.png', first: int = 0) -> None:
    """Writes frame k of each video as ``folder_of(video)/<k + first:06d><extension>``."""
    for index, (name, frames) in enumerate(VIDEOS):
        boxes = tracks(index, frames)
        for frame in range(frames):
            path = osp.join(folder_of(name), f'{frame + first:06d}{extension}')
            _makedirs(path)
            cv2.imwrite(path, _frame(index, frame, [b for b in boxes if b.frame == frame]))


def _makedirs(path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)


# ---------------------------------------------------------------- CVAT for video 1.1
def write_cvat(folder: str) -> List[str]:
    """One XML per video (task); returns their paths. Every 3rd visible box is a keyframe; an
    ``outside`` box marks where a track leaves the view."""
    paths = []
    for index, (name, frames) in enumerate(VIDEOS):
        root = ET.Element('annotations')
        ET.SubElement(root, 'version').text = '1.1'
        meta = ET.SubElement(root, 'meta')
        task = ET.SubElement(meta, 'task')
        for tag, text in (('id', index + 1), ('name', name), ('size', frames), ('mode', 'interpolation'),
                          ('start_frame', 0), ('stop_frame', frames - 1), ('frame_filter', '')):
            ET.SubElement(task, tag).text = str(text)
        labels = ET.SubElement(task, 'labels')
        for label in CLASSES:
            ET.SubElement(ET.SubElement(labels, 'label'), 'name').text = label
        size = ET.SubElement(task, 'original_size')
        ET.SubElement(size, 'width').text, ET.SubElement(size, 'height').text = str(WIDTH), str(HEIGHT)
        ET.SubElement(meta, 'source').text = f'{name}.avi'
        for track_id, boxes in _by_track(tracks(index, frames)).items():
            _cvat_track(root, track_id, boxes)
        paths.append(osp.join(folder, f'task_{index}.xml'))
        _makedirs(paths[-1])
        ET.ElementTree(root).write(paths[-1], encoding='utf-8', xml_declaration=True)
    return paths


def _by_track(boxes: List[GtBox]) -> dict:
    grouped = {}
    for box in boxes:
        grouped.setdefault(box.track, []).append(box)
    return grouped


def _cvat_track(root: ET.Element, track_id: int, boxes: List[GtBox]) -> None:
    track = ET.SubElement(root, 'track', id=str(track_id), label=boxes[0].label, source='manual')
    for k, box in enumerate(boxes):
        _cvat_box(track, box.frame, box.box, outside=0, occluded=int(box.occluded), keyframe=int(k % 3 == 0))
        if k + 1 < len(boxes) and boxes[k + 1].frame != box.frame + 1:  # leaves the view
            _cvat_box(track, box.frame + 1, box.box, outside=1, occluded=0, keyframe=1)


def _cvat_box(track: ET.Element, frame: int, box, **flags) -> None:
    x1, y1, x2, y2 = box
    ET.SubElement(track, 'box', frame=str(frame), xtl=f'{x1:.2f}', ytl=f'{y1:.2f}', xbr=f'{x2:.2f}',
                  ybr=f'{y2:.2f}', z_order='0', **{key: str(value) for key, value in flags.items()})


def cvat_keyframes() -> int:
    """How many visible boxes :func:`write_cvat` marks as keyframes."""
    return sum((k % 3 == 0) for boxes in _all_tracks().values() for k in range(len(boxes)))


def _all_tracks() -> dict:
    return _by_track(expected_boxes())


# ---------------------------------------------------------------- MOT Challenge
def write_mot(folder: str) -> None:
    """A folder of sequences (gt/gt.txt, seqinfo.ini, img1/ JPEG frames numbered from 1). The
    class column is 1-based into :data:`CLASSES`; visibility 0.25 for an occluded box; one extra
    row per sequence with conf 0 (to be left out)."""
    for index, (name, frames) in enumerate(VIDEOS):
        rows = []
        for box in tracks(index, frames):
            x1, y1, x2, y2 = box.box
            rows.append(f'{box.frame + 1},{box.track},{x1},{y1},{x2 - x1},{y2 - y1},1,'
                        f'{CLASSES.index(box.label) + 1},{0.25 if box.occluded else 1.0}')
        rows.append('1,99,1,1,5,5,0,1,1.0')
        gt = osp.join(folder, name, 'gt', 'gt.txt')
        _makedirs(gt)
        with open(gt, 'w') as f:
            f.write('\n'.join(rows) + '\n')
        with open(osp.join(folder, name, 'seqinfo.ini'), 'w') as f:
            f.write(f'[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={frames}\n'
                    f'imWidth={WIDTH}\nimHeight={HEIGHT}\nimExt=.jpg\n')
    write_frames(lambda name: osp.join(folder, name, 'img1'), '.jpg', first=1)


# ---------------------------------------------------------------- per-frame COCO with a video field
def write_coco_video(path: str) -> None:
    """Datumaro-style: images name their video (``video`` for the first, ``video_id`` + ``videos``
    for the others) and their ``frame_id``; track ids and occlusion inside ``attributes``."""
    images, annotations = [], []
    for index, (name, frames) in enumerate(VIDEOS):
        ids = {}
        for frame in range(frames):
            ids[frame] = len(images) + 1
            image = dict(id=ids[frame], file_name=f'{name}/{frame:06d}.png', width=WIDTH, height=HEIGHT,
                         frame_id=frame)
            image.update(dict(video=name) if index == 0 else dict(video_id=index + 1))
            images.append(image)
        for box in tracks(index, frames):
            x1, y1, x2, y2 = box.box
            annotations.append(dict(id=len(annotations) + 1, image_id=ids[box.frame],
                                    category_id=CLASSES.index(box.label) + 1, bbox=[x1, y1, x2 - x1, y2 - y1],
                                    area=(x2 - x1) * (y2 - y1), iscrowd=0,
                                    attributes=dict(track_id=box.track, occluded=box.occluded)))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=k + 1, name=name) for k, name in enumerate(CLASSES)],
                videos=[dict(id=k + 1, name=name) for k, (name, _) in enumerate(VIDEOS)])
    _makedirs(path)
    with open(path, 'w') as f:
        json.dump(coco, f)


def converted_boxes(coco: dict) -> List[tuple]:
    """(video, frame, instance id, class, (x1, y1, x2, y2), occluded) of a COCO-VID dict, sorted."""
    videos = {v['id']: v['name'] for v in coco['videos']}
    images = {image['id']: image for image in coco['images']}
    names = {c['id']: c['name'] for c in coco['categories']}
    out = []
    for ann in coco['annotations']:
        image = images[ann['image_id']]
        x, y, w, h = ann['bbox']
        out.append((videos[image['video_id']], image['frame_id'], ann['instance_id'], names[ann['category_id']],
                    (x, y, x + w, y + h), ann['occluded']))
    return sorted(out)


def write_converted_set(root) -> str:
    """Frames under ``root/frames`` and their CVAT export converted to ``root/annotations/vid.json``
    (file names relative to ``root``); returns the json's path."""
    from mamba_vod.datasets.converters import convert_export
    write_frames(lambda name: osp.join(str(root), 'frames', name))
    write_cvat(osp.join(str(root), 'cvat'))
    (coco, _), = convert_export('cvat', osp.join(str(root), 'cvat'), data_root=str(root),
                                frames=osp.join(str(root), 'frames')).values()
    path = osp.join(str(root), 'annotations', 'vid.json')
    _makedirs(path)
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path
