"""The paper's ablation in miniature, on the synthetic VID data, over several training seeds:

    python tools/analysis/synthetic_ablation.py [--work-dir work_dirs/ablation] [--seeds 0 1 2]
        [--variants baseline pixel instance both] [--epochs 16] [--protocols online paper] [--json OUT]

Every variant has the same backbone (R-18-DC5 from scratch), data, image size and
training budget (16 epochs by default, ``--epochs N`` for another, the configs' lr step
moved with it); only the aggregation differs: none (single-frame Faster R-CNN),
pixel level only, instance level only, both. Each (variant, seed) is trained and
evaluated like ``tools/train.py`` / ``tools/test.py`` do, the MAMBA variants under each
test protocol (``mamba_vod.engine.test_protocol``: 'online', past frames only, and
'paper', the paper's offline protocol); the single-frame baseline scores the same under
both and is evaluated once. Finished runs are reused. Prints mAP@0.5 overall / degraded /
clean frames, mean and spread over seeds, one table per protocol.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys

from mamba_vod.engine import TEST_PROTOCOLS, epoch_budget, evaluate, train
from mamba_vod.evaluation.functional import write_json

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DATA_ROOT = 'data/synthetic_vid/'
VARIANTS = {
    'baseline': 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py',
    'pixel': 'configs/synthetic/mamba-pix_r18-dc5_synthetic.py',
    'instance': 'configs/synthetic/mamba-ins_r18-dc5_synthetic.py',
    'both': 'configs/synthetic/mamba_r18-dc5_synthetic.py',
}
COLUMNS = [('all frames', 'vid/mAP'), ('degraded', 'vid/mAP_degraded'), ('clean', 'vid/mAP_clean')]


def ensure_data(data_root: str) -> None:
    if not osp.isfile(osp.join(data_root, 'Lists', 'VID_val_videos.txt')):
        subprocess.run([sys.executable, 'tools/misc/make_synthetic_vid.py', '--out', data_root, '--seed', '0'],
                       cwd=ROOT, check=True)
    if not osp.isfile(osp.join(data_root, 'annotations', 'imagenet_vid_val.json')):
        subprocess.run([sys.executable, 'tools/dataset_converters/imagenet_vid.py', '-i', data_root, '-o',
                        osp.join(data_root, 'annotations')], cwd=ROOT, check=True)


def run_dir(work_dir: str, variant: str, seed: int, epochs: int) -> str:
    """Folder of one run: ``WORK/VARIANT/{epochs}e_seed{seed}``."""
    return osp.join(work_dir, variant, f'{epochs}e_seed{seed}')


def eval_dir(run_folder: str, variant: str, protocol: str) -> str:
    """Where a run's evaluation under ``protocol`` lives: ``RUN/test`` online (the configs'
    protocol) and for the baseline, which has none; ``RUN/test_paper`` for the paper's."""
    return osp.join(run_folder, 'test' if protocol == 'online' or variant == 'baseline' else f'test_{protocol}')


def run_all(work_dir: str, data_root: str, variants, seeds, epochs: int = 16, protocols=TEST_PROTOCOLS) -> dict:
    """Trains every (variant, seed) and evaluates it under each protocol, reusing finished
    runs: ``{protocol: {variant: {seed: metrics}}}``."""
    ensure_data(data_root)
    moved = (CONFIG_DATA_ROOT, data_root)
    runs = {protocol: {} for protocol in protocols}
    for variant in variants:
        budget = epoch_budget(VARIANTS[variant], epochs)
        for seed in seeds:
            folder = run_dir(work_dir, variant, seed, epochs)
            checkpoint = train(VARIANTS[variant], folder, data_root=moved,
                               cfg_options={'randomness.seed': seed, **budget})
            for protocol in protocols:
                runs[protocol].setdefault(variant, {})[seed] = evaluate(
                    VARIANTS[variant], checkpoint, eval_dir(folder, variant, protocol), data_root=moved,
                    protocol=None if variant == 'baseline' else protocol)
    return runs


def finished_runs(work_dir: str, variants, seeds, epochs: int = 16, protocols=TEST_PROTOCOLS) -> dict:
    """The metrics of the runs already evaluated in ``work_dir``, ``{protocol: {variant: {seed:
    metrics}}}`` (variants without any are left out)."""
    runs = {protocol: {} for protocol in protocols}
    for protocol in protocols:
        for variant in variants:
            for seed in seeds:
                folder = eval_dir(run_dir(work_dir, variant, seed, epochs), variant, protocol)
                metrics_file = osp.join(folder, 'test_metrics.json')
                if osp.isfile(metrics_file):
                    with open(metrics_file) as f:
                        runs[protocol].setdefault(variant, {})[seed] = json.load(f)
    return runs


def summarise(runs: dict) -> dict:
    """``{variant: {metric: (mean, stdev, [values])}}`` in percent."""
    summary = {}
    for variant, per_seed in runs.items():
        summary[variant] = {'seeds': sorted(per_seed)}
        for _, key in COLUMNS:
            values = [100 * metrics[key] for metrics in per_seed.values()]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[variant][key] = (round(statistics.mean(values), 1), round(spread, 1), values)
    return summary


def print_table(summary: dict, seeds, protocol: str) -> None:
    print(f'{protocol} protocol: mAP@0.5 (%), mean ± stdev over the seeds run (of {list(seeds)})')
    print('| variant | ' + ' | '.join(name for name, _ in COLUMNS) + ' |')
    print('| --- |' + ' --- |' * len(COLUMNS))
    for variant, metrics in summary.items():
        cells = [f'{metrics[key][0]:.1f} ± {metrics[key][1]:.1f}' for _, key in COLUMNS]
        print(f'| {variant} (seeds {metrics["seeds"]}) | ' + ' | '.join(cells) + ' |')
    if protocol != 'online' and 'baseline' in summary:
        print('(the baseline detects every frame on its own: its scores are the same under every protocol)')


def main(argv=None):
    parser = argparse.ArgumentParser(description='Pixel/instance ablation on synthetic VID, several seeds.')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-root', help='synthetic data set (made when missing); default WORK_DIR/data')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--variants', nargs='+', choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument('--epochs', type=int, default=16,
                        help="epochs of every variant (default 16; at the configs' 8 every model is still improving)")
    parser.add_argument('--protocols', nargs='+', choices=TEST_PROTOCOLS, default=list(TEST_PROTOCOLS),
                        help="test protocols of the MAMBA variants (default both: 'online', past frames only; "
                             "'paper', the paper's offline protocol)")
    parser.add_argument('--json', help='write every run and the summary here')
    parser.add_argument('--summary-only', action='store_true',
                        help='train nothing: summarise the finished runs found in the work dir')
    args = parser.parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root or osp.join(work_dir, 'data', 'synthetic_vid'))
    os.chdir(ROOT)
    runs = finished_runs(work_dir, args.variants, args.seeds, args.epochs, args.protocols) if args.summary_only \
        else run_all(work_dir, data_root, args.variants, args.seeds, args.epochs, args.protocols)
    summary = {protocol: summarise(per_variant) for protocol, per_variant in runs.items()}
    for protocol in args.protocols:
        print_table(summary[protocol], args.seeds, protocol)
    if args.json:
        write_json(args.json, dict(runs=runs, summary=summary))
    return summary


if __name__ == '__main__':
    main()
