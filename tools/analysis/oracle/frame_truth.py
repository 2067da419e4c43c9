"""The ground truth per frame, and the restriction of one attention call that it drives.

Shape shorthand: g ground-truth boxes of a frame, n boxes to identify, Nq queries, Nk keys, C channels.

An identity (n,) is an instance id (>= 0), ``BACKGROUND`` or ``AMBIGUOUS`` (:func:`instance_retrieval.roi_identities`)
or :data:`UNKNOWN` (a frame without ground truth). :func:`allowed_keys` turns the identities of queries (Nq,) and
keys (Nk,) into the keys each query may attend to under a rule of :data:`KEYS`; :func:`restrict` runs the call
again, for each object's queries, over its allowed keys alone.
"""
import json
from collections import defaultdict
from typing import Callable, Mapping, NamedTuple, Tuple

import numpy as np
import torch
from instance_retrieval import AMBIGUOUS, BACKGROUND, roi_identities  # noqa: F401  (identities)
from torch import Tensor

from mamba_vod.evaluation.functional import load_vid_annotations

KEYS = ('learned', 'same-object', 'other-objects')
#: identity of a row whose frame has no ground truth
UNKNOWN = -3


class Frame(NamedTuple):
    """The frame whose boxes are identified: ``scale`` (4,) multiplies original pixels into the input's."""
    video_id: int
    frame_id: int
    scale: Tensor


class FrameTruth:
    """Ground-truth boxes (g, 4) in original pixels and instance ids (g,) by (video_id, frame_id)."""

    def __init__(self, frames: Mapping[Tuple[int, int], Tuple[Tensor, Tensor]]) -> None:
        self.frames = dict(frames)

    @classmethod
    def from_ann_file(cls, ann_file: str) -> 'FrameTruth':
        """Boxes as :func:`load_vid_annotations` reads them, ids and frames from the json itself."""
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
        if not all('instance_id' in ann for ann in coco['annotations']):
            raise ValueError(f'{ann_file}: annotations without an instance_id; the oracle needs COCO-VID instance ids')
        gts = load_vid_annotations(ann_file).gts
        boxes, ids = defaultdict(list), defaultdict(list)
        for row, ann in enumerate(coco['annotations']):  # gts rows are the annotations, in order
            boxes[ann['image_id']].append(gts.bboxes[row])
            ids[ann['image_id']].append(ann['instance_id'])
        return cls({(image['video_id'], image['frame_id']): (
            torch.from_numpy(np.array(boxes[image['id']], dtype=np.float64).reshape(-1, 4)),
            torch.tensor(ids[image['id']], dtype=torch.long))
            for image in coco['images'] if 'video_id' in image})

    def identities(self, frame: Frame, boxes: Tensor) -> Tensor:
        """(n,) identity of boxes (n, 4) of ``frame`` in the input's pixels: an instance id,
        ``BACKGROUND``, ``AMBIGUOUS`` (:func:`roi_identities`) or ``UNKNOWN`` (no such frame)."""
        truth = self.frames.get((frame.video_id, frame.frame_id))
        if truth is None:
            return torch.full((len(boxes), ), UNKNOWN, dtype=torch.long, device=boxes.device)
        original = boxes.detach().double().cpu() / frame.scale
        return roi_identities(original, *truth).to(boxes.device)


def allowed_keys(keys: str, query_ids: Tensor, key_ids: Tensor) -> Tensor:
    """(Nq, Nk) bool: the keys each query may attend to under ``keys`` ('same-object' or
    'other-objects'), for identities (Nq,) and (Nk,); none for a query that is not an object."""
    query, key = query_ids[:, None], key_ids.to(query_ids.device)[None]
    allowed = key == query if keys == 'same-object' else (key >= 0) & (key != query)
    return allowed & (query >= 0)


def restrict(full: Callable[[], Tensor], subset: Callable[[Tensor, Tensor], Tensor], query_ids: Tensor,
             key_ids: Tensor, keys: str) -> Tuple[Tensor, int]:
    """The output (Nq, C) of one attention call with each object query's keys restricted.

    Args:
        full: the call as the model makes it (every query over every key).
        subset: ``subset(rows, allowed)``, the same call on the queries ``rows`` (Nq,) bool over the
            keys ``allowed`` (Nk,) bool only, (r, C).
        query_ids, key_ids: (Nq,) and (Nk,) identities.
    Returns the output and the number of queries restricted (those with an allowed key).
    """
    out = full()
    if keys == 'learned' or not len(query_ids):
        return out, 0
    allowed = allowed_keys(keys, query_ids, key_ids)
    rows = allowed.any(1)
    if not rows.any():
        return out, 0
    out = out.clone()
    for identity in query_ids[rows].unique():  # the queries of one object share their allowed keys
        group = rows & (query_ids == identity)
        out[group] = subset(group, allowed[group.nonzero()[0, 0]])
    return out, int(rows.sum())
