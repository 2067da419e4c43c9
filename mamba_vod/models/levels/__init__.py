"""MAMBA's two levels of aggregation, each with its GEO(s) and memory: reset / keys / enhance / update."""
from .instance_keys import InstanceKeys
from .instance_level import InstanceLevel
from .pixel_level import PixelLevel, PixelReferences
from .pixel_sampling import pixels_in_boxes, sample_pixels
from .relation_level import RelationBatchKeys, RelationKeys, RelationLevel
from .relation_state import RelationState

__all__ = ['InstanceKeys', 'InstanceLevel', 'PixelLevel', 'PixelReferences', 'RelationBatchKeys', 'RelationKeys',
           'RelationLevel', 'RelationState', 'pixels_in_boxes', 'sample_pixels']
