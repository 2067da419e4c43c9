"""RoI heads that take instance keys as an argument, and the temporal RoI extractor."""
from .instance_aggregation_bbox_head import InstanceAggregationBBoxHead
from .mamba_roi_head import MAMBARoIHead
from .relation_bbox_head import RelationBBoxHead, RelationRoIHead
from .requirements import require_roi_head
from .res5_roi_extractor import Res5RoIExtractor
from .temporal_roi_extractor import TemporalRoIAlign

__all__ = ['InstanceAggregationBBoxHead', 'MAMBARoIHead', 'RelationBBoxHead', 'RelationRoIHead', 'Res5RoIExtractor',
           'TemporalRoIAlign', 'require_roi_head']
