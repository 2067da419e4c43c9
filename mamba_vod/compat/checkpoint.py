"""Checkpoint deserialisation with ``weights_only=True`` on torch >= 2.6: the one safe load.

mmengine 0.10 calls ``torch.load`` without ``weights_only``; since torch 2.6 that
means ``weights_only=True``, and mmengine's own checkpoints (which pickle its
``HistoryBuffer`` and numpy values) no longer load. Instead of turning the
protection off, this module allow-lists exactly the types mmengine and mamba_vod
write, and every checkpoint mamba_vod reads, from any source (local file, URL,
``torchvision://`` ...: :mod:`.checkpoint_sources`), ends in :func:`safe_load`.

A pickle that would run code (``os.system``, ``eval``, any type not listed) is
refused before anything of it runs. A file that is not a checkpoint at all (empty,
text, an HTML error page, cut short) gets an error that says so, not a pickle error.
"""
import io
import os.path as osp
import pickle
from typing import BinaryIO, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from mamba_vod.utils import check_input_file

# torch.save writes a zip archive; its legacy format (and plain pickles) start with PROTO.
_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_PROTO = b'\x80'


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names it and says what to do."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint's pickle names an object outside the allow-list."""


class InvalidCheckpointError(CheckpointError):
    """The file is not a checkpoint torch.save wrote: empty, cut short, or another kind of file."""


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


def _check_header(head: bytes, name: str) -> None:
    """Refuses what cannot be a torch.save file, by its first bytes."""
    if not head:
        raise InvalidCheckpointError(
            f"checkpoint '{name}' is empty (0 bytes): a download or a save was cut short; "
            'delete it and download or save it again')
    if not head.startswith((_ZIP_MAGIC, _PICKLE_PROTO)):
        preview = head[:24].decode('ascii', 'replace')
        raise InvalidCheckpointError(
            f"'{name}' is not a PyTorch checkpoint (it starts with {preview!r}, not with the bytes "
            'torch.save writes); pass the .pth file itself (a download that saved an error page '
            'gives such a file)')


def _refusal(error: Exception, name: str) -> CheckpointError:
    """The error to raise for a failed weights-only load of ``name``."""
    if isinstance(error, pickle.UnpicklingError):
        reason = [part.strip() for part in str(error).split('\n\n') if part.strip()]
        detail = next((part for part in reason if 'GLOBAL' in part), reason[-1] if reason else '')
        return UnsafeCheckpointError(
            f"refused to load checkpoint '{name}': its pickle names objects that are not "
            f'allow-listed, and loading it could run code ({detail}). If you trust the file, '
            'load it once with torch.load(..., weights_only=False) and re-save its state_dict.')
    return InvalidCheckpointError(
        f"checkpoint '{name}' is damaged or cut short ({type(error).__name__}: "
        f"{str(error).splitlines()[0] if str(error) else 'unexpected end of file'}); "
        'download or save it again')


def safe_load(source: Union[str, BinaryIO], name: str, map_location=None):
    """``torch.load(source, weights_only=True)`` with errors that say what to do.

    Args:
        source: a file path or a binary file object (positioned at the start).
        name: how the error messages name the checkpoint (a path or URL).

    Raises:
        InvalidCheckpointError: empty, cut short, or not a torch.save file.
        UnsafeCheckpointError: the pickle names an object outside the allow-list.
    """
    if isinstance(source, str):
        with open(source, 'rb') as file:
            head = file.read(64)
    else:
        head = source.read(64)
        source.seek(0)
    _check_header(head, name)
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, KeyError, ValueError) as error:
        raise _refusal(error, name) from None


def load_checkpoint_file(filename: str, map_location=None):
    """:func:`safe_load` of a local file.

    Raises:
        CheckpointNotFoundError: the file does not exist.
        IsADirectoryError: ``filename`` is a directory.
        InvalidCheckpointError, UnsafeCheckpointError: see :func:`safe_load`.
    """
    filename = osp.expanduser(filename)
    check_input_file(filename, 'checkpoint file', 'check the path, or name the weights by URL (https://..., '
                     'torchvision://resnet50, open-mmlab://...: downloaded once into the torch hub cache), or leave '
                     'them out (--cfg-options model.backbone.init_cfg=None trains the backbone from scratch)',
                     missing=CheckpointNotFoundError)
    return safe_load(filename, filename, map_location)


def load_checkpoint_bytes(data: bytes, name: str, map_location=None):
    """:func:`safe_load` of a checkpoint held in memory (e.g. read from object storage)."""
    with io.BytesIO(data) as buffer:
        return safe_load(buffer, name, map_location)


def allow_checkpoint_types() -> None:
    """Allow-lists mmengine's checkpoint types for ``weights_only`` loads. Idempotent."""
    torch.serialization.add_safe_globals(safe_globals())
