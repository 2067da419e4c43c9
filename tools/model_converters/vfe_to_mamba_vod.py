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
import os.path as osp
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch

from mamba_vod.utils.checkpoint_conversion import (ConversionError, check_against, convert_checkpoint,
                                                   converter_arguments, detector_key, load_state_dict_file,
                                                   model_state_dict, rename_state_dict, run_converter)

__all__ = ['ConversionError', 'check_against', 'convert_file', 'convert_key', 'convert_state_dict',
           'load_vfe_state_dict', 'model_state_dict']

DEFAULT_CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'mamba',
                          'mamba-ins_r101-dc5_vfe-release_imagenetvid.py')
_PREFIX = 'detector.'


def convert_key(key: str) -> Optional[str]:
    """Our name of one released key, or None if it belongs to no known part."""
    return detector_key(key[len(_PREFIX):]) if key.startswith(_PREFIX) else None


def convert_state_dict(vfe_state: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Renames every key; raises :class:`ConversionError` listing the keys it does not know."""
    return rename_state_dict(vfe_state, convert_key, 'released MAMBA')


def load_vfe_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a released checkpoint file (a bare state dict or ``{'state_dict': ...}``)."""
    return load_state_dict_file(path)


def convert_file(src: str, dst: str, config: str = DEFAULT_CONFIG) -> 'OrderedDict[str, torch.Tensor]':
    """Converts ``src`` for the model of ``config`` and writes ``dst`` (atomically); returns the
    state dict. An output folder that cannot be written is refused before any work."""
    return convert_checkpoint(src, dst, config, convert_key, layout='released MAMBA',
                              converter='tools/model_converters/vfe_to_mamba_vod.py')


def parse_args(argv=None):
    return converter_arguments(argv, description="Convert the authors' released MAMBA R-101 checkpoint.",
                               src_help='the released checkpoint (e.g. epoch_6_model.pth)',
                               config_help='the compatible-mode config (default: %(default)s)',
                               default_config=DEFAULT_CONFIG)


def main(argv=None) -> None:
    run_converter(parse_args(argv), convert_file)


if __name__ == '__main__':
    main()
