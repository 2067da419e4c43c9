"""Write a small synthetic ImageNet VID data set in the ILSVRC2015 layout.

Usage::

    python tools/misc/make_synthetic_vid.py --out data/synthetic_vid --seed 0
    python tools/misc/make_synthetic_vid.py --out data/synthetic_vid_hard \
        --preset hard --seed 0

writes (``N`` = 8-digit index, ``F`` = 6-digit frame)::

    Data/VID/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_N/F.JPEG
    Data/VID/val/ILSVRC2015_val_N/F.JPEG
    Data/DET/train/ILSVRC2014_train_0000/ILSVRC2014_train_N.JPEG
    Annotations/...   the same paths with .xml (VID: trackid, occluded,
                      generated; DET: name and box only)
    Lists/VID_train_15frames.txt   VIDEO 1 FRAME(1-based) NUM_FRAMES
    Lists/VID_val_videos.txt       VIDEO FIRST_INDEX 0 NUM_FRAMES
    Lists/DET_train_30classes.txt  IMAGE INDEX
    Lists/VID_val_degraded_frames.txt, Lists/VID_val_clean_frames.txt
        the val frames with / without a degradation burst, one json
        ``file_name`` per line (``val/ILSVRC2015_val_N/F.JPEG``)

so ``tools/dataset_converters/imagenet_vid.py`` converts it like the real
data. How the videos are made (and why a video model should beat a
single-frame one on the degraded frames) is in ``synthetic_vid_scene.py``
and ``synthetic_vid_appearance.py``.

Presets (``--preset``; explicit ``--frames`` / ``--val-videos`` win):

* ``default``: one class per video (1 or 2 objects), 24 frames, 16 train
  and 30 val videos. Its files never change for the same arguments: they
  are pinned by ``tests/tools/synthetic_vid_default.sha256``.
* ``hard`` (``synthetic_vid_hard.py``): 2 or 3 objects of different
  classes per video plus 1 or 2 unlabelled look-alikes (a class's pattern
  in another class's colours, on a video object's silhouette), so that a
  summary of the whole video is wrong for some objects and only the clear
  frames of the same object tell a degraded one; 64 frames per video (a
  memory fills and updates; references from the whole video differ from
  those within +-9 frames), 16 train and 20 val videos. Needs ``--classes``
  >= 3.

The same arguments give byte-identical files; the tool prints the data
set's sha256 (``--manifest FILE`` also writes every file's). The tree is
built in a temporary folder beside ``--out`` and renamed at the end, so an
interrupted run leaves no partial data set.
"""
import argparse
import os.path as osp
import sys
from collections import Counter
from typing import List

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(osp.dirname(HERE), 'dataset_converters'))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ilsvrc_classes import VID_CLASSES  # noqa: E402
from synthetic_vid_appearance import CLASS_STYLES  # noqa: E402
from synthetic_vid_files import (Writer, dataset_digest,  # noqa: E402
                                 det_name, file_digests, video_name,
                                 write_manifest)
from synthetic_vid_hard import MIN_CLASSES, make_hard_scene  # noqa: E402
from synthetic_vid_scene import make_scene, render_frame  # noqa: E402

from mamba_vod.utils import AtomicOutput  # noqa: E402

WNIDS = dict(VID_CLASSES)
SPLIT_SEEDS = {'train': 1, 'val': 2, 'det': 3}
SCENES = {'default': make_scene, 'hard': make_hard_scene}
#: what a preset sets unless the option is given
PRESETS = {'default': dict(frames=24, val_videos=30),
           'hard': dict(frames=64, val_videos=20)}
#: the options that change the files (the manifest header records them)
CONTENT_OPTIONS = ('preset', 'seed', 'train_videos', 'val_videos', 'frames',
                   'train_key_frames', 'det_images', 'height', 'width',
                   'classes', 'degradation', 'degraded_fraction',
                   'jpeg_quality')


def _scene_args(args: argparse.Namespace, frames: int) -> dict:
    return dict(height=args.height, width=args.width, frames=frames,
                num_classes=args.classes,
                degraded_fraction=args.degraded_fraction,
                strength=args.degradation)


def write_videos(writer: Writer, args, split: str, count: int) -> dict:
    """Write ``count`` videos of ``split``; returns name -> degraded flags."""
    flags = {}
    for index in range(count):
        rng = np.random.default_rng([args.seed, SPLIT_SEEDS[split], index])
        scene = SCENES[args.preset](rng, class_index=index % args.classes,
                                    **_scene_args(args, args.frames))
        name = video_name(split, index)
        for t in range(scene.frames):
            img, objects = render_frame(scene, t, rng)
            writer.image('VID', f'{name}/{t:06d}', img, objects, True)
            _count(writer.stats, split, scene, t, objects)
        flags[name] = [scene.is_degraded(t) for t in range(scene.frames)]
    return flags


def _count(stats: Counter, split: str, scene, t: int, objects) -> None:
    stats[f'{split} frames'] += 1
    for obj in objects:
        stats[f'{split} boxes {obj.name}'] += 1
    lookalikes = sum(not track.labelled for track in scene.tracks)
    if lookalikes:
        stats[f'{split} look-alikes (unlabelled, per frame)'] += lookalikes
    stats[f'{split} occluded boxes'] += sum(o.occluded for o in objects)
    if scene.is_degraded(t):
        stats[f'{split} degraded frames'] += 1
        for kind in scene.bursts[t].kinds:
            stats[f'{split} degraded by {kind}'] += 1
        stats[f'{split} degraded by occlusion'] += scene.bursts[t].occlusion


def write_det(writer: Writer, args) -> List[str]:
    """Write the DET images (clean; one scene's first frame each); returns
    their names."""
    names = []
    for index in range(args.det_images):
        rng = np.random.default_rng([args.seed, SPLIT_SEEDS['det'], index])
        scene = SCENES[args.preset](
            rng, class_index=index % args.classes,
            **dict(_scene_args(args, 1), strength=0.0))
        img, objects = render_frame(scene, 0, rng)
        writer.image('DET', det_name(index), img, objects, False)
        for obj in objects:
            writer.stats[f'det boxes {obj.name}'] += 1
        names.append(det_name(index))
    return names


def write_lists(writer: Writer, args, train: dict, val: dict,
                det: List[str]) -> None:
    """The three FGFA lists and the two val frame subsets."""
    keys = min(args.train_key_frames, args.frames)
    train_lines = [f'{name} 1 {int(args.frames / keys * (k + 0.5)) + 1} '
                   f'{len(flags)}' for name, flags in train.items()
                   for k in range(keys)]
    val_lines, start = [], 1
    for name, flags in val.items():
        val_lines.append(f'{name} {start} 0 {len(flags)}')
        start += len(flags)
    frames = [(f'{name}/{t:06d}.JPEG', bad) for name, flags in val.items()
              for t, bad in enumerate(flags)]
    writer.text('Lists/VID_train_15frames.txt', train_lines)
    writer.text('Lists/VID_val_videos.txt', val_lines)
    writer.text('Lists/DET_train_30classes.txt',
                [f'{name} {i}' for i, name in enumerate(det, 1)])
    writer.text('Lists/VID_val_degraded_frames.txt',
                [f for f, bad in frames if bad])
    writer.text('Lists/VID_val_clean_frames.txt',
                [f for f, bad in frames if not bad])


def write_preview(root: str, val: dict, path: str, columns: int = 8) -> None:
    """A PNG sheet of the first val video; degraded frames framed in red."""
    name, flags = next(iter(val.items()))
    tiles = []
    for t, bad in enumerate(flags):
        img = cv2.imread(osp.join(root, 'Data', 'VID', name, f'{t:06d}.JPEG'))
        colour = (0, 0, 255) if bad else (0, 200, 0)
        tiles.append(cv2.copyMakeBorder(img, 3, 3, 3, 3,
                                        cv2.BORDER_CONSTANT, value=colour))
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i:i + columns])
            for i in range(0, len(tiles), columns)]
    cv2.imwrite(path, np.vstack(rows))


def generate(args: argparse.Namespace, root: str) -> Counter:
    """Write the whole data set under ``root``; returns the statistics."""
    writer = Writer(root, args.jpeg_quality, WNIDS)
    train = write_videos(writer, args, 'train', args.train_videos)
    val = write_videos(writer, args, 'val', args.val_videos)
    det = write_det(writer, args)
    write_lists(writer, args, train, val, det)
    if args.preview and val:
        write_preview(root, val, args.preview)
    return writer.stats


def content_arguments(args: argparse.Namespace) -> List[str]:
    """The options that made the files, spelled out (defaults included)."""
    words = []
    for name in CONTENT_OPTIONS:
        words += ['--' + name.replace('_', '-'), str(getattr(args, name))]
    return words


def write_digest(root: str, args: argparse.Namespace) -> str:
    """The data set's sha256; with ``--manifest``, also every file's."""
    digests = file_digests(root)
    overall = dataset_digest(digests)
    if args.manifest:
        write_manifest(args.manifest, digests, [
            f'sha256 of every file of the synthetic data set, {overall} '
            'in all, as made by', 'python tools/misc/make_synthetic_vid.py '
            '--out DIR --manifest THIS_FILE --force with',
            'arguments: ' + ' '.join(content_arguments(args))])
    return overall


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Write a synthetic ImageNet VID data set (ILSVRC2015 '
        'layout) whose degraded frames need the rest of their video.')
    p.add_argument('--out', required=True, help='root of the data set')
    p.add_argument('--preset', choices=sorted(PRESETS), default='default',
                   help="'default': one class per video, 24 frames (the "
                   "published set, byte-identical for a seed); 'hard': 2-3 "
                   'classes and 1-2 unlabelled look-alikes per video, 64 '
                   'frames, 20 val videos (see the module docstring)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--train-videos', type=int, default=16)
    # 30 val videos (6 per class with the default 5 classes): with ~1 per
    # class, a single misread video moves a class AP, and mAP, by ~20 points;
    # hard videos hold 2-3 classes each, 20 give ~10 objects per class
    p.add_argument('--val-videos', type=int,
                   help='default 30; --preset hard: 20')
    p.add_argument('--frames', type=int,
                   help='per video; default 24, --preset hard: 64')
    p.add_argument('--train-key-frames', type=int, default=15,
                   help='frames per train video in VID_train_15frames.txt')
    p.add_argument('--det-images', type=int, default=60)
    p.add_argument('--height', type=int, default=128)
    p.add_argument('--width', type=int, default=160)
    p.add_argument('--classes', type=int, default=5,
                   help=f'number of classes, 1..{len(CLASS_STYLES)}')
    p.add_argument('--degradation', type=float, default=1.0,
                   help='strength of the degradations (0 = none)')
    p.add_argument('--degraded-fraction', type=float, default=0.4,
                   help='share of the video frames in degradation bursts')
    p.add_argument('--jpeg-quality', type=int, default=90)
    p.add_argument('--preview', help='also write a PNG sheet of val video 0')
    p.add_argument('--force', action='store_true',
                   help='replace --out if it exists')
    p.add_argument('--manifest', help='also write the sha256 of every file '
                   'to this file (outside --out)')
    args = p.parse_args(argv)
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not 1 <= args.classes <= len(CLASS_STYLES):
        p.error(f'--classes must be in 1..{len(CLASS_STYLES)}')
    if args.preset == 'hard' and args.classes < MIN_CLASSES:
        p.error(f'--preset hard needs --classes >= {MIN_CLASSES}')
    if min(args.height, args.width) < 32 or args.frames < 1:
        p.error('--height/--width must be >= 32 and --frames >= 1')
    if not 0 <= args.degraded_fraction <= 1:
        p.error('--degraded-fraction must be in [0, 1]')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = osp.abspath(args.out)
    if osp.exists(out) and not args.force:
        print(f'error: {out} exists; pass --force to replace it',
              file=sys.stderr)
        return 1
    with AtomicOutput(out, directory=True, make_dirs=True) as output:
        stats = generate(args, output.temp_path)
        digest = write_digest(output.temp_path, args)
    names = [s.name for s in CLASS_STYLES[:args.classes]]
    print(f'wrote {out} (preset {args.preset}): classes {", ".join(names)}')
    for key in sorted(stats):
        print(f'  {key}: {stats[key]}')
    print(f'data set sha256: {digest}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
