"""The keys a config's nested dicts may hold, where that is known.

mmengine builds a dict with a ``type`` by calling the registered class with the dict's other
keys, so the keys such a dict may hold are the arguments of that class's constructor. mmdet's
two-stage detectors read their ``train_cfg`` / ``test_cfg`` sections (``rpn``,
``rpn_proposal``, ``rcnn``) by name, so those keys are listed here. :func:`nested_schemas`
walks the parts of a config whose schema is known this way: the ``model`` and the runner's
``train_cfg`` / ``val_cfg`` / ``test_cfg`` loops.

What a key outside a schema means (``Schema.unknown``):

- ``'fails'``: the constructor has no ``**kwargs``, so building the dict raises TypeError;
- ``'ignored'``: the section is read by name (mmdet's train/test cfg), so the key is lost;
- ``'maybe'``: the constructor takes ``**kwargs`` and hands them to its base classes (whose
  arguments are added, up to the first base without ``**kwargs``), but it may read some itself.
"""
import inspect
from typing import Iterator, NamedTuple, Optional, Tuple

# The keys mmdet's RPN and RoI heads read from the sections of a two-stage detector's
# train_cfg / test_cfg (mmdet/models/dense_heads/{anchor_head,rpn_head}.py, roi_heads/).
STAGE_CFG_KEYS = {
    'train_cfg': {'rpn': ('assigner', 'sampler', 'allowed_border', 'pos_weight', 'debug'),
                  'rpn_proposal': ('nms_pre', 'max_per_img', 'nms', 'min_bbox_size'),
                  'rcnn': ('assigner', 'sampler', 'mask_size', 'pos_weight', 'debug')},
    'test_cfg': {'rpn': ('nms_pre', 'max_per_img', 'nms', 'min_bbox_size'),
                 'rcnn': ('score_thr', 'nms', 'max_per_img', 'mask_thr_binary')},
}
# Sub-dicts built by mmcv's layer builders, which take keys that are not constructor arguments
# (``norm_cfg=dict(type='BN', requires_grad=True)``): not checked.
LAYER_CFG_KEYS = frozenset({'norm_cfg', 'act_cfg', 'conv_cfg', 'init_cfg', 'plugins', 'dcn', 'upsample_cfg'})
RUNNER_LOOPS = ('train_cfg', 'val_cfg', 'test_cfg')


class Schema(NamedTuple):
    """The keys a dict at ``path`` (dotted, e.g. ``'model.roi_head.bbox_head'``) may hold.

    ``owner`` names what reads them (a class name, or mmdet's heads); ``unknown``: what a key
    outside ``keys`` means (see the module docstring)."""
    path: str
    node: dict
    keys: frozenset
    owner: str
    unknown: str


def _constructor_arguments(cls: type) -> Tuple[frozenset, bool]:
    """The keyword arguments of ``cls`` and of the bases its ``**kwargs`` reach; whether its own
    constructor is closed (no ``**kwargs``)."""
    names, own_closed = set(), None
    for klass in cls.__mro__:
        if '__init__' not in vars(klass) or klass is object:
            continue
        parameters = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        open_ = any(p.kind == p.VAR_KEYWORD for p in parameters)
        own_closed = (not open_) if own_closed is None else own_closed
        if not open_:
            break
    return frozenset(names - {'self'}), bool(own_closed)


def _registered_class(type_name, registries) -> Optional[type]:
    """The class ``type_name`` (a name or a class) names in the first of ``registries`` that has it."""
    if inspect.isclass(type_name):
        return type_name
    for registry in registries:
        try:
            found = registry.get(type_name) if isinstance(type_name, str) else None
        except (KeyError, ImportError):
            found = None
        if inspect.isclass(found):
            return found
    return None


def _type_schema(path: str, node: dict, registries) -> Optional[Schema]:
    cls = _registered_class(node.get('type'), registries)
    if cls is None:
        return None
    keys, closed = _constructor_arguments(cls)
    return Schema(path, node, keys | {'type'}, cls.__name__, 'fails' if closed else 'maybe')


def _model_schemas(path: str, node, registries) -> Iterator[Schema]:
    """Schemas of the dicts with a registered ``type`` in ``node`` (dicts and lists, recursively),
    and of the known sections of its ``train_cfg`` / ``test_cfg``."""
    if isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            yield from _model_schemas(f'{path}.{index}', item, registries)
        return
    if not isinstance(node, dict):
        return
    if 'type' in node:
        schema = _type_schema(path, node, registries)
        if schema is not None:
            yield schema
    for key, value in node.items():
        if key in STAGE_CFG_KEYS and isinstance(value, dict):
            yield from _stage_schemas(f'{path}.{key}', value, STAGE_CFG_KEYS[key], registries)
        elif key not in LAYER_CFG_KEYS:
            yield from _model_schemas(f'{path}.{key}', value, registries)


def _stage_schemas(path: str, node: dict, sections: dict, registries) -> Iterator[Schema]:
    """The known sections of a detector's ``train_cfg`` / ``test_cfg``, and what they hold."""
    for section, value in node.items():
        if section in sections and isinstance(value, dict):
            yield Schema(f'{path}.{section}', value, frozenset(sections[section]), "mmdet's heads", 'ignored')
        yield from _model_schemas(f'{path}.{section}', value, registries)


def nested_schemas(cfg) -> Iterator[Schema]:
    """The schemas known for ``cfg`` (a dict or Config): the model's parts (types looked up in
    mamba_vod's MODELS, then TASK_UTILS) and the runner's loops (LOOPS)."""
    from mamba_vod.registry import LOOPS, MODELS, TASK_UTILS  # the registries import mmdet's models lazily
    if isinstance(cfg.get('model'), dict):
        yield from _model_schemas('model', cfg['model'], (MODELS, TASK_UTILS))
    for loop in RUNNER_LOOPS:
        node = cfg.get(loop)
        if isinstance(node, dict) and 'type' in node:
            schema = _type_schema(loop, node, (LOOPS,))
            if schema is not None:
                yield schema._replace(keys=schema.keys - {'runner', 'dataloader', 'evaluator'})
