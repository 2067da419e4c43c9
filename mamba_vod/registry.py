"""Registries of mamba_vod: children of MMDetection's, in the ``mamba_vod`` scope.

A config with ``default_scope='mamba_vod'`` can name our modules and, through the
parent registries, every module of MMDetection and MMEngine. Modules are imported
lazily from ``locations`` the first time a registry is searched.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmengine.registry import Registry

SCOPE = 'mamba_vod'

MODELS = Registry('model', parent=MMDET_MODELS, scope=SCOPE, locations=['mamba_vod.models'])
DATASETS = Registry('dataset', parent=MMDET_DATASETS, scope=SCOPE, locations=['mamba_vod.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMDET_DATA_SAMPLERS, scope=SCOPE, locations=['mamba_vod.datasets.samplers'])
TRANSFORMS = Registry(
    'transform', parent=MMDET_TRANSFORMS, scope=SCOPE, locations=['mamba_vod.datasets.transforms'])
METRICS = Registry('metric', parent=MMDET_METRICS, scope=SCOPE, locations=['mamba_vod.evaluation'])
TASK_UTILS = Registry('task util', parent=MMDET_TASK_UTILS, scope=SCOPE, locations=['mamba_vod.models'])
HOOKS = Registry('hook', parent=MMDET_HOOKS, scope=SCOPE, locations=['mamba_vod.engine'])
LOOPS = Registry('loop', parent=MMDET_LOOPS, scope=SCOPE, locations=['mamba_vod.engine'])
VISUALIZERS = Registry('visualizer', parent=MMDET_VISUALIZERS, scope=SCOPE, locations=['mamba_vod.apis'])
