"""COCO-style box AP of VID predictions, through pycocotools: mAP@[.5:.95], AP50, AP75 and AP
by object size (small < 32^2 <= medium < 96^2 <= large pixels of box area).

Shape shorthand: K predicted images, N detections, C classes.

The ground truth is the COCO-VID json itself (its ``images``, ``annotations``, ``categories``;
``area`` and ``iscrowd`` filled from the box where an annotation lacks them). Only the images
that have predictions are scored, as :class:`~mamba_vod.evaluation.VIDMetric` scores its mAP.
Labels 0..C-1 stand for the category ids in ascending order (the VID metric's order).
"""
import contextlib
import io
import json
from typing import Dict, Tuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .prediction_io import VIDPredictions

#: result keys, in the order of ``COCOeval.stats[:6]``
COCO_AP_KEYS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l')


def load_coco_ground_truth(ann_file: str) -> COCO:
    """A pycocotools ``COCO`` of a (COCO-VID) json, quietly (pycocotools prints as it loads)."""
    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    for ann in data['annotations']:
        ann.setdefault('area', float(ann['bbox'][2] * ann['bbox'][3]))
        ann.setdefault('iscrowd', 0)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _detections_coco(gt: COCO, preds: VIDPredictions) -> COCO:
    """The predictions as a pycocotools ``COCO`` of results (``score`` per box, xywh)."""
    category_ids = np.array(sorted(gt.getCatIds()))
    img_ids = np.repeat(preds.img_ids, preds.num_dets)  # (N,) image of each detection
    xywh = np.asarray(preds.bboxes, np.float64).copy()
    xywh[:, 2:] -= xywh[:, :2]
    anns = [dict(id=k + 1, image_id=int(img_ids[k]), category_id=int(category_ids[preds.labels[k]]),
                 bbox=xywh[k].tolist(), area=float(xywh[k, 2] * xywh[k, 3]), score=float(preds.scores[k]),
                 iscrowd=0)
            for k in range(len(img_ids))]
    dets = COCO()
    dets.dataset = dict(images=gt.dataset['images'], categories=gt.dataset['categories'], annotations=anns)
    with contextlib.redirect_stdout(io.StringIO()):
        dets.createIndex()
    return dets


def coco_style_ap(gt: COCO, preds: VIDPredictions) -> Tuple[Dict[str, float], str]:
    """COCO box AP of ``preds`` on the images they cover.

    Args:
        gt: from :func:`load_coco_ground_truth`.
        preds: flat predictions with labels 0..C-1 (checked by the caller).

    Returns:
        ``({key: AP in [0, 1]}`` for :data:`COCO_AP_KEYS` (NaN where the scored images hold no
        ground truth of that size), pycocotools' printed summary)``.
    """
    evaluator = COCOeval(gt, _detections_coco(gt, preds), 'bbox')
    evaluator.params.imgIds = sorted(int(i) for i in np.unique(preds.img_ids))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    values = {key: (float(value) if value >= 0 else float('nan'))
              for key, value in zip(COCO_AP_KEYS, evaluator.stats[:len(COCO_AP_KEYS)])}
    return values, printed.getvalue()
