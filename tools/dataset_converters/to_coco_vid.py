"""Convert an annotation tool's video export to COCO-VID json (mmtracking's fields).

Usage::

    python tools/dataset_converters/to_coco_vid.py --format cvat exports/ \\
        --videos raw_videos/ --frames data/my_videos/frames \\
        -o data/my_videos/annotations/vid.json --val-fraction 0.2
    python tools/dataset_converters/to_coco_vid.py --format mot data/my_videos/MOT \\
        --classes person car -o data/my_videos/annotations/vid.json --val-fraction 0.2

Formats and the frames they need are described in ``--help`` and in
:mod:`mamba_vod.datasets.converters`. Bad input stops the run with one line naming the file,
track or frame, and nothing is written; the output files appear together or not at all.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Iterable

from mamba_vod.datasets.converters import AnnotationError, READERS, convert_export, split_paths
from mamba_vod.engine.cli import user_errors
from mamba_vod.utils import check_output_path, write_together

EPILOG = """formats:
  cvat        CVAT "CVAT for video 1.1" XML: one file per task, or a folder of them. The frames of
              a task are --frames/<task name>/, in name order (frame k = the k-th file).
  mot         MOT Challenge: a sequence folder (gt/gt.txt, seqinfo.ini, img1/) or a folder of
              them; --classes names the classes, the gt class column is the 1-based index into
              them; frames are each sequence's img1/ (or --frames/<sequence name>/).
  coco-video  per-frame COCO json whose images name their video (video_id + "videos", or
              video / video_name) and frame (frame_id / frame_index / frame); frames are
              --frames/<video name>/, in name order.

file names: the json's file_names are relative to --data-root (default: the folder above the
output's folder, e.g. data/my_videos for -o data/my_videos/annotations/vid.json). Set the
config's data_root to that folder (data_prefix stays empty), e.g. in
configs/custom/mamba_r50-dc5_custom.py: data_root = 'data/my_videos/'.

The summary ends with the line `classes = (...)` to paste into the config."""


def parse_args(argv: Iterable[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a CVAT / MOT / per-frame COCO video export to COCO-VID json.',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('input', help='the export: a file, or a folder of exports / sequences')
    parser.add_argument('--format', required=True, choices=sorted(READERS), help='the export format')
    parser.add_argument('-o', '--out', required=True,
                        help='output json; with --val-fraction, <stem>_train.json and <stem>_val.json beside it')
    parser.add_argument('--frames', help='folder with one folder of frames per video, named as the video')
    parser.add_argument('--videos', help='folder of the video files; decoded with OpenCV into --frames/<video>/ '
                        'first (a folder already there is kept)')
    parser.add_argument('--classes', nargs='+', metavar='NAME',
                        help='class names (categories 1..C in this order); required for mot, where the gt class '
                        'column indexes them from 1; default for cvat / coco-video: the classes the export declares')
    parser.add_argument('--data-root', help='the folder file_names are relative to (the config\'s data_root); '
                        'default: the folder above the output\'s folder')
    parser.add_argument('--val-fraction', type=float, default=0.0,
                        help='split the videos: this fraction goes to val (default 0: one file)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split (default 0)')
    return parser.parse_args(argv)


def main(argv: Iterable[str] = None) -> int:
    """Exit status 0 when written; 1 (one ``error:`` line, nothing written) on bad input."""
    args = parse_args(argv)
    data_root = args.data_root or osp.dirname(osp.dirname(osp.abspath(args.out)))
    with user_errors((AnnotationError, OSError, ValueError)):
        check_output_path(args.out, '-o/--out')
        results = convert_export(args.format, args.input, data_root=data_root, frames=args.frames,
                                 videos=args.videos, classes=args.classes, val_fraction=args.val_fraction,
                                 seed=args.seed)
        paths = split_paths(args.out, list(results))
        write_together({paths[split]: lambda f, coco=coco: f.write(json.dumps(coco).encode('utf-8'))
                        for split, (coco, _) in results.items()})
    for split, (coco, stats) in results.items():
        print('\n'.join(stats.lines()) + f'\nwrote {paths[split]}')
    names = tuple(category['name'] for category in next(iter(results.values()))[0]['categories'])
    print(f'file_names are relative to {data_root}: set data_root there in the config, and\nclasses = {names!r}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
