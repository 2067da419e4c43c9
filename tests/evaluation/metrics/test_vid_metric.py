"""VIDMetric through MMEngine's Evaluator on a tiny COCO-VID json."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

from mamba_vod.evaluation.functional import (FGFA_MOTION_RANGES, coco_vid_motion_iou, eval_vid_map,
                                             load_vid_annotations, load_vid_predictions)
from mamba_vod.registry import METRICS
from tests.evaluation.vid_json import perfect_predictions, tiny_vid_coco, write_tiny_vid_json


def _sample(img_id, boxes, scores, labels):
    sample = DetDataSample(metainfo=dict(img_id=img_id))
    sample.pred_instances = InstanceData(bboxes=torch.as_tensor(boxes), scores=torch.as_tensor(scores),
                                         labels=torch.as_tensor(labels))
    return sample


def _evaluate(metric_cfg, preds):
    evaluator = Evaluator([METRICS.build(metric_cfg)])
    items = sorted(preds.items())
    for start in range(0, len(items), 3):  # batches of 3 images
        evaluator.process([_sample(k, *v) for k, v in items[start:start + 3]])
    return evaluator.evaluate(len(items))


def _worse_predictions(coco):
    preds = perfect_predictions(coco)
    boxes, scores, labels = preds[101]
    # A confident false positive of class 1 in image 101, a missed box in image 202.
    preds[101] = (np.vstack([boxes, [[0, 150, 30, 180]]]), np.append(scores, 0.95), np.append(labels, 1))
    preds[202] = tuple(a[:1] for a in preds[202])
    return preds


def _list_api_inputs(coco, preds, keep=None):
    """eval_vid_map inputs built straight from the json, for a cross-check."""
    motion = coco_vid_motion_iou(coco)
    det_results, annotations = [], []
    for img in coco['images']:
        if keep is not None and img['file_name'] not in keep:
            continue
        mine = [(a, m) for a, m in zip(coco['annotations'], motion) if a['image_id'] == img['id']]
        annotations.append(dict(
            bboxes=np.array([[*a['bbox'][:2], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                             for a, _ in mine]).reshape(-1, 4),
            labels=np.array([a['category_id'] - 1 for a, _ in mine], dtype=int),
            motion_iou=np.array([m for _, m in mine])))
        boxes, scores, labels = preds[img['id']]
        det_results.append([np.hstack([boxes[labels == c], scores[labels == c, None]]) for c in range(3)])
    return det_results, annotations


def test_perfect_predictions_give_one_everywhere(tmp_path):
    ann_file = write_tiny_vid_json(str(tmp_path))
    metrics = _evaluate(dict(type='VIDMetric', ann_file=ann_file, report_voc=True),
                        perfect_predictions(tiny_vid_coco()))
    assert set(metrics) == {'vid/mAP', 'vid/mAP_slow', 'vid/mAP_medium', 'vid/mAP_fast', 'vid/mAP_voc'}
    assert all(v == pytest.approx(1.0) for v in metrics.values()), metrics


def test_values_match_eval_vid_map_and_dump_round_trips(tmp_path):
    coco = tiny_vid_coco()
    ann_file = write_tiny_vid_json(str(tmp_path))
    subset = tmp_path / 'clean.txt'
    subset.write_text('val/vid2/000000.JPEG\nval/vid2/000003.JPEG\n\nval/vid1/000001.JPEG\n')
    dump = tmp_path / 'out' / 'preds.npz'
    preds = _worse_predictions(coco)
    cfg = dict(type='VIDMetric', ann_file=ann_file, report_voc=True, frame_subsets=dict(clean=str(subset)),
               dump_file=str(dump), prefix='val')
    metrics = _evaluate(cfg, preds)

    det_results, annotations = _list_api_inputs(coco, preds)
    by_range, _ = eval_vid_map(det_results, annotations, motion_ranges=FGFA_MOTION_RANGES)
    assert metrics['val/mAP'] < 1.0
    for name in ('slow', 'medium', 'fast'):
        assert metrics[f'val/mAP_{name}'] == pytest.approx(by_range[name], abs=1e-4)
    assert metrics['val/mAP'] == pytest.approx(by_range['all'], abs=1e-4)
    assert metrics['val/mAP_voc'] == pytest.approx(eval_vid_map(det_results, annotations, mode='voc')[0],
                                                   abs=1e-4)
    keep = set(subset.read_text().split())
    expected_subset = eval_vid_map(*_list_api_inputs(coco, preds, keep))[0]
    assert metrics['val/mAP_clean'] == pytest.approx(expected_subset, abs=1e-4)

    loaded = load_vid_predictions(str(dump))
    assert sorted(loaded.img_ids.tolist()) == sorted(preds)
    assert loaded.gt_file == ann_file and loaded.gt_digest == load_vid_annotations(ann_file).digest
    assert not [p for p in dump.parent.iterdir() if p.name != 'preds.npz']  # no temp file left
    offline = METRICS.build(dict(cfg, dump_file=None)).evaluate_predictions(loaded)
    assert {f'val/{k}': v for k, v in offline.items()} == metrics


def test_partial_predictions_are_evaluated_on_their_images(tmp_path):
    coco = tiny_vid_coco()
    ann_file = write_tiny_vid_json(str(tmp_path))
    preds = {k: v for k, v in perfect_predictions(coco).items() if k < 200}  # video 1 only
    metrics = _evaluate(dict(type='VIDMetric', ann_file=ann_file), preds)
    assert metrics['vid/mAP'] == pytest.approx(1.0)


def test_bad_inputs_raise_clear_errors(tmp_path):
    coco = tiny_vid_coco()
    ann_file = write_tiny_vid_json(str(tmp_path))
    with pytest.raises(ValueError, match='first: 999'):
        _evaluate(dict(type='VIDMetric', ann_file=ann_file), {999: perfect_predictions(coco)[100]})
    bad_list = tmp_path / 'bad.txt'
    bad_list.write_text('val/vid1/000000.JPEG\nval/vid9/000000.JPEG\n')
    with pytest.raises(ValueError, match='bad.txt:2'):
        METRICS.build(dict(type='VIDMetric', ann_file=ann_file, frame_subsets=dict(bad=str(bad_list))))
    with pytest.raises(ValueError, match='mode'):
        METRICS.build(dict(type='VIDMetric', ann_file=ann_file, mode='coco'))
    for ann in coco['annotations']:
        del ann['instance_id']
    no_tracks = tmp_path / 'no_tracks.json'
    no_tracks.write_text(__import__('json').dumps(coco))
    with pytest.raises(ValueError, match='instance_id'):
        METRICS.build(dict(type='VIDMetric', ann_file=str(no_tracks)))
    metric = METRICS.build(dict(type='VIDMetric', ann_file=str(no_tracks), motion_breakdown=False))
    assert metric.prefix == 'vid'


def test_model_predictions_that_cannot_be_scored_are_refused_not_scored(tmp_path):
    coco = tiny_vid_coco()
    ann_file = write_tiny_vid_json(str(tmp_path))
    nan = {k: (b, np.full_like(s, np.nan), l) for k, (b, s, l) in perfect_predictions(coco).items()}
    with pytest.raises(ValueError, match='NaN or infinite scores'):  # (all-NaN scores once gave mAP 1.0)
        _evaluate(dict(type='VIDMetric', ann_file=ann_file), nan)
    with pytest.raises(ValueError, match='hold no predicted image'):
        METRICS.build(dict(type='VIDMetric', ann_file=ann_file)).compute_metrics([])
