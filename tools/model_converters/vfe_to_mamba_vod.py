"""Convert the authors' released MAMBA checkpoint (their mmdet 2.19 fork) to mamba_vod.

    python tools/model_converters/vfe_to_mamba_vod.py IN.pth OUT.pth \
        [--config configs/mamba/mamba-ins_r101-dc5_vfe-release_imagenetvid.py]

Every key of the released state dict (656 entries, all under ``detector.``) is
renamed to the model of ``--config``; the result must match that model's state
dict exactly (names and shapes), else nothing is written and the error lists the
unknown, missing and mis-shaped keys. The input is read with
``torch.load(weights_only=True)``; the output is written atomically as
``{'meta': ..., 'state_dict': ...}``. User errors (a missing, damaged or unsafe
input, an output folder that cannot be written) end with one line on stderr and
exit status 1. The layout is described in the repository's docs (VFE release:
R-101-DC5, instance level, SELSA-form GEOs).
"""
import argparse
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch

DEFAULT_CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'mamba',
                          'mamba-ins_r101-dc5_vfe-release_imagenetvid.py')
_PREFIX = 'detector.'
# parts copied under the same name (mmdet 2.x and 3.x name these modules alike)
_SAME_NAME = re.compile(r'^(backbone|neck|rpn_head)\.|^roi_head\.bbox_head\.(shared_fcs\.\d+|fc_cls|fc_reg)\.')
# the SELSA-style aggregators of the box head -> the instance level's GEOs (their projections)
_AGGREGATOR = re.compile(r'^roi_head\.bbox_head\.aggregator\.(\d+)\.(fc_embed|ref_fc_embed|ref_fc|fc)\.(weight|bias)$')
_GEO_NAMES = {'fc_embed': 'query_proj', 'ref_fc_embed': 'key_proj', 'ref_fc': 'value_proj', 'fc': 'output_proj'}


class ConversionError(ValueError):
    """The checkpoint does not have the released layout."""


def convert_key(key: str) -> Optional[str]:
    """Our name of one released key, or None if it belongs to no known part."""
    if not key.startswith(_PREFIX):
        return None
    key = key[len(_PREFIX):]
    match = _AGGREGATOR.match(key)
    if match:
        level, name, param = match.groups()
        return f'instance_level.geos.{level}.{_GEO_NAMES[name]}.{param}'
    return key if _SAME_NAME.match(key) else None


def convert_state_dict(vfe_state: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Renames every key; raises :class:`ConversionError` listing the keys it does not know."""
    converted, unknown = OrderedDict(), []
    for key, value in vfe_state.items():
        new_key = convert_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            converted[new_key] = value
    if unknown:
        raise ConversionError(f'{len(unknown)} keys of the checkpoint are not part of the released MAMBA layout: '
                              f'{_listing(unknown)}')
    return converted


def check_against(converted: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]) -> None:
    """Raises :class:`ConversionError` unless names and shapes match ``reference`` exactly."""
    missing = [key for key in reference if key not in converted]
    unexpected = [key for key in converted if key not in reference]
    shapes = [f'{key} {tuple(converted[key].shape)} vs {tuple(reference[key].shape)}' for key in converted
              if key in reference and converted[key].shape != reference[key].shape]
    problems = []
    if missing:
        problems.append(f'missing from the checkpoint ({len(missing)}): {_listing(missing)}')
    if unexpected:
        problems.append(f'not in the model ({len(unexpected)}): {_listing(unexpected)}')
    if shapes:
        problems.append(f'shape differs (checkpoint vs model) ({len(shapes)}): {_listing(shapes)}')
    if problems:
        raise ConversionError('the converted checkpoint does not fit the model; ' + '; '.join(problems))


def _listing(keys, limit: int = 20) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def load_vfe_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a released checkpoint file (a bare state dict or ``{'state_dict': ...}``)."""
    from mamba_vod.compat import load_checkpoint_file
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
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


def convert_file(src: str, dst: str, config: str = DEFAULT_CONFIG) -> 'OrderedDict[str, torch.Tensor]':
    """Converts ``src`` for the model of ``config`` and writes ``dst`` (atomically); returns the
    state dict. An output folder that cannot be written is refused before any work."""
    from mamba_vod.utils import atomic_open, check_output_path
    check_output_path(dst, 'output checkpoint')
    converted = convert_state_dict(load_vfe_state_dict(src))
    check_against(converted, model_state_dict(config))
    meta = dict(converted_from=osp.basename(src), converter='tools/model_converters/vfe_to_mamba_vod.py',
                config=osp.basename(config))
    with atomic_open(dst, 'wb') as file:
        torch.save(dict(meta=meta, state_dict=converted), file)
    return converted


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Convert the authors' released MAMBA R-101 checkpoint.")
    parser.add_argument('src', help='the released checkpoint (e.g. epoch_6_model.pth)')
    parser.add_argument('dst', help='where to write the mamba_vod checkpoint')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='the compatible-mode config (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from mamba_vod.engine.cli import user_errors  # importing mamba_vod prepares mmcv/mmdet, safe loading
    args = parse_args(argv)
    with user_errors():  # ConversionError is a ValueError
        converted = convert_file(args.src, args.dst, args.config)
    print(f'wrote {args.dst}: {len(converted)} tensors')


if __name__ == '__main__':
    main()
