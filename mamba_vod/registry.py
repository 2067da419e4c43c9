"""Registries of mamba_vod: children of MMDetection's, in the ``mamba_vod`` scope.

A config with ``default_scope='mamba_vod'`` can name our modules and, through the
parent registries, every module of MMDetection and MMEngine. Modules are imported
lazily from ``locations`` the first time a registry is searched; mmdet's own
packages are listed there too, because a search that starts in a child registry
does not import the parent's locations.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry

SCOPE = 'mamba_vod'


def _child(parent: Registry, *locations: str) -> Registry:
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=list(locations))


RUNNERS = _child(mmdet_registry.RUNNERS, 'mmdet.engine.runner')
RUNNER_CONSTRUCTORS = _child(mmdet_registry.RUNNER_CONSTRUCTORS, 'mmdet.engine.runner')
LOOPS = _child(mmdet_registry.LOOPS, 'mmdet.engine.runner', 'mamba_vod.engine')
HOOKS = _child(mmdet_registry.HOOKS, 'mmdet.engine.hooks', 'mamba_vod.engine')
DATASETS = _child(mmdet_registry.DATASETS, 'mmdet.datasets', 'mamba_vod.datasets')
DATA_SAMPLERS = _child(mmdet_registry.DATA_SAMPLERS, 'mmdet.datasets.samplers', 'mamba_vod.datasets.samplers')
TRANSFORMS = _child(mmdet_registry.TRANSFORMS, 'mmdet.datasets.transforms', 'mamba_vod.datasets.transforms')
MODELS = _child(mmdet_registry.MODELS, 'mmdet.models', 'mamba_vod.models')
MODEL_WRAPPERS = _child(mmdet_registry.MODEL_WRAPPERS, 'mmdet.models')
WEIGHT_INITIALIZERS = _child(mmdet_registry.WEIGHT_INITIALIZERS, 'mmdet.models')
OPTIMIZERS = _child(mmdet_registry.OPTIMIZERS, 'mmdet.engine.optimizers')
OPTIM_WRAPPERS = _child(mmdet_registry.OPTIM_WRAPPERS, 'mmdet.engine.optimizers')
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'mmdet.engine.optimizers')
PARAM_SCHEDULERS = _child(mmdet_registry.PARAM_SCHEDULERS, 'mmdet.engine.schedulers')
METRICS = _child(mmdet_registry.METRICS, 'mmdet.evaluation', 'mamba_vod.evaluation')
EVALUATOR = _child(mmdet_registry.EVALUATOR, 'mmdet.evaluation', 'mamba_vod.evaluation')
TASK_UTILS = _child(mmdet_registry.TASK_UTILS, 'mmdet.models', 'mamba_vod.models')
VISUALIZERS = _child(mmdet_registry.VISUALIZERS, 'mmdet.visualization')
VISBACKENDS = _child(mmdet_registry.VISBACKENDS, 'mmdet.visualization')
LOG_PROCESSORS = _child(mmdet_registry.LOG_PROCESSORS, 'mmdet.engine')

# Test protocols (how a video is fed to a detector at test time): ours only, no mmdet parent.
TEST_PROTOCOL_TYPES = Registry('test protocol', scope=SCOPE, locations=['mamba_vod.datasets.test_protocol'])
