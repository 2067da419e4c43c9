"""Memory rows projected once: the projections a memory keeps beside its rows, and key sets read
from them.

Shape shorthand: n rows written, M rows held, k slots of a key set, c carried rows, C channels.

A memory whose one key set feeds several GEOs (the paper's instance level: the rows of the first
FC level, and the same rows through the next FCs) keeps the projections of each GEO under names
of their own: ``level`` 0 ``'key'`` / ``'value'``, level l > 0 ``'key.l'`` / ``'value.l'``.
"""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from ..layers import ProjectedKeys
from ..memory import MemoryBank

KEY, VALUE = 'key', 'value'


def projection_names(level: int = 0) -> Tuple[str, str]:
    """The names of the key and value projections for the GEO of ``level``."""
    return (KEY, VALUE) if level == 0 else (f'{KEY}.{level}', f'{VALUE}.{level}')


def projections(geo: nn.Module, rows: Tensor, level: int = 0) -> Dict[str, Tensor]:
    """The extras a memory keeps for rows (n, C) that ``geo`` (of ``level``) will read: their key
    and value projections, each (n, C)."""
    with torch.no_grad():
        projected = geo.project_keys(rows)
    key, value = projection_names(level)
    return {key: projected.keys, value: projected.values}


def cached_key_set(geo: nn.Module, memory: MemoryBank, index: Tensor,
                   carried: Optional[Tensor] = None, level: int = 0) -> ProjectedKeys:
    """The key set of slots ``index`` (k,) of ``memory``'s projections for the GEO of ``level``,
    followed by the rows ``carried`` (c, C) that are not in the memory (projected now)."""
    keys, values = (memory.rows(name) for name in projection_names(level))
    if carried is None:
        return ProjectedKeys(keys, values, index)
    extra = geo.project_keys(carried.to(keys))
    return ProjectedKeys(torch.cat([keys[index], extra.keys]), torch.cat([values[index], extra.values]))
