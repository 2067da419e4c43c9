"""Whether a checkpoint fits a model, found on the model's real loading path.

A checkpoint of another model loads "successfully" in mmengine: the parameters it lacks
and those of another shape keep their random initialisation, with a warning that is easy
to miss. Here the checkpoint goes through ``nn.Module.load_state_dict`` itself, so the
model's own load-state-dict pre-hooks (e.g. one that renames old parameter names) run
first and the fit is judged on what the model really receives:

- :func:`load_state_dict_fit` loads leniently (as mmengine does: tensors of another shape
  are skipped) and returns a :class:`CheckpointFit`: missing, unexpected and mis-shaped keys;
- :func:`load_weights` reads a checkpoint from any source (the safe load of
  :mod:`mamba_vod.compat`), loads it into a built model and refuses a partial fit unless
  ``allow_partial`` (used by :func:`mamba_vod.apis.init_detector`);
- :func:`check_checkpoint_fit` does the same on a model built from a config on the meta
  device (no memory, no initialisation), before a Runner loads the checkpoint its own way:
  ``tools/test.py`` refuses a partial fit, training's ``load_from`` reports what starts untrained.
"""
import logging
import re
from collections import OrderedDict
from typing import Dict, List, NamedTuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from torch import nn

from mamba_vod.compat import CheckpointError
from mamba_vod.registry import MODELS

# torch reports a shape mismatch only in the text of its error; this reads the key and both shapes.
_SIZE_MISMATCH = re.compile(r'size mismatch for (\S+): copying a param with shape torch\.Size\((\[[^\]]*\])\) '
                            r'from checkpoint, the shape in current model is torch\.Size\((\[[^\]]*\])\)')
_LISTED = 5  # keys named in a message


class CheckpointMismatchError(CheckpointError):
    """A checkpoint leaves parameters of the model untrained (missing or of another shape)."""


class CheckpointFit(NamedTuple):
    """What loading a state dict left undone, after the model's load hooks.

    Attributes:
        missing: model keys the state dict does not fill (BatchNorm's counters aside).
        unexpected: state dict keys the model has no place for (ignored by the load).
        mismatched: ``key checkpoint-shape vs model-shape`` for tensors of another shape (skipped).
        model_keys: every key of the model's state dict (to name whole untrained parts).
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[str]
    model_keys: List[str]

    @property
    def complete(self) -> bool:
        """Every parameter and buffer of the model was loaded."""
        return not self.missing and not self.mismatched

    def untrained_parts(self) -> List[str]:
        """The largest modules (dotted names) all of whose tensors stay untrained, and single
        tensors elsewhere; in model order."""
        untrained = set(self.missing) | {entry.split(' ')[0] for entry in self.mismatched}
        parts = []
        for key in (key for key in self.model_keys if key in untrained):
            part = key
            for prefix in _prefixes(key):
                if all(k in untrained for k in self.model_keys if k.startswith(prefix + '.')):
                    part = prefix
                    break
            if part not in parts:
                parts.append(part)
        return parts

    def describe(self) -> str:
        """One line: what is untrained and why, naming the first keys."""
        problems = []
        if self.missing:
            problems.append(f'{len(self.missing)} model tensor(s) missing from the checkpoint '
                            f'(first: {_first(self.missing)})')
        if self.mismatched:
            problems.append(f'{len(self.mismatched)} of another shape, checkpoint vs model '
                            f'(first: {_first(self.mismatched)})')
        return '; '.join(problems)


def _prefixes(key: str) -> List[str]:
    """``a.b.c.weight`` -> ``['a', 'a.b', 'a.b.c']`` (outermost first)."""
    names = key.split('.')[:-1]
    return ['.'.join(names[:end]) for end in range(1, len(names) + 1)]


def _first(keys: List[str]) -> str:
    return ', '.join(keys[:_LISTED]) + (', ...' if len(keys) > _LISTED else '')


def state_dict_of(checkpoint, name: str) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint (``checkpoint['state_dict']`` or the checkpoint
    itself), without the ``module.`` prefix of a wrapped model; torch's metadata is kept."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint '{name}' holds a {type(checkpoint).__name__}, not a state dict; "
                              'save model.state_dict() (or a dict with "state_dict")')
    state_dict = checkpoint.get('state_dict', checkpoint)
    renamed = OrderedDict((re.sub(r'^module\.', '', key), value) for key, value in state_dict.items())
    renamed._metadata = getattr(state_dict, '_metadata', OrderedDict())
    return renamed


def load_state_dict_fit(model: nn.Module, state_dict: Dict[str, torch.Tensor], *,
                        assign: bool = False) -> CheckpointFit:
    """Loads ``state_dict`` into ``model`` (unwrapped) through ``load_state_dict(strict=False)``:
    pre-hooks run, tensors of another shape are skipped; returns what did not fit."""
    model = model.module if is_model_wrapper(model) else model
    seen = {}

    def record(_module, incompatible) -> None:
        seen.update(missing=list(incompatible.missing_keys), unexpected=list(incompatible.unexpected_keys))

    handle = model.register_load_state_dict_post_hook(record)
    mismatched = []
    try:
        model.load_state_dict(state_dict, strict=False, assign=assign)
    except RuntimeError as error:  # torch copies what fits, then raises for the shape mismatches
        mismatched = [f'{key} {source} vs {target}' for key, source, target in _SIZE_MISMATCH.findall(str(error))]
        if not mismatched:
            raise
    finally:
        handle.remove()
    missing = [key for key in seen.get('missing', []) if not key.endswith('num_batches_tracked')]
    return CheckpointFit(missing, seen.get('unexpected', []), mismatched, list(model.state_dict().keys()))


def enforce_fit(fit: CheckpointFit, name: str, *, allow_partial: bool) -> None:
    """Raises :class:`CheckpointMismatchError` for a partial fit unless ``allow_partial``
    (then warns, naming the untrained parts); warns about ignored checkpoint keys."""
    if fit.unexpected:
        print_log(f"checkpoint '{name}': {len(fit.unexpected)} tensor(s) have no place in the model and are "
                  f'ignored (first: {_first(fit.unexpected)})', logger='current', level=logging.WARNING)
    if fit.complete:
        return
    if not allow_partial:
        raise CheckpointMismatchError(
            f"checkpoint '{name}' does not fit the model of the config: {fit.describe()}. Use the checkpoint "
            'trained with this config, or allow the untrained parts with --allow-partial (allow_partial=True)')
    print_log(f"checkpoint '{name}' leaves these parts of the model untrained: {', '.join(fit.untrained_parts())}",
              logger='current', level=logging.WARNING)


def load_weights(model: nn.Module, checkpoint: str, *, allow_partial: bool = False, map_location='cpu') -> dict:
    """Loads ``checkpoint`` (a path, URL or URI such as ``torchvision://``; the safe load) into
    ``model``; returns the loaded checkpoint (for its ``meta``).

    Raises:
        CheckpointMismatchError: the checkpoint leaves model tensors untrained and not ``allow_partial``.
    """
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location)
    fit = load_state_dict_fit(model, state_dict_of(loaded, checkpoint))
    enforce_fit(fit, checkpoint, allow_partial=allow_partial)
    return loaded


def check_checkpoint_fit(cfg: Config, checkpoint: str, *, allow_partial: bool = False) -> CheckpointFit:
    """The fit of ``checkpoint`` to the model of ``cfg``, built on the meta device (neither memory
    nor initialisation); raises or warns as :func:`enforce_fit` does."""
    init_default_scope(cfg.get('default_scope', 'mamba_vod'))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    loaded = CheckpointLoader.load_checkpoint(checkpoint, 'cpu')
    fit = load_state_dict_fit(model, state_dict_of(loaded, checkpoint), assign=True)
    enforce_fit(fit, checkpoint, allow_partial=allow_partial)
    return fit


def report_untrained_parts(cfg: Config) -> None:
    """For training from ``cfg.load_from`` (not a resume): logs which parts of the model the
    checkpoint leaves to their initialisation. Training goes on either way (mmdet's behaviour)."""
    if not cfg.get('load_from') or cfg.get('resume'):
        return
    fit = check_checkpoint_fit(cfg, cfg.load_from, allow_partial=True)
    if fit.complete:
        print_log(f"load_from '{cfg.load_from}' fills every tensor of the model", logger='current')
