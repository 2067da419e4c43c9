"""Top-level config keys that look like a misspelt runner key.

mmengine's Runner reads a fixed set of top-level keys and silently ignores the rest, since
configs also hold helper variables (``data_root``, ``train_pipeline`` ...). A key that is
none of the runner's but within a small edit distance of one (``defualt_hooks``) is almost
certainly a typo whose setting would be lost, so :func:`warn_misspelt_keys` names it.
"""
import inspect
import warnings

from mmengine.config import Config
from mmengine.runner import Runner

# Top-level keys mmengine's Runner (and its model wrapping) reads, besides its constructor's arguments.
_RUNNER_EXTRA_KEYS = ('model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'efficient_conv_bn_eval', 'compile',
                      'activation_checkpointing', 'runner_type', 'tta_model', 'tta_pipeline')


def runner_keys() -> frozenset:
    """The top-level config keys a Runner acts on."""
    arguments = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    return frozenset(arguments | set(_RUNNER_EXTRA_KEYS))


def _edit_distance(first: str, second: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(second) + 1))
    for i, char in enumerate(first, 1):
        current = [i]
        for j, other in enumerate(second, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def misspelt_keys(cfg: Config) -> dict:
    """``{key: runner_key}`` for top-level keys that are no runner key but within a small edit
    distance of one (1 for keys up to 7 letters, 2 above): a misspelling the Runner would
    silently ignore. Helper variables (``data_root``, ``train_pipeline`` ...) are far from all."""
    known = runner_keys()
    found = {}
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        nearest = min(known, key=lambda name: _edit_distance(key, name))
        if _edit_distance(key, nearest) <= (1 if len(nearest) <= 7 else 2):
            found[key] = nearest
    return found


def warn_misspelt_keys(cfg: Config, source: str) -> None:
    """Warns (UserWarning) about each of :func:`misspelt_keys`, naming ``source``."""
    for key, nearest in misspelt_keys(cfg).items():
        warnings.warn(f"{source}: top-level key '{key}' is not a key the runner reads, so it is ignored; "
                      f"did you mean '{nearest}'?", stacklevel=4)
