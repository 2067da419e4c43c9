"""Makes mmcv-lite, mmdet 3.3 and mmengine 0.10 work on current PyTorch.

- :mod:`.mmcv_ext`: provides ``mmcv._ext`` (nms, RoIAlign via torchvision) when
  no compiled mmcv is installed.
- :mod:`.checkpoint`: ``weights_only=True`` checkpoint loading that still resumes
  mmengine checkpoints.
- :mod:`.distributed`: torchrun + gloo on machines without a GPU.
"""
from .checkpoint import (CheckpointNotFoundError, UnsafeCheckpointError, install_safe_checkpoint_loading,
                         load_checkpoint_file)
from .distributed import install_cpu_distributed
from .mmcv_ext import MissingMmcvOpError, install_mmcv_ext, real_mmcv_ext_available


def prepare() -> None:
    """Installs the mmcv ops provider and safe checkpoint loading. Idempotent."""
    install_mmcv_ext()
    install_safe_checkpoint_loading()
    install_cpu_distributed()


__all__ = [
    'prepare', 'install_mmcv_ext', 'real_mmcv_ext_available', 'MissingMmcvOpError',
    'install_safe_checkpoint_loading', 'load_checkpoint_file', 'UnsafeCheckpointError',
    'CheckpointNotFoundError', 'install_cpu_distributed'
]
