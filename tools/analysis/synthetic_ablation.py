"""The paper's ablation in miniature, on the synthetic VID data sets, over several training seeds:

    python tools/analysis/synthetic_ablation.py [--work-dir work_dirs/ablation] [--seeds 0 1 2]
        [--sets default hard] [--variants baseline pixel instance both both-enhanced] [--epochs 16]
        [--protocols online offline] [--json OUT] [--figure PNG] [--summary-only]
    python tools/analysis/synthetic_ablation.py --variants comparison --sets default hard  # every method

The methods and variants are data (:data:`METHODS`): each names its config on each data set, the
method whose training it tests (if not its own) and the method its gains are measured against.
Every variant has the same backbone (R-18-DC5 from scratch), data, image size and training
budget (16 epochs by default, ``--epochs N`` for another, the configs' lr step moved with it);
only the aggregation differs: none (single-frame Faster R-CNN), pixel level only, instance
level only, both, and both in the release composition with a memory of enhanced features
(``both-enhanced``). On the hard set (``--sets hard``: several classes and unlabelled
look-alikes per video, ``make_synthetic_vid.py --preset hard``) each has its ``*_hard.py``
config, the same model on the hard data. Each (set, variant, seed) is trained and evaluated
like ``tools/train.py`` / ``tools/test.py`` do, under the protocols read from its config
(:func:`run_protocols`: 'online', past frames only, and its detector's own offline protocol,
for MAMBA 'mamba_offline', the paper's); a single-frame detector scores the same under every
protocol and is evaluated once. A finished data set, training or evaluation is reused only
when its config, code and inputs are those it was made with
(``mamba_vod.engine.stage_fingerprint``), else redone; ``--summary-only`` trains nothing and counts
only the finished runs a full run would reuse (:func:`drop_stale` names the others).

Prints mAP@0.5 overall / degraded / clean frames, mean ± standard error over seeds with each seed's
figure, and each variant's difference from its reference on degraded frames with its combined
error (a difference is called only when it exceeds that error), one table per set and protocol,
and writes every result to one JSON (``--json``, default ``WORK_DIR/ablation.json``;
``tools/analysis/plot_ablation.py`` draws it): ``results`` holds one record per (set, protocol,
variant, seed) with the mAPs in percent, ``runs`` and ``summary`` (mean, stdev, per-seed values)
the same nested as ``{set: {protocol: {variant: ...}}}``; protocol is 'online' or 'offline'.
"""
import argparse
import functools
import json
import os
import os.path as osp
import statistics
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Optional

from mamba_vod.engine import (EVALUATION_OUTPUTS, TRAINING_OUTPUTS, epoch_budget, evaluate_stage,
                              evaluation_fingerprint, load_config, train_stage, training_fingerprint)
from mamba_vod.engine.test_protocol import accepted_protocols
from mamba_vod.evaluation.functional import write_json

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
from plot_ablation import mean_and_error, plot_results  # noqa: E402
from synthetic_data_stage import data_fingerprint, prepare_synthetic_data  # noqa: E402

#: data set -> its generator options, the data root its configs name, the set whose configs it
#: trains with and its folder under the data dir; 'tuning' is the hard set made with another
#: generator seed, where any choice of recipe is made (the same for every method) before the
#: evaluation sets see it
SETS = {
    'default': dict(generator=['--seed', '0'], config_root='data/synthetic_vid/', configs='default',
                    folder='synthetic_vid'),
    'hard': dict(generator=['--preset', 'hard', '--seed', '0'], config_root='data/synthetic_vid_hard/', configs='hard',
                 folder='synthetic_vid_hard'),
    'tuning': dict(generator=['--preset', 'hard', '--seed', '1'], config_root='data/synthetic_vid_hard/',
                   configs='hard', folder='synthetic_vid_tuning'),
}
#: ``--protocols`` values: the configs' 'online' (past frames only) and each method's own offline
#: protocol (the one its detector declares besides 'online'); 'paper' is the old name of 'offline'
PROTOCOLS = ('online', 'offline')
PROTOCOL_ALIASES = {'paper': 'offline'}


@dataclass(frozen=True)
class Method:
    """One row of the comparison.

    Args:
        configs: the config of each data set (:data:`SETS`).
        tested_from: the method whose trained model this one tests with its own config (None:
            it trains its own).
        reference: the method its gains are measured against (None: none).
    """
    configs: Dict[str, str]
    tested_from: Optional[str] = None
    reference: Optional[str] = 'baseline'


def synthetic(name: str) -> Dict[str, str]:
    """The configs of ``name`` on the default and the hard set (``configs/synthetic/NAME[_hard].py``)."""
    return {'default': f'configs/synthetic/{name}.py', 'hard': f'configs/synthetic/{name}_hard.py'}


#: the methods and variants, as data: what each trains and tests, and against what
METHODS = {
    'baseline': Method(synthetic('faster-rcnn_r18-dc5_synthetic'), reference=None),
    'pixel': Method(synthetic('mamba-pix_r18-dc5_synthetic')),
    'instance': Method(synthetic('mamba-ins_r18-dc5_synthetic')),
    'both': Method(synthetic('mamba_r18-dc5_synthetic')),
    # the release composition with the memory of enhanced rows: its own training (the paper-form
    # 'both' training cannot be tested with it)
    'both-enhanced': Method(synthetic('mamba-enhanced_r18-dc5_synthetic')),
    # the peer methods, each with its published recipe scaled as the MAMBA configs are
    'selsa': Method(synthetic('selsa_r18-dc5_synthetic')),
    'selsa-troialign': Method(synthetic('selsa-troialign_r18-dc5_synthetic')),
    'dff': Method(synthetic('dff_r18-dc5_synthetic')),
    'fgfa': Method(synthetic('fgfa_r18-dc5_synthetic')),
    'rdn': Method(synthetic('rdn_r18-dc5_synthetic')),
    'mega': Method(synthetic('mega_r18-dc5_synthetic')),
}
DEFAULT_VARIANTS = ['baseline', 'pixel', 'instance', 'both']
#: ``--variants comparison``: every method side by side, the single-frame baseline first, MAMBA last
COMPARISON = ['baseline', 'dff', 'fgfa', 'selsa', 'selsa-troialign', 'rdn', 'mega', 'instance', 'both']
COLUMNS = [('all', 'all frames', 'vid/mAP'), ('degraded', 'degraded', 'vid/mAP_degraded'),
           ('clean', 'clean', 'vid/mAP_clean')]


def config_of(variant: str, data_set: str = 'default') -> str:
    """The config file of ``variant`` on ``data_set`` (the tuning set: its hard-set config)."""
    return METHODS[variant].configs[SETS[data_set]['configs']]


@functools.lru_cache(maxsize=None)
def run_protocols(config: str) -> Optional[Dict[str, str]]:
    """``{'online': 'online', 'offline': NAME}``: the protocols a run of ``config`` is tested with,
    read from its detector's ``test_protocols``; None for a single-frame detector, which scores the
    same under every protocol and is tested once."""
    cfg = load_config(config)
    if not any(transform.get('type', '').endswith('PackVideoInputs')
               for transform in cfg.test_dataloader.dataset.get('pipeline', [])):
        return None
    offline = [name for name in accepted_protocols(cfg) if name != 'online']
    return dict(online='online', **({'offline': offline[0]} if offline else {}))


def run_dir(work_dir: str, variant: str, seed: int, epochs: int, data_set: str = 'default') -> str:
    """Folder of one run: ``WORK/VARIANT/{epochs}e_seed{seed}`` on the default set,
    ``WORK/SET/VARIANT/...`` on another."""
    base = work_dir if data_set == 'default' else osp.join(work_dir, data_set)
    return osp.join(base, variant, f'{epochs}e_seed{seed}')


def eval_dir(run_folder: str, protocol: Optional[str]) -> str:
    """Where a run's evaluation under the test protocol ``protocol`` lives: ``RUN/test`` online
    (the configs' protocol) and for a single-frame detector (None), ``RUN/test_NAME`` for another."""
    return osp.join(run_folder, 'test' if protocol in (None, 'online') else f'test_{protocol}')


def data_root_of(data_dir: str, data_set: str) -> str:
    """Where ``data_set`` is made: ``DATA_DIR/synthetic_vid``, ``DATA_DIR/synthetic_vid_hard`` or
    ``DATA_DIR/synthetic_vid_tuning`` (the set's ``folder``)."""
    return osp.join(data_dir, SETS[data_set]['folder'])


def _protocols_of(config: str, protocols) -> Dict[str, Optional[str]]:
    """``{'online' | 'offline': protocol name}`` for the requested ``protocols`` (one shared
    evaluation, None, for a single-frame detector); a method without an offline protocol has none."""
    own = run_protocols(config)
    return {kind: None if own is None else own[kind] for kind in protocols if own is None or kind in own}


def run_set(work_dir: str, data_set: str, data_root: str, variants, seeds, epochs: int = 16,
            protocols=PROTOCOLS) -> dict:
    """Makes ``data_set`` in ``data_root``, trains every (variant, seed) on it and evaluates it
    under each protocol, reusing what is unchanged: ``{protocol: {variant: {seed: metrics}}}``."""
    data = prepare_synthetic_data(data_root, SETS[data_set]['generator'])
    moved = (SETS[data_set]['config_root'], data_root)
    runs = {protocol: {} for protocol in protocols}
    for variant in variants:
        trained = METHODS[variant].tested_from or variant
        train_config, test_config = config_of(trained, data_set), config_of(variant, data_set)
        for seed in seeds:
            checkpoint, model = train_stage(train_config, run_dir(work_dir, trained, seed, epochs, data_set),
                                            data=data, data_root=moved,
                                            cfg_options=training_options(train_config, seed, epochs))
            folder = run_dir(work_dir, variant, seed, epochs, data_set)
            for kind, protocol in _protocols_of(test_config, protocols).items():
                runs[kind].setdefault(variant, {})[seed] = evaluate_stage(
                    test_config, checkpoint, eval_dir(folder, protocol), model=model, data_root=moved,
                    protocol=protocol)
    return runs


def training_options(config: str, seed: int, epochs: int) -> dict:
    """The cfg_options of a run of ``config``: its seed and the epoch budget (the lr step moved)."""
    return {'randomness.seed': seed, **epoch_budget(config, epochs)}


@functools.lru_cache(maxsize=None)
def _current_training(data_set: str, trained: str, seed: int, epochs: int, data_root: str):
    """The fingerprint :func:`run_set` would give this training today."""
    config = config_of(trained, data_set)
    return training_fingerprint(config, data=data_fingerprint(SETS[data_set]['generator']),
                                data_root=(SETS[data_set]['config_root'], data_root),
                                cfg_options=training_options(config, seed, epochs))


def stale_reason(work_dir: str, data_root: str, data_set: str, variant: str, seed: int, epochs: int,
                 protocol: Optional[str]) -> Optional[str]:
    """Why the finished test of ``variant``'s ``seed`` under ``protocol`` (None: a single-frame
    detector's one test) is not what :func:`run_set` would reuse today: its training or its test
    made with another config, code, environment or data, or their files changed since; None when
    it is current."""
    trained = METHODS[variant].tested_from or variant
    training = _current_training(data_set, trained, seed, epochs, data_root)
    reason = training.why_not_reusable(run_dir(work_dir, trained, seed, epochs, data_set), outputs=TRAINING_OUTPUTS)
    if reason:
        return f'its training: {reason}'
    evaluation = evaluation_fingerprint(config_of(variant, data_set), model=training,
                                        data_root=(SETS[data_set]['config_root'], data_root), protocol=protocol)
    reason = evaluation.why_not_reusable(eval_dir(run_dir(work_dir, variant, seed, epochs, data_set), protocol),
                                         outputs=EVALUATION_OUTPUTS)
    return f'its test: {reason}' if reason else None


def drop_stale(runs: dict, work_dir: str, data_root: str, data_set: str, epochs: int,
               echo: Callable[[str], None] = print) -> dict:
    """``runs`` (:func:`finished_runs`) without the tests :func:`stale_reason` refuses, each named
    on one line: a summary counts only what a full run would reuse."""
    for kind, per_variant in runs.items():
        for variant in list(per_variant):
            protocol = _protocols_of(config_of(variant, data_set), [kind])[kind]
            for seed in list(per_variant[variant]):
                reason = stale_reason(work_dir, data_root, data_set, variant, seed, epochs, protocol)
                if reason:
                    del per_variant[variant][seed]
                    echo(f'not counted: {data_set} set, {variant}, seed {seed}, {kind} protocol: {reason} '
                         '(run it again without --summary-only)')
            if not per_variant[variant]:
                del per_variant[variant]
    return runs


def finished_runs(work_dir: str, variants, seeds, epochs: int = 16, protocols=PROTOCOLS,
                  data_set: str = 'default') -> dict:
    """The metrics of the runs already evaluated in ``work_dir`` on ``data_set``,
    ``{protocol: {variant: {seed: metrics}}}`` (variants without any are left out)."""
    runs = {protocol: {} for protocol in protocols}
    for variant in variants:
        for kind, protocol in _protocols_of(config_of(variant, data_set), protocols).items():
            for seed in seeds:
                folder = eval_dir(run_dir(work_dir, variant, seed, epochs, data_set), protocol)
                metrics_file = osp.join(folder, 'test_metrics.json')
                if osp.isfile(metrics_file):
                    with open(metrics_file) as f:
                        runs[kind].setdefault(variant, {})[seed] = json.load(f)
    return runs


def summarise(runs: dict) -> dict:
    """``{variant: {metric: (mean, stdev, [values])}}`` in percent."""
    summary = {}
    for variant, per_seed in runs.items():
        summary[variant] = {'seeds': sorted(per_seed)}
        for _, _, key in COLUMNS:
            values = [100 * metrics[key] for metrics in per_seed.values()]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[variant][key] = (round(statistics.mean(values), 1), round(spread, 1), values)
    return summary


def result_records(runs: dict) -> list:
    """One record per (set, protocol, variant, seed) of ``{set: {protocol: {variant: {seed:
    metrics}}}}``: ``{'set', 'protocol', 'variant', 'seed', 'all', 'degraded', 'clean'}``, mAP@0.5
    in percent."""
    return [dict(set=data_set, protocol=protocol, variant=variant, seed=int(seed),
                 **{name: round(100 * metrics[key], 2) for name, _, key in COLUMNS})
            for data_set, per_protocol in runs.items() for protocol, per_variant in per_protocol.items()
            for variant, per_seed in per_variant.items() for seed, metrics in sorted(per_seed.items())]


def difference(summary: dict, variant: str, key: str, reference: str = 'baseline') -> tuple:
    """``(mean of variant - mean of reference, combined standard error, called)`` on metric
    ``key``: ``called`` when the difference exceeds the combined error (both with 2+ seeds)."""
    values, reference_values = summary[variant][key][2], summary[reference][key][2]
    (mean, error), (reference_mean, reference_error) = mean_and_error(values), mean_and_error(reference_values)
    delta, error = mean - reference_mean, (error ** 2 + reference_error ** 2) ** 0.5
    known = len(values) > 1 and len(reference_values) > 1
    return delta, error, known and abs(delta) > error


def _error_text(values) -> str:
    """' ± standard error' of ``values``, or nothing for a single value (no error is known)."""
    return f' ± {mean_and_error(values)[1]:.1f}' if len(values) > 1 else ''


def print_table(summary: dict, seeds, protocol: str, data_set: str = 'default') -> None:
    """One markdown table of ``summary`` (:func:`summarise`) for ``protocol`` ('online' or 'offline')."""
    print(f'{data_set} set, {protocol} protocol: mAP@0.5 (%), mean ± standard error over the seeds run '
          f'(of {list(seeds)}), per seed in brackets; last column: degraded minus the method\'s reference (the '
          'baseline) ± the combined error, * where it exceeds the error')
    print('| variant | ' + ' | '.join(title for _, title, _ in COLUMNS) + ' | degraded - reference |')
    print('| --- |' + ' --- |' * (len(COLUMNS) + 1))
    for variant, metrics in summary.items():
        cells = [f'{metrics[key][0]:.1f}{_error_text(metrics[key][2])} '
                 f'({", ".join(f"{v:.1f}" for v in metrics[key][2])})' for _, _, key in COLUMNS]
        versus, reference = '', METHODS[variant].reference
        if reference in summary:
            delta, error, called = difference(summary, variant, 'vid/mAP_degraded', reference)
            known = len(metrics['seeds']) > 1 and len(summary[reference]['seeds']) > 1
            versus = f'{delta:+.1f}' + (f' ± {error:.1f}{" *" if called else ""}' if known else ' (one seed: no error)')
        print(f'| {variant} (seeds {metrics["seeds"]}) | ' + ' | '.join(cells) + f' | {versus} |')
    single_frame = [variant for variant in summary if run_protocols(config_of(variant, data_set)) is None]
    if protocol != 'online' and single_frame:
        print(f'({", ".join(single_frame)}: single-frame, detects every frame on its own: the same under every '
              'protocol)')


def main(argv=None):
    parser = argparse.ArgumentParser(description='Pixel/instance ablation on synthetic VID, several seeds.')
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-dir', help='folder of the synthetic data sets (made when missing or stale), one '
                        'per set: synthetic_vid, synthetic_vid_hard; default WORK_DIR/data')
    parser.add_argument('--sets', nargs='+', choices=list(SETS), default=['default'],
                        help="data sets: 'default' (one class per video), 'hard' (several classes and "
                        "unlabelled look-alikes per video, 64 frames); 'tuning': the hard set's generator with "
                        'seed 1, where recipes are chosen')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--variants', nargs='+', choices=list(METHODS) + ['comparison'], default=DEFAULT_VARIANTS,
                        help=f'default: {" ".join(DEFAULT_VARIANTS)}; comparison: {" ".join(COMPARISON)}')
    parser.add_argument('--epochs', type=int, default=16,
                        help="epochs of every variant (default 16; at the configs' 8 every model is still improving)")
    parser.add_argument('--protocols', nargs='+', choices=PROTOCOLS, default=list(PROTOCOLS),
                        type=lambda name: PROTOCOL_ALIASES.get(name, name),
                        help="test protocols (default both: 'online', past frames only; 'offline', each "
                             "method's own offline protocol, for MAMBA its paper's, 'mamba_offline'; 'paper' "
                             "is an old name of 'offline')")
    parser.add_argument('--json', help='write every result and the summary here (default WORK_DIR/ablation.json)')
    parser.add_argument('--figure', help='also draw the results to this PNG (tools/analysis/plot_ablation.py)')
    parser.add_argument('--summary-only', action='store_true',
                        help='train nothing: summarise the finished runs found in the work dir that a full run '
                             'would reuse (a run whose config, code, environment or data changed is named and '
                             'left out)')
    args = parser.parse_args(argv)
    args.variants = list(dict.fromkeys(
        variant for name in args.variants for variant in (COMPARISON if name == 'comparison' else [name])))
    work_dir = osp.abspath(args.work_dir)
    data_dir = osp.abspath(args.data_dir or osp.join(work_dir, 'data'))
    os.chdir(ROOT)
    runs = {}
    for data_set in args.sets:
        runs[data_set] = (
            drop_stale(finished_runs(work_dir, args.variants, args.seeds, args.epochs, args.protocols, data_set),
                       work_dir, data_root_of(data_dir, data_set), data_set, args.epochs)
            if args.summary_only else run_set(work_dir, data_set, data_root_of(data_dir, data_set), args.variants,
                                              args.seeds, args.epochs, args.protocols))
    summary = {data_set: {protocol: summarise(per_variant) for protocol, per_variant in per_protocol.items()}
               for data_set, per_protocol in runs.items()}
    for data_set in args.sets:
        for protocol in args.protocols:
            print_table(summary[data_set][protocol], args.seeds, protocol, data_set)
    records = result_records(runs)
    write_json(args.json or osp.join(work_dir, 'ablation.json'),
               dict(epochs=args.epochs, results=records, runs=runs, summary=summary))
    if args.figure and records:
        print(f'wrote {plot_results(records, args.figure, f"{args.epochs} epochs, degraded frames first")}')
    return summary


if __name__ == '__main__':
    main()
