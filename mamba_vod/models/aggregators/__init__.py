"""Feature aggregators of the video detectors."""
from .pixel_aggregator import PixelAggregator, pixels_in_boxes, sample_pixels

__all__ = ['PixelAggregator', 'sample_pixels', 'pixels_in_boxes']
