"""Makes mmcv-lite, mmdet 3.3 and mmengine 0.10 work on current PyTorch.

- :mod:`.mmcv_ext`: provides ``mmcv._ext`` (nms, RoIAlign via torchvision) when
  no compiled mmcv is installed.
- :mod:`.checkpoint`: ``weights_only=True`` checkpoint loading that still resumes
  mmengine checkpoints; :mod:`.checkpoint_sources`: every source mmengine names a
  checkpoint by (file, URL, ``torchvision://`` ...) ends in that load.
- :mod:`.distributed`: torchrun + gloo on machines without a GPU.
"""
from .checkpoint import (CheckpointError, CheckpointNotFoundError, InvalidCheckpointError, UnsafeCheckpointError,
                         allow_checkpoint_types, load_checkpoint_file, safe_load)
from .checkpoint_sources import CheckpointDownloadError, hub_cache_path, install_safe_checkpoint_sources
from .distributed import install_cpu_distributed
from .mmcv_ext import MissingMmcvOpError, install_mmcv_ext, real_mmcv_ext_available


def install_safe_checkpoint_loading() -> None:
    """Allow-lists mmengine's checkpoint types and routes every checkpoint source through the
    safe load. Idempotent."""
    allow_checkpoint_types()
    install_safe_checkpoint_sources()


def prepare() -> None:
    """Installs the mmcv ops provider and safe checkpoint loading. Idempotent."""
    install_mmcv_ext()
    install_safe_checkpoint_loading()
    install_cpu_distributed()


__all__ = [
    'prepare', 'install_mmcv_ext', 'real_mmcv_ext_available', 'MissingMmcvOpError',
    'install_safe_checkpoint_loading', 'load_checkpoint_file', 'safe_load', 'hub_cache_path', 'CheckpointError',
    'UnsafeCheckpointError', 'InvalidCheckpointError', 'CheckpointNotFoundError', 'CheckpointDownloadError',
    'install_cpu_distributed'
]
