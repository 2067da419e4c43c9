"""Layers of mamba_vod's models: :class:`GEO`, the attention over the memory bank;
:class:`EmbedAggregator`, FGFA's per-pixel aggregation of warped maps; :class:`RelationModule`,
MEGA/RDN's attention over proposals with box geometry."""
from .embed_aggregator import EmbedAggregator
from .geo import GEO, ProjectedKeys
from .relation_module import RelationModule, box_geometry_embedding, relative_box_geometry

__all__ = [
    'EmbedAggregator', 'GEO', 'ProjectedKeys', 'RelationModule', 'box_geometry_embedding', 'relative_box_geometry'
]
