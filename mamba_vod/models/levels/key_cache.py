"""Memory rows projected once: the projections a memory keeps beside its rows, and key sets read
from them.

Shape shorthand: n rows written, M rows held, k slots of a key set, c carried rows, C channels.
"""
from typing import Dict, Optional

import torch
from torch import Tensor, nn

from ..layers import ProjectedKeys
from ..memory import MemoryBank

KEY, VALUE = 'key', 'value'


def projections(geo: nn.Module, rows: Tensor) -> Dict[str, Tensor]:
    """The extras a memory keeps for rows (n, C) that ``geo`` will read: their key and value
    projections, each (n, C)."""
    with torch.no_grad():
        projected = geo.project_keys(rows)
    return {KEY: projected.keys, VALUE: projected.values}


def cached_key_set(geo: nn.Module, memory: MemoryBank, index: Tensor,
                   carried: Optional[Tensor] = None) -> ProjectedKeys:
    """The key set of slots ``index`` (k,) of ``memory``'s projections, followed by the rows
    ``carried`` (c, C) that are not in the memory (projected now)."""
    keys, values = memory.rows(KEY), memory.rows(VALUE)
    if carried is None:
        return ProjectedKeys(keys, values, index)
    extra = geo.project_keys(carried.to(keys))
    return ProjectedKeys(torch.cat([keys[index], extra.keys]), torch.cat([values[index], extra.values]))
