"""Per-class average precision from flat true/false-positive weights.

Shape shorthand: N detections, C classes.
"""
from typing import Optional, Tuple

import numpy as np


def rank_by_class(labels: np.ndarray, scores: np.ndarray, num_classes: int
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Order detections by class, then by descending score (ties keep input
    order). Returns ``order`` (N,) and ``bounds`` (C + 1,): class c occupies
    ``order[bounds[c]:bounds[c + 1]]``."""
    order = _rank_float32_scores(labels, scores, num_classes)
    if order is None:
        # A stable sort of 16-bit integers is a radix sort: cheap even for 17M.
        key = labels.astype(np.int16 if num_classes < 2**15 else np.int64)
        order = np.argsort(key, kind='stable')
        bounds = np.searchsorted(key[order], np.arange(num_classes + 1))
        for c in range(num_classes):
            part = order[bounds[c]:bounds[c + 1]]
            order[bounds[c]:bounds[c + 1]] = part[np.argsort(-scores[part], kind='stable')]
    bounds = np.searchsorted(labels[order], np.arange(num_classes + 1))
    return order, bounds


def _rank_float32_scores(labels, scores, num_classes) -> Optional[np.ndarray]:
    """The same order through one sort of packed uint64 keys (class, score
    bits, index), about twice as fast as an argsort; None unless every score
    is a float32 value (model outputs are) and the fields fit in 64 bits."""
    index_bits = max(1, int(len(labels) - 1).bit_length())
    if index_bits + 32 + max(1, int(num_classes - 1).bit_length()) > 64:
        return None
    single = scores.astype(np.float32)
    if not np.array_equal(single, scores):
        return None
    bits = (single + np.float32(0.0)).view(np.uint32)  # -0.0 + 0.0 = +0.0: one zero
    # Order-preserving map of float32 bits onto uint32, then flipped: high scores first.
    ascending = np.where(bits >> 31 == 1, ~bits, bits | np.uint32(1 << 31))
    key = labels.astype(np.uint64) << np.uint64(32 + index_bits)
    key |= (~ascending).astype(np.uint64) << np.uint64(index_bits)
    key |= np.arange(len(labels), dtype=np.uint64)
    key.sort()
    return (key & np.uint64((1 << index_bits) - 1)).astype(np.int64)


def area_under_pr(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated AP (VOC2010+/ILSVRC devkit, mmdet ``'area'``):
    the area under the precision envelope ``max_{r' >= r} p(r')``."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def class_average_precisions(tp: np.ndarray, fp: np.ndarray, bounds: np.ndarray,
                             num_gts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """AP and final recall per class.

    Args:
        tp, fp: (N,) true/false-positive weights, already in the ``order`` of
            :func:`rank_by_class`.
        bounds: (C + 1,) class boundaries from :func:`rank_by_class`.
        num_gts: (C,) ground truth counted per class.

    Returns:
        ap, recall: (C,) each; NaN for classes without ground truth.
    """
    num_classes = len(num_gts)
    ap = np.full(num_classes, np.nan)
    final_recall = np.full(num_classes, np.nan)
    eps = np.finfo(np.float32).eps
    for c in range(num_classes):
        if num_gts[c] <= 0:
            continue
        ctp = np.cumsum(tp[bounds[c]:bounds[c + 1]], dtype=np.float64)
        cfp = np.cumsum(fp[bounds[c]:bounds[c + 1]], dtype=np.float64)
        recall = ctp / num_gts[c]
        precision = ctp / np.maximum(ctp + cfp, eps)
        ap[c] = area_under_pr(recall, precision)
        final_recall[c] = recall[-1] if len(recall) else 0.0
    return ap, final_recall
