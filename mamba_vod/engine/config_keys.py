"""Config keys that look like mistakes: misspelt runner keys, and nested keys no one reads.

mmengine's Runner reads a fixed set of top-level keys and silently ignores the rest, since
configs also hold helper variables (``data_root``, ``train_pipeline`` ...). A key that is
none of the runner's but within a small edit distance of one (``defualt_hooks``) is almost
certainly a typo whose setting would be lost, so :func:`check_config_keys` names it.

Nested keys are checked where their schema is known (:mod:`.config_schema`: the model's parts
and the runner's loops): a key a class cannot take is an error (:class:`ConfigError`, before any
work: building it would fail), a key mmdet would ignore (``model.test_cfg.rcnn.score_thre``)
is warned about, and so is a key near an argument of a class that takes ``**kwargs``. The keys
come from the file and from ``cfg_options`` alike; the messages say which.
"""
import inspect
import warnings
from typing import Iterable, List, Optional, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

from .config_schema import Schema, nested_schemas

# Top-level keys mmengine's Runner (and its model wrapping) reads, besides its constructor's arguments.
_RUNNER_EXTRA_KEYS = ('model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'efficient_conv_bn_eval', 'compile',
                      'activation_checkpointing', 'runner_type', 'tta_model', 'tta_pipeline')


class ConfigError(ValueError):
    """A config mistake found before any work (a key a class cannot take, a value of the wrong
    type, a syntax error); the message names the key or the file and line."""


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


def nearest_key(key: str, known: Iterable[str]) -> Optional[str]:
    """The name of ``known`` that ``key`` is a likely misspelling of: within an edit distance of
    1 for names up to 7 letters, 2 above; None when none is that near."""
    known = sorted(known)
    if not known:
        return None
    nearest = min(known, key=lambda name: _edit_distance(key, name))
    return nearest if _edit_distance(key, nearest) <= (1 if len(nearest) <= 7 else 2) else None


def misspelt_keys(cfg: Config) -> dict:
    """``{key: runner_key}`` for top-level keys that are no runner key but within a small edit
    distance of one (see :func:`nearest_key`): a misspelling the Runner would silently ignore.
    Helper variables (``data_root``, ``train_pipeline`` ...) are far from all."""
    known = runner_keys()
    found = {}
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        nearest = nearest_key(key, known)
        if nearest is not None:
            found[key] = nearest
    return found


def unknown_nested_keys(cfg: Config) -> List[Tuple[str, Schema, Optional[str]]]:
    """``(dotted key, schema, nearest known key)`` for the nested keys outside their known
    schema: every one where the schema is closed (``'fails'``, ``'ignored'``), and those near a
    known key where it is open (``'maybe'``)."""
    found = []
    for schema in nested_schemas(cfg):
        for key in schema.node:
            if key in schema.keys:
                continue
            nearest = nearest_key(key, schema.keys)
            if schema.unknown != 'maybe' or nearest is not None:
                found.append((f'{schema.path}.{key}', schema, nearest))
    return found


def _origin(key: str, source: str, option_keys: Iterable[str]) -> str:
    """``'cfg_options'`` when an option set ``key`` (or a key inside it), else ``source``."""
    from_options = any(option == key or option.startswith(key + '.') or key.startswith(option + '.')
                       for option in option_keys)
    return 'cfg_options' if from_options else source


def _unknown_key_message(key: str, schema: Schema, nearest: Optional[str]) -> str:
    hint = f"did you mean '{nearest}'?" if nearest else f"it takes: {', '.join(sorted(schema.keys - {'type'}))}"
    if schema.unknown == 'fails':
        return f"'{key}' is not an argument of {schema.owner}, so building it would fail; {hint}"
    if schema.unknown == 'ignored':
        return f"'{key}' is not a setting {schema.owner} read, so it is ignored; {hint}"
    return f"'{key}' is not an argument of {schema.owner} (which passes other keys on); {hint}"


def check_config_keys(cfg: Config, source: str, option_keys: Iterable[str] = ()) -> None:
    """Warns (UserWarning) about each of :func:`misspelt_keys` and :func:`unknown_nested_keys`,
    naming where the key comes from (``source``, e.g. ``"config 'a.py'"``, or ``cfg_options``
    for the keys of ``option_keys``).

    Raises:
        ConfigError: a key a class cannot take (building the config would fail).
    """
    option_keys = list(option_keys)
    for key, nearest in misspelt_keys(cfg).items():
        warnings.warn(f"{_origin(key, source, option_keys)}: top-level key '{key}' is not a key the runner reads, "
                      f"so it is ignored; did you mean '{nearest}'?", stacklevel=3)
    for key, schema, nearest in unknown_nested_keys(cfg):
        message = f'{_origin(key, source, option_keys)}: {_unknown_key_message(key, schema, nearest)}'
        if schema.unknown == 'fails':
            raise ConfigError(message)
        warnings.warn(message, stacklevel=3)
