"""tools/analysis/eval_vid.py: offline evaluation of a VIDMetric dump; dumps that cannot be
scored honestly (made for another json, NaN/inf values, unknown labels, repeated or no images), and ground
truths that are not JSON, hold no annotation or are a directory, are refused with one line
naming the file and exit status 1."""
import json
import logging
import os.path as osp
import runpy
import sys

import numpy as np
import pytest

from mamba_vod.evaluation.functional import (annotation_digest, load_vid_annotations, load_vid_predictions,
                                             save_vid_predictions, stack_predictions)
from mamba_vod.evaluation.metrics import vid_metric
from mamba_vod.registry import METRICS
from tests.evaluation.vid_json import perfect_predictions, tiny_vid_coco, write_tiny_vid_json

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _dump(tmp_path, drop_video2_class=False, made_for=None, change=None):
    """A dump of perfect predictions for the tiny json; ``made_for``: a json path whose digest it
    records (None: an older dump without the record); ``change(preds) -> preds`` edits the arrays."""
    preds = perfect_predictions(tiny_vid_coco())
    if drop_video2_class:  # video 2 (class bear) detected with the wrong class
        preds = {k: (b, s, l if k < 200 else l * 0 + 1) for k, (b, s, l) in preds.items()}
    results = [dict(img_id=k, bboxes=b, scores=s, labels=l) for k, (b, s, l) in sorted(preds.items())]
    stacked = stack_predictions(results)
    if made_for is not None:
        with open(made_for) as f:
            stacked = stacked._replace(gt_digest=annotation_digest(json.load(f)), gt_file=made_for)
    if change is not None:
        stacked = change(stacked)
    path = str(tmp_path / 'preds.npz')
    save_vid_predictions(path, stacked)
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
    with pytest.raises(SystemExit) as exit_status:
        runpy.run_path(script, run_name='__main__')
    assert exit_status.value.code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (f"error: prediction dump '{tmp_path / 'none.npz'}' "
                                                                "does not exist; check the path")


def test_corrupt_dump_is_refused(tmp_path, load_tool, user_error):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not an npz')
    assert 'bad.npz' in user_error(eval_vid.main, [str(bad), gt])


def _another_json(tmp_path) -> str:
    """Another data set numbered like the tiny one (same image ids and classes, other frames)."""
    coco = tiny_vid_coco()
    for image in coco['images']:
        image['file_name'] = image['file_name'].replace('val/', 'other/')
    path = tmp_path / 'other.json'
    path.write_text(json.dumps(coco))
    return str(path)


def test_a_dump_made_for_another_json_is_refused(tmp_path, load_tool, user_error):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    other = _another_json(tmp_path)
    line = user_error(eval_vid.main, [_dump(tmp_path, made_for=other), gt])
    assert f"were made for another annotation file ('{other}'" in line and gt in line
    assert eval_vid.main([_dump(tmp_path, made_for=gt), gt])['vid/mAP'] == 1.0


def test_an_older_dump_without_the_record_is_evaluated_with_a_warning(tmp_path, load_tool, monkeypatch):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    logged = []
    monkeypatch.setattr(vid_metric, 'print_log', lambda message, **kwargs: logged.append((message, kwargs)))
    assert eval_vid.main([_dump(tmp_path), gt])['vid/mAP'] == 1.0
    warnings = [message for message, kwargs in logged if kwargs.get('level') == logging.WARNING]
    assert len(warnings) == 1 and 'do not record which annotation file they were made for' in warnings[0]


def _nan_scores(preds):
    return preds._replace(scores=np.full_like(preds.scores, np.nan))


def _inf_box(preds):
    bboxes = preds.bboxes.copy()
    bboxes[3, 2] = np.inf
    return preds._replace(bboxes=bboxes)


def _label_31(preds):
    labels = preds.labels.copy()
    labels[0] = 31
    return preds._replace(labels=labels)


def _repeated_image(preds):
    img_ids = preds.img_ids.copy()
    img_ids[1] = img_ids[0]
    return preds._replace(img_ids=img_ids)


def _nothing(preds):
    return preds._replace(img_ids=preds.img_ids[:0], num_dets=preds.num_dets[:0], bboxes=preds.bboxes[:0],
                          scores=preds.scores[:0], labels=preds.labels[:0])


@pytest.mark.parametrize('change, message', [
    (_nan_scores, 'detection(s) have NaN or infinite scores (images 100, 101, 102, ...)'),
    (_inf_box, '1 detection(s) have NaN or infinite boxes (images 101)'),
    (_label_31, '1 label(s) outside the 3 classes of the annotation file (e.g. 31, images 100)'),
    (_repeated_image, '1 image id(s) predicted more than once (first: 100)'),
    (_nothing, 'hold no predicted image'),
])
def test_predictions_that_cannot_be_scored_are_refused(tmp_path, load_tool, user_error, change, message):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    line = user_error(eval_vid.main, [_dump(tmp_path, made_for=gt, change=change), gt])
    assert message in line and 'preds.npz' in line


def test_an_unwritable_json_output_is_refused_before_evaluating(tmp_path, load_tool, user_error, capsys):
    eval_vid = load_tool('analysis/eval_vid.py')
    gt = write_tiny_vid_json(str(tmp_path))
    (tmp_path / 'a_file').write_text('')
    line = user_error(eval_vid.main, [_dump(tmp_path, made_for=gt), gt, '--json', str(tmp_path / 'a_file' / 'm.json')])
    assert "cannot write --json" in line and capsys.readouterr().out == ''


def test_a_ground_truth_without_annotations_is_refused_not_scored_as_nan(tmp_path, load_tool, user_error):
    coco = tiny_vid_coco()
    coco['annotations'] = []
    gt = tmp_path / 'empty.json'
    gt.write_text(json.dumps(coco))
    line = user_error(load_tool('analysis/eval_vid.py').main, [_dump(tmp_path), str(gt)])
    assert line.startswith(f"error: ground truth '{gt}' holds no annotation") and 'every AP would be NaN' in line


@pytest.mark.parametrize('content', [b'', b'<html>not found</html>', b'\xff\xfe\x00binary'])
def test_a_ground_truth_that_is_not_json_is_named(tmp_path, load_tool, user_error, content):
    gt = tmp_path / 'gt.json'
    gt.write_bytes(content)
    line = user_error(load_tool('analysis/eval_vid.py').main, [_dump(tmp_path), str(gt)])
    assert line.startswith(f"error: ground truth '{gt}' is not a JSON file (")


def test_a_ground_truth_that_is_a_directory_is_named_as_one(tmp_path, load_tool, user_error):
    line = user_error(load_tool('analysis/eval_vid.py').main, [_dump(tmp_path), str(tmp_path)])
    assert line == f"error: ground truth '{tmp_path}' is a directory, not a file; check the path"
