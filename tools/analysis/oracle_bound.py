"""The oracle bound of an instance-level method: its trained model tested with the keys of each query
restricted by the ground truth.

    python tools/analysis/oracle_bound.py CONFIG CHECKPOINT --keys learned|same-object|other-objects
        [--protocol online|NAME] [--data-root DIR] [--cfg-options KEY=VALUE ...] [--work-dir DIR] [--json OUT]

Tests CONFIG with CHECKPOINT as ``tools/test.py`` does (same config path, Runner, protocol, VIDMetric
with its degraded / clean subsets), except that in every instance-level attention of the model the
keys a query may attend to are chosen by ``--keys``:

- ``learned``: no restriction: ``tools/test.py``'s metrics, number for number;
- ``same-object``: a query RoI that is an object (IoU >= 0.5 with a ground-truth box of its frame:
  that box's instance id, :func:`instance_retrieval.roi_identities`) attends only to the keys that
  are proposals of the same object in their own frames;
- ``other-objects``: an object query attends only to proposals of the video's other objects
  (instance id >= 0 and not its own), the opposite control.

A query that is background or ambiguous, of a frame without ground truth, or whose object has no
key in the key set (no key of another object for ``other-objects``) keeps its learned attention;
the tool reports how many queries were restricted. Restricting is exact: the attention module runs,
with its own code, on the restricted rows of the queries over the allowed keys alone (what a
softmax with -inf on the other keys gives); everything else of the model is unchanged. With
``centre_values`` a GEO's value mean is over the key set it receives, i.e. the allowed keys.

Identities come from the test evaluator's ``ann_file`` (COCO-VID with ``instance_id``), boxes
compared in original-image pixels (proposals divided by the frame's ``scale_factor``). Nothing of
the model or its configs changes: the tool wraps methods of the built model's modules (instance
attributes, removed afterwards). One adapter per method family, each knowing its keys' boxes:

- :class:`InstanceLevelOracle` (MAMBA with an instance level, both levels too; SELSA; Temporal
  RoI Align): the keys are rows of the instance level's memory banks (followed by the frame's own
  rows with ``self_keys``, or the frame's own rows alone while the banks are empty), or, at frame 0
  of MAMBA's offline protocol, the references' rows. Every row written to a bank carries its
  identity as one more extra of the bank (same slot, so the bank's own appends, random or oldest
  replacements keep them aligned); the rows' boxes are those of the ``embed_proposals`` call that
  gave them (matched by equal values) and their frames the write's ``frame_ids``. A key set is the
  slots the bank drew (its ``sample_index``, recorded), so its identities are the identity
  extra at those slots; the paper composition's second GEO reads the same slots. Queries are the
  RoIs of the RoI extractor's last call, of the frame being detected (a MAMBA initial frame of the
  offline protocol: the reference it is). Temporal RoI Align: only its SELSA aggregation is
  restricted; its per-pixel RoI extractor over reference maps is not keyed by proposals.
- :class:`RelationOracle` (MEGA, RDN): the keys and queries of a relation are rows of entries
  (one frame's rows and boxes): the window's, their first k (distilled), the stage memories', the
  global pool's, in the order ``relation_level`` concatenates them, which the oracle rebuilds per
  call from the :class:`RelationKeys` being read and checks (equal boxes, equal global rows). Each
  entry is identified once, when ``frame_entries`` makes it (the frame detected, or its
  references), by the storage of its boxes, which the state's detached copies and the distilled
  slices share; what a stage memory takes is the window's oldest entry's rows. Queries are the
  RoIs of the frame detected, or (the stages' references, RDN's advanced stage) window rows.

Queries are counted per attention call (a RoI read by two GEOs counts twice; MEGA's reference rows,
queries of its stages too), attributed to the test frame being detected.

A single-frame detector, DFF and FGFA have no instance-level keys and are refused.
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Dict, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from torch import Tensor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from instance_retrieval import AMBIGUOUS, BACKGROUND, roi_identities  # noqa: E402,F401  (identities)

from mamba_vod.engine import TEST_PROTOCOLS, load_config, rebase_paths, test_config  # noqa: E402
from mamba_vod.engine.cli import user_errors  # noqa: E402
from mamba_vod.evaluation.functional import load_vid_annotations, read_frame_subset, write_json  # noqa: E402
from mamba_vod.models.detectors import MAMBA, MEGA, SELSA  # noqa: E402
from mamba_vod.models.detectors.stage_records import reference_frame_ids  # noqa: E402
from mamba_vod.models.layers import ProjectedKeys  # noqa: E402
from mamba_vod.registry import MODELS  # noqa: E402

KEYS = ('learned', 'same-object', 'other-objects')
#: identity of a row whose frame has no ground truth
UNKNOWN = -3
#: the bank extra that holds each row's identity
IDENTITY = 'oracle.identity'
SUPPORTED = 'MAMBA with an instance level, SELSA, Temporal RoI Align, RDN, MEGA'


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


class Oracle:
    """Wrappers on a built detector, the frame being detected and the counts per test frame.

    Args:
        model: the detector (:func:`oracle_for` picks the adapter).
        truth: the ground truth.
        keys: one of :data:`KEYS`.
    """

    def __init__(self, model, truth: FrameTruth, keys: str) -> None:
        if keys not in KEYS:
            raise ValueError(f'--keys must be one of {KEYS}, got {keys!r}')
        self.model, self.truth, self.keys = model, truth, keys
        self.frame: Optional[Frame] = None
        self.img_id = None
        self.counts: Dict[int, Dict[str, int]] = defaultdict(lambda: dict(queries=0, object_queries=0, restricted=0))
        self._patches = []
        self._hooks = []
        model.reset_memory()  # rows held now would have no identity
        self.patch(model, '_predict_frames', self._predict_frames)
        self.install()

    def install(self) -> None:
        """Wraps the adapter's methods (:meth:`patch`)."""
        raise NotImplementedError

    def patch(self, owner, name: str, wrapper: Callable) -> None:
        """``owner.name(*args)`` becomes ``wrapper(original, *args)`` until :meth:`remove`."""
        original = getattr(owner, name)
        setattr(owner, name, lambda *args, **kwargs: wrapper(original, *args, **kwargs))
        self._patches.append((owner, name))

    def remove(self) -> None:
        for owner, name in reversed(self._patches):
            delattr(owner, name)
        for handle in self._hooks:
            handle.remove()
        self._patches, self._hooks = [], []

    def _predict_frames(self, original, clips, samples, states, rescale):
        if len(samples) != 1:
            raise ValueError('oracle_bound runs one stream, one frame at a time (test_dataloader.batch_size=1)')
        self.set_frame(samples[0].metainfo)
        return original(clips, samples, states, rescale)

    def set_frame(self, meta: dict) -> None:
        """Called before each test frame with its data sample's metainfo."""
        video_changed = self.frame is None or meta.get('video_id') != self.frame.video_id
        self.frame = Frame(meta.get('video_id'), meta.get('frame_id', -1),
                           torch.tensor(meta['scale_factor'], dtype=torch.float64).repeat(2))
        self.img_id = meta.get('img_id')
        self.new_frame(video_changed)

    def new_frame(self, video_changed: bool) -> None:
        """Forgets what belonged to the last frame (and video)."""

    def count(self, query_ids: Tensor, restricted: int) -> None:
        row = self.counts[self.img_id]
        row['queries'] += len(query_ids)
        row['object_queries'] += int((query_ids >= 0).sum())
        row['restricted'] += restricted

    def summary(self, members: Mapping[str, set]) -> Dict[str, Dict[str, int]]:
        """``{subset: {'queries', 'object_queries', 'restricted'}}``, 'all' and ``members``' subsets."""
        table = {}
        for subset, wanted in [('all', None), *sorted(members.items())]:
            rows = [row for img_id, row in self.counts.items() if wanted is None or img_id in wanted]
            table[subset] = {key: sum(row[key] for row in rows) for key in ('queries', 'object_queries', 'restricted')}
        return table


def key_count(key_set) -> int:
    """Nk of a key set: a (Nk, C) tensor or :class:`ProjectedKeys`."""
    if isinstance(key_set, ProjectedKeys):
        return len(key_set.keys) if key_set.index is None else len(key_set.index)
    return len(key_set)


def key_subset(key_set, allowed: Tensor):
    """The keys ``allowed`` (Nk,) bool of a key set, of the same kind."""
    if not isinstance(key_set, ProjectedKeys):
        return key_set[allowed.to(key_set.device)]
    index = key_set.index
    if index is None:
        index = torch.arange(len(key_set.keys), device=key_set.keys.device)
    return ProjectedKeys(key_set.keys, key_set.values, index[allowed.to(index.device)])


class InstanceLevelOracle(Oracle):
    """MAMBA, SELSA, Temporal RoI Align: the GEOs of an :class:`InstanceLevel` (module docstring)."""

    def install(self) -> None:
        self.level = self.model.instance_level
        self.records = []  # this frame's embed_proposals calls: (boxes (n, 4), rows per FC level (n, C))
        self.key_sets = {}  # id(key set) -> (key set, (Nk,) identities)
        self.drawn = {}  # id(bank) -> the slots (k,) it drew last
        self.banks = []
        self.rois, self.initial_frames = None, 0
        self.patch(self.model.roi_head, 'embed_proposals', self._embed)
        self.patch(self.level, 'keys', self._keys)
        self.patch(self.level, 'update', self._update)
        self.patch(self.model, 'frame_keys', self._frame_keys)
        self.patch(self.model, 'detect_frames', self._detect_frames)
        self._hooks.append(self.model.roi_head.bbox_roi_extractor.register_forward_hook(self._keep_rois))
        for geo in self.level.geos:
            self.patch(geo, 'forward', self._geo)

    def remove(self) -> None:
        super().remove()
        for bank in self.banks:
            for name in ('write', 'sample_index'):
                delattr(bank, name)
        self.banks = []

    def new_frame(self, video_changed: bool) -> None:
        self.records, self.key_sets, self.drawn, self.rois, self.initial_frames = [], {}, {}, None, 0

    # ------------------------------------------------------------ rows and their boxes
    def _embed(self, original, x, boxes, instance_keys=None):
        """Keeps the boxes (n, 4) of each call with its rows, per FC level (n, C), in the same order."""
        per_image = original(x, boxes, instance_keys)
        levels = [torch.cat(level) for level in zip(*per_image)] if per_image else []
        self.records.append((torch.cat(list(boxes)), levels))
        return per_image

    def _boxes_of(self, rows: Tensor) -> Tensor:
        """The boxes (n, 4) of rows (n, C) that an ``embed_proposals`` call of this frame gave."""
        for boxes, levels in reversed(self.records):
            if any(level.shape == rows.shape and torch.equal(level, rows) for level in levels):
                return boxes
        raise RuntimeError('oracle_bound: instance rows that no embed_proposals call of this frame gave; '
                           'their boxes (and identities) are unknown')

    def _row_ids(self, rows: Tensor, frame_ids: Optional[Tensor]) -> Tensor:
        """(n,) identities of rows (n, C) of the frames ``frame_ids`` (n,) (None: the frame detected)."""
        ids = torch.full((len(rows), ), UNKNOWN, dtype=torch.long, device=rows.device)
        if not len(rows):
            return ids
        boxes = self._boxes_of(rows)
        if frame_ids is None:
            return self.truth.identities(self.frame, boxes)
        for frame_id in frame_ids.unique().tolist():
            mine = (frame_ids == frame_id).to(rows.device)
            ids[mine] = self.truth.identities(self.frame._replace(frame_id=frame_id), boxes[mine])
        return ids

    # ------------------------------------------------------------ banks
    def _own_banks(self) -> None:
        """Wraps ``write`` and ``sample_index`` of the banks the level reads now (once each)."""
        for bank in self.level.memories:
            if not any(bank is known for known in self.banks):
                self.banks.append(bank)
                original_write, original_draw = bank.write, bank.sample_index
                bank.write = lambda *args, _w=original_write, **kwargs: self._write(_w, *args, **kwargs)
                bank.sample_index = lambda *args, _b=bank, _d=original_draw: self._draw(_b, _d, *args)

    def _write(self, original, features, scores=None, frame_ids=None, generator=None, *, extras=None):
        """The rows' identities join their extras: the bank puts them in the rows' slots."""
        ids = self._row_ids(features, frame_ids)
        return original(features, scores, frame_ids, generator, extras={**(extras or {}), IDENTITY: ids})

    def _draw(self, bank, original, *args):
        index = original(*args)
        self.drawn[id(bank)] = index
        return index

    def _update(self, original, *args, **kwargs):
        self._own_banks()
        return original(*args, **kwargs)

    # ------------------------------------------------------------ key sets
    def _register(self, per_level, ids_of_level: Callable[[int], Tensor]) -> None:
        for level, key_set in enumerate(per_level or []):
            ids = ids_of_level(level)
            if len(ids) != key_count(key_set):
                raise RuntimeError(f'oracle_bound: {len(ids)} identities for a key set of {key_count(key_set)}')
            self.key_sets[id(key_set)] = (key_set, ids)

    def _keys(self, original, frame_rows):
        """The key sets of a test frame: the slots drawn (+ its own rows), or its own rows alone."""
        self._own_banks()
        empty = self.level.is_empty
        keys = original(frame_rows)
        own = None
        if frame_rows is not None and (empty or self.level.self_keys):
            own = self._row_ids(frame_rows[0], None)

        def ids(level: int) -> Tensor:
            if empty:
                return own
            bank = self.level.memories[0 if self.level.one_memory else level]
            drawn = bank.rows(IDENTITY)[self.drawn[id(bank)]]
            return drawn if own is None else torch.cat([drawn, own.to(drawn.device)])

        self._register(keys.per_image[0], ids)
        return keys

    def _frame_keys(self, original, frame):
        """MAMBA's frame 0 of the offline protocol: keys given as the references' rows."""
        result = original(frame)
        refs = frame.references
        if result is not None and getattr(refs, 'instance_rows', None) is not None:
            proposals = refs.proposals
            frame_ids = refs.frame_ids.to(proposals.image.device)[proposals.image.long()]
            ids = self._row_ids(refs.instance_rows[0], frame_ids)
            self._register(result.instance_keys.per_image[0], lambda level: ids)
        return result

    # ------------------------------------------------------------ queries
    def _detect_frames(self, original, frames, states):
        """MAMBA's initial frames (offline protocol, a map without an image): the j-th of a test
        frame is its j-th reference."""
        if frames[0].image is not None:
            return original(frames, states)
        key_frame, refs = self.frame, list(frames[0].meta.get('ref_frame_ids') or [])
        self.frame = key_frame._replace(frame_id=refs[self.initial_frames] if self.initial_frames < len(refs) else -1)
        self.initial_frames += 1
        try:
            return original(frames, states)
        finally:
            self.frame = key_frame

    def _keep_rois(self, module, inputs, output) -> None:
        self.rois = inputs[1]

    def _geo(self, original, query, keys):
        """One GEO call of the instance level: queries (R, C), the RoIs of the extractor's last call."""
        if self.rois is None or query.dim() != 2 or len(self.rois) != len(query) or (self.rois[:, 0] != 0).any():
            raise RuntimeError('oracle_bound: a GEO call whose queries are not the RoIs of one image')
        known = self.key_sets.get(id(keys))
        if known is None or known[0] is not keys:
            raise RuntimeError('oracle_bound: a GEO call over keys of unknown identity')
        query_ids = self.truth.identities(self.frame, self.rois[:, 1:])
        out, restricted = restrict(lambda: original(query, keys),
                                   lambda rows, allowed: original(query[rows], key_subset(keys, allowed)),
                                   query_ids, known[1], self.keys)
        self.count(query_ids, restricted)
        return out


class RelationOracle(Oracle):
    """MEGA, RDN: the local and global relations of a :class:`RelationLevel` (module docstring)."""

    def install(self) -> None:
        self.level = self.model.relation_level
        self.entry_ids = {}  # data_ptr of an entry's boxes (n, 4) -> (those boxes, (n,) identities), this video
        self.context = []  # (RelationKeys, RoI boxes (n, 4) and identities (n,), or None) of the stages running
        self.patch(self.model, 'frame_entries', self._entries)
        for name, wrapper in (('pushes', self._pushes), ('enhance', self._enhance),
                              ('stage_references', self._stage_references), ('_relate', self._relate),
                              ('_global', self._global)):
            self.patch(self.level, name, wrapper)

    def new_frame(self, video_changed: bool) -> None:
        if video_changed:
            self.entry_ids = {}

    # ------------------------------------------------------------ entries
    def _register(self, boxes: Tensor, ids: Tensor) -> None:
        if len(boxes):  # kept alive for the video: no other tensor takes its address meanwhile
            self.entry_ids[boxes.data_ptr()] = (boxes, ids)

    def _entry_ids(self, boxes: Tensor) -> Tensor:
        """(n,) identities of an entry's boxes (n, 4): a registered entry, or its first n rows."""
        if not len(boxes):
            return torch.zeros(0, dtype=torch.long, device=boxes.device)
        known = self.entry_ids.get(boxes.data_ptr())
        if known is None or len(known[0]) < len(boxes) or not torch.equal(known[0][:len(boxes)], boxes):
            raise RuntimeError('oracle_bound: a relation entry of unknown frame')
        return known[1][:len(boxes)]

    def _ids(self, entries) -> Tensor:
        """(sum n,) identities of entries' rows, concatenated in order."""
        parts = [self._entry_ids(boxes) for _, boxes in entries]
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)

    def _entries(self, original, maps, sample, proposals=None):
        """Entries of the frame detected (``proposals`` given) or of its references, in order."""
        entries = original(maps, sample, proposals)
        frame_ids = ([self.frame.frame_id] if proposals is not None else
                     reference_frame_ids(sample.metainfo, len(entries)).tolist()[:-1])
        for (_, boxes), frame_id in zip(entries, frame_ids):
            self._register(boxes, self.truth.identities(self.frame._replace(frame_id=frame_id), boxes))
        return entries

    def _pushes(self, original, keys, fcs):
        """The stage memories' entries: rows of the window's oldest frame (its first n boxes)."""
        pushes = original(keys, fcs)
        for _, boxes in pushes:
            oldest = keys.window[0][1][:len(boxes)]
            if not torch.equal(boxes, oldest):
                raise RuntimeError("oracle_bound: a stage memory's entry is not the window's oldest frame")
            self._register(boxes, self._entry_ids(oldest))
        return pushes

    # ------------------------------------------------------------ relations
    @contextmanager
    def _reading(self, keys, rois=None):
        self.context.append((keys, rois))
        try:
            yield
        finally:
            self.context.pop()

    def _enhance(self, original, x, boxes, keys, fcs):
        """The detected frame's RoIs (n, 4) through the stages."""
        with self._reading(keys, (boxes, self.truth.identities(self.frame, boxes))):
            return original(x, boxes, keys, fcs)

    def _stage_references(self, original, keys, fcs):
        with self._reading(keys):
            return original(keys, fcs)

    def _key_entries(self, index: int, keys) -> list:
        """The entries whose rows local relation ``index`` reads, in order (relation_level's formulas)."""
        window, distilled = list(keys.window), self.level.distilled(keys.window)
        if self.level.form == 'rdn':
            return distilled if index == self.level.num_stages + 1 else window
        memory = keys.memory[index] if index < len(keys.memory) else []
        return (window if index == 0 else distilled) + list(memory)

    def _relate(self, original, index, query, query_boxes, keys, key_boxes):
        """A local relation: queries (Nq, C) of boxes (Nq, 4) (the RoIs, or the window's distilled
        rows) over keys (Nk, C) of boxes (Nk, 4)."""
        relation_keys, rois = self.context[-1]
        key_entries = self._key_entries(index, relation_keys)
        query_entries = self.level.distilled(relation_keys.window)
        if not torch.equal(torch.cat([b for _, b in key_entries] + [key_boxes[:0]]), key_boxes):
            raise RuntimeError(f'oracle_bound: local relation {index} reads keys of other entries than expected')
        if rois is not None and query_boxes is rois[0]:
            query_ids = rois[1]
        elif torch.equal(torch.cat([b for _, b in query_entries] + [query_boxes[:0]]), query_boxes):
            query_ids = self._ids(query_entries)
        else:
            raise RuntimeError(f'oracle_bound: local relation {index} reads queries of unknown boxes')
        out, restricted = restrict(
            lambda: original(index, query, query_boxes, keys, key_boxes),
            lambda rows, allowed: original(index, query[rows], query_boxes[rows], keys[allowed], key_boxes[allowed]),
            query_ids, self._ids(key_entries), self.keys)
        self.count(query_ids, restricted)
        return out

    def _global(self, original, index, x, global_rows):
        """A global relation: rows x (n, C) (the RoIs', or a window entry's) over the global pool's (g, C)."""
        if global_rows is None or index >= len(self.level.global_relations) or not len(global_rows):
            return original(index, x, global_rows)  # no attention
        pool = self.level.state.global_pool
        if not pool or not torch.equal(torch.cat([rows for rows, _ in pool]), global_rows):
            raise RuntimeError("oracle_bound: a global relation's keys are not the global pool's rows")
        query_ids = self._global_query_ids(x)
        out, restricted = restrict(lambda: original(index, x, global_rows),
                                   lambda rows, allowed: original(index, x[rows], global_rows[allowed]),
                                   query_ids, self._ids(pool), self.keys)
        self.count(query_ids, restricted)
        return out

    def _global_query_ids(self, x: Tensor) -> Tensor:
        relation_keys, rois = self.context[-1]
        if rois is not None and len(rois[0]) == len(x):
            return rois[1]
        for rows, boxes in (relation_keys.window if rois is None else []):
            if rows is x:
                return self._entry_ids(boxes)
        raise RuntimeError("oracle_bound: a global relation's queries are neither the RoIs nor a window entry")


def oracle_for(model, truth: FrameTruth, keys: str) -> Oracle:
    """The adapter of the model's method family, installed; ValueError for a model without
    instance-level keys."""
    if getattr(model, 'instance_level', None) is not None and isinstance(model, (MAMBA, SELSA)):
        return InstanceLevelOracle(model, truth, keys)
    if getattr(model, 'relation_level', None) is not None and isinstance(model, MEGA):
        return RelationOracle(model, truth, keys)
    raise ValueError(f'{type(model).__name__} has no instance-level keys to restrict; supported: {SUPPORTED}')


def check_supported(cfg: Config, config: str) -> None:
    """Refuses, before any work, a config whose model has no instance-level keys."""
    kind = cfg.model.get('type')
    detector = MODELS.get(kind) if isinstance(kind, str) else kind
    if isinstance(detector, type) and (
            issubclass(detector, (MAMBA, SELSA)) and cfg.model.get('instance_level') is not None
            or issubclass(detector, MEGA) and cfg.model.get('relation_level') is not None):
        return
    raise ValueError(f'{config}: its model ({kind}) has no instance-level keys to restrict; oracle_bound supports '
                     f'{SUPPORTED}')


def evaluate(config: str, checkpoint: str, keys: str, *, protocol: Optional[str] = None, data_root=None,
             cfg_options: Optional[dict] = None, work_dir: Optional[str] = None) -> dict:
    """Tests ``config`` with ``checkpoint`` under :data:`KEYS` ``keys``; returns ``{'subsets': {subset:
    {'mAP' (%), 'queries', 'object_queries', 'restricted'}}, 'metrics'}``."""
    if keys not in KEYS:
        raise ValueError(f'--keys must be one of {KEYS}, got {keys!r}')
    cfg = load_config(config, cfg_options)
    if data_root:
        if not cfg.get('data_root'):
            raise ValueError(f'{config} names no data_root to move to {data_root}')
        cfg = rebase_paths(cfg, cfg.data_root, data_root)
    check_supported(cfg, config)
    with tempfile.TemporaryDirectory() as scratch:
        runner = Runner.from_cfg(test_config(cfg, checkpoint, work_dir=work_dir or scratch, protocol=protocol))
        evaluator = runner.cfg.test_evaluator
        annotations = load_vid_annotations(evaluator['ann_file'])
        members = {name: set(annotations.img_ids[read_frame_subset(path, annotations)].tolist())
                   for name, path in (evaluator.get('frame_subsets') or {}).items()}
        oracle = oracle_for(runner.model, FrameTruth.from_ann_file(evaluator['ann_file']), keys)
        try:
            metrics = runner.test()
        finally:
            oracle.remove()
    table = oracle.summary(members)
    for subset, row in table.items():
        name = 'mAP' if subset == 'all' else f'mAP_{subset}'
        found = [value for key, value in metrics.items() if key.split('/')[-1] == name]
        if not found:
            raise KeyError(f'the test metrics have no {name} (a VIDMetric with frame_subsets): {sorted(metrics)}')
        row['mAP'] = 100 * found[0]
    return dict(subsets=table, metrics=metrics)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Test a trained instance-level method with each query's keys "
                                     'restricted by the ground truth (the oracle bound).')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--keys', choices=KEYS, required=True,
                        help="learned: the model's own attention; same-object / other-objects: an object query "
                             "attends only to proposals of its own object / of the video's other objects")
    parser.add_argument('--protocol', metavar='NAME',
                        help=f"a test protocol of the detector ({', '.join(TEST_PROTOCOLS)}); default: the config's")
    parser.add_argument('--data-root', help="the data set's folder, when it is not the config's data_root")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, metavar='KEY=VALUE')
    parser.add_argument('--work-dir', help='keep the evaluation logs there (default: a temporary folder)')
    parser.add_argument('--json', help='also write the table to this JSON file')
    return parser.parse_args(argv)


def main(argv: Sequence[str] = None) -> dict:
    args = parse_args(argv)
    with user_errors():
        result = evaluate(args.config, args.checkpoint, args.keys, protocol=args.protocol, data_root=args.data_root,
                          cfg_options=args.cfg_options, work_dir=args.work_dir)
    result = dict(config=args.config, checkpoint=args.checkpoint, keys=args.keys, protocol=args.protocol, **result)
    print(f'keys={args.keys}: {args.config}')
    print(f"{'subset':<10} {'mAP@0.5 (%)':>11} {'restricted':>10} {'object queries':>14} {'queries':>8}")
    for subset, row in result['subsets'].items():
        print(f"{subset:<10} {row['mAP']:>11.2f} {row['restricted']:>10} {row['object_queries']:>14} "
              f"{row['queries']:>8}")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
