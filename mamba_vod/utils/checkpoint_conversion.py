"""What the checkpoint converters (``tools/model_converters/``) share: reading a state dict,
renaming it key by key strictly, checking it against the model a config builds, writing it.

A converter gives :func:`rename_state_dict` its own ``convert_key`` (a released name -> ours, or
None for a key it does not know); every key must be known, and the result must have exactly the
names and shapes of the model (:func:`check_against`), else :class:`ConversionError` lists the
unknown, missing and mis-shaped keys and nothing is written.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Callable, Dict, Mapping, Optional

import torch

#: mmtracking's ``SelsaAggregator`` layers -> a SELSA-form GEO's (tests/fidelity/test_selsa_aggregator.py)
SELSA_AGGREGATOR_TO_GEO = {'fc_embed': 'query_proj', 'ref_fc_embed': 'key_proj', 'ref_fc': 'value_proj',
                           'fc': 'output_proj'}

# Faster R-CNN parts that mmdet 2.x and 3.x (and so mmtracking 0.x and 1.x) name alike
_SAME_NAME = re.compile(r'^(backbone|neck|rpn_head)\.|^roi_head\.bbox_head\.(shared_fcs\.\d+|fc_cls|fc_reg)\.')
# the box head's SELSA aggregators (mmtracking's SelsaBBoxHead, the VFE release)
_AGGREGATOR = re.compile(r'^roi_head\.bbox_head\.aggregator\.(\d+)\.(fc_embed|ref_fc_embed|ref_fc|fc)\.(weight|bias)$')


def detector_key(key: str) -> Optional[str]:
    """Our name of a key of an mmdet-style detector with SELSA aggregators in its box head (the key
    without the video model's ``detector.`` prefix), or None: Faster R-CNN's parts keep their
    names, aggregator i becomes the instance level's GEO i."""
    match = _AGGREGATOR.match(key)
    if match:
        level, name, param = match.groups()
        return f'instance_level.geos.{level}.{SELSA_AGGREGATOR_TO_GEO[name]}.{param}'
    return key if _SAME_NAME.match(key) else None


class ConversionError(ValueError):
    """The checkpoint does not have the layout the converter reads, or does not fit the model."""


def listing(keys, limit: int = 20) -> str:
    """The first ``limit`` of ``keys``, comma-separated, with how many more there are."""
    keys = list(keys)
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def rename_state_dict(state: Mapping[str, torch.Tensor], convert_key: Callable[[str], Optional[str]],
                      layout: str) -> 'OrderedDict[str, torch.Tensor]':
    """Every key renamed by ``convert_key``; raises :class:`ConversionError` listing the keys it
    does not know (``layout`` names what it reads, for the message) or that two keys give one name."""
    converted, unknown, clashes = OrderedDict(), [], []
    for key, value in state.items():
        new_key = convert_key(key)
        if new_key is None:
            unknown.append(key)
        elif new_key in converted:
            clashes.append(f'{key} -> {new_key}')
        else:
            converted[new_key] = value
    if unknown:
        raise ConversionError(f'{len(unknown)} keys of the checkpoint are not part of the {layout} layout: '
                              f'{listing(unknown)}')
    if clashes:
        raise ConversionError(f'keys of the checkpoint that give one name twice: {listing(clashes)}')
    return converted


def check_against(converted: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]) -> None:
    """Raises :class:`ConversionError` unless names and shapes match ``reference`` exactly."""
    missing = [key for key in reference if key not in converted]
    unexpected = [key for key in converted if key not in reference]
    shapes = [f'{key} {tuple(converted[key].shape)} vs {tuple(reference[key].shape)}' for key in converted
              if key in reference and converted[key].shape != reference[key].shape]
    problems = []
    if missing:
        problems.append(f'missing from the checkpoint ({len(missing)}): {listing(missing)}')
    if unexpected:
        problems.append(f'not in the model ({len(unexpected)}): {listing(unexpected)}')
    if shapes:
        problems.append(f'shape differs (checkpoint vs model) ({len(shapes)}): {listing(shapes)}')
    if problems:
        raise ConversionError('the converted checkpoint does not fit the model; ' + '; '.join(problems))


def load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint file (a bare state dict, ``{'state_dict': ...}`` or
    ``{'model': ...}``), read
    with the safe loader (``weights_only=True``)."""
    from mamba_vod.compat import load_checkpoint_file
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    state = None
    if isinstance(checkpoint, dict):  # maskrcnn-benchmark's checkpointer writes {'model': ...}
        state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f"'{path}' holds no state dict of tensors (a dict, or a dict with 'state_dict')")
    return state


def model_state_dict(config: str) -> Dict[str, torch.Tensor]:
    """Names and shapes of the model a config builds (on the meta device: no memory, no init)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mamba_vod.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mamba_vod'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return model.state_dict()


def convert_checkpoint(src: str, dst: str, config: str, convert_key: Callable[[str], Optional[str]], *,
                       layout: str, converter: str,
                       adapt: Optional[Callable] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Converts ``src`` for the model of ``config`` and writes ``dst`` atomically as
    ``{'meta': ..., 'state_dict': ...}``; returns the state dict. ``adapt(state, reference)``, if
    given, rewrites the read state dict (values, not only names) before the renaming, knowing the
    model's (``reference``: names and shapes). An output folder that cannot be written is refused
    before any work; nothing is written on an error."""
    from mamba_vod.utils import atomic_open, check_output_path
    check_output_path(dst, 'output checkpoint')
    state, reference = load_state_dict_file(src), model_state_dict(config)
    if adapt is not None:
        state = adapt(state, reference)
    converted = rename_state_dict(state, convert_key, layout)
    check_against(converted, reference)
    meta = dict(converted_from=osp.basename(src), converter=converter, config=osp.basename(config))
    with atomic_open(dst, 'wb') as file:
        torch.save(dict(meta=meta, state_dict=converted), file)
    return converted


def converter_arguments(argv, *, description: str, src_help: str, config_help: str,
                        default_config: Optional[str] = None):
    """A converter's command line: ``src dst [--config CONFIG]``."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='where to write the mamba_vod checkpoint')
    parser.add_argument('--config', default=default_config, help=config_help)
    return parser.parse_args(argv)


def run_converter(args, convert_file: Callable) -> None:
    """Runs ``convert_file(src, dst, config)``; a user error (a bad input, a checkpoint that does
    not fit) ends with one line on stderr and exit status 1."""
    from mamba_vod.engine.cli import user_errors
    with user_errors():  # ConversionError is a ValueError
        converted = convert_file(args.src, args.dst, args.config)
    print(f'wrote {args.dst}: {len(converted)} tensors')
