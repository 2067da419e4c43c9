"""Can the instance features of a trained detector tell the same object in other frames?

    python tools/analysis/instance_retrieval.py CONFIG CHECKPOINT [--data-root DIR]
        [--max-frames N] [--cfg-options KEY=VALUE ...] [--json OUT]

Runs the test split frame by frame, as ``tools/test.py`` does, and keeps each frame's RoIs with
their first-FC features (fc6 before the ReLU and before any GEO: what an instance-level GEO takes
as queries and, in its raw form, as memory rows). A RoI is an object when it overlaps a
ground-truth box by IoU >= 0.5 (that box's instance and class), background below 0.3. For each
object RoI of a frame (the query), the pool is every RoI of the other frames of its video
(objects, background and unlabelled look-alikes: what a memory over the video holds). Per frame
subset (degraded / clean queries):

- ``share_same_object``: the pool's share of RoIs of the query's own object: the attention a
  uniform (broadcast) GEO gives it;
- ``top1_same_object`` / ``top1_same_class``: how often the pool RoI with the highest cosine
  similarity of raw features is of the same object / of an object of the same class;
- ``attention_same_object`` (models with an instance level): the attention mass the first
  instance GEO, with its trained projections, puts on the query's own object, mean over heads.

Works for any two-stage detector with shared FCs (the single-frame baseline too: raw features
only). If the raw features retrieve the same object, a GEO can learn to select; if they do not on
degraded frames, appearance-only attention cannot pick the same object there.
"""
import json
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np
import torch
from torch import Tensor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from geo_selectivity import measure_from_arguments, probe_arguments, run_probe  # noqa: E402

from mamba_vod.evaluation.functional import write_json  # noqa: E402
from mmdet.structures.bbox import bbox_overlaps  # noqa: E402  isort: skip  (after mamba_vod)

OBJECT_IOU, BACKGROUND_IOU = 0.5, 0.3
#: identity of a RoI that is background (< BACKGROUND_IOU) or neither (between the thresholds)
BACKGROUND, AMBIGUOUS = -1, -2


def roi_identities(rois: Tensor, gt_boxes: Tensor, gt_instances: Tensor) -> Tensor:
    """(R,) instance of each RoI box (R, 4): the best-overlapping ground-truth box's (G, 4) instance
    id (G,) at IoU >= 0.5, ``BACKGROUND`` below 0.3, ``AMBIGUOUS`` between."""
    identity = torch.full((len(rois),), BACKGROUND, dtype=torch.long)
    if len(gt_boxes) == 0 or len(rois) == 0:
        return identity
    best, which = bbox_overlaps(rois.float(), gt_boxes.float()).max(1)
    identity[best >= BACKGROUND_IOU] = AMBIGUOUS
    identity[best >= OBJECT_IOU] = gt_instances[which[best >= OBJECT_IOU]]
    return identity


def retrieval_statistics(features: Tensor, identity: Tensor, classes: Tensor, frame: Tensor,
                         query_frames: Tensor, geo=None) -> Dict[str, List[float]]:
    """Per object RoI of ``query_frames``, against the RoIs of the other frames of one video.

    Args:
        features: (N, C) raw first-FC features of the video's RoIs.
        identity: (N,) instance id (>= 0) or ``BACKGROUND`` / ``AMBIGUOUS``.
        classes: (N,) class of the RoI's object, -1 for the others.
        frame: (N,) frame index of each RoI.
        query_frames: frame indices whose object RoIs are queries.
        geo: a :class:`mamba_vod.models.layers.GEO` for ``attention_same_object``, or None.

    Returns ``{statistic: [one value per query]}``.
    """
    rows = defaultdict(list)
    unit = torch.nn.functional.normalize(features.double(), dim=1)
    for t in query_frames.tolist():
        queries = ((frame == t) & (identity >= 0)).nonzero().flatten()
        pool = (frame != t).nonzero().flatten()
        if len(queries) == 0 or len(pool) == 0:
            continue
        same = identity[queries][:, None] == identity[pool][None, :]  # (Q, P)
        best = (unit[queries] @ unit[pool].t()).argmax(1)  # (Q,)
        rows['share_same_object'] += same.double().mean(1).tolist()
        rows['top1_same_object'] += (identity[pool][best] == identity[queries]).double().tolist()
        rows['top1_same_class'] += (classes[pool][best] == classes[queries]).double().tolist()
        if geo is not None:
            rows['attention_same_object'] += attention_mass(geo, features[queries], features[pool], same).tolist()
    return rows


def attention_mass(geo, queries: Tensor, keys: Tensor, mask: Tensor) -> Tensor:
    """(Q,) attention mass of ``geo`` from each query (Q, C) on the keys (P, C) where ``mask``
    (Q, P) is set, mean over heads."""
    weights = geo.attention_weights(queries[None], keys[None])[0]  # (H, Q, P)
    return (weights * mask).sum(-1).mean(0)


class RoIFeatureProbe:
    """Forward hooks that keep, per test frame, its proposals (the RoIs of its prediction) and their
    first-FC features."""

    def __init__(self, model) -> None:
        head = model.roi_head.bbox_head
        if not getattr(head, 'shared_fcs', None):
            raise ValueError('the model has no shared FCs in its box head to take features from')
        self.frames: List[dict] = []
        self._meta, self._rois = None, None
        self.handles = [model.roi_head.bbox_roi_extractor.register_forward_hook(self._keep_rois),
                        head.shared_fcs[0].register_forward_hook(self._keep_features)]

    def set_frame(self, meta: dict) -> None:
        self._meta, self._rois = meta, None

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def _keep_rois(self, module, inputs, output) -> None:
        self._rois = inputs[1]

    def _keep_features(self, module, inputs, output) -> None:
        # a MAMBA calls the FC on a frame's top proposals (its memory rows) and on all its
        # proposals (the prediction): the largest call of the frame is kept
        if self._rois is None or len(self._rois) != len(output):
            return
        if self.frames and self.frames[-1]['img_id'] == self._meta['img_id']:
            if len(output) <= len(self.frames[-1]['features']):
                return
            self.frames.pop()
        scale = torch.tensor(self._meta['scale_factor']).repeat(2)
        self.frames.append(dict(img_id=self._meta['img_id'], boxes=self._rois[:, 1:].float().cpu() / scale,
                                features=output.detach().float().cpu()))


def summarise(probe: RoIFeatureProbe, annotations, ann_file: str, members: Dict[str, set], geo=None) -> dict:
    """``{subset: {statistic: mean, 'queries': n}}`` over the videos the probe saw; the boxes and
    labels from ``annotations`` (:func:`load_vid_annotations` of ``ann_file``), the instance and
    video ids from the json itself."""
    with open(ann_file) as f:
        coco = json.load(f)
    if not all('instance_id' in ann for ann in coco['annotations']):
        raise ValueError(f'{ann_file}: annotations without an instance_id; the tool needs COCO-VID instance ids')
    video_of = {image['id']: image['video_id'] for image in coco['images']}
    instance_ids = torch.tensor([ann['instance_id'] for ann in coco['annotations']])  # (G,) in gts order
    gts = annotations.gts
    rows_of = defaultdict(list)  # json image id -> its ground-truth rows
    for row, image in enumerate(gts.img):
        rows_of[int(annotations.img_ids[image])].append(row)
    by_video = defaultdict(list)
    for frame in probe.frames:
        by_video[video_of[frame['img_id']]].append(frame)
    table = {subset: defaultdict(list) for subset in ['all', *sorted(members)]}
    for frames in by_video.values():
        features, identity, classes, frame_index = [], [], [], []
        for t, frame in enumerate(frames):
            rows = rows_of[frame['img_id']]
            ids = roi_identities(frame['boxes'], torch.from_numpy(gts.bboxes[rows]).reshape(-1, 4), instance_ids[rows])
            class_of = dict(zip(instance_ids[rows].tolist(), gts.labels[rows].tolist()))
            features.append(frame['features'])
            identity.append(ids)
            classes.append(torch.tensor([class_of.get(int(i), -1) for i in ids]))
            frame_index.append(torch.full((len(ids),), t))
        columns = [torch.cat(c) for c in (features, identity, classes, frame_index)]
        img_ids = [frame['img_id'] for frame in frames]
        for subset, wanted in [('all', None), *sorted(members.items())]:
            query_frames = torch.tensor([t for t, img in enumerate(img_ids) if wanted is None or img in wanted])
            with torch.no_grad():
                for key, values in retrieval_statistics(*columns, query_frames, geo).items():
                    table[subset][key] += values
    return {subset: dict({key: float(np.mean(values)) for key, values in stats.items()},
                         queries=len(stats['top1_same_object']))
            for subset, stats in table.items()}  # a subset without object RoIs: queries 0 alone


def measure(config: str, checkpoint: str, *, data_root=None, max_frames=None, cfg_options=None) -> dict:
    """Runs the test split and returns :func:`summarise`'s table."""
    found = {}

    def make_probe(model, evaluator, annotations, members):
        found.update(annotations=annotations, ann_file=evaluator['ann_file'], members=members, model=model)
        return RoIFeatureProbe(model)

    probe = run_probe(config, checkpoint, make_probe, data_root=data_root, max_frames=max_frames,
                      cfg_options=cfg_options)
    instance_level = getattr(found['model'], 'instance_level', None)
    geo = instance_level.geos[0] if instance_level is not None else None
    return summarise(probe, found['annotations'], found['ann_file'], found['members'], geo)


def parse_args(argv=None):
    return probe_arguments('Do the instance features of a detector retrieve the same object in other '
                           'frames?').parse_args(argv)


def main(argv: Sequence[str] = None) -> None:
    args = parse_args(argv)
    table = measure_from_arguments(measure, args)
    names = ['share_same_object', 'top1_same_object', 'top1_same_class', 'attention_same_object']
    print(f"{'subset':<10} {'queries':>7} " + ' '.join(f'{name:>21}' for name in names))
    for subset, row in table.items():
        if not row['queries']:
            print(f'{subset:<10} {0:>7}  (no RoI of this subset overlaps an object by IoU >= {OBJECT_IOU})')
            continue
        print(f'{subset:<10} {row["queries"]:>7} ' + ' '.join(
            f'{row[name]:>21.3f}' if name in row else f'{"-":>21}' for name in names))
    if args.json:
        write_json(args.json, table)


if __name__ == '__main__':
    main()
