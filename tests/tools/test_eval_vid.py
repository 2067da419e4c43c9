"""tools/analysis/eval_vid.py: offline evaluation of a VIDMetric dump."""
import json
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from mamba_vod.evaluation.functional import (load_vid_annotations, load_vid_predictions, save_vid_predictions,
                                             stack_predictions)
from mamba_vod.registry import METRICS
from tests.evaluation.vid_json import perfect_predictions, tiny_vid_coco, write_tiny_vid_json

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _dump(tmp_path, drop_video2_class=False):
    preds = perfect_predictions(tiny_vid_coco())
    if drop_video2_class:  # video 2 (class bear) detected with the wrong class
        preds = {k: (b, s, l if k < 200 else l * 0 + 1) for k, (b, s, l) in preds.items()}
    results = [dict(img_id=k, bboxes=b, scores=s, labels=l) for k, (b, s, l) in sorted(preds.items())]
    path = str(tmp_path / 'preds.npz')
    save_vid_predictions(path, stack_predictions(results))
    return path


def test_matches_the_metric_on_the_same_dump(tmp_path, load_tool):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    pred = _dump(tmp_path, drop_video2_class=True)
    subset = tmp_path / 'degraded.txt'
    subset.write_text('val/vid2/000001.JPEG\n')
    out = tmp_path / 'metrics.json'
    metrics = eval_vid.main([pred, gt, '--mode', 'voc', '--voc', '--frame-subset', f'degraded={subset}',
                             '--json', str(out)])
    metric = METRICS.build(dict(type='VIDMetric', ann_file=gt, mode='voc', report_voc=True,
                                frame_subsets=dict(degraded=str(subset))))
    expected = {f'vid/{k}': v for k, v in metric.evaluate_predictions(load_vid_predictions(pred)).items()}
    assert metrics == expected
    assert metrics['vid/mAP'] == pytest.approx(2 / 3, abs=1e-4)  # bear (1 of 3 classes) is missed
    assert metrics['vid/mAP_degraded'] == 0.0
    assert json.loads(out.read_text()) == metrics
    no_motion = eval_vid.main([pred, gt, '--no-motion'])
    assert set(no_motion) == {'vid/mAP'}


def test_oracle_class_keeps_boxes_and_scores_and_fixes_labels(tmp_path, load_tool):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    pred = _dump(tmp_path, drop_video2_class=True)
    plain = eval_vid.main([pred, gt, '--no-motion'])
    oracle = eval_vid.main([pred, gt, '--no-motion', '--oracle-class'])
    assert plain['vid/mAP'] == pytest.approx(2 / 3, abs=1e-4) and oracle['vid/mAP'] == 1.0
    relabelled = eval_vid.relabel_by_overlap(load_vid_predictions(pred), load_vid_annotations(gt))
    original = load_vid_predictions(pred)
    assert (relabelled.bboxes == original.bboxes).all() and (relabelled.scores == original.scores).all()


def test_score_stats_count_objects_background_and_badly_placed_boxes_per_subset(tmp_path, load_tool):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    coco = tiny_vid_coco()
    preds = perfect_predictions(coco)  # every box at 0.9, one stray box at 0.5 per image
    first_video = [img['id'] for img in coco['images'] if img['video_id'] == 1]
    for img_id in first_video:  # plus a copy of its first box moved by half its width: IoU 1/3
        boxes, scores, labels = preds[img_id]
        moved = boxes[1] + np.array([1, 0, 1, 0], np.float32) * (boxes[1, 2] - boxes[1, 0]) / 2
        preds[img_id] = (np.vstack([boxes, moved]), np.append(scores, 0.4), np.append(labels, labels[1]))
    path = str(tmp_path / 'preds.npz')
    save_vid_predictions(path, stack_predictions([dict(img_id=k, bboxes=b, scores=s, labels=l)
                                                  for k, (b, s, l) in sorted(preds.items())]))
    subset = tmp_path / 'first.txt'
    subset.write_text(''.join(f'val/vid1/{frame:06d}.JPEG\n' for frame in range(len(first_video))))
    out = tmp_path / 'metrics.json'
    metrics = eval_vid.main([path, gt, '--no-motion', '--score-stats', '--frame-subset', f'first={subset}',
                             '--json', str(out)])
    stats = metrics['score_stats']
    with_gt = len({ann['image_id'] for ann in coco['annotations']})
    assert stats['all']['frames'] == with_gt < len(coco['images'])  # the frame without boxes is left out
    assert stats['first']['frames'] == len(first_video)
    for name in ('all', 'first'):
        assert stats[name]['object_score'] == pytest.approx(0.9)
        assert stats[name]['background_per_frame'] == 1.0  # the stray box
    assert stats['first']['mislocated_per_frame'] == 1.0
    assert stats['all']['mislocated_per_frame'] == pytest.approx(len(first_video) / with_gt)
    assert json.loads(out.read_text())['score_stats'] == stats


def test_command_line(tmp_path, monkeypatch, capsys):
    gt = write_tiny_vid_json(str(tmp_path))
    pred = _dump(tmp_path)
    script = osp.join(ROOT, 'tools', 'analysis', 'eval_vid.py')
    monkeypatch.setattr(sys, 'argv', [script, pred, gt])
    runpy.run_path(script, run_name='__main__')
    out = capsys.readouterr()
    metrics = json.loads(out.out.strip().splitlines()[-1])
    assert metrics == {'vid/mAP': 1.0, 'vid/mAP_slow': 1.0, 'vid/mAP_medium': 1.0, 'vid/mAP_fast': 1.0}
    monkeypatch.setattr(sys, 'argv', [script, str(tmp_path / 'none.npz'), gt])
    with pytest.raises(SystemExit, match='none.npz'):
        runpy.run_path(script, run_name='__main__')


def test_corrupt_dump_is_refused(tmp_path, load_tool):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not an npz')
    with pytest.raises(ValueError, match='bad.npz'):
        eval_vid.main([str(bad), gt])
