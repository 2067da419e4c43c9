"""Models of mamba_vod; importing this registers them in :mod:`mamba_vod.registry`."""
from . import aggregators, data_preprocessors, detectors, layers, memory, roi_heads  # noqa: F401
