"""eval_vid_map: hand-worked cases, mmdet's eval_map for 'voc', and loop
references of the ILSVRC devkit and FGFA's motion rule on random inputs."""
import numpy as np
import pytest
from mmdet.evaluation import eval_map

from mamba_vod.evaluation.functional import FGFA_MOTION_RANGES, eval_vid_map, paired_iou, rank_by_class


def _dets(*rows):
    """One (n, 5) array from rows of x1, y1, x2, y2, score."""
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def _ann(boxes, labels, motion=None):
    ann = dict(bboxes=np.array(boxes, dtype=np.float64).reshape(-1, 4), labels=np.array(labels))
    if motion is not None:
        ann['motion_iou'] = np.array(motion, dtype=np.float64)
    return ann


def test_small_object_at_iou_0_4_counts_under_ilsvrc_only():
    gt = [0, 0, 9, 9]  # 10x10 pixels: devkit threshold min(0.5, 100 / 400) = 0.25
    det = [4, 0, 13, 9]
    iou_devkit = paired_iou(np.array([det]), np.array([gt]), plus_one=True)[0]
    iou_voc = paired_iou(np.array([det]), np.array([gt]), plus_one=False)[0]
    assert 0.25 < iou_devkit < 0.5 and iou_voc < 0.5
    dets, anns = [[_dets(det + [0.9])]], [_ann([gt], [0])]
    assert eval_vid_map(dets, anns, mode='ilsvrc')[0] == pytest.approx(1.0)
    assert eval_vid_map(dets, anns, mode='voc')[0] == pytest.approx(0.0)


def test_taken_best_ground_truth_passes_to_next_one_under_ilsvrc():
    gts = [[0, 0, 99, 99], [30, 0, 129, 99]]
    second = [10, 0, 109, 99]  # best IoU with the first box, also >= 0.5 with the second
    ious = paired_iou(np.array([second, second]), np.array(gts), plus_one=True)
    assert ious[0] > ious[1] >= 0.5
    dets = [[_dets(gts[0] + [0.9], second + [0.8])]]
    anns = [_ann(gts, [0, 0])]
    assert eval_vid_map(dets, anns, mode='ilsvrc')[0] == pytest.approx(1.0)
    # VOC: the second detection is a duplicate of the first box; recall stops at 1/2.
    assert eval_vid_map(dets, anns, mode='voc')[0] == pytest.approx(0.5)


@pytest.mark.parametrize('mode', ['ilsvrc', 'voc'])
def test_duplicates_are_false_positives(mode):
    gts = [[0, 0, 49, 49], [100, 100, 149, 149]]
    dets = [[_dets(gts[0] + [0.9], gts[0] + [0.8], gts[1] + [0.7])]]
    mean_ap, per_class = eval_vid_map(dets, [_ann(gts, [0, 0])], mode=mode)
    # TP, FP, TP: precision 1 up to recall 1/2, then 2/3 up to recall 1.
    assert mean_ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert per_class[0]['num_dets'] == 3 and per_class[0]['num_gts'] == 2


def test_empty_predictions_score_zero_and_classes_without_gt_are_left_out():
    anns = [_ann([[0, 0, 9, 9]], [0]), _ann([[5, 5, 30, 30]], [1])]
    empty = [[_dets(), _dets(), _dets()] for _ in anns]
    assert eval_vid_map(empty, anns)[0] == 0.0
    no_gt = [_ann(np.zeros((0, 4)), [], motion=[])]
    by_range, _ = eval_vid_map([[_dets([0, 0, 9, 9, 0.9]), _dets(), _dets()]], no_gt,
                               motion_ranges=FGFA_MOTION_RANGES)
    # no ground truth anywhere: the mAP is undefined (NaN), not a score of 0
    assert set(by_range) == set(FGFA_MOTION_RANGES) and all(np.isnan(v) for v in by_range.values())
    dets = [[_dets([0, 0, 9, 9, 0.9]), _dets(), _dets([50, 50, 60, 60, 0.5])],
            [_dets(), _dets(), _dets()]]
    mean_ap, per_class = eval_vid_map(dets, anns)
    assert mean_ap == pytest.approx((1.0 + 0.0) / 2)
    assert np.isnan(per_class[2]['ap']) and per_class[2]['num_dets'] == 1


def _random_set(seed, num_imgs=30, num_classes=4, motion=False):
    rng = np.random.default_rng(seed)

    def boxes(n):
        xy = rng.uniform(0, 100, (n, 2))
        return np.concatenate([xy, xy + rng.uniform(3, 40, (n, 2))], axis=1)

    det_results, annotations = [], []
    for _ in range(num_imgs):
        m = int(rng.integers(0, 6))
        gt, labels = boxes(m), rng.integers(0, num_classes, m)
        ann = _ann(gt, labels, rng.uniform(0.4, 1.0, m) if motion else None)
        annotations.append(ann)
        per_class = []
        for c in range(num_classes):
            n = int(rng.integers(0, 7))
            det = boxes(n)
            own = gt[labels == c]
            k = min(n, 2 * len(own))
            det[:k] = own[np.arange(k) % max(len(own), 1)] + rng.normal(0, 4, (k, 4))
            per_class.append(np.concatenate([det, rng.uniform(0, 1, (n, 1))], axis=1))
        det_results.append(per_class)
    return det_results, annotations


@pytest.mark.parametrize('seed', range(4))
def test_voc_equals_mmdet_eval_map(seed):
    det_results, annotations = _random_set(seed)
    expected, expected_cls = eval_map(det_results, annotations, iou_thr=0.5, logger='silent', nproc=1)
    mean_ap, per_class = eval_vid_map(det_results, annotations, mode='voc')
    assert mean_ap == pytest.approx(expected, rel=1e-5)
    for ours, theirs in zip(per_class, expected_cls):
        if theirs['num_gts']:
            assert ours['ap'] == pytest.approx(float(theirs['ap']), rel=1e-5, abs=1e-7)


def _reference_devkit_tp_fp(det_results, annotations, ignored=None, keep_fraction=1.0):
    """Per-detection (label, score, tp, fp) with plain loops: the devkit rule,
    and FGFA's motion rule when ``ignored`` (per image, per box) is given."""
    rows = []
    for i, (per_class, ann) in enumerate(zip(det_results, annotations)):
        gts, gt_labels = ann['bboxes'], ann['labels']
        ig = ignored[i] if ignored is not None else np.zeros(len(gts), bool)
        dets = [(c, *row) for c, arr in enumerate(per_class) for row in arr]
        dets.sort(key=lambda d: -d[5])
        covered = np.zeros(len(gts), bool)
        for c, x1, y1, x2, y2, score in dets:
            ious = [paired_iou(np.array([[x1, y1, x2, y2]]), g[None], plus_one=True)[0] for g in gts]
            best, best_k = -1.0, -1
            for k, g in enumerate(gts):
                w, h = g[2] - g[0] + 1, g[3] - g[1] + 1
                thr = min(0.5, w * h / ((w + 10) * (h + 10)))
                if not covered[k] and gt_labels[k] == c and ious[k] >= thr and ious[k] > best:
                    best, best_k = ious[k], k
            if best_k >= 0:
                covered[best_k] = True
                rows.append((c, score, 0.0 if ig[best_k] else 1.0, 0.0))
                continue
            best_ig = max([-1.0] + [o for o, flag in zip(ious, ig) if flag])
            best_kept = max([-1.0] + [o for o, flag in zip(ious, ig) if not flag])
            if best_kept > best_ig:
                fp = 1.0
            elif best_ig > best_kept:
                fp = 0.0
            else:
                fp = ig.mean() if len(gts) else keep_fraction
            rows.append((c, score, 0.0, fp))
    return rows


def _reference_map(rows, annotations, num_classes, ignored=None):
    aps = []
    for c in range(num_classes):
        npos = sum(int(((a['labels'] == c) & ~(ignored[i] if ignored else False)).sum())
                   for i, a in enumerate(annotations))
        if npos == 0:
            continue
        mine = sorted([r for r in rows if r[0] == c], key=lambda r: -r[1])
        tp = np.cumsum([r[2] for r in mine])
        fp = np.cumsum([r[3] for r in mine])
        rec, prec = tp / npos, tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        mrec, mpre = [0.0] + list(rec) + [1.0], [0.0] + list(prec) + [0.0]
        for k in range(len(mpre) - 2, -1, -1):
            mpre[k] = max(mpre[k], mpre[k + 1])
        aps.append(sum((mrec[k + 1] - mrec[k]) * mpre[k + 1] for k in range(len(mrec) - 1)))
    return float(np.mean(aps)) if aps else 0.0


@pytest.mark.parametrize('seed', range(3))
def test_ilsvrc_equals_loop_reference(seed):
    det_results, annotations = _random_set(seed + 10)
    expected = _reference_map(_reference_devkit_tp_fp(det_results, annotations), annotations, 4)
    assert eval_vid_map(det_results, annotations, mode='ilsvrc')[0] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize('seed', range(3))
def test_motion_breakdown_equals_fgfa_loop_reference(seed):
    det_results, annotations = _random_set(seed + 20, motion=True)
    mean_aps, per_class = eval_vid_map(det_results, annotations, motion_ranges=FGFA_MOTION_RANGES)
    assert mean_aps['all'] == pytest.approx(eval_vid_map(det_results, annotations)[0], rel=1e-12)
    all_motion = np.concatenate([a['motion_iou'] for a in annotations])
    for name, (lo, hi) in FGFA_MOTION_RANGES.items():
        ignored = [(a['motion_iou'] < lo) | (a['motion_iou'] > hi) for a in annotations]
        keep_fraction = ((all_motion >= lo) & (all_motion <= hi)).mean()
        rows = _reference_devkit_tp_fp(det_results, annotations, ignored, keep_fraction)
        expected = _reference_map(rows, annotations, 4, ignored)
        assert mean_aps[name] == pytest.approx(expected, rel=1e-6), name
        assert sum(pc['num_gts'] for pc in per_class[name]) == sum(int((~ig).sum()) for ig in ignored)


def test_motion_breakdown_hand_worked():
    slow, fast = [0, 0, 49, 49], [100, 0, 149, 49]
    anns = [_ann([slow, fast], [0, 0], motion=[0.95, 0.5])]
    stray = [300, 300, 320, 320]  # overlaps nothing: FGFA weighs it by the ignored share, 1/2
    dets = [[_dets(stray + [0.95], slow + [0.9], fast + [0.8])]]
    mean_aps, per_class = eval_vid_map(dets, anns, motion_ranges=FGFA_MOTION_RANGES)
    # slow: stray FP 1/2 (precision 0), then TP (precision 1 / 1.5); the fast box's match is ignored.
    assert mean_aps['slow'] == pytest.approx(2 / 3)
    assert mean_aps['fast'] == pytest.approx(2 / 3)
    # medium keeps no ground truth: the class is left out, nothing to average.
    assert np.isnan(per_class['medium'][0]['ap']) and np.isnan(mean_aps['medium'])
    # all: the stray box is a full FP: precision 0, 1/2, 2/3 at recall 0, 1/2, 1.
    assert mean_aps['all'] == pytest.approx(2 / 3)
    assert per_class['slow'][0]['num_gts'] == per_class['fast'][0]['num_gts'] == 1


def test_bad_input_gives_clear_errors():
    anns = [_ann([[0, 0, 9, 9]], [0])]
    with pytest.raises(ValueError, match='aligned'):
        eval_vid_map([], anns)
    with pytest.raises(ValueError, match=r'det_results\[0\]\[0\]'):
        eval_vid_map([[np.zeros((2, 4))]], anns)
    with pytest.raises(ValueError, match='labels must lie'):
        eval_vid_map([[_dets()]], [_ann([[0, 0, 9, 9]], [3])])
    with pytest.raises(ValueError, match='motion_iou'):
        eval_vid_map([[_dets()]], anns, motion_ranges=FGFA_MOTION_RANGES)
    with pytest.raises(ValueError, match='mode'):
        eval_vid_map([[_dets()]], anns, mode='coco')


def test_class_ranking_fast_and_general_paths_agree():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, 2000)
    # float32 values with many ties (and both zeros): the packed-key path.
    scores = rng.choice(np.array([0.1, 0.5, 0.9, -0.5, 0.0, -0.0], np.float32), 2000).astype(np.float64)
    perturbed = scores + 1e-9  # not float32 values: the argsort path
    for values in (scores, perturbed):
        order, bounds = rank_by_class(labels, values, 5)
        assert np.array_equal(order, np.lexsort((np.arange(2000), -values, labels)))
        assert np.array_equal(bounds, np.searchsorted(np.sort(labels), np.arange(6)))
