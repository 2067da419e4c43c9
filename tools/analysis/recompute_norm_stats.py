"""Re-estimate the batch-norm running statistics of a trained detector's backbone and neck from its
training data, every weight unchanged ("precise BN"):

    python tools/analysis/recompute_norm_stats.py CONFIG CHECKPOINT OUT [--batches N] [--frames clip|key]
        [--data-root DIR] [--cfg-options KEY=VALUE ...] [--json REPORT]

A model trained from scratch with trainable batch norm (the synthetic configs) tests with running
statistics that are an exponential average (momentum 0.1) of every batch its training passes ran
in train mode; a pass on a small, one-video batch (MEGA's memory frames: 3 frames of one clip,
without gradients) weighs in as much as the main pass. This tool replaces them with the cumulative
average over N batches of the config's train dataloader (momentum None), computed as the
training's main pass normalises its frames, and writes CHECKPOINT's dict with the new state dict to
OUT (atomically); testing OUT against CHECKPOINT (``tools/test.py``) tells what the statistics cost.

``--frames clip`` (default) passes every frame of each training clip, B * T frames a batch (all the
frames a test normalises, key and references alike); ``key`` the key frames only, B a batch.
Only the norm layers of the backbone and the neck change (what ``extract_feat`` runs). Prints, and
writes with ``--json``, how many batches and frames were used and, per norm layer, the ratio of the
new running variance to the old (averaged over channels): min, median, max.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch import nn

from mamba_vod.compat.checkpoint import load_checkpoint_file
from mamba_vod.engine import load_config, rebase_paths
from mamba_vod.engine.cli import user_errors
from mamba_vod.evaluation.functional import write_json
from mamba_vod.registry import MODELS
from mamba_vod.utils.atomic_output import atomic_write

FRAMES = ('clip', 'key')


def feature_norms(model: nn.Module) -> List[nn.modules.batchnorm._BatchNorm]:
    """The batch-norm layers with running statistics of ``model``'s backbone and neck."""
    parts = [model.backbone] + ([model.neck] if getattr(model, 'neck', None) is not None else [])
    return [m for part in parts for m in part.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def batch_frames(inputs: torch.Tensor, frames: str) -> torch.Tensor:
    """(N, 3, H, W) frames of preprocessed ``inputs``: clips (B, T, 3, H, W) flattened
    (``clip``) or their key frames (``key``); a batch of images (B, 3, H, W) as it is."""
    if inputs.dim() == 4:
        return inputs
    return inputs.flatten(0, 1) if frames == 'clip' else inputs[:, 0]


def recompute(model: nn.Module, loader, *, batches: int, frames: str = 'clip') -> Dict[str, object]:
    """Replace the running statistics of :func:`feature_norms` by their cumulative average over the
    first ``batches`` batches of ``loader`` (module docstring); returns the report."""
    norms = feature_norms(model)
    if not norms:
        raise ValueError(f'{type(model).__name__} has no batch-norm layer with running statistics in its backbone '
                         'or neck: nothing to re-estimate')
    old_var = [norm.running_var.clone() for norm in norms]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    was_training, used, count = model.training, 0, 0
    model.train()
    try:
        with torch.no_grad():
            for batch in loader:
                if used == batches:
                    break
                images = batch_frames(model.data_preprocessor(batch, training=True)['inputs'], frames)
                model.extract_feat(images)
                used, count = used + 1, count + len(images)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)
    if not used:
        raise ValueError('the train dataloader gave no batch: no statistics to estimate')
    ratios = torch.stack([(norm.running_var / old.clamp_min(1e-12)).mean() for norm, old in zip(norms, old_var)])
    return dict(batches=used, frames=count, norm_layers=len(norms),
                var_ratio=dict(min=round(float(ratios.min()), 4), median=round(float(ratios.median()), 4),
                               max=round(float(ratios.max()), 4)))


def run(config: str, checkpoint: str, out: str, *, batches: int = 75, frames: str = 'clip',
        data_root: Optional[str] = None, cfg_options: Optional[dict] = None, seed: int = 0) -> Dict[str, object]:
    """Load ``config`` + ``checkpoint``, :func:`recompute`, write ``out``; returns the report."""
    if frames not in FRAMES or batches < 1:
        raise ValueError(f'--frames must be one of {FRAMES} and --batches >= 1, got {frames!r} and {batches}')
    if osp.abspath(out) == osp.abspath(checkpoint):
        raise ValueError(f'{out}: OUT must not be CHECKPOINT (the trained statistics are kept for comparison)')
    cfg = load_config(config, cfg_options)
    if data_root:
        if not cfg.get('data_root'):
            raise ValueError(f'{config} names no data_root to move to {data_root}')
        cfg = rebase_paths(cfg, cfg.data_root, data_root)
    init_default_scope(cfg.get('default_scope', 'mamba_vod'))
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    if not isinstance(state, dict) or 'state_dict' not in state:
        raise ValueError(f'{checkpoint}: not a training checkpoint (no state_dict)')
    model = MODELS.build(cfg.model)
    model.load_state_dict(state['state_dict'])
    report = recompute(model, Runner.build_dataloader(cfg.train_dataloader, seed=seed), batches=batches,
                       frames=frames)
    atomic_write(out, lambda f: torch.save(dict(state, state_dict=model.state_dict()), f))
    return dict(config=config, checkpoint=checkpoint, out=out, frames_per_batch=frames, **report)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Re-estimate a trained detector's batch-norm running statistics "
                                                 'from its training data (weights unchanged).')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the checkpoint to write (CHECKPOINT with the new statistics)')
    parser.add_argument('--batches', type=int, default=75, help='training batches to average over (75)')
    parser.add_argument('--frames', choices=FRAMES, default='clip',
                        help="every frame of each clip ('clip', default) or the key frames only")
    parser.add_argument('--data-root', help="the data set's folder, when it is not the config's data_root")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys, e.g. '
                        'train_dataloader.batch_size=8')
    parser.add_argument('--seed', type=int, default=0, help="seed of the dataloader's sampling (0)")
    parser.add_argument('--json', help='write the report here')
    args = parser.parse_args(argv)
    with user_errors():  # a bad config, checkpoint or data: one line, status 1
        report = run(args.config, args.checkpoint, args.out, batches=args.batches, frames=args.frames,
                     data_root=args.data_root, cfg_options=args.cfg_options, seed=args.seed)
    ratio = report['var_ratio']
    print(f"{report['batches']} batches, {report['frames']} frames, {report['norm_layers']} norm layers; new / old "
          f"running variance per layer: min {ratio['min']}, median {ratio['median']}, max {ratio['max']}; "
          f"wrote {args.out}")
    if args.json:
        write_json(args.json, report)
    return report


if __name__ == '__main__':
    main()
