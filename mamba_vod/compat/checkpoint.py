"""Checkpoint loading with ``weights_only=True`` on torch >= 2.6.

mmengine 0.10 calls ``torch.load`` without ``weights_only``; since torch 2.6 that
means ``weights_only=True``, and mmengine's own checkpoints (which pickle its
``HistoryBuffer`` and numpy values) no longer load. Instead of turning the
protection off, this module allow-lists exactly the types mmengine and mamba_vod
write, and replaces mmengine's local-file loader with one that always passes
``weights_only=True`` and turns a refused pickle into a clear error.

A pickle that would run code (``os.system``, ``eval``, any type not listed) is
refused before anything of it runs.
"""
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader


class UnsafeCheckpointError(RuntimeError):
    """The checkpoint's pickle names an object outside the allow-list."""


class CheckpointNotFoundError(FileNotFoundError):
    """A checkpoint named in a config or on the command line does not exist."""


def _history_buffer_getattr(obj, name: str):
    """The one use of ``getattr`` in mmengine checkpoints.

    ``HistoryBuffer`` pickles its registered statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Only public attributes of that class are
    reachable through this.
    """
    if obj is not HistoryBuffer or name.startswith('_'):
        raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')
    return getattr(obj, name)


def _numpy_globals() -> list:
    core = np._core if hasattr(np, '_core') else np.core
    dtype_classes = [type(np.dtype(code)) for code in '?bhilqBHILQefdgFDGUS']
    return [
        np.ndarray, np.dtype, core.multiarray.scalar, core.multiarray._reconstruct,
        *dtype_classes,
        # numpy >= 2 pickles under numpy._core, numpy 1.x under numpy.core
        (core.multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (core.multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
    ]


def safe_globals() -> list:
    """The objects (or ``(object, pickled_name)`` pairs) a checkpoint may name."""
    return [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals(),
    ]


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load(filename, weights_only=True)`` with errors that say what to do.

    Raises:
        CheckpointNotFoundError: the file does not exist.
        UnsafeCheckpointError: the pickle names an object outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointNotFoundError(
            f"checkpoint file '{filename}' not found. mamba_vod never downloads weights: put the "
            'file at that path (ImageNet backbones: torchvision\'s weights, e.g. resnet50-0676ba61.pth '
            'from download.pytorch.org/models/), or change the path in the config '
            '(e.g. --cfg-options model.backbone.init_cfg=None to train the backbone from scratch).')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).split('\n\n')[0].strip()
        raise UnsafeCheckpointError(
            f"refused to load checkpoint '{filename}': its pickle names objects that are not "
            f'allow-listed, and loading it could run code ({reason}). If you trust the file, '
            'load it once with torch.load(..., weights_only=False) and re-save its state_dict.') from None


def install_safe_checkpoint_loading() -> None:
    """Allow-lists mmengine's checkpoint types and routes local loads through
    :func:`load_checkpoint_file`. Idempotent."""
    torch.serialization.add_safe_globals(safe_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)
