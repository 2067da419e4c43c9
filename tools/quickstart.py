"""The end-to-end job on synthetic data, on this machine, with nothing to download:

    python tools/quickstart.py [--work-dir work_dirs/quickstart] [--force]

1. writes a synthetic ImageNet VID look-alike in the ILSVRC2015 layout
   (``tools/misc/make_synthetic_vid.py``) and converts it with the real converter
   (``tools/dataset_converters/imagenet_vid.py``);
2. trains the single-frame Faster R-CNN baseline and MAMBA (R-18-DC5, from
   scratch, same data and budget) the way ``tools/train.py`` does;
3. evaluates both with the VID metric (all frames, clean and degraded frames, the
   slow/medium/fast motion breakdown) the way ``tools/test.py`` does;
4. renders MAMBA's detections on a val video with ``demo/video_demo.py``;
5. prints a report and writes it to ``WORK_DIR/report.md`` and ``report.json``.

Each stage is skipped when its output is already there, unless ``--force``.
"""
import argparse
import glob
import math
import os
import os.path as osp
import subprocess
import sys
import time

import cv2
from tqdm import tqdm

from mamba_vod.engine import epoch_budget, evaluate, load_config, train
from mamba_vod.evaluation.functional import atomic_write, write_json

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DATA_ROOT = 'data/synthetic_vid/'
MODELS = {
    'baseline': 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py',
    'mamba': 'configs/synthetic/mamba_r18-dc5_synthetic.py',
}
METRICS = [('mAP', 'vid/mAP'), ('degraded', 'vid/mAP_degraded'), ('clean', 'vid/mAP_clean'),
           ('slow', 'vid/mAP_slow'), ('medium', 'vid/mAP_medium'), ('fast', 'vid/mAP_fast')]


def _run_tool(args: list) -> None:
    subprocess.run([sys.executable] + args, cwd=ROOT, check=True)


# a data set small enough for a smoke test of the whole job (tests/tools/test_quickstart.py)
TINY_DATA = ['--train-videos', '2', '--val-videos', '1', '--frames', '8', '--train-key-frames', '4',
             '--det-images', '4']


def make_data(data_root: str, force: bool, tiny: bool = False) -> None:
    """Synthetic data set in the ILSVRC2015 layout, then the three COCO-VID json files."""
    if force or not osp.isfile(osp.join(data_root, 'Lists', 'VID_val_videos.txt')):
        _run_tool(['tools/misc/make_synthetic_vid.py', '--out', data_root, '--seed', '0'] +
                  (TINY_DATA if tiny else []) + (['--force'] if force else []))
    if force or not osp.isfile(osp.join(data_root, 'annotations', 'imagenet_vid_val.json')):
        _run_tool(['tools/dataset_converters/imagenet_vid.py', '-i', data_root, '-o',
                   osp.join(data_root, 'annotations')])


def write_val_video(data_root: str, out_file: str, fps: float = 8.0) -> str:
    """Writes the frames of the first val video as a video file (the demo's input)."""
    frames = sorted(glob.glob(osp.join(data_root, 'Data', 'VID', 'val', '*00000000', '*.JPEG')))
    if not frames:
        raise FileNotFoundError(f'no val frames under {data_root}/Data/VID/val')
    height, width = cv2.imread(frames[0]).shape[:2]
    writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for path in frames:
        writer.write(cv2.imread(path))
    writer.release()
    return out_file


def render_demo(data_root: str, checkpoint: str, demo_dir: str, force: bool) -> str:
    out_video = osp.join(demo_dir, 'mamba_val_video0.mp4')
    if osp.isfile(out_video) and not force:
        return out_video
    os.makedirs(demo_dir, exist_ok=True)
    source = write_val_video(data_root, osp.join(demo_dir, 'val_video0.mp4'))
    _run_tool(['demo/video_demo.py', source, MODELS['mamba'], '--checkpoint', checkpoint, '--out', out_video,
               '--json', osp.join(demo_dir, 'mamba_val_video0.jsonl')])
    return out_video


def report(results: dict, paths: dict, minutes: float, epochs: int) -> str:
    budget = f'{epochs} epoch' + ('s' if epochs != 1 else '')
    lines = ['# mamba_vod quickstart report', '',
             f'Synthetic ImageNet VID look-alike, R-18-DC5 from scratch, {budget} per model, '
             f'{minutes:.1f} min in all.', '',
             '| model | ' + ' | '.join(name for name, _ in METRICS) + ' |',
             '| --- |' + ' --- |' * len(METRICS)]
    for model, metrics in results.items():
        cells = [f'{100 * metrics[key]:.1f}' if metrics.get(key) == metrics.get(key) else '-'  # NaN: '-'
                 for _, key in METRICS]
        lines.append(f'| {model} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'mAP@0.5 (ILSVRC rule) on the synthetic val set, in percent.']
    if {'mamba', 'baseline'} <= set(results):
        gains = [f'{name} {100 * (results["mamba"][key] - results["baseline"][key]):+.1f}'
                 for name, key in METRICS[:3] if not math.isnan(results['mamba'][key] - results['baseline'][key])]
        lines.append('MAMBA minus baseline: ' + ', '.join(gains) + ' points.')
    lines.append(f'One run of {budget} is not evidence: the accuracy comparison (16 epochs, 3 seeds) is '
                 'tools/analysis/synthetic_ablation.py, with its figures in docs/benchmarks.md.')
    lines.append('')
    lines += [f'- {name}: {path}' for name, path in paths.items()]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description='End-to-end MAMBA vs Faster R-CNN on synthetic VID data.')
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--force', action='store_true', help='redo every stage')
    parser.add_argument('--epochs', type=int,
                        help='train for this many epochs instead of the configs\' 8 (the lr step moves with it)')
    parser.add_argument('--tiny', action='store_true', help='a tiny data set: a smoke test of the whole job')
    args = parser.parse_args(argv)
    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.join(work_dir, 'data', 'synthetic_vid')
    moved = (CONFIG_DATA_ROOT, data_root)
    os.chdir(ROOT)

    stages = tqdm(total=2 + 2 * len(MODELS), desc='quickstart', unit='stage')
    stages.set_postfix_str('data')
    make_data(data_root, args.force, args.tiny)
    stages.update()
    checkpoints, results = {}, {}
    for name, config in MODELS.items():
        stages.set_postfix_str(f'train {name}')
        options = None if args.epochs is None else epoch_budget(config, args.epochs)
        checkpoints[name] = train(config, osp.join(work_dir, name), data_root=moved, cfg_options=options,
                                  force=args.force)
        stages.update()
        stages.set_postfix_str(f'test {name}')
        results[name] = evaluate(config, checkpoints[name], osp.join(work_dir, name, 'test'), data_root=moved,
                                 out=osp.join(work_dir, name, 'test', 'predictions.npz'), force=args.force)
        stages.update()
    stages.set_postfix_str('demo video')
    demo = render_demo(data_root, checkpoints['mamba'], osp.join(work_dir, 'demo'), args.force)
    stages.update()
    stages.close()

    paths = dict(data=data_root, **{f'{k} checkpoint': v for k, v in checkpoints.items()}, demo_video=demo)
    epochs = args.epochs or load_config(MODELS['mamba']).train_cfg.max_epochs
    text = report(results, paths, (time.time() - start) / 60, epochs)
    atomic_write(osp.join(work_dir, 'report.md'), lambda f: f.write(text.encode('utf-8')))
    write_json(osp.join(work_dir, 'report.json'), dict(metrics=results, paths=paths))
    print('\n' + text)
    return results


if __name__ == '__main__':
    main()
