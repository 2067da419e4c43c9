"""Turns a config file plus command-line choices into the config a Runner runs.

``tools/train.py``, ``tools/test.py`` and ``tools/quickstart.py`` share this, so a
run started from Python is configured exactly like one started from the shell.
"""
import ast
import copy
import os.path as osp
import uuid
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config

from mamba_vod.compat import CheckpointNotFoundError
from mamba_vod.utils import check_input_file, check_output_path
from .checkpoint_fit import check_checkpoint_fit, report_untrained_parts
from .config_keys import ConfigError, check_config_keys
from .config_options import check_option_types
from .test_protocol import apply_test_protocol

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def check_checkpoint_source(checkpoint: str, what: str = 'checkpoint') -> None:
    """Raises :class:`CheckpointNotFoundError` for a local ``checkpoint`` path that does not exist
    (IsADirectoryError for a folder). URLs and URIs (``https://``, ``torchvision://`` ...) pass:
    they are fetched when loaded."""
    if '://' not in checkpoint:
        check_input_file(checkpoint, what, 'give the path of a checkpoint file (e.g. WORK_DIR/epoch_8.pth), or a '
                         'URL (https://...)', missing=CheckpointNotFoundError)


def _read_config_file(path: str) -> Config:
    """``Config.fromfile(path)``; a syntax error (in it or a ``_base_`` file) is a
    :class:`ConfigError` naming the file and the line."""
    check_input_file(path, 'config file', 'pass the path of a config such as '
                     'configs/synthetic/mamba_r18-dc5_synthetic.py')
    try:
        return Config.fromfile(path)
    except SyntaxError as error:  # mmengine parses the files without their names: '<unknown>', line N
        found = _syntax_error(path) or (path, error)
        raise ConfigError(f"config file '{found[0]}', line {found[1].lineno}: {found[1].msg}; fix the Python "
                          'syntax there') from None


def _syntax_error(path: str) -> Optional[Tuple[str, SyntaxError]]:
    """The first file (``path``, then its local ``_base_`` files) with a syntax error, and the error."""
    with open(path, encoding='utf-8') as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        return path, error
    for base in _local_bases(tree, path):
        found = _syntax_error(base)
        if found:
            return found
    return None


def _local_bases(tree: ast.Module, path: str) -> list:
    """The ``_base_`` files of the config ``path`` (parsed as ``tree``) that are files on disk."""
    bases = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == '_base_' for target in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            bases += [value] if isinstance(value, str) else list(value)
    return [base for base in (osp.join(osp.dirname(path), name) for name in bases) if osp.isfile(base)]


def load_config(config: Union[str, Path, Config], cfg_options: Optional[dict] = None) -> Config:
    """Reads ``config`` (a path, or a :class:`Config`, copied) and merges ``cfg_options``
    (``{'a.b': value}``) into it, checking both before any work.

    A key that looks misspelt (a runner key such as ``defualt_hooks``, a nested key of the model
    or of the loops: :mod:`.config_keys`) is warned about, wherever it comes from.

    Raises:
        ConfigError: a syntax error (naming the file and line), a key a class cannot take, an
            option whose value is of the wrong type (naming the key).
        FileNotFoundError, IsADirectoryError: ``config`` is not a file.
    """
    if isinstance(config, (str, Path)):
        cfg = _read_config_file(str(config))
        source = f"config '{config}'"
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
        source = f"config '{cfg.filename}'" if cfg.filename else 'config'
    else:
        raise TypeError(f'config must be a file path or an mmengine Config, got {type(config).__name__}')
    if cfg_options:
        check_option_types(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_config_keys(cfg, source, cfg_options or {})
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
        protocol: a test protocol the config's detector accepts ('online', 'mamba_offline' /
            'paper', ...: :mod:`~mamba_vod.engine.test_protocol`), set after ``cfg_options``;
            None keeps the config's.
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
