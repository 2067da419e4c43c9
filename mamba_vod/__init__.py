"""mamba_vod: MAMBA video object detection on MMDetection 3.x.

Importing the package prepares mmcv/mmdet for current PyTorch (see
:mod:`mamba_vod.compat`); modules register themselves in :mod:`mamba_vod.registry`
when a config in the ``mamba_vod`` scope first needs them.
"""
from .compat import prepare as _prepare_compat
from .version import __version__

_prepare_compat()

__all__ = ['__version__']
