"""VID predictions as flat arrays, their dump file (.npz, no pickle), and their checks.

Shape shorthand: K predicted images, N detections, C classes.

The dump holds five arrays: ``img_ids`` (K,) json image ids, ``num_dets``
(K,) detections per image, and, image after image, ``bboxes`` (N, 4) float32
x1, y1, x2, y2 in original-image pixels, ``scores`` (N,) float32 and
``labels`` (N,) int32 class indices 0..C-1; and what the predictions were made
for: ``gt_digest``, the digest of the ground-truth json's images and categories
(:func:`~.vid_annotations.annotation_digest`), and ``gt_file``, its path. Image
ids alone cannot tie a dump to its json (every synthetic json numbers its images
1..N); the digest can. A dump written before the record existed has neither. It
is read with ``allow_pickle=False``.
"""
import json
from typing import NamedTuple, Optional, Sequence

import numpy as np

from mamba_vod.utils import atomic_open, atomic_write

FIELDS = ('img_ids', 'num_dets', 'bboxes', 'scores', 'labels')
RECORD_FIELDS = ('gt_digest', 'gt_file')
_LISTED = 3  # image ids named in a message


class VIDPredictions(NamedTuple):
    """The arrays of the module docstring; ``gt_digest`` / ``gt_file`` None when unknown."""
    img_ids: np.ndarray
    num_dets: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    gt_digest: Optional[str] = None
    gt_file: Optional[str] = None


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


def write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (missing folders are created)."""
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, indent=2)


def save_vid_predictions(path: str, preds: VIDPredictions) -> None:
    """Write ``preds`` (and its ``gt_digest`` / ``gt_file`` record, when known) to ``path``
    (.npz) atomically."""
    check_predictions(preds, path)
    arrays = {key: value for key, value in preds._asdict().items() if value is not None}
    arrays.update({key: np.array(arrays[key]) for key in RECORD_FIELDS if key in arrays})
    atomic_write(path, lambda f: np.savez(f, **arrays))


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
        record = {k: str(data[k]) for k in RECORD_FIELDS if k in data.files}
        preds = VIDPredictions(**{k: data[k] for k in FIELDS}, **record)
    check_predictions(preds, path)
    return preds


def check_predictions(preds: VIDPredictions, source: str) -> None:
    """Raise a ValueError naming ``source`` and the field if shapes disagree."""
    num = int(preds.num_dets.sum()) if preds.num_dets.size else 0
    problems = []
    if preds.img_ids.shape != preds.num_dets.shape or preds.img_ids.ndim != 1:
        problems.append(f'img_ids {preds.img_ids.shape} and num_dets {preds.num_dets.shape} must '
                        'be equal 1-d shapes')
    if (preds.num_dets < 0).any():
        problems.append('num_dets has negative counts')
    if preds.bboxes.shape != (num, 4):
        problems.append(f'bboxes has shape {preds.bboxes.shape}, expected ({num}, 4) = sum(num_dets)')
    for name in ('scores', 'labels'):
        if getattr(preds, name).shape != (num,):
            problems.append(f'{name} has shape {getattr(preds, name).shape}, expected ({num},)')
    if problems:
        raise ValueError(f'{source}: ' + '; '.join(problems))


def _first_images(preds: VIDPredictions, bad_detections: np.ndarray) -> str:
    """The json image ids of the first images holding a flagged detection ((N,) bool)."""
    image_of = np.repeat(preds.img_ids, preds.num_dets)
    ids = list(dict.fromkeys(image_of[bad_detections].tolist()))
    return ', '.join(str(i) for i in ids[:_LISTED]) + (', ...' if len(ids) > _LISTED else '')


def check_prediction_values(preds: VIDPredictions, num_classes: int, source: str) -> None:
    """Raise a ValueError naming ``source`` for predictions no score can be given for: none
    at all, an image predicted twice, NaN or infinite scores or boxes, labels outside
    0..``num_classes``-1 (each of which would otherwise give a wrong mAP without complaint)."""
    if len(preds.img_ids) == 0:
        raise ValueError(f'{source} hold no predicted image; nothing to evaluate (was the test set empty?)')
    ids, counts = np.unique(preds.img_ids, return_counts=True)
    if (counts > 1).any():
        repeated = ids[counts > 1]
        raise ValueError(f'{source}: {len(repeated)} image id(s) predicted more than once (first: '
                         f'{", ".join(str(i) for i in repeated[:_LISTED])}); each image must be predicted once')
    for name, values in (('scores', preds.scores[:, None]), ('boxes', preds.bboxes)):
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            raise ValueError(f'{source}: {int(bad.sum())} detection(s) have NaN or infinite {name} (images '
                             f'{_first_images(preds, bad)}); the model that made them diverged or is broken')
    outside = (preds.labels < 0) | (preds.labels >= num_classes)
    if outside.any():
        raise ValueError(f'{source}: {int(outside.sum())} label(s) outside the {num_classes} classes of the '
                         f'annotation file (e.g. {int(preds.labels[outside][0])}, images '
                         f'{_first_images(preds, outside)}); labels are class indices 0..{num_classes - 1}')
