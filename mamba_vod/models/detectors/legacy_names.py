"""Checkpoints written before the level modules keep loading: their parameter names are mapped.

Until the levels owned their GEOs, the pixel GEO was ``pixel_aggregator.geo`` and the instance
GEOs ``roi_head.bbox_head.aggregators.i``; now they are ``pixel_level.geo`` and
``instance_level.geos.i`` (the same tensors, in the same parameter order).
"""
import logging
from typing import Dict

from mmengine.logging import print_log

LEGACY_PREFIXES: Dict[str, str] = {
    'pixel_aggregator.geo.': 'pixel_level.geo.',
    'roi_head.bbox_head.aggregators.': 'instance_level.geos.',
}


def rename_legacy_keys(state_dict: dict, prefix: str, *args) -> None:
    """A ``load_state_dict`` pre-hook of the detector: renames, in place, the keys of
    ``state_dict`` under ``prefix`` that carry an old name, and says so in one line."""
    renamed = 0
    for key in [key for key in state_dict if key.startswith(prefix)]:
        local = key[len(prefix):]
        for old, new in LEGACY_PREFIXES.items():
            if local.startswith(old):
                state_dict[prefix + new + local[len(old):]] = state_dict.pop(key)
                renamed += 1
                break
    if renamed:
        mapping = ', '.join(f'{old}* -> {new}*' for old, new in LEGACY_PREFIXES.items())
        print_log(f'checkpoint from an older mamba_vod: renamed {renamed} parameters ({mapping})',
                  logger='current', level=logging.WARNING)
