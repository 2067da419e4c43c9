"""Reading the FGFA list files under ``ILSVRC2015_ROOT/Lists/``.

``VID_train_15frames.txt``: ``VIDEO 1 FRAME NUM_FRAMES`` per line, one line
per training frame, e.g.
``train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000 1 10 300``.
FRAME is read as 1-based and stored 0-based (``FRAME - 1``), as mmtracking's
converter does, so the json equals the one mmtracking users have; a FRAME of
0 (which that rule would turn into -1) is read as frame 0 and counted.

``VID_val_videos.txt``: ``VIDEO FIRST_GLOBAL_INDEX 0 NUM_FRAMES`` per video,
e.g. ``val/ILSVRC2015_val_00000000 1 0 464``; only VIDEO and the last field
are used.

``DET_train_30classes.txt``: ``IMAGE INDEX`` per image, e.g.
``train/ILSVRC2014_train_0000/ILSVRC2014_train_00000663 1``; only IMAGE
(relative to ``Data/DET``, without ``.JPEG``) is used.

A line naming a video or image whose annotations are missing stops the
conversion with an error naming the list file, the line and the path.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

from ilsvrc_annotation import ConversionError, Problems

FRAME_ZERO = 'train-list frame index 0 read as frame 0'


@dataclass
class VideoEntry:
    """A video named by a list: 0-based training frames in list order."""
    name: str
    num_frames: int
    train_frames: List[int] = field(default_factory=list)


def _lines(path: str) -> Iterator[Tuple[int, List[str]]]:
    """(1-based line number, fields) of each non-blank line of ``path``."""
    if not osp.isfile(path):
        raise ConversionError(
            f'{path}: list file is missing; the FGFA lists go in '
            'ILSVRC2015_ROOT/Lists/')
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if fields:
                yield number, fields


def _to_int(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConversionError(f'{where}: {text!r} is not an integer') from None


def _check_video(name: str, num_frames: int, ann_dir: str, where: str):
    video_dir = osp.join(ann_dir, name)
    if not osp.isdir(video_dir):
        raise ConversionError(
            f'{where}: video {name!r} not found ({video_dir} does not '
            'exist); fix the list or the data root')
    if num_frames <= 0:
        raise ConversionError(f'{where}: video {name!r} has {num_frames} '
                              'frames')


def read_vid_train_list(path: str, ann_dir: str,
                        problems: Problems) -> List[VideoEntry]:
    """Videos of ``VID_train_15frames.txt`` in first-appearance order.

    Args:
        path: the list file.
        ann_dir: ``ROOT/Annotations/VID``; each video must be a folder here.
        problems: tally of fixed problems.
    """
    videos: Dict[str, VideoEntry] = {}
    for number, fields in _lines(path):
        where = f'{path} line {number}'
        if len(fields) != 4:
            raise ConversionError(
                f'{where}: expected "VIDEO 1 FRAME NUM_FRAMES", got '
                f'{" ".join(fields)!r}')
        name = fields[0]
        frame = _to_int(fields[2], where)
        num_frames = _to_int(fields[3], where)
        if name not in videos:
            _check_video(name, num_frames, ann_dir, where)
            videos[name] = VideoEntry(name=name, num_frames=num_frames)
        video = videos[name]
        if num_frames != video.num_frames:
            raise ConversionError(
                f'{where}: video {name!r} has {num_frames} frames here but '
                f'{video.num_frames} on an earlier line')
        if not 0 <= frame <= num_frames:
            raise ConversionError(
                f'{where}: frame {frame} is outside 1..{num_frames}')
        if frame == 0:
            problems.add(FRAME_ZERO, where)
        video.train_frames.append(max(frame - 1, 0))
    return list(videos.values())


def read_vid_val_list(path: str, ann_dir: str) -> List[VideoEntry]:
    """Videos of ``VID_val_videos.txt`` in list order (no train frames)."""
    videos: Dict[str, VideoEntry] = {}
    for number, fields in _lines(path):
        where = f'{path} line {number}'
        if len(fields) < 2:
            raise ConversionError(
                f'{where}: expected "VIDEO START 0 NUM_FRAMES", got '
                f'{" ".join(fields)!r}')
        name, num_frames = fields[0], _to_int(fields[-1], where)
        if name in videos:
            raise ConversionError(f'{where}: video {name!r} is listed twice')
        _check_video(name, num_frames, ann_dir, where)
        videos[name] = VideoEntry(name=name, num_frames=num_frames)
    return list(videos.values())


def read_det_list(path: str, ann_dir: str) -> List[str]:
    """Image names (``train/.../NAME``) of ``DET_train_30classes.txt``.

    Args:
        path: the list file.
        ann_dir: ``ROOT/Annotations/DET``; each ``NAME.xml`` must exist.
    """
    names = []
    for number, fields in _lines(path):
        xml_path = osp.join(ann_dir, fields[0] + '.xml')
        if not osp.isfile(xml_path):
            raise ConversionError(
                f'{path} line {number}: image {fields[0]!r} not found '
                f'({xml_path} does not exist); fix the list or the data root')
        names.append(fields[0])
    return names


def det_other_images(ann_dir: str, listed: List[str]) -> List[str]:
    """DET train images outside the list, in mmtracking's order.

    These are ``train/ILSVRC2013_train/*/*`` then
    ``train/ILSVRC2014_train_*/*`` (sorted), the subsets mmtracking's DET
    converter reads.
    """
    listed_set = set(listed)
    found = []
    base = osp.join(ann_dir, 'train')
    y2013 = osp.join(base, 'ILSVRC2013_train')
    if osp.isdir(y2013):
        for synset in sorted(os.listdir(y2013)):
            found += _xml_names(osp.join(y2013, synset),
                                f'train/ILSVRC2013_train/{synset}')
    if osp.isdir(base):
        for subset in sorted(os.listdir(base)):
            if subset.startswith('ILSVRC2014_train_'):
                found += _xml_names(osp.join(base, subset), f'train/{subset}')
    return [name for name in found if name not in listed_set]


def _xml_names(folder: str, prefix: str) -> List[str]:
    if not osp.isdir(folder):
        return []
    return [f'{prefix}/{name[:-4]}' for name in sorted(os.listdir(folder))
            if name.endswith('.xml')]
