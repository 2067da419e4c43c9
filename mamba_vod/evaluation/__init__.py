"""ImageNet VID evaluation: array-level functions and the VIDMetric."""
from .functional import eval_vid_map
from .metrics import VIDMetric

__all__ = ['VIDMetric', 'eval_vid_map']
