"""VIDMetric on a converted set of one's own (two classes that are not ImageNet VID's): the
devkit's small-object rule and the motion breakdown, COCO-style AP on request, and a dataset
whose classes would mislabel the json refused."""
import json
import math

import numpy as np
import pytest

from mamba_vod.registry import METRICS
from tests.datasets.converters import synthetic_export as synth
from tests.evaluation.metrics.test_vid_metric import _evaluate


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory):
    return synth.write_converted_set(tmp_path_factory.mktemp('custom'))


def _predictions(ann_file, shift=0.0, keep_labels=(0, 1)):
    """{image id: (boxes, scores, labels)}: the ground truth, boxes moved right by ``shift`` pixels,
    only the labels in ``keep_labels``."""
    with open(ann_file) as f:
        coco = json.load(f)
    preds = {image['id']: ([], [], []) for image in coco['images']}
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        if ann['category_id'] - 1 in keep_labels:
            boxes, scores, labels = preds[ann['image_id']]
            boxes.append([x + shift, y, x + w + shift, y + h])
            scores.append(0.9)
            labels.append(ann['category_id'] - 1)
    return {k: (np.array(b, np.float32).reshape(-1, 4), np.array(s, np.float32), np.array(c, np.int64))
            for k, (b, s, c) in preds.items()}


def test_perfect_predictions_score_one_with_motion_breakdown_and_coco_ap(ann_file):
    metrics = _evaluate(dict(type='VIDMetric', ann_file=ann_file, coco_ap=True), _predictions(ann_file))
    assert metrics['vid/mAP'] == 1.0 and metrics['vid/mAP_slow'] == 1.0
    assert {'vid/mAP_medium', 'vid/mAP_fast'} <= set(metrics)
    for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s'):
        assert metrics[f'vid/coco_{key}'] == 1.0
    # every synthetic box is smaller than 32 x 32 pixels: no medium or large ground truth
    assert math.isnan(metrics['vid/coco_bbox_mAP_m']) and math.isnan(metrics['vid/coco_bbox_mAP_l'])


def test_coco_ap_is_the_mean_over_classes_and_iou_thresholds(ann_file):
    only_boats = _evaluate(dict(type='VIDMetric', ann_file=ann_file, coco_ap=True),
                           _predictions(ann_file, keep_labels=(0, )))
    assert only_boats['vid/coco_bbox_mAP'] == 0.5 and only_boats['vid/mAP'] == 0.5
    # 3.7 pixels to the right: IoU 0.69 / 0.73 for the 20- / 24-pixel boats, 0.53 for the 12-pixel
    # buoys: every box a true positive at IoU 0.5, none at 0.75, some in between
    shifted = _evaluate(dict(type='VIDMetric', ann_file=ann_file, coco_ap=True), _predictions(ann_file, shift=3.7))
    assert shifted['vid/coco_bbox_mAP_50'] == 1.0 and shifted['vid/coco_bbox_mAP_75'] == 0.0
    assert 0.1 < shifted['vid/coco_bbox_mAP'] < 0.5


def test_the_small_object_rule_holds_for_any_class_list(ann_file):
    # 5 pixels to the right: IoU 7/17 = 0.41 for the 13 x 11-pixel (inclusive) buoys, below 0.5
    # but above their devkit threshold 143 / (23 * 21) = 0.30; boats (21 x 15) reach 16/26 = 0.62
    preds = _predictions(ann_file, shift=5)
    ilsvrc = _evaluate(dict(type='VIDMetric', ann_file=ann_file), preds)
    voc = _evaluate(dict(type='VIDMetric', ann_file=ann_file, mode='voc', motion_breakdown=False), preds)
    assert ilsvrc['vid/mAP'] == 1.0
    assert voc['vid/mAP'] == pytest.approx(0.5)  # the buoys are missed at IoU 0.5


def test_a_dataset_whose_classes_mislabel_the_json_is_refused(ann_file):
    metric = METRICS.build(dict(type='VIDMetric', ann_file=ann_file))
    metric.dataset_meta = dict(classes=synth.CLASSES)
    with pytest.raises(ValueError, match=r"dataset's classes \('buoy', 'boat'\) do not begin with the categories"):
        metric.dataset_meta = dict(classes=('buoy', 'boat'))
