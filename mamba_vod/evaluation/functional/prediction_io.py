"""VID predictions as flat arrays, and their dump file (.npz, no pickle).

Shape shorthand: K predicted images, N detections.

The dump holds five arrays: ``img_ids`` (K,) json image ids, ``num_dets``
(K,) detections per image, and, image after image, ``bboxes`` (N, 4) float32
x1, y1, x2, y2 in original-image pixels, ``scores`` (N,) float32 and
``labels`` (N,) int32 class indices 0..C-1. It is read with
``allow_pickle=False``.
"""
import json
import os
import tempfile
from typing import BinaryIO, Callable, NamedTuple, Sequence

import numpy as np

FIELDS = ('img_ids', 'num_dets', 'bboxes', 'scores', 'labels')


class VIDPredictions(NamedTuple):
    img_ids: np.ndarray
    num_dets: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def stack_predictions(results: Sequence[dict]) -> VIDPredictions:
    """Join per-image results (dicts with ``img_id``, ``bboxes`` (n, 4),
    ``scores`` (n,), ``labels`` (n,)) into one :class:`VIDPredictions`."""
    if not results:
        return VIDPredictions(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.float32),
                              np.zeros(0, np.float32), np.zeros(0, np.int32))
    return VIDPredictions(
        img_ids=np.array([r['img_id'] for r in results], dtype=np.int64),
        num_dets=np.array([len(r['scores']) for r in results], dtype=np.int64),
        bboxes=np.concatenate([np.asarray(r['bboxes'], np.float32).reshape(-1, 4) for r in results]),
        scores=np.concatenate([np.asarray(r['scores'], np.float32).reshape(-1) for r in results]),
        labels=np.concatenate([np.asarray(r['labels'], np.int32).reshape(-1) for r in results]))


def atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file in the folder of ``path``, then
    rename it to ``path`` (``os.replace``): a crash never leaves a partial
    file. The folder is created if needed."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp files are private; give open()'s permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2).encode('utf-8')))


def save_vid_predictions(path: str, preds: VIDPredictions) -> None:
    """Write ``preds`` to ``path`` (.npz) atomically."""
    check_predictions(preds, path)
    atomic_write(path, lambda f: np.savez(f, **preds._asdict()))


def load_vid_predictions(path: str) -> VIDPredictions:
    """Read a dump written by :func:`save_vid_predictions` (or VIDMetric's
    ``dump_file``)."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as err:
        raise ValueError(f'{path}: not a readable .npz prediction dump ({err})') from err
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f'{path}: a single array, not an .npz prediction dump')
    with data:
        missing = [k for k in FIELDS if k not in data.files]
        if missing:
            raise ValueError(f'{path}: missing array(s) {missing}; expected {list(FIELDS)} as '
                             'written by VIDMetric(dump_file=...)')
        preds = VIDPredictions(**{k: data[k] for k in FIELDS})
    check_predictions(preds, path)
    return preds


def check_predictions(preds: VIDPredictions, source: str) -> None:
    """Raise a ValueError naming ``source`` and the field if shapes disagree."""
    num = int(preds.num_dets.sum()) if preds.num_dets.size else 0
    problems = []
    if preds.img_ids.shape != preds.num_dets.shape or preds.img_ids.ndim != 1:
        problems.append(f'img_ids {preds.img_ids.shape} and num_dets {preds.num_dets.shape} must '
                        'be equal 1-d shapes')
    if preds.bboxes.shape != (num, 4):
        problems.append(f'bboxes has shape {preds.bboxes.shape}, expected ({num}, 4) = sum(num_dets)')
    for name in ('scores', 'labels'):
        if getattr(preds, name).shape != (num,):
            problems.append(f'{name} has shape {getattr(preds, name).shape}, expected ({num},)')
    if problems:
        raise ValueError(f'{source}: ' + '; '.join(problems))
