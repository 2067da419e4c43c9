"""Models of mamba_vod; importing this registers them in :mod:`mamba_vod.registry`."""
from . import data_preprocessors, detectors, layers, levels, memory, motion, roi_heads  # noqa: F401
