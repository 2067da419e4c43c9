"""Evaluate a VID prediction dump offline:
``python tools/analysis/eval_vid.py PRED GT [--mode ilsvrc|voc] [--no-motion] [--voc]
[--frame-subset NAME=FILE ...] [--oracle-class] [--json OUT]``.

PRED is the .npz written by ``VIDMetric(dump_file=...)``; GT the COCO-VID json
the predictions were made on. Prints the per-class table (AP in percent) and
the metrics as one JSON line (fractions, as the VIDMetric returns them).
"""
import argparse
import json
import os
import sys
from collections import defaultdict

import numpy as np

from mamba_vod.evaluation import VIDMetric  # importing mamba_vod prepares mmdet (mmcv._ext)
from mamba_vod.evaluation.functional import VIDPredictions, load_vid_predictions, write_json
from mmdet.evaluation.functional import bbox_overlaps  # isort: skip  (after mamba_vod)


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
    parser.add_argument('--json', help='also write the metrics to this JSON file')
    return parser.parse_args(argv)


def relabel_by_overlap(preds: VIDPredictions, gt_file: str, iou_thr: float = 0.5) -> VIDPredictions:
    """``preds`` where each detection overlapping a ground-truth box of its image by
    IoU >= ``iou_thr`` takes the class of the box it overlaps most (labels 0..C-1
    by ascending category id, as the metric's); the other detections keep theirs."""
    with open(gt_file) as f:
        coco = json.load(f)
    label_of = {c['id']: k for k, c in enumerate(sorted(coco['categories'], key=lambda c: c['id']))}
    boxes, classes = defaultdict(list), defaultdict(list)
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        boxes[ann['image_id']].append([x, y, x + w, y + h])
        classes[ann['image_id']].append(label_of[ann['category_id']])
    labels = preds.labels.copy()
    starts = np.concatenate([[0], np.cumsum(preds.num_dets)])
    for index, img_id in enumerate(preds.img_ids.tolist()):
        if not boxes[img_id]:
            continue
        rows = slice(starts[index], starts[index + 1])
        overlaps = bbox_overlaps(preds.bboxes[rows], np.array(boxes[img_id], dtype=np.float32))  # (n, g)
        best = overlaps.argmax(1)
        hit = overlaps.max(1) >= iou_thr
        labels[rows][hit] = np.array(classes[img_id])[best[hit]]
    return preds._replace(labels=labels)


def main(argv=None) -> dict:
    args = parse_args(argv)
    for path in [args.pred, args.gt] + [p for _, p in args.frame_subset]:
        if not os.path.isfile(path):
            sys.exit(f'eval_vid.py: no such file: {path}')
    preds = load_vid_predictions(args.pred)
    if args.oracle_class:
        preds = relabel_by_overlap(preds, args.gt)
    metric = VIDMetric(args.gt, mode=args.mode, motion_breakdown=not args.no_motion, report_voc=args.voc,
                       frame_subsets=dict(args.frame_subset))
    metrics = {f'{metric.prefix}/{key}': value
               for key, value in metric.evaluate_predictions(preds, source=args.pred).items()}
    print(json.dumps(metrics))
    if args.json:
        write_json(args.json, metrics)
    return metrics


if __name__ == '__main__':
    main()
