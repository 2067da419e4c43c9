"""MMEngine metrics of mamba_vod."""
from .vid_metric import VIDMetric

__all__ = ['VIDMetric']
