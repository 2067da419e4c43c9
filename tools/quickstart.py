"""The end-to-end job on synthetic data, on this machine, with nothing to download:

    python tools/quickstart.py [--work-dir work_dirs/quickstart] [--force]

1. writes a synthetic ImageNet VID look-alike in the ILSVRC2015 layout
   (``tools/misc/make_synthetic_vid.py``) and converts it with the real converter
   (``tools/dataset_converters/imagenet_vid.py``);
2. trains the single-frame Faster R-CNN baseline and MAMBA (R-18-DC5, from
   scratch, same data and budget) the way ``tools/train.py`` does;
3. evaluates both with the VID metric (all frames, clean and degraded frames, the
   slow/medium/fast motion breakdown) the way ``tools/test.py`` does, under the configs' online
   protocol (past frames only), and MAMBA once more under the paper's offline protocol
   (``--protocol paper``; the single-frame baseline scores the same under both);
4. renders MAMBA's detections on a val video with ``demo/video_demo.py``, and a val video
   with degraded bursts side by side (baseline | MAMBA, 3x, degraded frames labelled) with
   :class:`mamba_vod.apis.StreamingDetector`;
5. prints a report and writes it to ``WORK_DIR/report.md``, ``report.json`` and, drawn by
   ``tools/analysis/plot_ablation.py``, ``report.png``.

A stage is reused when its outputs are there and were made with the same config, code and
inputs (``mamba_vod.engine.stage_fingerprint``); otherwise it is redone, with one line that says
why. ``--force`` redoes every stage.
"""
import argparse
import glob
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List

import cv2
from tqdm import tqdm

from mamba_vod.engine import (StageFingerprint, environment, epoch_budget, evaluate_stage, load_config, run_stage,
                              script_code_digest, train_stage)
from mamba_vod.evaluation.functional import write_json
from mamba_vod.utils import atomic_write

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.join(ROOT, 'tools', 'misc'), osp.join(ROOT, 'tools', 'analysis')]
from plot_ablation import plot_results  # noqa: E402
from side_by_side_video import degraded_val_video, render_side_by_side  # noqa: E402
from synthetic_data_stage import prepare_synthetic_data  # noqa: E402

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


def render_comparison(data_root: str, checkpoints: Dict[str, str], out: str, force: bool) -> str:
    """baseline | MAMBA on the first val video with degraded frames, 3x (``side_by_side_video.py``)."""
    if osp.isfile(out) and not force:
        return out
    frames, degraded = degraded_val_video(data_root)
    models = {'baseline': (MODELS['baseline'], checkpoints['baseline']),
              'MAMBA': (MODELS['mamba'], checkpoints['mamba'])}
    return render_side_by_side(models, frames, degraded, out)


def video_fingerprint(script: str, models: Dict[str, StageFingerprint]) -> StageFingerprint:
    """What decides a video: the trained ``models``, the ``script`` that draws it (relative to the
    repository) with the package code it imports, and the environment."""
    return StageFingerprint(code=script_code_digest(osp.join(ROOT, script)), environment=environment(),
                            **{name: model.value for name, model in models.items()})


def paper_protocol_results(results: Dict[str, dict], mamba_paper: dict) -> Dict[str, dict]:
    """The models' metrics under the paper protocol: MAMBA's from its own test, the baseline's
    its online ones (a single-frame detector does not depend on the frame order)."""
    return {model: (mamba_paper if model == 'mamba' else metrics) for model, metrics in results.items()}


def comparison_records(by_protocol: Dict[str, Dict[str, dict]]) -> List[dict]:
    """The quickstart's metrics, ``{protocol: {model: metrics}}``, as ``tools/analysis/plot_ablation.py``
    records (one seed, in percent; NaN where the set cannot score a metric)."""
    return [dict(set='synthetic', protocol=protocol, variant=model, seed=0,
                 **{name: 100 * metrics[key] for name, key in (('all', 'vid/mAP'), ('degraded', 'vid/mAP_degraded'),
                                                               ('clean', 'vid/mAP_clean'))})
            for protocol, results in by_protocol.items() for model, metrics in results.items()]


def _gains(results: Dict[str, dict]) -> str:
    gains = [f'{name} {100 * (results["mamba"][key] - results["baseline"][key]):+.1f}'
             for name, key in METRICS[:3] if not math.isnan(results['mamba'][key] - results['baseline'][key])]
    return ', '.join(gains)


def report(by_protocol: Dict[str, Dict[str, dict]], paths: dict, minutes: float, epochs: int) -> str:
    """The report's markdown: a row per model and protocol, MAMBA's gains under each protocol."""
    budget = f'{epochs} epoch' + ('s' if epochs != 1 else '')
    lines = ['# mamba_vod quickstart report', '',
             f'Synthetic ImageNet VID look-alike, R-18-DC5 from scratch, {budget} per model, '
             f'{minutes:.1f} min in all.', '',
             '| model | protocol | ' + ' | '.join(name for name, _ in METRICS) + ' |',
             '| --- | --- |' + ' --- |' * len(METRICS)]
    for protocol, results in by_protocol.items():
        for model, metrics in results.items():
            cells = [f'{100 * metrics[key]:.1f}' if metrics.get(key) == metrics.get(key) else '-'  # NaN: '-'
                     for _, key in METRICS]
            lines.append(f'| {model} | {protocol} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'mAP@0.5 (ILSVRC rule) on the synthetic val set, in percent. Online: past frames only, '
              'as a camera runs (the configs\' default). Paper: the paper\'s offline protocol (frame 0 comes '
              'with 14 frames spread over the video, the rest follow in shuffled order); the single-frame '
              'baseline scores the same under both.']
    for protocol, results in by_protocol.items():
        if {'mamba', 'baseline'} <= set(results):
            lines.append(f'MAMBA minus baseline, {protocol} protocol: {_gains(results)} points.')
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

    stages = tqdm(total=4 + 2 * len(MODELS), desc='quickstart', unit='stage')
    stages.set_postfix_str('data')
    data = prepare_synthetic_data(data_root, ['--seed', '0'] + (TINY_DATA if args.tiny else []), force=args.force)
    stages.update()
    checkpoints, models, results = {}, {}, {}
    for name, config in MODELS.items():
        stages.set_postfix_str(f'train {name}')
        options = None if args.epochs is None else epoch_budget(config, args.epochs)
        checkpoints[name], models[name] = train_stage(config, osp.join(work_dir, name), data=data, data_root=moved,
                                                      cfg_options=options, force=args.force)
        stages.update()
        stages.set_postfix_str(f'test {name}')
        results[name] = evaluate_stage(config, checkpoints[name], osp.join(work_dir, name, 'test'), model=models[name],
                                       data_root=moved, out=osp.join(work_dir, name, 'test', 'predictions.npz'),
                                       force=args.force)
        stages.update()
    stages.set_postfix_str('test mamba, paper protocol')
    mamba_paper = evaluate_stage(MODELS['mamba'], checkpoints['mamba'], osp.join(work_dir, 'mamba', 'test_paper'),
                                 model=models['mamba'], data_root=moved, protocol='paper', force=args.force)
    by_protocol = dict(online=results, paper=paper_protocol_results(results, mamba_paper))
    stages.update()
    # the videos show the trained models: redone when one of them (or the drawing code) changes
    stages.set_postfix_str('demo video')
    demo = run_stage('demo video', osp.join(work_dir, 'demo'), video_fingerprint('demo/video_demo.py', models),
                     lambda redo: render_demo(data_root, checkpoints['mamba'], osp.join(work_dir, 'demo'), redo),
                     force=args.force)
    stages.update()
    stages.set_postfix_str('side-by-side video')
    side_by_side = osp.join(work_dir, 'side_by_side', 'baseline_vs_mamba.mp4')
    run_stage('side-by-side video', osp.dirname(side_by_side),
              video_fingerprint('tools/misc/side_by_side_video.py', models),
              lambda redo: render_comparison(data_root, checkpoints, side_by_side, redo), force=args.force)
    stages.update()
    stages.close()

    paths = dict(data=data_root, **{f'{k} checkpoint': v for k, v in checkpoints.items()}, demo_video=demo,
                 side_by_side_video=side_by_side, comparison_png=osp.join(work_dir, 'report.png'))
    epochs = args.epochs or load_config(MODELS['mamba']).train_cfg.max_epochs
    plot_results(comparison_records(by_protocol), paths['comparison_png'],
                 title=f'quickstart: R-18-DC5, {epochs} epochs, 1 seed')
    text = report(by_protocol, paths, (time.time() - start) / 60, epochs)
    atomic_write(osp.join(work_dir, 'report.md'), lambda f: f.write(text.encode('utf-8')))
    write_json(osp.join(work_dir, 'report.json'), dict(metrics=results, paper_protocol_metrics=by_protocol['paper'],
                                                       paths=paths))
    print('\n' + text)
    return results


if __name__ == '__main__':
    main()
