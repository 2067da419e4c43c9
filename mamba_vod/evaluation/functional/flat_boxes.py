"""Flat (struct-of-arrays) boxes for a whole evaluation set.

Shape shorthand: N detections, G ground-truth boxes, I images, C classes.
Evaluating ImageNet VID val (176,126 frames, ~17M detections) with one small
array per image and class would spend minutes in Python; every evaluation
function in this package therefore works on flat arrays indexed by image.
"""
from typing import NamedTuple, Optional, Sequence

import numpy as np


class FlatDetections(NamedTuple):
    """Detections of all images: ``img`` (N,) image index, ``bboxes`` (N, 4)
    x1, y1, x2, y2, ``scores`` (N,), ``labels`` (N,) class index 0..C-1."""
    img: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


class FlatGroundTruth(NamedTuple):
    """Ground truth of all images: ``img`` (G,), ``bboxes`` (G, 4) x1, y1, x2,
    y2, ``labels`` (G,), ``motion_iou`` (G,) or None."""
    img: np.ndarray
    bboxes: np.ndarray
    labels: np.ndarray
    motion_iou: Optional[np.ndarray] = None


def flatten_detections(det_results: Sequence[Sequence[np.ndarray]]) -> FlatDetections:
    """Turn ``det_results[i][c]`` ((n, 5) x1, y1, x2, y2, score) into flat arrays."""
    num_classes = len(det_results[0]) if len(det_results) else 0
    # One concatenate over every (image, class) array: a per-image loop costs
    # seconds on VID val (176k images x 30 classes).
    arrays = [dets for per_class in det_results for dets in per_class]
    if not arrays:
        return FlatDetections(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    counts = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
    try:
        stacked = np.concatenate(arrays).astype(np.float64, copy=False).reshape(-1, 5)
    except ValueError:
        _raise_bad_detections(det_results)
        raise
    if len(counts) != len(det_results) * num_classes or stacked.shape[0] != counts.sum():
        _raise_bad_detections(det_results)
    cells = np.repeat(np.arange(len(counts)), counts)
    return FlatDetections(cells // max(num_classes, 1), stacked[:, :4], stacked[:, 4],
                          cells % max(num_classes, 1))


def _raise_bad_detections(det_results) -> None:
    num_classes = len(det_results[0])
    for i, per_class in enumerate(det_results):
        if len(per_class) != num_classes:
            raise ValueError(f'det_results[{i}] has {len(per_class)} classes, det_results[0] has '
                             f'{num_classes}; every image needs one array per class')
        for c, dets in enumerate(per_class):
            shape = np.shape(dets)
            if len(shape) != 2 or shape[1] != 5:
                raise ValueError(f'det_results[{i}][{c}] must be an (n, 5) array of x1, y1, x2, y2, '
                                 f'score; got shape {shape}')


def flatten_annotations(annotations: Sequence[dict], *, need_motion: bool) -> FlatGroundTruth:
    """Turn per-image dicts (``bboxes`` (m, 4), ``labels`` (m,), optional
    ``motion_iou`` (m,)) into flat arrays; ``motion_iou`` is required when
    ``need_motion``."""
    bboxes, labels, motion, img = [], [], [], []
    for i, ann in enumerate(annotations):
        boxes = np.asarray(ann['bboxes'], dtype=np.float64).reshape(-1, 4)
        lab = np.asarray(ann['labels'], dtype=np.int64).reshape(-1)
        if len(boxes) != len(lab):
            raise ValueError(f'annotations[{i}]: {len(boxes)} bboxes but {len(lab)} labels')
        if need_motion:
            if ann.get('motion_iou') is None:
                raise ValueError(f'annotations[{i}] has no "motion_iou"; the motion breakdown needs one '
                                 'value per box (see mamba_vod.evaluation.functional.motion_iou)')
            mot = np.asarray(ann['motion_iou'], dtype=np.float64).reshape(-1)
            if len(mot) != len(lab):
                raise ValueError(f'annotations[{i}]: {len(mot)} motion_iou values for {len(lab)} boxes')
            motion.append(mot)
        bboxes.append(boxes)
        labels.append(lab)
        img.append(np.full(len(lab), i, dtype=np.int64))
    if not annotations:
        return FlatGroundTruth(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, np.int64),
                               np.zeros(0) if need_motion else None)
    return FlatGroundTruth(np.concatenate(img), np.concatenate(bboxes), np.concatenate(labels),
                           np.concatenate(motion) if need_motion else None)


def select_images(dets: FlatDetections, gts: FlatGroundTruth, keep: np.ndarray):
    """Restrict both sets to the images where ``keep`` (I,) is True and
    renumber them 0..K-1. Returns ``(dets, gts, K)``."""
    new_index = np.cumsum(keep) - 1
    d = keep[dets.img]
    g = keep[gts.img]
    sub_dets = FlatDetections(new_index[dets.img[d]], dets.bboxes[d], dets.scores[d], dets.labels[d])
    motion = None if gts.motion_iou is None else gts.motion_iou[g]
    sub_gts = FlatGroundTruth(new_index[gts.img[g]], gts.bboxes[g], gts.labels[g], motion)
    return sub_dets, sub_gts, int(keep.sum())
