"""Turns a config file plus command-line choices into the config a Runner runs.

``tools/train.py``, ``tools/test.py`` and ``tools/quickstart.py`` share this, so a
run started from Python is configured exactly like one started from the shell.
"""
import copy
import os.path as osp
import uuid
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config

from mamba_vod.compat import CheckpointNotFoundError
from mamba_vod.utils import check_output_path
from .checkpoint_fit import check_checkpoint_fit, report_untrained_parts
from .config_keys import warn_misspelt_keys
from .test_protocol import apply_test_protocol

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def check_checkpoint_source(checkpoint: str, what: str = 'checkpoint') -> None:
    """Raises :class:`CheckpointNotFoundError` for a local ``checkpoint`` path that does not exist.
    URLs and URIs (``https://``, ``torchvision://`` ...) pass: they are fetched when loaded."""
    if '://' not in checkpoint and not osp.isfile(osp.expanduser(checkpoint)):
        raise CheckpointNotFoundError(f"{what} '{checkpoint}' not found; give the path of a checkpoint file, "
                                      'or a URL (https://...)')


def load_config(config: Union[str, Path, Config], cfg_options: Optional[dict] = None) -> Config:
    """Reads ``config`` (a path, or a :class:`Config`, copied) and merges ``cfg_options``
    (``{'a.b': value}``) into it. A top-level key of the file that looks like a misspelt runner
    key (``defualt_hooks``) is warned about."""
    if isinstance(config, (str, Path)):
        if not Path(config).is_file():
            raise FileNotFoundError(f"config file '{config}' does not exist; pass the path of a "
                                    'config such as configs/synthetic/mamba_r18-dc5_synthetic.py')
        cfg = Config.fromfile(str(config))
        warn_misspelt_keys(cfg, f"config '{config}'")
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file path or an mmengine Config, got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _set_work_dir(cfg: Config, config: Union[str, Config], work_dir: Optional[str]) -> None:
    # priority: command line > config file > ./work_dirs/<config name>
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(config))[0] if isinstance(config, str) else 'run'
        cfg.work_dir = osp.join('./work_dirs', name)


def _own_visualizer(cfg: Config) -> None:
    """Gives the run a visualizer of its own. MMEngine keeps one visualizer per name in a process
    and the configs name theirs 'visualizer', so a second run in the same process (a train then
    its tests, as the quickstart and the ablation do) would write its config and scalars into the
    first run's folder, or into a folder deleted with it."""
    if cfg.get('visualizer'):
        cfg.visualizer.name = f"{cfg.visualizer.get('name', 'visualizer')}_{uuid.uuid4().hex[:12]}"


def _adapt_distributed_to_cpu(cfg: Config) -> None:
    """Without GPUs, distributed runs use gloo and a CPU DistributedDataParallel (which keeps
    the config's ``find_unused_parameters``, as mmengine's default wrapper does on GPUs)."""
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                                                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def train_config(config: Union[str, Config], *, work_dir: Optional[str] = None, resume: Optional[str] = None,
                 amp: bool = False, auto_scale_lr: bool = False, cfg_options: Optional[dict] = None,
                 launcher: str = 'none') -> Config:
    """The config for a training run.

    Args:
        resume: None (no resume), ``'auto'`` (the latest checkpoint in the work
            dir) or a checkpoint (path or URL).
        amp: train with automatic mixed precision (needs a GPU).
        auto_scale_lr: scale the lr by total batch / ``auto_scale_lr.base_batch_size``.

    A ``load_from`` checkpoint (not a resume) is loaded leniently, as mmdet does; the parts of
    the model it leaves to their initialisation are logged here.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    _adapt_distributed_to_cpu(cfg)
    _set_work_dir(cfg, config, work_dir)
    _own_visualizer(cfg)
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    if cfg.get('load_from'):
        check_checkpoint_source(cfg.load_from, 'resume checkpoint' if cfg.get('resume') else 'load_from')
        report_untrained_parts(cfg)
    return cfg


def _vid_metrics(evaluator) -> Sequence[dict]:
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    return [metric for metric in metrics if metric.get('type') in ('VIDMetric', 'mamba_vod.VIDMetric')]


def test_config(config: Union[str, Config], checkpoint: str, *, work_dir: Optional[str] = None,
                out: Optional[str] = None, cfg_options: Optional[dict] = None,
                launcher: str = 'none', protocol: Optional[str] = None, allow_partial: bool = False) -> Config:
    """The config for evaluating ``checkpoint`` (a path, URL or URI) on the test split.

    The checkpoint must fit the model: one that leaves model tensors untrained (missing, or
    of another shape) is refused here, before any work, unless ``allow_partial``.

    Args:
        out: also write every prediction to this file (the VID metric's dump
            format, readable by ``tools/analysis/eval_vid.py``).
        protocol: 'online' or 'paper' (:mod:`~mamba_vod.engine.test_protocol`), set
            after ``cfg_options``; None keeps the config's.
        allow_partial: accept a checkpoint that leaves parts of the model untrained.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    check_checkpoint_source(checkpoint)
    if out is not None:
        check_output_path(out, '--out')
    cfg = load_config(config, cfg_options)
    if protocol is not None:
        apply_test_protocol(cfg, protocol)
    cfg.launcher = launcher
    _adapt_distributed_to_cpu(cfg)
    _set_work_dir(cfg, config, work_dir)
    _own_visualizer(cfg)
    cfg.load_from = checkpoint
    if out is not None:
        metrics = _vid_metrics(cfg.test_evaluator)
        if not metrics:
            raise ValueError('--out writes the predictions through the VIDMetric of test_evaluator, '
                             'and this config has none')
        for metric in metrics:
            metric['dump_file'] = out
    check_checkpoint_fit(cfg, checkpoint, allow_partial=allow_partial)
    return cfg
