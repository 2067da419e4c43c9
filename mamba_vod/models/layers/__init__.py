"""Layers of mamba_vod's models: :class:`GEO`, the attention over the memory bank."""
from .geo import GEO, ProjectedKeys

__all__ = ['GEO', 'ProjectedKeys']
