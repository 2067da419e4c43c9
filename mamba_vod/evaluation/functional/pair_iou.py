"""IoU of aligned box pairs under the two conventions VID evaluation uses.

Shape shorthand: P pairs. Boxes are x1, y1, x2, y2.
"""
import numpy as np


def paired_iou(boxes_a: np.ndarray, boxes_b: np.ndarray, *, plus_one: bool) -> np.ndarray:
    """IoU of ``boxes_a[k]`` with ``boxes_b[k]``, both (P, 4); returns (P,).

    ``plus_one=True`` is the ILSVRC devkit convention: pixel-inclusive boxes
    (width ``x2 - x1 + 1``), float64, IoU 0 unless the boxes share at least one
    pixel. ``plus_one=False`` reproduces ``mmdet.evaluation.bbox_overlaps``
    bit for bit: continuous boxes in float32, union clamped to 1e-6.
    """
    if plus_one:
        a = np.asarray(boxes_a, dtype=np.float64)
        b = np.asarray(boxes_b, dtype=np.float64)
        extra = 1.0
    else:
        a = np.asarray(boxes_a, dtype=np.float32)
        b = np.asarray(boxes_b, dtype=np.float32)
        extra = np.float32(0.0)
    inter_w = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + extra
    inter_h = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + extra
    overlap = np.maximum(inter_w, 0, out=inter_w) * np.maximum(inter_h, 0, out=inter_h)
    union = (a[:, 2] - a[:, 0] + extra) * (a[:, 3] - a[:, 1] + extra)
    union += (b[:, 2] - b[:, 0] + extra) * (b[:, 3] - b[:, 1] + extra)
    union -= overlap
    if plus_one:
        # Only boxes sharing a pixel have overlap > 0, and then union >= overlap.
        return np.divide(overlap, np.maximum(union, np.finfo(np.float64).tiny, out=union), out=overlap)
    return overlap / np.maximum(union, np.float32(1e-6))


def devkit_iou_thresholds(gt_bboxes: np.ndarray, iou_thr: float = 0.5,
                          pixel_tolerance: float = 10.0) -> np.ndarray:
    """Per-ground-truth IoU threshold of the ILSVRC devkit, (G, 4) -> (G,):
    ``min(iou_thr, w*h / ((w + 10) * (h + 10)))`` with pixel-inclusive w, h,
    so small objects get a lower threshold (0.46 for a 21x21-pixel box)."""
    gt = np.asarray(gt_bboxes, dtype=np.float64)
    w = gt[:, 2] - gt[:, 0] + 1.0
    h = gt[:, 3] - gt[:, 1] + 1.0
    return np.minimum(iou_thr, (w * h) / ((w + pixel_tolerance) * (h + pixel_tolerance)))
