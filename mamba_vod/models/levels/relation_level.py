"""MEGA's and RDN's proposal-level aggregation: stacked relation stages with box geometry over a
local window, a long-range memory and global frames (mega.pytorch ``MEGAFeatureExtractor`` /
``RDNFeatureExtractor``, read for facts).

Shape shorthand: n RoIs of the key frame, C channels of the box head's FCs, K rows a frame keeps
(75), k = int(K * ratio) its distilled rows (15), S local stages, fc_s = the box head's
``shared_fcs[s]`` (fc_0 = fc6), A_s local relation s (:class:`RelationModule` with geometry),
Γ_j global relation j (location-free). A frame's rows are ReLU(fc6) of its first K proposals
(RPN score order); W = the window's rows, D = their distilled rows (the first k of each frame),
M_s = stage s's memory, G = the global pool's rows.

MEGA form (``form='mega'``)::

    x, W = x + Γ_0(x, G), W + Γ_0(W, G)                  (when G has rows)
    cur = [x; D],  refs_0 = W
    stage s:  [push refs_s's rows of the window's oldest frame to M_s, when the window is full]
              cur = cur + A_s(cur, [refs_s; M_s])        (geometry: cur boxes vs key boxes)
              s < S-1: cur = ReLU(fc_{s+1}(cur)); refs_{s+1} = cur[n:] (the distilled rows)
              last stage: only the key rows cur[:n] are queries
    x = cur;  x = x + Γ_j(x, G) for j = 1 ..              (R-101: once)

Each query row attends on its own, so the distilled rows (refs_1 ..) do not depend on the key
rows: :meth:`RelationLevel.stage_references` computes refs_0 .. refs_{S-1} from the window, the
memories and G alone, once per frame; the key rows then go through the stages against them, and
what a frame pushes to the memories (:meth:`RelationLevel.pushes`) is read from them, whether
the box head runs on the frame or not (a frame without RoIs).

RDN form (``form='rdn'``; no memory, no global)::

    stage s:  x = ReLU(fc_s(x)) (s > 0);  x = x + A_s(x, W)       (refs stay fc6 rows)
    advanced: D' = ReLU(fc_adv(D + A_S(D, W)));  x = x + A_{S+1}(x, D')

With no keys at all this is the box head's FCs alone (Faster R-CNN's head).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

from ..layers.relation_module import RelationModule, box_geometry_embedding
from ..memory import StateCarrier
from .relation_state import Entry, RelationState

FORMS = ('mega', 'rdn')


@dataclass
class RelationKeys:
    """What one image's RoIs read: window entries (oldest first), each stage's memory entries,
    the global rows (g, C) or None, whether the window's oldest frame is pushed to the memories
    after the frame (:meth:`RelationLevel.pushes`), and (MEGA form) refs_s of each stage
    (:meth:`RelationLevel.stage_references`; None: computed where the stages run)."""
    window: List[Entry]
    memory: List[List[Entry]] = field(default_factory=list)
    global_rows: Optional[Tensor] = None
    push_oldest: bool = False
    stage_references: Optional[List[Entry]] = None


class RelationBatchKeys:
    """The :class:`RelationKeys` of each image of a batch, with the level that reads them (what
    :class:`~mamba_vod.models.roi_heads.RelationBBoxHead` receives)."""

    def __init__(self, level: 'RelationLevel', per_image: Sequence[Optional[RelationKeys]]) -> None:
        self.level, self.per_image = level, list(per_image)

    def enhance(self, x: Tensor, rois: Tensor, fcs: nn.ModuleList) -> Tensor:
        """(R, C) ReLU(fc6) rows of RoIs (R, 5) (grouped by image) through the stages."""
        parts = []
        for b, keys in enumerate(self.per_image):
            mine = rois[:, 0] == b
            rows = x[mine]
            parts.append(self.level.plain(rows, fcs) if keys is None else
                         self.level.enhance(rows, rois[mine, 1:], keys, fcs))
        return torch.cat(parts) if parts else x


@MODELS.register_module()
class RelationLevel(nn.Module, StateCarrier):
    """The relation stages and the stream state they read (module docstring).

    Args:
        channels: C, the box head's ``fc_out_channels``.
        num_stages: S local stages (the box head has S shared FCs); MEGA 3, RDN 2.
        form: 'mega' or 'rdn'.
        advanced: RDN's advanced stage (its released model; RDN-base: False).
        num_groups, geometry_dim: of each :class:`RelationModule` (16, 64).
        key_bias: the learned key bias u (None: MEGA yes, RDN no).
        num_global: global relations Γ_j (MEGA R-101 2, R-50 1; 0: no global frames).
        proposals_per_frame: K (75); ``distilled_ratio``: k / K (0.2).
        window_size, memory_size, global_size: bounds of the state (:class:`RelationState`).
        box_offset: the +1 of box widths in the geometry (mega.pytorch: 1).
        seed: seed of the state's draws (None: the stream default).
    """

    def __init__(self, *, channels: int, num_stages: int = 3, form: str = 'mega', advanced: bool = False,
                 num_groups: int = 16, geometry_dim: int = 64, key_bias: Optional[bool] = None, num_global: int = 2,
                 proposals_per_frame: int = 75, distilled_ratio: float = 0.2, window_size: int = 25,
                 memory_size: int = 25, global_size: int = 10, box_offset: float = 1.0,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        self._check(form, num_stages, advanced, num_global, memory_size, global_size, window_size)
        self.form, self.num_stages, self.geometry_dim, self.box_offset = form, num_stages, geometry_dim, box_offset
        self.proposals_per_frame = proposals_per_frame
        self.distilled_per_frame = int(proposals_per_frame * distilled_ratio)
        key_bias = form == 'mega' if key_bias is None else key_bias
        local = num_stages + (2 if advanced else 0)
        self.local_relations = nn.ModuleList(
            RelationModule(channels, num_groups=num_groups, geometry_dim=geometry_dim, key_bias=key_bias)
            for _ in range(local))
        self.global_relations = nn.ModuleList(
            RelationModule(channels, num_groups=num_groups, geometry_dim=None, key_bias=key_bias)
            for _ in range(num_global))
        self.advanced_fc = nn.Linear(channels, channels) if advanced else None
        if advanced:
            nn.init.kaiming_uniform_(self.advanced_fc.weight, a=1)
            nn.init.zeros_(self.advanced_fc.bias)
        self._state_args = dict(window_size=window_size, num_stages=num_stages, memory_size=memory_size,
                                global_size=global_size if num_global else 0, seed=seed)
        self.state = self.new_state()

    @staticmethod
    def _check(form, num_stages, advanced, num_global, memory_size, global_size, window_size) -> None:
        if form not in FORMS:
            raise ValueError(f'RelationLevel: form must be one of {FORMS}, got {form!r}')
        if num_stages < 1 or window_size < 1 or min(num_global, memory_size, global_size) < 0:
            raise ValueError('RelationLevel: num_stages and window_size must be >= 1, num_global, memory_size and '
                             f'global_size >= 0; got {num_stages}, {window_size}, {num_global}, {memory_size}, '
                             f'{global_size}')
        if form == 'rdn' and (num_global or memory_size):
            raise ValueError('RelationLevel: the RDN form has no memory and no global frames (memory_size=0, '
                             'num_global=0)')
        if advanced and form != 'rdn':
            raise ValueError("RelationLevel: the advanced stage is RDN's (form='rdn')")

    def new_state(self) -> RelationState:
        return RelationState(**self._state_args)

    @property
    def uses_global(self) -> bool:
        return len(self.global_relations) > 0

    @property
    def uses_memory(self) -> bool:
        return self.state.memory_size > 0

    # ------------------------------------------------------------------ stages
    def plain(self, x: Tensor, fcs: nn.ModuleList) -> Tensor:
        """The box head without keys: ReLU(fc_s) for s >= 1 on ReLU(fc6) rows x."""
        for fc in fcs[1:]:
            x = torch.relu(fc(x))
        return x

    def enhance(self, x: Tensor, boxes: Tensor, keys: RelationKeys, fcs: nn.ModuleList) -> Tensor:
        """(n, C) ReLU(fc6) rows x of boxes (n, 4) through the stages (module docstring)."""
        if self.form == 'rdn':
            return self._rdn(x, boxes, keys, fcs)
        return self._mega(x, boxes, keys, fcs)

    def _relate(self, index: int, query: Tensor, query_boxes: Tensor, keys: Tensor, key_boxes: Tensor) -> Tensor:
        geometry = box_geometry_embedding(query_boxes, key_boxes, self.geometry_dim, box_offset=self.box_offset)
        return self.local_relations[index](query, keys, geometry)

    def _global(self, index: int, x: Tensor, global_rows: Optional[Tensor]) -> Tensor:
        if global_rows is None or index >= len(self.global_relations) or not len(global_rows):
            return x
        return self.global_relations[index](x, global_rows)

    def distilled(self, entries: Sequence[Entry]) -> List[Entry]:
        """The first k rows of each entry (its best proposals)."""
        return [(rows[:self.distilled_per_frame], boxes[:self.distilled_per_frame]) for rows, boxes in entries]

    def stage_references(self, keys: RelationKeys, fcs: nn.ModuleList) -> List[Entry]:
        """MEGA form: refs_s of each of the S stages (module docstring), one (rows, boxes) entry
        each: refs_0 the window's rows after Γ_0, refs_{s+1} its distilled rows through stage s
        (against [refs_s; M_s]) and fc_{s+1}. They depend on the window, the memories and the
        global rows only, not on the key RoIs."""
        like = fcs[0].weight.new_zeros(0, fcs[0].out_features)
        window = [(self._global(0, rows, keys.global_rows), b) for rows, b in keys.window]
        references = [_cat(window, like=like)]
        rows, boxes = _cat(self.distilled(window), like=like)
        for stage in range(self.num_stages - 1):
            rows = torch.relu(fcs[stage + 1](self._relate_stage(stage, rows, boxes, references[stage], keys)))
            references.append((rows, boxes))
        return references

    def pushes(self, keys: RelationKeys, fcs: nn.ModuleList) -> List[Entry]:
        """What the stage memories take after the frame (``keys.push_oldest``, else nothing): the
        window's oldest frame's rows in refs_s of each stage s (all its rows at stage 0, its
        distilled rows after), one entry per stage; from ``keys.stage_references`` when set."""
        if not keys.push_oldest or not keys.window:
            return []
        references = keys.stage_references
        if references is None:
            references = self.stage_references(keys, fcs)
        oldest = len(keys.window[0][0])
        counts = [oldest] + [min(oldest, self.distilled_per_frame)] * (self.num_stages - 1)
        return [(rows[:count], boxes[:count]) for (rows, boxes), count in zip(references, counts)]

    def _relate_stage(self, stage: int, query: Tensor, query_boxes: Tensor, references: Entry,
                      keys: RelationKeys) -> Tensor:
        """A_s(query, [refs_s; M_s])."""
        memory = keys.memory[stage] if stage < len(keys.memory) else []
        mem_rows, mem_boxes = _cat(memory, like=query)
        return self._relate(stage, query, query_boxes, torch.cat([references[0], mem_rows]),
                            torch.cat([references[1], mem_boxes]))

    def _mega(self, x: Tensor, boxes: Tensor, keys: RelationKeys, fcs: nn.ModuleList) -> Tensor:
        references = keys.stage_references
        if references is None:
            references = self.stage_references(keys, fcs)
        x = self._global(0, x, keys.global_rows)
        for stage in range(self.num_stages):
            x = self._relate_stage(stage, x, boxes, references[stage], keys)
            if stage < self.num_stages - 1:
                x = torch.relu(fcs[stage + 1](x))
        for index in range(1, len(self.global_relations)):
            x = self._global(index, x, keys.global_rows)
        return x

    def _rdn(self, x: Tensor, boxes: Tensor, keys: RelationKeys, fcs: nn.ModuleList) -> Tensor:
        refs, ref_boxes = _cat(keys.window, like=x)
        for stage in range(self.num_stages):
            if stage:
                x = torch.relu(fcs[stage](x))
            x = self._relate(stage, x, boxes, refs, ref_boxes)
        if self.advanced_fc is not None:
            dis, dis_boxes = _cat(self.distilled(keys.window), like=x)
            dis = torch.relu(self.advanced_fc(self._relate(self.num_stages, dis, dis_boxes, refs, ref_boxes)))
            x = self._relate(self.num_stages + 1, x, boxes, dis, dis_boxes)
        return x

    def memory_stages(self, entries: Sequence[Entry], global_rows: Optional[Tensor],
                      fcs: nn.ModuleList) -> List[List[Entry]]:
        """Training: the stage memories computed from memory frames' entries (no key rows): stage
        0 reads all their rows, stage s >= 1 their distilled rows after stage s-1 and fc_s (the
        stage references of a window of these frames, without memories)."""
        references = self.stage_references(RelationKeys(window=list(entries), global_rows=global_rows), fcs)
        return [[entry] for entry in references]


def _cat(entries: Sequence[Entry], like: Optional[Tensor] = None):
    """Rows (sum n, C) and boxes (sum n, 4) of entries; empty ones shaped as ``like``'s rows."""
    if not entries:
        return like.new_zeros(0, like.shape[1]), like.new_zeros(0, 4)
    return torch.cat([rows for rows, _ in entries]), torch.cat([boxes for _, boxes in entries])
