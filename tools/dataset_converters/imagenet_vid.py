"""Convert ImageNet VID/DET (ILSVRC2015) annotations to COCO-VID json.

Usage::

    python tools/dataset_converters/imagenet_vid.py -i ILSVRC2015_ROOT -o OUT

reads ``ROOT/Annotations/{VID,DET}`` and the FGFA lists in ``ROOT/Lists/``
(see ``ilsvrc_lists.py``) and writes, with mmtracking's fields:

* ``imagenet_vid_train.json`` / ``imagenet_vid_val.json``: categories (id
  1..30, name, encode_name = WordNet id), videos (id, name,
  vid_train_frames), images (file_name, height, width, id, frame_id 0-based,
  video_id, is_vid_train_frame) and annotations (id, video_id, image_id,
  category_id, instance_id, bbox [x, y, w, h], area, iscrowd, occluded,
  generated). Ids start at 1; instance ids number the (video, trackid)
  pairs in order of appearance.
* ``imagenet_det_30plus1cls.json``: categories 1..31 (31 = any other
  WordNet id), images (file_name, height, width, id, is_vid_train_frame =
  listed in ``DET_train_30classes.txt``; listed images first, then the rest
  of the DET train set), annotations (id, image_id, category_id, bbox,
  area, iscrowd). DET images have no video_id or frame_id.

Frames without objects stay as images. Every frame a json names must exist
under ``ROOT/Data/VID`` or ``ROOT/Data/DET`` (checked with a progress bar;
``--skip-frame-check`` skips it). Problems are fixed when the fix is well
defined (a box clipped to its image) and counted in the summary; anything else
stops the run with an error naming the file, and nothing is written.

The three files appear together or not at all: they are written to temporary
files first and renamed only when all three are complete; if a rename fails,
those already renamed are rolled back (the files they replaced restored).
Ctrl-C and SIGTERM stop the run at once, worker processes included, and leave
nothing behind (exit status 130 / 143).
"""
import argparse
import codecs
import json
import os.path as osp
import signal
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Tuple

# The helpers live beside this script (it is run as a script, not imported
# from a package).
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from tqdm import tqdm  # noqa: E402

from ilsvrc_annotation import (Annotation, ConversionError,  # noqa: E402
                               Problems, read_annotation)
from ilsvrc_classes import (CATEGORY_IDS, OTHER_CATEGORY_ID,  # noqa: E402
                            VID_CLASSES, det_categories, vid_categories)
from ilsvrc_frames import check_frames  # noqa: E402
from ilsvrc_lists import (VideoEntry, det_other_images,  # noqa: E402
                          read_det_list, read_vid_train_list,
                          read_vid_val_list)
from mamba_vod.utils import check_output_path, write_together  # noqa: E402

OUTPUT_FILES = ('imagenet_vid_train.json', 'imagenet_vid_val.json',
                'imagenet_det_30plus1cls.json')
# The folder under ROOT/Data that each output's file names are relative to.
IMAGE_FOLDERS = dict(zip(OUTPUT_FILES, ('VID', 'VID', 'DET')))
UTF8_WRITER = codecs.getwriter('utf-8')  # text json into a binary file
EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class Summary:
    """What one output file holds, for the printed summary."""
    title: str
    videos: int = 0
    images: int = 0
    train_frames: int = 0
    images_without_objects: int = 0
    boxes: Counter = field(default_factory=Counter)  # category id -> count
    problems: Problems = field(default_factory=Problems)

    def lines(self) -> List[str]:
        names = dict(enumerate((name for name, _ in VID_CLASSES), 1))
        names[OTHER_CATEGORY_ID] = 'other classes'
        videos = f'{self.videos} videos, ' if self.videos else ''
        out = [f'----- {self.title} -----',
               f'{videos}{self.images} images ({self.train_frames} marked '
               'is_vid_train_frame, '
               f'{self.images_without_objects} without objects), '
               f'{sum(self.boxes.values())} boxes']
        out += [f'  {cid:2d} {names[cid]:<14s} {n} boxes'
                for cid, n in sorted(self.boxes.items())]
        out += ['problems: ' + line for line in self.problems.lines()]
        return out


@dataclass
class _Task:
    """One unit of XML work for a (possibly parallel) worker."""
    paths: List[str]
    video: bool
    drop_empty_boxes: bool


def _parse(task: _Task) -> Tuple[List[Annotation], Problems]:
    problems = Problems()
    anns = [read_annotation(path, video=task.video, problems=problems,
                            drop_empty_boxes=task.drop_empty_boxes)
            for path in task.paths]
    if task.video:
        for path, ann in zip(task.paths, anns):
            for obj in ann.objects:
                if obj.wnid not in CATEGORY_IDS:
                    raise ConversionError(
                        f'{path}: unknown WordNet id {obj.wnid!r}; a VID '
                        'object must be one of the 30 VID classes')
    return anns, problems


def _ignore_interrupts() -> None:
    """Worker set-up: Ctrl-C reaches the whole process group, but only the
    main process decides what to do about it (it stops the workers); SIGTERM
    ends a worker (the handler inherited from the main process is undone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def _parsed(tasks: List[_Task], workers: int, desc: str
            ) -> Iterator[Iterator[Tuple[List[Annotation], Problems]]]:
    """The parsed tasks, in order, from ``workers`` processes, with a bar.

    However the block ends (done, an error, Ctrl-C, SIGTERM), the workers
    are ended before it is left: pending tasks are cancelled and running ones
    (a few XML files each) finish; a worker killed from outside does not
    hang the shutdown.
    """
    if workers <= 1:
        yield tqdm(map(_parse, tasks), total=len(tasks), desc=desc)
        return
    executor = ProcessPoolExecutor(workers, initializer=_ignore_interrupts)
    try:
        yield tqdm(executor.map(_parse, tasks, chunksize=4), total=len(tasks),
                   desc=desc)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def convert_vid(videos: List[VideoEntry], ann_dir: str, summary: Summary, *,
                workers: int = 1, drop_empty_boxes: bool = False) -> dict:
    """The COCO-VID dict of ``videos`` (annotations under ``ann_dir``)."""
    out = dict(categories=vid_categories(), videos=[], images=[],
               annotations=[])
    tasks = [_Task([osp.join(ann_dir, v.name, f'{i:06d}.xml')
                    for i in range(v.num_frames)], True, drop_empty_boxes)
             for v in videos]
    instance_ids: Dict[Tuple[int, str], int] = {}
    with _parsed(tasks, workers, summary.title) as results:
        for video_id, (video, (anns, problems)) in enumerate(
                zip(videos, results), 1):
            summary.problems.merge(problems)
            _add_video(out, summary, instance_ids, video_id, video, anns)
    summary.videos = len(videos)
    return out


def _add_video(out: dict, summary: Summary,
               instance_ids: Dict[Tuple[int, str], int], video_id: int,
               video: VideoEntry, anns: List[Annotation]) -> None:
    """Appends one video, its frames and their objects to ``out``."""
    out['videos'].append(dict(id=video_id, name=video.name,
                              vid_train_frames=video.train_frames))
    train_frames = set(video.train_frames)
    for frame_id, ann in enumerate(anns):
        image = dict(file_name=f'{video.name}/{frame_id:06d}.JPEG',
                     height=ann.height, width=ann.width,
                     id=len(out['images']) + 1, frame_id=frame_id,
                     video_id=video_id,
                     is_vid_train_frame=frame_id in train_frames)
        out['images'].append(image)
        for obj in ann.objects:
            key = (video_id, obj.trackid)
            instance_ids.setdefault(key, len(instance_ids) + 1)
            out['annotations'].append(dict(
                id=len(out['annotations']) + 1, video_id=video_id,
                image_id=image['id'],
                category_id=CATEGORY_IDS[obj.wnid],
                instance_id=instance_ids[key], **_coco_box(obj.box),
                occluded=obj.occluded, generated=obj.generated))
        _count(summary, image, ann)


def _coco_box(box: List[int]) -> dict:
    """``bbox`` [x, y, w, h] and ``area`` of an ``[x1, y1, x2, y2]`` box."""
    x1, y1, x2, y2 = box
    return dict(bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1), iscrowd=False)


def _count(summary: Summary, image: dict, ann: Annotation) -> None:
    summary.images += 1
    summary.train_frames += int(image['is_vid_train_frame'])
    summary.images_without_objects += int(not ann.objects)
    for obj in ann.objects:
        summary.boxes[CATEGORY_IDS.get(obj.wnid, OTHER_CATEGORY_ID)] += 1


def convert_det(listed: List[str], others: List[str], ann_dir: str,
                summary: Summary, *, workers: int = 1,
                drop_empty_boxes: bool = False) -> dict:
    """The DET dict: ``listed`` images (VID training) first, then others."""
    out = dict(categories=det_categories(), images=[], annotations=[])
    names = listed + others
    chunk = 256
    tasks = [_Task([osp.join(ann_dir, n + '.xml') for n in names[i:i + chunk]],
                   False, drop_empty_boxes)
             for i in range(0, len(names), chunk)]
    anns: List[Annotation] = []
    with _parsed(tasks, workers, summary.title) as results:
        for part, problems in results:
            anns += part
            summary.problems.merge(problems)
    for index, (name, ann) in enumerate(zip(names, anns)):
        image = dict(file_name=f'{name}.JPEG', height=ann.height,
                     width=ann.width, id=index + 1,
                     is_vid_train_frame=index < len(listed))
        out['images'].append(image)
        for obj in ann.objects:
            out['annotations'].append(dict(
                id=len(out['annotations']) + 1, image_id=image['id'],
                category_id=CATEGORY_IDS.get(obj.wnid, OTHER_CATEGORY_ID),
                **_coco_box(obj.box)))
        _count(summary, image, ann)
    return out


def write_json_files(out_dir: str, contents: Dict[str, dict]) -> None:
    """Write every file or none: temporary files first, then renames that
    are rolled back if one fails (the files they replaced are restored)."""
    write_together({osp.join(out_dir, name):
                    lambda f, data=data: json.dump(data, UTF8_WRITER(f))
                    for name, data in contents.items()})


def convert(root: str, out_dir: str, *, workers: int = 1,
            drop_empty_boxes: bool = False, check_frames_exist: bool = True,
            echo: Callable[[str], None] = print) -> Dict[str, Summary]:
    """Convert the tree at ``root``; write the three files to ``out_dir``.

    Args:
        check_frames_exist: check that every image file the jsons name
            exists under ``root/Data`` (a missing one is an error).

    Returns:
        The summary of each output file, keyed by file name.

    Raises:
        ConversionError: bad input that is not fixed (nothing is written).
        OSError: ``out_dir`` cannot be written (found before any work).
    """
    check_output_path(osp.join(out_dir, OUTPUT_FILES[0]), 'output')
    lists = osp.join(root, 'Lists')
    vid_dir = osp.join(root, 'Annotations', 'VID')
    det_dir = osp.join(root, 'Annotations', 'DET')
    opts = dict(workers=workers, drop_empty_boxes=drop_empty_boxes)
    summaries = {name: Summary(title=name) for name in OUTPUT_FILES}
    train, val, det = (summaries[name] for name in OUTPUT_FILES)
    train_videos = read_vid_train_list(
        osp.join(lists, 'VID_train_15frames.txt'), vid_dir, train.problems)
    val_videos = read_vid_val_list(osp.join(lists, 'VID_val_videos.txt'),
                                   vid_dir)
    det_listed = read_det_list(osp.join(lists, 'DET_train_30classes.txt'),
                               det_dir)
    contents = {
        OUTPUT_FILES[0]: convert_vid(train_videos, vid_dir, train, **opts),
        OUTPUT_FILES[1]: convert_vid(val_videos, vid_dir, val, **opts),
        OUTPUT_FILES[2]: convert_det(det_listed,
                                     det_other_images(det_dir, det_listed),
                                     det_dir, det, **opts),
    }
    if check_frames_exist:
        check_frames(contents, {name: osp.join(root, 'Data', folder)
                                for name, folder in IMAGE_FOLDERS.items()})
    write_json_files(out_dir, contents)
    for summary in summaries.values():
        for line in summary.lines():
            echo(line)
    echo(f'wrote {", ".join(OUTPUT_FILES)} to {out_dir}')
    return summaries


def parse_args(argv: Iterable[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert ImageNet VID + DET (ILSVRC2015) to COCO-VID '
        'json (mmtracking fields).')
    parser.add_argument('-i', '--input', required=True,
                        help='ILSVRC2015 root (Annotations/, Lists/)')
    parser.add_argument('-o', '--output', required=True,
                        help='folder for the three json files')
    parser.add_argument('-j', '--workers', type=int, default=1,
                        help='processes parsing XML (default 1)')
    parser.add_argument('--drop-empty-boxes', action='store_true',
                        help='drop and count boxes with xmax <= xmin or '
                        'ymax <= ymin instead of stopping')
    parser.add_argument('--skip-frame-check', action='store_true',
                        help='do not check that the image files the jsons '
                        'name exist under ROOT/Data (faster)')
    return parser.parse_args(argv)


@contextmanager
def _interrupting_signals() -> Iterator[dict]:
    """Ctrl-C and SIGTERM interrupt the main process (KeyboardInterrupt), so
    that the ``with``/``finally`` blocks on the way out end the workers and
    remove temporary files. Yields a dict that gets the signal (``signum``)."""
    received = {}

    def interrupt(signum, _frame):
        received['signum'] = signum
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt)
                for signum in EXIT_INTERRUPTED}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Iterable[str] = None) -> int:
    """Exit status: 0 written, 1 bad input or output, 130/143 Ctrl-C/SIGTERM;
    in every case but 0 nothing was written."""
    args = parse_args(argv)
    with _interrupting_signals() as received:
        try:
            convert(args.input, args.output, workers=args.workers,
                    drop_empty_boxes=args.drop_empty_boxes,
                    check_frames_exist=not args.skip_frame_check)
        except (ConversionError, OSError) as err:
            print(f'error: {err}\nnothing was written to {args.output}',
                  file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            signum = received.get('signum', signal.SIGINT)
            print(f'\ninterrupted ({signal.Signals(signum).name}): nothing '
                  f'was written to {args.output}', file=sys.stderr)
            return EXIT_INTERRUPTED[signum]
    return 0


if __name__ == '__main__':
    sys.exit(main())
