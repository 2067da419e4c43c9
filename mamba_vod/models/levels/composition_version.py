"""Checkpoints of the instance level written before its ``composition`` option: they load (the
parameter names did not change), with a warning where the model composes them differently.

Before the option, every instance level was composed fc -> GEO -> ReLU with one memory per FC
level (what ``composition='release'`` computes); the paper-form configs now set
``composition='paper'``, so weights trained the old way give other outputs there. A checkpoint
tells which code wrote it by the version PyTorch stores for every module in a state dict's
``_metadata`` (``nn.Module._version``; mmengine's ``save_checkpoint`` keeps it, and it loads
with ``weights_only=True``): :data:`COMPOSITION_VERSION` and above know the option.
"""
import logging

from mmengine.logging import print_log

#: the :class:`InstanceLevel` version from which checkpoints know ``composition``
COMPOSITION_VERSION = 2


def warn_on_older_composition(level, state_dict: dict, prefix: str, local_metadata: dict, *args) -> None:
    """A ``load_state_dict`` pre-hook of an :class:`InstanceLevel` (``with_module=True``): one
    warning when a paper-composed level loads weights written before the option (a version
    below :data:`COMPOSITION_VERSION`, or none: state dicts of older code, or rebuilt without
    metadata). Changes nothing."""
    version = (local_metadata or {}).get('version')
    if level.composition == 'release' or (version is not None and version >= COMPOSITION_VERSION):
        return
    if not any(key.startswith(prefix) for key in state_dict):
        return  # no instance-level weights (e.g. a single-frame detector's) in this state dict
    print_log('these weights were trained before the instance level had a composition option, composed '
              'fc -> GEO -> ReLU with a memory per FC level; this model composes the paper\'s way (ReLU before '
              'each GEO, one memory), so its outputs differ from those the weights were trained for. To get '
              "them, select the old composition: --cfg-options model.instance_level.composition=release "
              "(or composition='release' in the config's instance_level)", logger='current', level=logging.WARNING)
