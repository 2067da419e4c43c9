"""Time VID evaluation on a generated set the size of ImageNet VID val:
``python tools/analysis/bench_vid_eval.py [--frames 176126] [--videos 555] [--max-per-img 100]
[--seed 0] [--json OUT]``.

Ground truth: 1-4 object tracks per video (30 classes) that move slowly,
moderately or fast, so all three FGFA motion ranges are populated.
Detections: ``max_per_img`` per frame (as a detector with a low score
threshold gives): jittered copies of the ground truth, some with a wrong class,
and background boxes with low scores. Times ``eval_vid_map`` (the list API
of DESIGN.md, flattening included) and ``eval_vid_map_flat`` (what VIDMetric
runs) for the 'ilsvrc' rule, 'ilsvrc' with the motion breakdown, and 'voc'.
"""
import argparse
import json
import os
import platform
import time

import numpy as np

from mamba_vod.evaluation.functional import (FGFA_MOTION_RANGES, FlatDetections, FlatGroundTruth,
                                             eval_vid_map, eval_vid_map_flat, motion_iou,
                                             write_json)

NUM_CLASSES = 30
IMAGE_W, IMAGE_H = 1280.0, 720.0


def make_ground_truth(rng, num_frames: int, num_videos: int):
    """Tracks of boxes; returns (video (I,), FlatGroundTruth, (video, instance, frame) per box)."""
    lengths = rng.multinomial(num_frames - 20 * num_videos, np.full(num_videos, 1 / num_videos)) + 20
    video_start = np.cumsum(lengths) - lengths
    img_video = np.repeat(np.arange(num_videos), lengths)
    parts = []
    for v in range(num_videos):
        for instance in range(int(rng.integers(1, 5))):
            span = int(rng.integers(max(1, lengths[v] // 3), lengths[v] + 1))
            first = int(rng.integers(0, lengths[v] - span + 1))
            t = np.arange(span)[:, None]
            size = rng.uniform(24, 360, 2)
            speed = rng.choice([0.2, 1.5, 6.0]) * rng.normal(0, 1, 2)  # px per frame: slow/medium/fast
            top_left = rng.uniform(0, [IMAGE_W - size[0], IMAGE_H - size[1]]) + speed * t
            top_left += np.cumsum(rng.normal(0, 0.5, (span, 2)), axis=0)
            top_left = np.clip(top_left, 0, [IMAGE_W - size[0], IMAGE_H - size[1]])
            boxes = np.hstack([top_left, top_left + size])
            frames = np.arange(first, first + span)
            parts.append((video_start[v] + frames, boxes, rng.integers(0, NUM_CLASSES),
                          np.full(span, v), np.full(span, instance), frames))
    img = np.concatenate([p[0] for p in parts])
    order = np.argsort(img, kind='stable')
    labels = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])[order]
    tracks = tuple(np.concatenate([p[k] for p in parts])[order] for k in (3, 4, 5))
    gts = FlatGroundTruth(img[order], np.concatenate([p[1] for p in parts])[order], labels)
    return img_video, gts, tracks


def make_detections(rng, gts: FlatGroundTruth, num_frames: int, max_per_img: int) -> FlatDetections:
    """Three jittered copies per ground truth, then background up to max_per_img."""
    copies = np.repeat(np.arange(len(gts.img)), 3)
    size = gts.bboxes[copies, 2:] - gts.bboxes[copies, :2]
    jitter = rng.normal(0, 0.12, (len(copies), 4)) * np.hstack([size, size])
    hit_boxes = gts.bboxes[copies] + jitter
    hit_labels = np.where(rng.random(len(copies)) < 0.85, gts.labels[copies],
                          rng.integers(0, NUM_CLASSES, len(copies)))
    hit_img = gts.img[copies]
    per_img = np.minimum(np.bincount(hit_img, minlength=num_frames), max_per_img)
    bg_count = max_per_img - per_img
    bg_img = np.repeat(np.arange(num_frames), bg_count)
    xy = rng.uniform(0, [IMAGE_W - 20, IMAGE_H - 20], (len(bg_img), 2))
    bg_boxes = np.hstack([xy, xy + rng.uniform(16, 300, (len(bg_img), 2))])
    img = np.concatenate([hit_img, bg_img])
    order = np.argsort(img, kind='stable')
    return FlatDetections(
        img=img[order],
        bboxes=np.vstack([hit_boxes, bg_boxes])[order],
        # Detectors score in float32.
        scores=np.concatenate([rng.uniform(0.2, 1.0, len(copies)), rng.exponential(0.05, len(bg_img)).clip(
            0, 0.99)]).astype(np.float32).astype(np.float64)[order],
        labels=np.concatenate([hit_labels, rng.integers(0, NUM_CLASSES, len(bg_img))])[order])


def to_list_api(dets: FlatDetections, gts: FlatGroundTruth, num_frames: int):
    """det_results[i][c] and annotations[i] as DESIGN.md section 5 defines them."""
    order = np.lexsort((dets.labels, dets.img))
    cell = dets.img[order] * NUM_CLASSES + dets.labels[order]
    cuts = np.searchsorted(cell, np.arange(1, num_frames * NUM_CLASSES))
    arrays = np.split(np.hstack([dets.bboxes[order], dets.scores[order, None]]), cuts)
    det_results = [arrays[i * NUM_CLASSES:(i + 1) * NUM_CLASSES] for i in range(num_frames)]
    gt_cuts = np.searchsorted(gts.img, np.arange(1, num_frames))
    annotations = [dict(bboxes=b, labels=l, motion_iou=m) for b, l, m in zip(
        np.split(gts.bboxes, gt_cuts), np.split(gts.labels, gt_cuts), np.split(gts.motion_iou, gt_cuts))]
    return det_results, annotations


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Time VID evaluation on a VID-val-sized generated set.')
    parser.add_argument('--frames', type=int, default=176126)
    parser.add_argument('--videos', type=int, default=555)
    parser.add_argument('--max-per-img', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='also write the figures to this JSON file')
    args = parser.parse_args(argv)
    if args.frames < 20 * args.videos:
        parser.error('--frames must be at least 20 per video')
    rng = np.random.default_rng(args.seed)
    _, gts, tracks = make_ground_truth(rng, args.frames, args.videos)
    motion, motion_s = _timed(motion_iou, *tracks, gts.bboxes)
    gts = gts._replace(motion_iou=motion)
    dets = make_detections(rng, gts, args.frames, args.max_per_img)
    det_results, annotations = to_list_api(dets, gts, args.frames)
    fig = dict(frames=args.frames, videos=args.videos, gt_boxes=len(gts.img), detections=len(dets.img),
               motion_share={name: float(((motion >= lo) & (motion <= hi)).mean())
                             for name, (lo, hi) in FGFA_MOTION_RANGES.items() if name != 'all'},
               machine=f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores',
               seconds=dict(motion_iou=round(motion_s, 2)), mAP={})
    runs = dict(ilsvrc=dict(mode='ilsvrc'), ilsvrc_motion=dict(mode='ilsvrc', motion_ranges=FGFA_MOTION_RANGES),
                voc=dict(mode='voc'))
    for name, kwargs in runs.items():
        (mean_ap, _), fig['seconds'][f'{name}_list_api'] = _timed(eval_vid_map, det_results, annotations,
                                                                  **kwargs)
        (flat_ap, _), fig['seconds'][f'{name}_flat'] = _timed(eval_vid_map_flat, dets, gts, args.frames,
                                                              NUM_CLASSES, **kwargs)
        assert flat_ap == mean_ap, (name, flat_ap, mean_ap)
        fig['mAP'][name] = mean_ap
        fig['seconds'] = {k: round(v, 2) for k, v in fig['seconds'].items()}
        print(f'{name}: list API {fig["seconds"][f"{name}_list_api"]:.2f} s, flat '
              f'{fig["seconds"][f"{name}_flat"]:.2f} s, mAP {mean_ap}', flush=True)
    print(json.dumps(fig, indent=2))
    if args.json:
        write_json(args.json, fig)
    return fig


if __name__ == '__main__':
    main()
