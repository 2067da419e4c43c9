"""ImageNet VID mAP@0.5: the ILSVRC devkit rule, mmdet's VOC rule, and FGFA's
slow / medium / fast motion breakdown.

Shape shorthand: N detections, G ground-truth boxes, I images, C classes,
R motion ranges.

The motion breakdown (Zhu et al., FGFA, ICCV 2017) sorts ground truth by its
motion IoU (:mod:`.motion_iou`): the mean IoU with the same object in the
frames within +-10 frames. A range keeps the ground truth whose motion IoU lies
in it (bounds inclusive) and ignores the rest: ignored ground truth is not
counted, a detection matched to it is neither true nor false positive, and an
unmatched detection is weighted by :func:`.vid_matching.fgfa_unmatched_weight`.
The range ``'all'`` ignores nothing and equals the plain evaluation.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .average_precision import class_average_precisions, rank_by_class
from .flat_boxes import FlatDetections, FlatGroundTruth, flatten_annotations, flatten_detections
from .vid_matching import match_detections

MODES = ('ilsvrc', 'voc')
FGFA_MOTION_RANGES: Dict[str, Tuple[float, float]] = {
    'all': (0.0, 1.0), 'slow': (0.9, 1.0), 'medium': (0.7, 0.9), 'fast': (0.0, 0.7)}


def eval_vid_map(det_results: Sequence[Sequence[np.ndarray]], annotations: Sequence[dict],
                 iou_thr: float = 0.5, mode: str = 'ilsvrc',
                 motion_ranges: Optional[Dict[str, Tuple[float, float]]] = None):
    """Mean AP over classes with ground truth.

    Args:
        det_results: ``det_results[i][c]`` (n, 5) x1, y1, x2, y2, score of
            image i and class c.
        annotations: ``annotations[i]`` dict with ``bboxes`` (m, 4), ``labels``
            (m,) and, for ``motion_ranges``, ``motion_iou`` (m,).
        iou_thr: the IoU threshold (the devkit lowers it for small objects).
        mode: ``'ilsvrc'`` (devkit) or ``'voc'`` (equal to
            ``mmdet.evaluation.eval_map(..., iou_thr=iou_thr)``, area mode).
        motion_ranges: name -> (low, high) motion-IoU range, e.g.
            :data:`FGFA_MOTION_RANGES`; None for no breakdown.

    Returns:
        ``(mean_ap, per_class)``: mean_ap a float and per_class a list of C
        dicts (``num_gts``, ``num_dets``, ``recall``, ``ap``; recall and ap
        are NaN for a class without ground truth). With ``motion_ranges``,
        both are dicts keyed by range name.
    """
    if len(det_results) != len(annotations):
        raise ValueError(f'{len(det_results)} images in det_results but {len(annotations)} in '
                         'annotations; they must be aligned image by image')
    num_classes = len(det_results[0]) if len(det_results) else 0
    dets = flatten_detections(det_results)
    gts = flatten_annotations(annotations, need_motion=motion_ranges is not None)
    return eval_vid_map_flat(dets, gts, len(annotations), num_classes, iou_thr=iou_thr, mode=mode,
                             motion_ranges=motion_ranges)


def eval_vid_map_flat(dets: FlatDetections, gts: FlatGroundTruth, num_imgs: int, num_classes: int,
                      *, iou_thr: float = 0.5, mode: str = 'ilsvrc',
                      motion_ranges: Optional[Dict[str, Tuple[float, float]]] = None):
    """:func:`eval_vid_map` on flat arrays (same results); the entry point
    for large sets."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    _check_labels(dets.labels, num_classes, 'detection')
    _check_labels(gts.labels, num_classes, 'ground-truth')
    gt_ignored = None
    if motion_ranges is not None:
        if gts.motion_iou is None:
            raise ValueError('motion_ranges needs ground truth with motion_iou')
        gt_ignored = np.stack([(gts.motion_iou < lo) | (gts.motion_iou > hi)
                               for lo, hi in motion_ranges.values()])
    matched, unmatched_fp = match_detections(dets, gts, num_imgs, iou_thr=iou_thr, mode=mode,
                                             gt_ignored=gt_ignored)
    order, bounds = rank_by_class(dets.labels, dets.scores, num_classes)
    num_dets = np.diff(bounds)
    is_match = matched >= 0
    if motion_ranges is None:
        num_gts = np.bincount(gts.labels, minlength=num_classes)
        return _summarise(is_match[order], ~is_match[order], bounds, num_gts, num_dets)
    mean_aps, per_class = {}, {}
    for r, name in enumerate(motion_ranges):
        kept_gt = ~gt_ignored[r]
        tp = np.zeros(len(matched), dtype=bool)
        tp[is_match] = kept_gt[matched[is_match]]
        fp = np.where(is_match, 0.0, unmatched_fp[r])
        num_gts = np.bincount(gts.labels[kept_gt], minlength=num_classes)
        mean_aps[name], per_class[name] = _summarise(tp[order], fp[order], bounds, num_gts, num_dets)
    return mean_aps, per_class


def _summarise(tp, fp, bounds, num_gts, num_dets) -> Tuple[float, List[dict]]:
    ap, recall = class_average_precisions(tp, fp, bounds, num_gts)
    per_class = [dict(num_gts=int(num_gts[c]), num_dets=int(num_dets[c]), recall=float(recall[c]),
                      ap=float(ap[c])) for c in range(len(num_gts))]
    counted = num_gts > 0
    # no ground truth at all (e.g. no fast object in a motion range): undefined, not 0
    mean_ap = float(ap[counted].mean()) if counted.any() else float('nan')
    return mean_ap, per_class


def _check_labels(labels: np.ndarray, num_classes: int, what: str) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'{what} labels must lie in 0..{num_classes - 1}; found '
                         f'{int(labels.min())}..{int(labels.max())}')
