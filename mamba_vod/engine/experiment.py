"""Train-then-evaluate runs driven from Python, configured exactly as ``tools/train.py``
and ``tools/test.py`` configure them (same :mod:`.run_config` functions).

Used by ``tools/quickstart.py`` and ``tools/analysis/synthetic_ablation.py``; each
run is resumable: a finished training is found by its ``last_checkpoint`` file and
reused unless ``force``.
"""
import json
import os.path as osp
from typing import Any, Optional

from mmengine.config import Config
from mmengine.runner import Runner

from mamba_vod.utils import atomic_open
from .run_config import load_config, test_config, train_config


def rebase_paths(cfg: Config, old_root: str, new_root: str) -> Config:
    """Returns ``cfg`` with every string that starts with ``old_root`` moved under ``new_root``.

    Configs name their data as ``data_root + 'annotations/...'`` and the like, so
    this moves a whole data set (dataloaders and evaluators) in one step.
    """
    new_root = new_root.rstrip('/') + '/'

    def move(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(old_root):
            return new_root + value[len(old_root):].lstrip('/')
        if isinstance(value, dict):
            return {key: move(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(move(item) for item in value)
        return value

    return Config(move(cfg.to_dict()), filename=cfg.filename)


def finished_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a finished training left in ``work_dir`` (via ``last_checkpoint``), or None."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def final_checkpoint_name(cfg: Config) -> str:
    """File name of the checkpoint the schedule ends with: ``epoch_{max_epochs}.pth``
    or ``iter_{max_iters}.pth``."""
    loop = cfg.train_cfg
    return f'epoch_{loop.max_epochs}.pth' if 'max_epochs' in loop else f'iter_{loop.max_iters}.pth'


def epoch_budget(config: str, epochs: int) -> dict:
    """``cfg_options`` that train ``config`` (an epoch-based schedule) for ``epochs`` epochs,
    validating at the end, with its epoch-wise step schedules stretched to match: each
    ``MultiStepLR`` milestone m becomes round(m * epochs / max_epochs) (at least 1) and a
    scheduler that ended with the schedule ends at ``epochs``."""
    if epochs < 1:
        raise ValueError(f'epochs must be >= 1, got {epochs}')
    cfg = load_config(config)
    if 'max_epochs' not in cfg.train_cfg:
        raise ValueError(f'{config}: not an epoch-based schedule (train_cfg has no max_epochs)')
    old = cfg.train_cfg.max_epochs
    options = {'train_cfg.max_epochs': epochs, 'train_cfg.val_interval': epochs}
    for index, scheduler in enumerate(cfg.get('param_scheduler') or []):
        if not scheduler.get('by_epoch', True):
            continue
        if scheduler['type'] == 'MultiStepLR':
            options[f'param_scheduler.{index}.milestones'] = [max(1, round(m * epochs / old))
                                                              for m in scheduler['milestones']]
        if scheduler.get('end') == old:
            options[f'param_scheduler.{index}.end'] = epochs
    return options


def train(config: str, work_dir: str, *, data_root: Optional[tuple] = None, cfg_options: Optional[dict] = None,
          force: bool = False) -> str:
    """Trains ``config`` into ``work_dir`` unless a finished run is there; returns its checkpoint.

    A run that stopped early (its last checkpoint is not the schedule's final one)
    is resumed from that checkpoint; ``force`` trains from scratch.

    Args:
        data_root: ``(old, new)``: move the config's data from ``old`` to ``new``.
    """
    cfg = load_config(config, cfg_options)
    checkpoint = None if force else finished_checkpoint(work_dir)
    if checkpoint and osp.basename(checkpoint) == final_checkpoint_name(cfg):
        return checkpoint
    if data_root:
        cfg = rebase_paths(cfg, *data_root)
    runner = Runner.from_cfg(train_config(cfg, work_dir=work_dir, resume=checkpoint))
    runner.train()
    checkpoint = finished_checkpoint(work_dir)
    if checkpoint is None:
        raise RuntimeError(f'training {config} finished without a checkpoint in {work_dir}')
    return checkpoint


def evaluate(config: str, checkpoint: str, work_dir: str, *, data_root: Optional[tuple] = None,
             cfg_options: Optional[dict] = None, out: Optional[str] = None, force: bool = False,
             protocol: Optional[str] = None) -> dict:
    """Evaluates ``checkpoint`` on the config's test split (with the test ``protocol``,
    'online' or 'paper', when given); metrics are cached in ``work_dir``."""
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    if osp.isfile(metrics_file) and not force and osp.getmtime(metrics_file) >= osp.getmtime(checkpoint):
        with open(metrics_file) as f:
            return json.load(f)
    cfg = load_config(config, cfg_options)
    if data_root:
        cfg = rebase_paths(cfg, *data_root)
    metrics = Runner.from_cfg(test_config(cfg, checkpoint, work_dir=work_dir, out=out, protocol=protocol)).test()
    metrics = {key: float(value) for key, value in metrics.items()}
    with atomic_open(metrics_file, 'w') as f:
        json.dump(metrics, f, indent=2)
    return metrics
