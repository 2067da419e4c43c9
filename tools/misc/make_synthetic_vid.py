"""Write a small synthetic ImageNet VID data set in the ILSVRC2015 layout.

Usage::

    python tools/misc/make_synthetic_vid.py --out data/synthetic_vid --seed 0

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
and ``synthetic_vid_appearance.py``. The same arguments give byte-identical
files. The tree is built in a temporary folder beside ``--out`` and renamed
at the end, so an interrupted run leaves no partial data set.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile
from collections import Counter
from typing import List

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(osp.dirname(HERE), 'dataset_converters'))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ilsvrc_classes import VID_CLASSES  # noqa: E402
from synthetic_vid_appearance import CLASS_STYLES  # noqa: E402
from synthetic_vid_scene import (FrameObject, make_scene,  # noqa: E402
                                 render_frame)

WNIDS = dict(VID_CLASSES)
SPLIT_SEEDS = {'train': 1, 'val': 2, 'det': 3}


def video_name(split: str, index: int) -> str:
    """List/json name of a video, e.g. ``val/ILSVRC2015_val_00000003``."""
    if split == 'train':
        return (f'train/ILSVRC2015_VID_train_0000/'
                f'ILSVRC2015_train_{index:08d}')
    return f'val/ILSVRC2015_val_{index:08d}'


def det_name(index: int) -> str:
    return f'train/ILSVRC2014_train_0000/ILSVRC2014_train_{index:08d}'


def annotation_xml(folder: str, filename: str, width: int, height: int,
                   objects: List[FrameObject], wnid: str, video: bool) -> str:
    """An ILSVRC annotation file as text (tab-indented, like the real one)."""
    lines = ['<annotation>', f'\t<folder>{folder}</folder>',
             f'\t<filename>{filename}</filename>',
             '\t<source>', f'\t\t<database>ILSVRC_{2015 if video else 2014}'
             '</database>', '\t</source>',
             '\t<size>', f'\t\t<width>{width}</width>',
             f'\t\t<height>{height}</height>', '\t</size>']
    for obj in objects:
        x1, y1, x2, y2 = obj.box
        lines.append('\t<object>')
        if video:
            lines.append(f'\t\t<trackid>{obj.trackid}</trackid>')
        lines += [f'\t\t<name>{wnid}</name>', '\t\t<bndbox>',
                  f'\t\t\t<xmax>{x2}</xmax>', f'\t\t\t<xmin>{x1}</xmin>',
                  f'\t\t\t<ymax>{y2}</ymax>', f'\t\t\t<ymin>{y1}</ymin>',
                  '\t\t</bndbox>']
        if video:
            lines += [f'\t\t<occluded>{int(obj.occluded)}</occluded>',
                      '\t\t<generated>0</generated>']
        lines.append('\t</object>')
    lines.append('</annotation>')
    return '\n'.join(lines) + '\n'


class Writer:
    """Writes images, annotations and lists under one root; keeps stats."""

    def __init__(self, root: str, jpeg_quality: int) -> None:
        self.root = root
        self.jpeg_quality = jpeg_quality
        self.stats: Counter = Counter()

    def _write(self, rel: str, data: bytes) -> None:
        path = osp.join(self.root, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)

    def image(self, kind: str, name: str, img: np.ndarray, objects,
              wnid: str, video: bool) -> None:
        """Write ``Data/<kind>/<name>.JPEG`` and its annotation XML."""
        ok, buf = cv2.imencode(
            '.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise RuntimeError(f'JPEG encoding failed for {name}')
        self._write(f'Data/{kind}/{name}.JPEG', buf.tobytes())
        folder, filename = name.split('/', 1)[1].rsplit('/', 1)
        xml = annotation_xml(folder, filename, img.shape[1], img.shape[0],
                             objects, wnid, video)
        self._write(f'Annotations/{kind}/{name}.xml', xml.encode())

    def text(self, rel: str, lines: List[str]) -> None:
        self._write(rel, ''.join(line + '\n' for line in lines).encode())


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
        scene = make_scene(rng, class_index=index % args.classes,
                           **_scene_args(args, args.frames))
        name = video_name(split, index)
        wnid = WNIDS[scene.style.name]
        for t in range(scene.frames):
            img, objects = render_frame(scene, t, rng)
            writer.image('VID', f'{name}/{t:06d}', img, objects, wnid, True)
            _count(writer.stats, split, scene, t, objects)
        flags[name] = [scene.is_degraded(t) for t in range(scene.frames)]
    return flags


def _count(stats: Counter, split: str, scene, t: int, objects) -> None:
    stats[f'{split} frames'] += 1
    stats[f'{split} boxes {scene.style.name}'] += len(objects)
    stats[f'{split} occluded boxes'] += sum(o.occluded for o in objects)
    if scene.is_degraded(t):
        stats[f'{split} degraded frames'] += 1
        for kind in scene.bursts[t].kinds:
            stats[f'{split} degraded by {kind}'] += 1
        stats[f'{split} degraded by occlusion'] += scene.bursts[t].occlusion


def write_det(writer: Writer, args) -> List[str]:
    """Write the DET images (clean, one class each); returns their names."""
    names = []
    for index in range(args.det_images):
        rng = np.random.default_rng([args.seed, SPLIT_SEEDS['det'], index])
        scene = make_scene(rng, class_index=index % args.classes,
                           **dict(_scene_args(args, 1), strength=0.0))
        img, objects = render_frame(scene, 0, rng)
        writer.image('DET', det_name(index), img, objects,
                     WNIDS[scene.style.name], False)
        writer.stats[f'det boxes {scene.style.name}'] += len(objects)
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
    writer = Writer(root, args.jpeg_quality)
    train = write_videos(writer, args, 'train', args.train_videos)
    val = write_videos(writer, args, 'val', args.val_videos)
    det = write_det(writer, args)
    write_lists(writer, args, train, val, det)
    if args.preview and val:
        write_preview(root, val, args.preview)
    return writer.stats


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Write a synthetic ImageNet VID data set (ILSVRC2015 '
        'layout) whose degraded frames need the rest of their video.')
    p.add_argument('--out', required=True, help='root of the data set')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--train-videos', type=int, default=16)
    # 30 val videos (6 per class with the default 5 classes): with ~1 per
    # class, a single misread video moves a class AP, and mAP, by ~20 points
    p.add_argument('--val-videos', type=int, default=30)
    p.add_argument('--frames', type=int, default=24, help='per video')
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
    args = p.parse_args(argv)
    if not 1 <= args.classes <= len(CLASS_STYLES):
        p.error(f'--classes must be in 1..{len(CLASS_STYLES)}')
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
    os.makedirs(osp.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(out)}.',
                           dir=osp.dirname(out))
    try:
        stats = generate(args, tmp)
        if osp.exists(out):
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp)
    os.chmod(out, 0o755)  # mkdtemp makes the folder private
    names = [s.name for s in CLASS_STYLES[:args.classes]]
    print(f'wrote {out}: classes {", ".join(names)}')
    for key in sorted(stats):
        print(f'  {key}: {stats[key]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
