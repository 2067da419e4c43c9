"""MAMBA's instance level: a GEO after each shared FC of the box head, each over the keys of
one instance memory (one per FC level).

Shape shorthand: K proposals of a frame that become its rows (75), C channels of the box
head's FCs (1024), k_i keys of FC level i, L = 2 FC levels.

Who owns what: this level owns the GEOs and the memories; the box head stays a
Shared2FCBBoxHead that calls :meth:`InstanceKeys.enhance` between its FCs. The GEOs live here
because they and the memories are one unit: the keys a GEO reads are rows of its memory, and
at inference a row can be projected through that GEO once, when it is written. So the state
of a stream (memories, and whatever is derived from them) sits in one module, beside the
weights that read it, and the box head has no parameters that mmdet's lacks.

The surface both levels share:

- :meth:`reset` empties the memories (a new video);
- :meth:`keys` (read-only) gives a test frame's keys: the memories' key sets (with
  ``self_keys``, followed by the frame's own rows), or, while the memories are empty, the
  frame's own rows; :meth:`keys_from_rows` wraps keys from explicit references;
- :meth:`enhance` (:class:`InstanceKeys`, handed to the box head) runs the GEOs;
- :meth:`update`, once per frame after its detections are known, writes one row per
  FC level for each of the frame's top-K proposals: 'raw' rows r_i (the FCs without
  aggregation, the kind of keys training uses) or, with ``memory_features='enhanced'``,
  the pre-ReLU enhanced y_i (the authors' released model); explicit references refill
  the memories with their rows.

Keys projected once (``cache_keys``): at inference each memory keeps, beside every row written,
its projections through the GEO of its FC level, and a frame's keys are slots of those
projections (as the pixel level; :mod:`.key_cache`).
"""
import copy
import random
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

from ..memory import MemoryBank
from .instance_keys import ImageKeys, InstanceKeys
from .key_cache import cached_key_set, projections
from .level_options import level_options

MEMORY_FEATURES = ('raw', 'enhanced')


@dataclass
class InstanceMemory:
    """What the instance level carries from frame to frame of one stream: one bank per FC level
    (rows and their projections)."""
    banks: List[MemoryBank]

    def reset(self) -> None:
        for bank in self.banks:
            bank.reset()


TRAIN_DEFAULTS = dict(key_dropout=0.0)


@MODELS.register_module()
class InstanceLevel(nn.Module):
    """Instance-level aggregation with one memory per FC level of the box head.

    Args:
        geo: config of the GEO built for each FC level (``channels`` = C).
        memory: config of the :class:`MemoryBank` built for each FC level.
        num_fcs: L, the box head's shared FCs (set by the detector).
        proposals_per_frame: K, the top proposals of a frame (by RPN score) that become its
            rows: keys of the references in training, memory writes at test.
        self_keys: the key frame's own top-K rows join its keys (training: beside the
            references'; test: beside the memory's), as in RDN / MEGA's relation modules.
        memory_features: 'raw' or 'enhanced' (see the module docstring).
        cache_keys: keep the projections of memory rows at inference (see the module docstring).
        train_cfg: ``key_dropout``, the probability that a training clip's key frame gets no
            instance keys (its box head runs single-frame).
    """

    def __init__(self, *, geo: dict, memory: Optional[dict] = None, num_fcs: int = 2,
                 proposals_per_frame: int = 75, self_keys: bool = False, memory_features: str = 'raw',
                 cache_keys: bool = True, train_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if memory_features not in MEMORY_FEATURES:
            raise ValueError(f'instance_level.memory_features must be one of {MEMORY_FEATURES}, '
                             f'got {memory_features!r}')
        self.train_cfg = level_options(TRAIN_DEFAULTS, train_cfg, 'model.train_cfg.instance')
        if not 0.0 <= self.train_cfg['key_dropout'] <= 1.0:
            raise ValueError('model.train_cfg.instance.key_dropout must be a probability in [0, 1], got '
                             f"{self.train_cfg['key_dropout']}")
        self.geos = nn.ModuleList(MODELS.build(copy.deepcopy(geo)) for _ in range(num_fcs))
        self.memory_cfg = copy.deepcopy(memory or dict(type='MemoryBank'))
        self.proposals_per_frame = proposals_per_frame
        self.self_keys = self_keys
        self.memory_features = memory_features
        self.cache_keys = cache_keys
        self.state = self.new_state()

    def new_state(self) -> InstanceMemory:
        """Empty memories for a stream."""
        return InstanceMemory([MODELS.build(copy.deepcopy(self.memory_cfg)) for _ in self.geos])

    @property
    def memories(self) -> List[MemoryBank]:
        return self.state.banks

    def reset(self) -> None:
        """Empties the memories."""
        self.state.reset()

    @property
    def is_empty(self) -> bool:
        return len(self.memories[0]) == 0

    @property
    def needs_frame_rows(self) -> bool:
        """Whether a test frame's raw rows (:meth:`keys`' ``frame_rows``) are read: as keys
        while the memories are empty or with ``self_keys``, or as the rows written."""
        return self.is_empty or self.self_keys or self.memory_features == 'raw'

    # ------------------------------------------------------------------ keys
    def keys(self, frame_rows: Optional[Sequence[Tensor]]) -> InstanceKeys:
        """The keys of one test frame, from the memories (see the module docstring).

        Args:
            frame_rows: per FC level, the (K, C) raw rows of the frame's top-K proposals;
                needed when :attr:`needs_frame_rows`.
        """
        if self.is_empty:
            return self.keys_from_rows([frame_rows])
        own = frame_rows if self.self_keys else [None] * len(self.memories)
        keys = []
        for geo, memory, rows in zip(self.geos, self.memories, own):
            if memory.extras:
                keys.append(cached_key_set(geo, memory, memory.sample_index(), rows))
            else:
                sampled = memory.sample()
                keys.append(sampled if rows is None else torch.cat([sampled, rows]))
        return self.keys_from_rows([keys])

    def keys_from_rows(self, per_image: Sequence[ImageKeys]) -> InstanceKeys:
        """Keys given explicitly: per image of a batch, one (k_i, C) tensor per FC level, or None."""
        return InstanceKeys(self.geos, per_image)

    def drops_clip_keys(self) -> bool:
        """Whether this training clip's key frame gets no keys (``key_dropout``). Draws from
        Python's ``random`` at every training clip, also when the probability is 0 (a change
        would change the random stream of every trained configuration)."""
        return self.training and random.random() < self.train_cfg['key_dropout']

    # ---------------------------------------------------------------- update
    def update(self, rows: Sequence[Tensor], scores: Tensor, frame_ids: Tensor, replace: bool = False) -> None:
        """Writes a frame's rows.

        Args:
            rows: per FC level, (n, C) rows (r_i or y_i of the frame's top-K proposals, or the
                rows of explicit references).
            scores: (n,) the RPN scores of their proposals.
            frame_ids: (n,) the frames they come from.
            replace: empty the memories first (explicit references).
        """
        if replace:
            self.reset()
        for geo, memory, level_rows in zip(self.geos, self.memories, rows):
            extras = projections(geo, level_rows) if self.cache_keys and not self.training else None
            memory.write(level_rows, scores, frame_ids, extras=extras)
