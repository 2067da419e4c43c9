"""Makes mmcv-lite, mmdet 3.3 and mmengine 0.10 work on current PyTorch.

- :mod:`.mmcv_ext`: provides ``mmcv._ext`` (nms, RoIAlign via torchvision) when
  no compiled mmcv is installed.
- :mod:`.checkpoint`: ``weights_only=True`` checkpoint loading that still resumes
  mmengine checkpoints.
"""
from .checkpoint import (CheckpointNotFoundError, UnsafeCheckpointError, install_safe_checkpoint_loading,
                         load_checkpoint_file)
from .mmcv_ext import MissingMmcvOpError, install_mmcv_ext, real_mmcv_ext_available


def prepare() -> None:
    """Installs the mmcv ops provider and safe checkpoint loading. Idempotent."""
    install_mmcv_ext()
    install_safe_checkpoint_loading()


__all__ = [
    'prepare', 'install_mmcv_ext', 'real_mmcv_ext_available', 'MissingMmcvOpError',
    'install_safe_checkpoint_loading', 'load_checkpoint_file', 'UnsafeCheckpointError',
    'CheckpointNotFoundError'
]
