"""Reader of MOT Challenge ground truth: a sequence folder, or a folder of sequence folders.

A sequence folder holds::

    gt/gt.txt      frame, id, bb_left, bb_top, bb_width, bb_height[, conf[, class[, visibility]]]
    seqinfo.ini    [Sequence] name, imDir (img1), seqLength, imWidth, imHeight (all optional)
    img1/          the frames, in name order (000001.jpg ...)

``frame`` is 1-based; ``class`` is the 1-based index into the class list the user gives
(``--classes``), 1 when the column is absent. Rows with ``conf`` 0 are MOT's "do not consider"
boxes and are left out. ``visibility`` below :data:`OCCLUDED_BELOW` marks a box occluded.
"""
import configparser
import csv
import os
import os.path as osp
from typing import List, Optional, Sequence

from .video_annotation import AnnotationError, AnnotationSet, TrackBox, VideoAnnotation

#: a box less visible than this (MOT's visibility ratio) is flagged occluded
OCCLUDED_BELOW = 0.5
GT_FILE = osp.join('gt', 'gt.txt')


def read_mot(path: str, classes: Sequence[str]) -> AnnotationSet:
    """The sequences under ``path`` (itself a sequence, or a folder of them, in name order)."""
    if not classes:
        raise AnnotationError('mot: give the class names with --classes NAME [NAME ...] (the gt class column '
                              'is the 1-based index into them)')
    if osp.isfile(osp.join(path, GT_FILE)):
        folders = [path]
    elif osp.isdir(path):
        folders = sorted(osp.join(path, name) for name in os.listdir(path)
                         if osp.isfile(osp.join(path, name, GT_FILE)))
    else:
        raise AnnotationError(f'{path}: no such folder')
    if not folders:
        raise AnnotationError(f'{path}: no MOT sequence here (no {GT_FILE}, nor sub-folders with one)')
    return AnnotationSet([read_mot_sequence(folder, classes) for folder in folders], list(classes))


def read_mot_sequence(folder: str, classes: Sequence[str]) -> VideoAnnotation:
    """One sequence: its seqinfo.ini (when present) and the rows of its gt/gt.txt."""
    info = _seqinfo(folder)
    name = info.get('name') or osp.basename(osp.normpath(folder))
    video = VideoAnnotation(name=name, source=osp.join(folder, GT_FILE),
                            num_frames=_info_int(info, 'seqlength', folder),
                            frame_dir=osp.join(folder, info.get('imdir', 'img1')))
    width, height = _info_int(info, 'imwidth', folder), _info_int(info, 'imheight', folder)
    if width and height:
        video.size = (width, height)
    with open(video.source, newline='', encoding='utf-8') as f:
        for line_no, row in enumerate(csv.reader(f), 1):
            if row and any(cell.strip() for cell in row):
                box = _row_box(row, classes, f'{video.source}:{line_no}')
                if box is not None:
                    video.boxes.append(box)
    return video


def _seqinfo(folder: str) -> dict:
    path = osp.join(folder, 'seqinfo.ini')
    if not osp.isfile(path):
        return {}
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding='utf-8')
    except configparser.Error as err:
        raise AnnotationError(f'{path}: not an ini file ({" ".join(str(err).split())})') from None
    return dict(parser['Sequence']) if parser.has_section('Sequence') else {}


def _info_int(info: dict, key: str, folder: str) -> Optional[int]:
    if key not in info:
        return None
    try:
        return int(info[key])
    except ValueError:
        raise AnnotationError(f'{osp.join(folder, "seqinfo.ini")}: {key}={info[key]!r} is not an integer') from None


def _row_box(row: List[str], classes: Sequence[str], where: str) -> Optional[TrackBox]:
    """The box of one gt row, or None for a row to leave out (conf 0)."""
    if len(row) < 6:
        raise AnnotationError(f'{where}: {len(row)} columns; a MOT gt row has frame, id, left, top, width, '
                              'height[, conf, class, visibility]')
    try:
        frame, track = int(float(row[0])), int(float(row[1]))
        left, top, width, height = (float(v) for v in row[2:6])
        conf = float(row[6]) if len(row) > 6 else 1.0
        label = int(float(row[7])) if len(row) > 7 else 1
        visibility = float(row[8]) if len(row) > 8 else 1.0
    except ValueError:
        raise AnnotationError(f'{where}: a column is not a number: {",".join(row)}') from None
    where = f'{where}: track {track}, frame {frame}'
    if frame < 1:
        raise AnnotationError(f'{where}: MOT frames are numbered from 1')
    if not 1 <= label <= len(classes):
        raise AnnotationError(f'{where}: class {label} is not in the class list (1..{len(classes)}: '
                              f'{list(classes)})')
    if conf == 0:
        return None
    return TrackBox(frame=frame - 1, track=str(track), label=classes[label - 1],
                    box=(left, top, left + width, top + height), occluded=visibility < OCCLUDED_BELOW)
