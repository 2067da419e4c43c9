"""Evaluate a VID prediction dump offline:
``python tools/analysis/eval_vid.py PRED GT [--mode ilsvrc|voc] [--no-motion] [--voc]
[--frame-subset NAME=FILE ...] [--oracle-class] [--score-stats] [--json OUT]``.

PRED is the .npz written by ``VIDMetric(dump_file=...)``; GT the COCO-VID json
the predictions were made on. Prints the per-class table (AP in percent) and
the metrics as one JSON line (fractions, as the VIDMetric returns them);
``--score-stats`` adds a second line: where the scores go, per frame subset
(see :func:`score_statistics`).

PRED must have been made for GT: a dump records the digest of its json, and a dump
of another json is refused, as are NaN/inf scores or boxes, labels outside the
classes, an image predicted twice and an empty dump; so are a GT that is not JSON
or holds no annotation (nothing to score: every AP would be NaN), and a path that
is missing or a directory. User errors end with one line on stderr, naming the
file, and exit status 1.
"""
import argparse
import json

import numpy as np

from mamba_vod.engine.cli import user_errors  # importing mamba_vod prepares mmdet (mmcv._ext)
from mamba_vod.evaluation import VIDMetric
from mamba_vod.evaluation.functional import (VIDAnnotations, VIDPredictions, load_vid_predictions,
                                             read_frame_subset, write_json)
from mamba_vod.utils import check_input_file, check_output_path
from mmdet.evaluation.functional import bbox_overlaps  # isort: skip  (after mamba_vod)

SCORE_THR = 0.3  # what --score-stats counts as a confident detection


def _subset(text: str):
    name, sep, path = text.partition('=')
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f'expected NAME=FILE, got "{text}"')
    return name, path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a VID prediction dump (VIDMetric dump_file).')
    parser.add_argument('pred', help='prediction dump (.npz) written by VIDMetric(dump_file=...)')
    parser.add_argument('gt', help='COCO-VID annotation json')
    parser.add_argument('--mode', choices=('ilsvrc', 'voc'), default='ilsvrc',
                        help='matching rule: ILSVRC devkit (default) or mmdet VOC at IoU 0.5')
    parser.add_argument('--no-motion', action='store_true', help='skip the slow/medium/fast breakdown')
    parser.add_argument('--voc', action='store_true', help='also report the VOC-rule mAP')
    parser.add_argument('--frame-subset', type=_subset, nargs='+', default=[], metavar='NAME=FILE',
                        help='add mAP_NAME over the frames a list file names (json file_names)')
    parser.add_argument('--oracle-class', action='store_true',
                        help='give each detection that overlaps a ground-truth box (IoU >= 0.5) that box\'s class '
                             'first: what is left is the error of the boxes and their scores (a diagnosis)')
    parser.add_argument('--score-stats', action='store_true',
                        help=f'also print, per frame subset, the best score on each ground-truth box and the '
                             f'detections above {SCORE_THR} on background / badly placed (a diagnosis)')
    parser.add_argument('--json', help='also write the metrics (and score_stats) to this JSON file')
    return parser.parse_args(argv)


def overlaps_by_image(preds: VIDPredictions, annotations: VIDAnnotations):
    """For each predicted image with ground truth, ``(image, rows, gt_rows, overlaps)``: its
    index in ``annotations``, the slice of its n detections in ``preds``, the indices of its g
    ground-truth rows in ``annotations.gts`` and the (n, g) IoUs between them."""
    gts = annotations.gts
    order = np.argsort(gts.img, kind='stable')
    gt_img = gts.img[order]
    starts = np.concatenate([[0], np.cumsum(preds.num_dets)])
    for index, image in enumerate(annotations.index_of(preds.img_ids, 'the predictions')):
        first, last = np.searchsorted(gt_img, [image, image + 1])
        if first == last:
            continue
        in_image = order[first:last]
        rows = slice(starts[index], starts[index + 1])
        yield image, rows, in_image, bbox_overlaps(preds.bboxes[rows], annotations.gts.bboxes[in_image])


def relabel_by_overlap(preds: VIDPredictions, annotations: VIDAnnotations, iou_thr: float = 0.5) -> VIDPredictions:
    """``preds`` where each detection overlapping a ground-truth box of its image by
    IoU >= ``iou_thr`` takes the label of the box it overlaps most (the metric's
    labels: ``annotations`` is the metric's ground truth); the others keep theirs."""
    labels = preds.labels.copy()
    for _, rows, in_image, overlaps in overlaps_by_image(preds, annotations):
        if overlaps.shape[0] == 0:
            continue
        hit = overlaps.max(1) >= iou_thr
        labels[rows][hit] = annotations.gts.labels[in_image][overlaps.argmax(1)[hit]]
    return preds._replace(labels=labels)


def score_statistics(preds: VIDPredictions, annotations: VIDAnnotations, subsets: dict,
                     score_thr: float = SCORE_THR) -> dict:
    """Where the scores go, class-agnostic, per frame subset (frames with ground truth only):

    - ``object_score``: per ground-truth box, the best score of a detection overlapping it by
      IoU >= 0.5 (0 if none), averaged;
    - ``background_per_frame``: detections scoring above ``score_thr`` that overlap no box by
      IoU >= 0.3, per frame;
    - ``mislocated_per_frame``: detections scoring above ``score_thr`` whose best IoU is in [0.3, 0.5).

    Args:
        subsets: ``{name: (I,) bool mask over annotations' images}``; 'all' is added.
    """
    per_image = {}
    for image, rows, _, overlaps in overlaps_by_image(preds, annotations):
        scores = preds.scores[rows]
        best = overlaps.max(1) if len(scores) else np.zeros(0)
        covered = overlaps >= 0.5  # (n, g)
        object_scores = np.where(covered, scores[:, None], 0.0).max(0) if len(scores) else np.zeros(overlaps.shape[1])
        confident = scores > score_thr
        per_image[image] = (object_scores, int((confident & (best < 0.3)).sum()),
                            int((confident & (best >= 0.3) & (best < 0.5)).sum()))
    table = {}
    for name, mask in [('all', None), *subsets.items()]:
        chosen = [value for image, value in per_image.items() if mask is None or mask[image]]
        if not chosen:
            continue
        table[name] = dict(frames=len(chosen),
                           object_score=float(np.mean(np.concatenate([value[0] for value in chosen]))),
                           background_per_frame=float(np.mean([value[1] for value in chosen])),
                           mislocated_per_frame=float(np.mean([value[2] for value in chosen])))
    return table


def main(argv=None) -> dict:
    args = parse_args(argv)
    with user_errors():
        return evaluate(args)


def build_metric(args: argparse.Namespace) -> VIDMetric:
    """The VIDMetric of the ground truth ``args.gt``; a GT that is not JSON, or that holds no
    annotation (every AP would be NaN), is a ValueError naming it."""
    try:
        metric = VIDMetric(args.gt, mode=args.mode, motion_breakdown=not args.no_motion, report_voc=args.voc,
                           frame_subsets=dict(args.frame_subset))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"ground truth '{args.gt}' is not a JSON file ({error}); pass the COCO-VID annotation json "
                         'the predictions were made on') from None
    if len(metric.annotations.gts.labels) == 0:
        raise ValueError(f"ground truth '{args.gt}' holds no annotation (its \"annotations\" list is empty), so there "
                         'is nothing to score and every AP would be NaN; pass the json with the boxes of the frames')
    return metric


def evaluate(args: argparse.Namespace) -> dict:
    """Evaluates the dump as ``args`` say; prints (and writes) the metrics."""
    inputs = [('prediction dump', args.pred), ('ground truth', args.gt)]
    for what, path in inputs + [(f'--frame-subset {name}', path) for name, path in args.frame_subset]:
        check_input_file(path, what, 'check the path')
    if args.json:
        check_output_path(args.json, '--json')
    preds = load_vid_predictions(args.pred)
    metric = build_metric(args)
    if args.oracle_class:
        preds = relabel_by_overlap(preds, metric.annotations)
    metrics = {f'{metric.prefix}/{key}': value
               for key, value in metric.evaluate_predictions(preds, source=f"the predictions in '{args.pred}'").items()}
    print(json.dumps(metrics))
    if args.score_stats:
        masks = {name: read_frame_subset(path, metric.annotations) for name, path in args.frame_subset}
        metrics['score_stats'] = score_statistics(preds, metric.annotations, masks)
        print(json.dumps(metrics['score_stats']))
    if args.json:
        write_json(args.json, metrics)
    return metrics


if __name__ == '__main__':
    main()
