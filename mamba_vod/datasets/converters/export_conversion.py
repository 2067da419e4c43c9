"""From an annotation tool's video export to COCO-VID dicts: read, find the frames, split, build.

:func:`convert_export` is what ``tools/dataset_converters/to_coco_vid.py`` runs; it writes
nothing (the tool writes its result, all files or none).
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .coco_video import read_coco_video
from .coco_vid_builder import ConversionStats, build_coco_vid
from .cvat_video import read_cvat_video
from .frame_folders import locate_frames
from .mot_challenge import read_mot
from .video_annotation import AnnotationError, AnnotationSet, check_labels
from .video_decoding import decode_video, find_video_file
from .video_split import split_videos

#: format name -> reader(path, classes) -> AnnotationSet
READERS: Dict[str, Callable[[str, Sequence[str]], AnnotationSet]] = {
    'cvat': lambda path, classes: read_cvat_video(path),
    'mot': read_mot,
    'coco-video': lambda path, classes: read_coco_video(path),
}


def convert_export(fmt: str, path: str, *, data_root: str, frames: Optional[str] = None,
                   videos: Optional[str] = None, classes: Optional[Sequence[str]] = None,
                   val_fraction: float = 0.0, seed: int = 0,
                   echo: Callable[[str], None] = print) -> Dict[str, Tuple[dict, ConversionStats]]:
    """Convert the export at ``path``.

    Args:
        fmt: one of :data:`READERS`.
        data_root: the folder the file names are made relative to (the config's ``data_root``).
        frames: the folder holding one folder of frames per video (named as the video).
        videos: decode ``<videos>/<video file>`` into ``<frames>/<video name>`` first.
        classes: the class list (its order gives category ids 1..C); None: the export's.
        val_fraction: > 0 splits the videos into ``'train'`` and ``'val'`` (seeded by ``seed``).

    Returns:
        ``{split: (COCO-VID dict, stats)}``: ``{'all': ...}``, or ``'train'`` and ``'val'``.

    Raises:
        AnnotationError: bad input, in one line naming the file, track or frame.
        ValueError: an impossible split.
    """
    if fmt not in READERS:
        raise ValueError(f'unknown format {fmt!r}; one of {sorted(READERS)}')
    annotations = READERS[fmt](path, classes or ())
    classes = list(classes) if classes else annotations.classes
    check_labels(annotations, classes)
    _check_unique_names(annotations)
    if videos is not None:
        _decode(annotations, videos, frames, echo)
    located = [locate_frames(video, frames) for video in annotations.videos]
    if not located:
        raise AnnotationError(f'{path}: the export holds no video')
    splits = {'all': list(range(len(located)))}
    if val_fraction > 0:
        train, val = split_videos(len(located), val_fraction, seed)
        splits = {'train': train, 'val': val}
    results = {}
    for split, indices in splits.items():
        stats = ConversionStats(title=split)
        results[split] = (build_coco_vid([located[i] for i in indices], classes, data_root, stats), stats)
    return results


def _check_unique_names(annotations: AnnotationSet) -> None:
    """Two videos of one name would share a frame folder."""
    seen: Dict[str, str] = {}
    for video in annotations.videos:
        if video.name in seen:
            raise AnnotationError(f'{video.source}: video {video.name!r} has the name of a video of '
                                  f'{seen[video.name]}; each video needs its own frame folder (rename the task or '
                                  'sequence)')
        seen[video.name] = video.source


def _decode(annotations: AnnotationSet, videos: str, frames: Optional[str], echo) -> None:
    if frames is None:
        raise AnnotationError('--videos needs --frames DIR, where the decoded frames go (one folder per video)')
    if not osp.isdir(videos):
        raise AnnotationError(f'{videos}: no such folder (--videos)')
    for video in annotations.videos:
        folder = osp.join(frames, video.name)
        if osp.isdir(folder):  # decoded before: the video file is not needed again
            echo(f'{folder}: frames already there, kept')
            continue
        source = find_video_file(videos, video)
        echo(f'{source}: decoded {decode_video(source, folder, video.video_frames)} frames into {folder}')


def split_paths(out: str, splits: List[str]) -> Dict[str, str]:
    """The output file of each split: ``OUT`` itself for ``'all'``, else ``<stem>_<split>.json``
    beside it (``vid.json`` -> ``vid_train.json``, ``vid_val.json``)."""
    stem, ext = osp.splitext(out)
    return {split: out if split == 'all' else f'{stem}_{split}{ext or ".json"}' for split in splits}
