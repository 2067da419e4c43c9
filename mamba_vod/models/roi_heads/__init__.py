"""RoI heads with instance-level aggregation."""
from .instance_aggregation_bbox_head import InstanceAggregationBBoxHead
from .mamba_roi_head import InstanceKeys, MAMBARoIHead

__all__ = ['InstanceAggregationBBoxHead', 'MAMBARoIHead', 'InstanceKeys']
