"""The oracle of an :class:`InstanceLevel` (MAMBA, SELSA, Temporal RoI Align): identities of its memory
banks' rows and of the RoIs that query them.

Shape shorthand: n rows of one ``embed_proposals`` call, C channels, k slots a bank drew, Nk keys, R RoIs.
Each row (n, C) written to a bank carries its identity (n,) as the bank extra :data:`IDENTITY`; a key set's
identities (Nk,) are that extra at the k slots drawn, followed by the frame's own rows' (``self_keys``); the
queries (R, C) of a GEO are the RoIs of the RoI extractor's last call. ``oracle_bound.py``'s docstring tells
the whole of it.
"""
from typing import Callable, Optional

import torch
from torch import Tensor

from .base import Oracle, key_count, key_subset
from .frame_truth import UNKNOWN, restrict

#: the bank extra that holds each row's identity
IDENTITY = 'oracle.identity'


class InstanceLevelOracle(Oracle):
    """MAMBA, SELSA, Temporal RoI Align: the GEOs of an :class:`InstanceLevel` (``oracle_bound.py``'s docstring)."""

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
