"""Overrides (``cfg_options``, ``--cfg-options KEY=VALUE``) checked against the config they change.

mmengine's ``DictAction`` reads ``lr=0.02`` as a number and ``lr=fast`` as text, and merges
either; text where the config holds a number only fails deep inside the run (a TypeError in the
optimizer that never names ``lr``). :func:`check_option_types` refuses it before any work.
"""
from numbers import Real
from typing import Any, Mapping, Optional, Tuple

from mmengine.config import Config

from .config_keys import ConfigError


def _kind(value: Any) -> Optional[str]:
    """``'a number'``, ``'True or False'`` or None (a value whose type is not checked)."""
    if isinstance(value, bool):
        return 'True or False'
    if isinstance(value, Real):
        return 'a number'
    return None


def lookup(cfg: Mapping, dotted: str) -> Tuple[bool, Any]:
    """``(found, value)`` of ``dotted`` (``'a.b.0.c'``: dict keys, list indices) in ``cfg``."""
    node = cfg
    for part in dotted.split('.'):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def check_option_types(cfg: Mapping, options: Mapping[str, Any]) -> None:
    """Raises :class:`ConfigError` for an option whose value is not of the kind the config holds
    there: a number (int or float) or a bool replaced by something else (None is allowed: it
    switches a setting off).

    Args:
        cfg: the config (a Config or a dict) before the options are merged.
        options: ``{'a.b.c': value}``.
    """
    tree = cfg.to_dict() if isinstance(cfg, Config) else cfg
    for key, value in options.items():
        found, old = lookup(tree, key)
        expected = _kind(old) if found else None
        if expected is None or value is None or _kind(value) == expected:
            continue
        raise ConfigError(f"cfg_options '{key}={value}': the config holds {expected} there ({old!r}), not "
                          f'{type(value).__name__} {value!r}; give {expected}')
