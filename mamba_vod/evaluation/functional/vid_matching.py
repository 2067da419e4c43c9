"""Matching detections to ground truth for VID mAP, vectorised over images.

Shape shorthand: N detections, G ground-truth boxes, P (detection, ground
truth) pairs of the same image, R motion ranges.

Two rules:

* ``'ilsvrc'`` (devkit): inside an image and class, detections in descending
  score each take the *unmatched* ground truth of highest IoU that reaches that
  ground truth's own threshold (:func:`devkit_iou_thresholds`).
* ``'voc'`` (mmdet ``tpfp_default``): each detection looks only at its
  highest-IoU ground truth; if that one is already taken it is a false
  positive.

The sequential greedy rule runs as rounds: round r handles the r-th
candidate detection of every (image, class) group at once; groups never share
ground truth, so one round is a handful of array operations.
"""
from typing import Iterator, Optional, Tuple

import numpy as np

from .flat_boxes import FlatDetections, FlatGroundTruth
from .pair_iou import devkit_iou_thresholds, paired_iou

MAX_PAIRS_PER_CHUNK = 1 << 22


def same_group_pairs(det_group: np.ndarray, gt_group: np.ndarray, num_groups: int,
                     max_pairs: int = MAX_PAIRS_PER_CHUNK
                     ) -> Iterator[Tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(start, stop, pair_det, pair_gt)`` covering every (detection,
    ground truth) pair of the same group (e.g. image, or image and class),
    detections ``start:stop`` at a time (about ``max_pairs`` pairs each). Pairs
    are detection-major and, per detection, in the original order of the
    ground truth."""
    gt_order = np.argsort(gt_group, kind='stable')
    gt_count = np.bincount(gt_group, minlength=num_groups)
    gt_start = np.cumsum(gt_count) - gt_count
    per_det = gt_count[det_group]
    cum = np.cumsum(per_det)
    total = int(cum[-1]) if len(cum) else 0
    cuts = np.searchsorted(cum, np.arange(max_pairs, total, max_pairs), side='right')
    bounds = np.unique(np.concatenate(([0], cuts, [len(det_group)])))
    for start, stop in zip(bounds[:-1], bounds[1:]):
        with_gt = start + np.flatnonzero(per_det[start:stop])
        n = per_det[with_gt]
        pair_det = np.repeat(with_gt, n)
        first = np.cumsum(n) - n
        offset = np.arange(int(n.sum())) - np.repeat(first, n)
        yield int(start), int(stop), pair_det, gt_order[gt_start[det_group[pair_det]] + offset]


def match_detections(dets: FlatDetections, gts: FlatGroundTruth, num_imgs: int, *,
                     iou_thr: float, mode: str, gt_ignored: Optional[np.ndarray] = None
                     ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Match detections to ground truth.

    Args:
        gt_ignored: (R, G) bool, the ground truth each motion range ignores,
            or None.

    Returns:
        matched: (N,) index of the matched ground truth, -1 if none.
        unmatched_fp: (R, N) false-positive weight of each detection in each
            range should it stay unmatched (FGFA's rule, see
            :func:`fgfa_unmatched_weight`), or None without ranges.
    """
    plus_one = mode == 'ilsvrc'
    gt_thr = (devkit_iou_thresholds(gts.bboxes, iou_thr) if plus_one
              else np.full(len(gts.labels), iou_thr))
    candidates = []
    num_classes = int(max(dets.labels.max(initial=-1), gts.labels.max(initial=-1))) + 1
    # Matching only looks at ground truth of the detection's own image and class.
    for _, _, pair_det, pair_gt in same_group_pairs(dets.img * num_classes + dets.labels,
                                                    gts.img * num_classes + gts.labels,
                                                    num_imgs * num_classes):
        iou = paired_iou(dets.bboxes[pair_det], gts.bboxes[pair_gt], plus_one=plus_one)
        candidates.append(_candidates(pair_det, pair_gt, iou, gt_thr, plus_one))
    cand_det, cand_gt, cand_iou = (np.concatenate(parts) for parts in zip(*candidates)) if candidates \
        else (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if plus_one:
        matched = _greedy_match(cand_det, cand_gt, cand_iou, dets, len(gts.labels))
    else:
        matched = _first_claim_match(cand_det, cand_gt, dets)
    if gt_ignored is None:
        return matched, None
    return matched, _unmatched_weights(dets, gts, num_imgs, gt_ignored, plus_one)


def _unmatched_weights(dets, gts, num_imgs, gt_ignored, plus_one) -> np.ndarray:
    """(R, N) :func:`fgfa_unmatched_weight` of every detection; FGFA compares
    overlaps with the ground truth of all classes of the image."""
    weights = np.empty((len(gt_ignored), len(dets.labels)), dtype=np.float32)
    ign_count = np.stack([np.bincount(gts.img[ig], minlength=num_imgs) for ig in gt_ignored])
    gt_count = np.bincount(gts.img, minlength=num_imgs)
    empty_weight = 1.0 - gt_ignored.mean(axis=1) if gts.img.size else np.ones(len(gt_ignored))
    for start, stop, pair_det, pair_gt in same_group_pairs(dets.img, gts.img, num_imgs):
        iou = paired_iou(dets.bboxes[pair_det], gts.bboxes[pair_gt], plus_one=plus_one)
        weights[:, start:stop] = fgfa_unmatched_weight(dets.img[start:stop], pair_det - start, pair_gt,
                                                       iou, gt_ignored, ign_count, gt_count, empty_weight)
    return weights


def _candidates(pair_det, pair_gt, iou, gt_thr, greedy: bool):
    """Same-class pairs a detection may be matched through. Greedy: every pair
    over the ground truth's threshold. Otherwise: the detection's highest-IoU
    ground truth (first one on ties, as ``argmax``), if over the threshold."""
    if not greedy and len(pair_det):
        starts = np.flatnonzero(np.r_[True, pair_det[1:] != pair_det[:-1]])
        seg_max = np.maximum.reduceat(iou, starts)
        seg_of_pair = np.cumsum(np.r_[True, pair_det[1:] != pair_det[:-1]]) - 1
        at_max = np.flatnonzero(iou == seg_max[seg_of_pair])
        best = at_max[np.r_[True, pair_det[at_max][1:] != pair_det[at_max][:-1]]]
        pair_det, pair_gt, iou = pair_det[best], pair_gt[best], iou[best]
    keep = iou >= gt_thr[pair_gt]
    return pair_det[keep], pair_gt[keep], iou[keep]


def _greedy_match(cand_det, cand_gt, cand_iou, dets: FlatDetections, num_gts: int) -> np.ndarray:
    matched = np.full(len(dets.labels), -1, dtype=np.int64)
    if not len(cand_det):
        return matched
    # Rank every candidate detection inside its (image, class) group by score.
    has_candidate = np.zeros(len(dets.labels), dtype=bool)
    has_candidate[cand_det] = True
    uniq = np.flatnonzero(has_candidate)
    uniq = uniq[np.lexsort((uniq, -dets.scores[uniq], dets.labels[uniq], dets.img[uniq]))]
    img, lab = dets.img[uniq], dets.labels[uniq]
    new_group = np.r_[True, (img[1:] != img[:-1]) | (lab[1:] != lab[:-1])]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(uniq)), 0))
    det_rank = np.zeros(len(dets.labels), dtype=np.int64)
    det_rank[uniq] = np.arange(len(uniq)) - group_start
    rank = det_rank[cand_det]
    # Within a round: per detection, its pairs by IoU (desc), then ground-truth index.
    order = np.lexsort((cand_gt, -cand_iou, cand_det, rank))
    cand_det, cand_gt, rank = cand_det[order], cand_gt[order], rank[order]
    bounds = np.searchsorted(rank, np.arange(rank[-1] + 2))
    covered = np.zeros(num_gts, dtype=bool)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        d, g = cand_det[lo:hi], cand_gt[lo:hi]
        free = ~covered[g]
        d, g = d[free], g[free]
        first = np.r_[True, d[1:] != d[:-1]] if len(d) else np.zeros(0, bool)
        matched[d[first]] = g[first]
        covered[g[first]] = True
    return matched


def _first_claim_match(cand_det, cand_gt, dets: FlatDetections) -> np.ndarray:
    """Each ground truth goes to the highest-scoring detection whose best
    ground truth it is; the other such detections stay unmatched."""
    matched = np.full(len(dets.labels), -1, dtype=np.int64)
    order = np.lexsort((cand_det, -dets.scores[cand_det], cand_gt))
    g = cand_gt[order]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    matched[cand_det[order][first]] = g[first]
    return matched


def fgfa_unmatched_weight(det_img, pair_det, pair_gt, iou, gt_ignored, ign_count, gt_count,
                          empty_weight) -> np.ndarray:
    """False-positive weight, per range, of detections that match nothing,
    following FGFA's motion evaluation; (R, n) for the n detections of a chunk.

    The highest IoU with any ground truth of the image (all classes) decides:
    over a ground truth the range keeps -> 1, over one it ignores -> 0; on a
    tie (e.g. no overlap at all) the weight is the fraction of the image's
    ground truth the range ignores, and in an image without ground truth the
    fraction of all ground truth the range keeps (1 for the 'all' range).
    """
    gts_in_img = gt_count[det_img]
    # Pairs without overlap have IoU 0: per image, the maxima start at 0 where
    # kept / ignored ground truth exists, else at -1. Only overlaps raise them.
    hit = iou > 0
    hit_det, hit_gt, hit_iou = pair_det[hit], pair_gt[hit], iou[hit]
    starts = np.flatnonzero(np.r_[True, hit_det[1:] != hit_det[:-1]]) if len(hit_det) else None
    weight = np.empty((len(gt_ignored), len(det_img)), dtype=np.float32)
    for r, ignored in enumerate(gt_ignored):
        num_ignored = ign_count[r, det_img]
        best_ig = np.where(num_ignored > 0, 0.0, -1.0)
        best_kept = np.where(gts_in_img > num_ignored, 0.0, -1.0)
        if starts is not None:
            seg_det, ig = hit_det[starts], ignored[hit_gt]
            best_ig[seg_det] = np.maximum(best_ig[seg_det],
                                          np.maximum.reduceat(np.where(ig, hit_iou, -1.0), starts))
            best_kept[seg_det] = np.maximum(best_kept[seg_det],
                                            np.maximum.reduceat(np.where(ig, -1.0, hit_iou), starts))
        tie = num_ignored / np.maximum(gts_in_img, 1)
        rule = np.where(best_kept > best_ig, 1.0, np.where(best_ig > best_kept, 0.0, tie))
        weight[r] = np.where(gts_in_img > 0, rule, empty_weight[r])
    return weight
