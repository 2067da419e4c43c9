"""RoI heads that take instance keys as an argument."""
from .instance_aggregation_bbox_head import InstanceAggregationBBoxHead
from .mamba_roi_head import MAMBARoIHead

__all__ = ['InstanceAggregationBBoxHead', 'MAMBARoIHead']
