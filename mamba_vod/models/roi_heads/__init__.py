"""RoI heads that take instance keys as an argument, and the temporal RoI extractor."""
from .instance_aggregation_bbox_head import InstanceAggregationBBoxHead
from .mamba_roi_head import MAMBARoIHead
from .temporal_roi_extractor import TemporalRoIAlign

__all__ = ['InstanceAggregationBBoxHead', 'MAMBARoIHead', 'TemporalRoIAlign']
