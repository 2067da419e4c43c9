"""Builds a detector from a config for inference (single-frame mmdet detectors and video detectors).

Mirrors ``mmdet.apis.init_detector``, with three differences: the model is built in
the config's scope (``mamba_vod`` by default); without a checkpoint the model keeps
random weights and says so, so the streaming plumbing can be tried before any
training; and a checkpoint that leaves model tensors untrained (another model's
weights, another number of classes) is refused unless ``allow_partial``. Class names
come from the checkpoint's ``meta.dataset_meta`` when it has them, else from the
test dataset of the config.
"""
import warnings
from pathlib import Path
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.engine import load_config, load_weights
from mamba_vod.registry import DATASETS, MODELS

ConfigLike = Union[str, Path, Config]


def _classes_from_config(cfg: Config) -> Optional[tuple]:
    """The class names the config's test dataset declares (its ``metainfo`` or its class's METAINFO)."""
    dataset_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
    metainfo = dataset_cfg.get('metainfo') or {}
    if metainfo.get('classes'):
        return tuple(metainfo['classes'])
    dataset_type = dataset_cfg.get('type')
    dataset_cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    classes = getattr(dataset_cls, 'METAINFO', {}).get('classes') if dataset_cls is not None else None
    return tuple(classes) if classes else None


def _dataset_meta(cfg: Config, checkpoint_meta: dict, num_classes: Optional[int]) -> dict:
    """``dataset_meta`` for the model: the checkpoint's, else the config's, else numbered classes."""
    if 'dataset_meta' in checkpoint_meta:
        return {key.lower(): value for key, value in checkpoint_meta['dataset_meta'].items()}
    classes = _classes_from_config(cfg)
    if classes is None:
        count = num_classes or 0
        warnings.warn(f'no class names in the checkpoint or the config; labels are shown as class_0..'
                      f'class_{max(count - 1, 0)}')
        classes = tuple(f'class_{index}' for index in range(count))
    return {'classes': classes}


def _num_classes(cfg: Config) -> Optional[int]:
    roi_head = cfg.model.get('roi_head') or {}
    bbox_head = roi_head.get('bbox_head') or cfg.model.get('bbox_head') or {}
    return bbox_head.get('num_classes') if isinstance(bbox_head, dict) else None


def init_detector(config: ConfigLike,
                  checkpoint: Optional[str] = None,
                  device: str = 'cpu',
                  cfg_options: Optional[dict] = None,
                  *,
                  allow_partial: bool = False) -> nn.Module:
    """Builds the detector of ``config`` in eval mode on ``device``.

    Args:
        config: config file path or :class:`Config` (not modified).
        checkpoint: weights: a file, an ``http(s)://`` URL or a URI such as
            ``torchvision://`` (downloaded once into the torch hub cache), always read
            with ``weights_only=True``. ``None`` keeps random weights and warns.
        device: e.g. ``'cpu'``, ``'cuda'``, ``'cuda:1'``.
        cfg_options: ``key.sub=value`` overrides merged into the config.
        allow_partial: accept a checkpoint that leaves model tensors untrained
            (missing from it, or of another shape); they keep their random values.

    Returns:
        The model, with ``model.cfg`` (the merged config) and
        ``model.dataset_meta`` (``{'classes': (...)}``) set.

    Raises:
        CheckpointMismatchError: the checkpoint does not fit the model and not ``allow_partial``.
    """
    cfg = load_config(config, cfg_options)
    # Pretrained backbone files are a training concern; the checkpoint (or nothing) gives the weights.
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict) and 'init_cfg' in backbone:
        backbone.init_cfg = None
    init_default_scope(cfg.get('default_scope', 'mamba_vod'))
    model = MODELS.build(cfg.model)
    checkpoint_meta = {}
    if checkpoint is None:
        warnings.warn('no checkpoint given: the detector has random weights, so its detections are '
                      'meaningless (use this only to try the plumbing)')
    else:
        loaded = load_weights(model, checkpoint, allow_partial=allow_partial)
        checkpoint_meta = loaded.get('meta', {}) if isinstance(loaded, dict) else {}
    model.dataset_meta = _dataset_meta(cfg, checkpoint_meta, _num_classes(cfg))
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model
