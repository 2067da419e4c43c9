"""The oracle of a :class:`RelationLevel` (MEGA, RDN): identities of the rows its relations read.

Shape shorthand: n rows of an entry (one frame's rows (n, C) and boxes (n, 4)), Nq queries, Nk keys, g rows of
the global pool, C channels. Each entry is identified once, when ``frame_entries`` makes it, by the storage of
its boxes; a local relation's keys (Nk, C) are the entries ``relation_level`` concatenates, rebuilt per call and
checked; its queries (Nq, C) are the frame's RoIs or window rows. ``oracle_bound.py``'s docstring tells the
whole of it.
"""
from contextlib import contextmanager

import torch
from torch import Tensor

from mamba_vod.models.detectors.stage_records import reference_frame_ids

from .base import Oracle
from .frame_truth import restrict


class RelationOracle(Oracle):
    """MEGA, RDN: the local and global relations of a :class:`RelationLevel` (``oracle_bound.py``'s docstring)."""

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
