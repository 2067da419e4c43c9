"""MAMBA's instance level: a GEO at each shared FC of the box head, over keys from instance
memory.

Shape shorthand: K proposals of a frame that become its rows (75), C channels of the box
head's FCs (1024), k_i keys of FC level i, L = 2 FC levels.

Who owns what: this level owns the GEOs and the memories; the box head stays a
Shared2FCBBoxHead that calls :meth:`InstanceKeys.enhance` between its FCs. The GEOs live here
because they and the memories are one unit: the keys a GEO reads are rows of its memory, and
at inference a row can be projected through that GEO once, when it is written. So the state
of a stream (memories, and whatever is derived from them) sits in one module, beside the
weights that read it, and the box head has no parameters that mmdet's lacks.

Two compositions (``composition``; the formulas in :mod:`.instance_keys`):

- ``'paper'`` (the first author's code, ``Duckduckgod/MAMBA``: the MAMBA box feature
  extractor and ``generalized_rcnn_mamba.py``): ReLU before each GEO, none after the last; ONE
  memory of first-FC rows ``ReLU(fc6(roi))`` of the frames' top-K proposals; a frame draws one
  key set from it, and the next level's keys are that key set through the next FC,
  ``ReLU(fc7(keys))``. A row's next-level form is computed once, when it is written (it is the
  frame's own second-level row: the box head's FCs alone), so a key set is slots of one memory.
- ``'release'`` (vfe.pytorch, the released checkpoint): fc -> GEO -> ReLU, one memory per FC
  level, each with rows of its own and key sets drawn independently.

The surface both levels share:

- :meth:`reset` empties the memories (a new video); the level is a
  :class:`~mamba_vod.models.memory.StateCarrier` whose state (:class:`InstanceMemory`) is kept
  when the stream's frame size changes;
- :meth:`keys` (read-only) gives a test frame's keys: the memories' key sets (with
  ``self_keys``, followed by the frame's own rows), or, while the memories are empty, the
  frame's own rows; :meth:`keys_from_rows` wraps keys from explicit references;
- :meth:`enhance` (:class:`InstanceKeys`, handed to the box head) runs the GEOs;
- :meth:`update`, once per frame after its detections are known, writes the rows r_i of
  each FC level for each of the frame's top-K proposals ('raw': the FCs without aggregation,
  the kind of keys training uses) or, in the release composition with
  ``memory_features='enhanced'``, the pre-ReLU enhanced y_i (the authors' released model);
  explicit references refill the memories with their rows.

Keys projected once (``cache_keys``): at inference a memory keeps, beside every row written,
its projections through the GEO(s) that read it (the paper's one memory: through both GEOs,
the second level's from the row's second-level form), and a frame's keys are slots of those
projections (as the pixel level; :mod:`.key_cache`).

Draws (key sets, replaced rows) come from the banks' own generators, seeded by default
(:mod:`.stream_seed`).
"""
import copy
import random
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

from ..memory import CarriedState, MemoryBank, StateCarrier
from .composition_version import COMPOSITION_VERSION, warn_on_older_composition
from .instance_keys import COMPOSITIONS, ImageKeys, InstanceKeys
from .key_cache import KEY, cached_key_set, projections
from .level_options import level_options
from .stream_seed import STREAM_SEED, seeded_memory_cfg

MEMORY_FEATURES = ('raw', 'enhanced')


def derived_rows_name(level: int) -> str:
    """The extra under which the paper's one memory keeps its rows' form at FC ``level`` > 0."""
    return f'rows.{level}'


@dataclass
class InstanceMemory(CarriedState):
    """What the instance level carries from frame to frame of one stream: one bank per FC level
    (release composition) or one bank (paper composition), rows and their projections;
    ``from_references``: what they hold came from explicit references (:meth:`InstanceLevel.update`
    with ``replace``), until the next reset."""
    banks: List[MemoryBank]
    from_references: bool = False

    def reset(self) -> None:
        for bank in self.banks:
            bank.reset()
        self.from_references = False

    def on_frame_size_change(self) -> None:
        """Kept: proposal features do not depend on the size of the frames they came from."""

    @property
    def nbytes(self) -> int:
        return sum(bank.nbytes for bank in self.banks)

    @property
    def memory_banks(self) -> Tuple[MemoryBank, ...]:
        return tuple(self.banks)


TRAIN_DEFAULTS = dict(key_dropout=0.0)


@MODELS.register_module()
class InstanceLevel(StateCarrier, nn.Module):
    """Instance-level aggregation over instance memory (see the module docstring).

    Args:
        geo: config of the GEO built for each FC level (``channels`` = C).
        memory: config of the :class:`MemoryBank` built for each FC level.
        num_fcs: L, the box head's shared FCs (set by the detector).
        proposals_per_frame: K, the top proposals of a frame (by RPN score) that become its
            rows: keys of the references in training, memory writes at test.
        self_keys: the key frame's own top-K rows join its keys (training: beside the
            references'; test: beside the memory's), as in RDN / MEGA's relation modules.
        memory_features: 'raw' or 'enhanced' (see the module docstring; 'enhanced' is the
            release composition's only).
        cache_keys: keep the projections of memory rows at inference (see the module docstring).
        composition: 'paper' or 'release' (see the module docstring). The default keeps the
            behaviour of the code before the option; the paper-form configs set 'paper'.
        seed: seed of the banks' draws where ``memory`` names none (bank i: seed + i; None:
            :data:`~.stream_seed.STREAM_SEED` + i).
        train_cfg: ``key_dropout``, the probability that a training clip's key frame gets no
            instance keys (its box head runs single-frame).
    """

    # state dicts record it: from this version on they were written knowing ``composition``
    _version = COMPOSITION_VERSION

    def __init__(self, *, geo: dict, memory: Optional[dict] = None, num_fcs: int = 2,
                 proposals_per_frame: int = 75, self_keys: bool = False, memory_features: str = 'raw',
                 cache_keys: bool = True, composition: str = 'release', seed: Optional[int] = None,
                 train_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if memory_features not in MEMORY_FEATURES:
            raise ValueError(f'instance_level.memory_features must be one of {MEMORY_FEATURES}, '
                             f'got {memory_features!r}')
        if composition not in COMPOSITIONS:
            raise ValueError(f'instance_level.composition must be one of {COMPOSITIONS}, got {composition!r}')
        if composition == 'paper' and memory_features != 'raw':
            raise ValueError("instance_level.memory_features='enhanced' is the release composition's: the paper's "
                             "memory holds the first FC's rows (composition='release' for enhanced rows)")
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
        self.composition = composition
        self.seed = seed
        self.state = self.new_state()
        self._register_load_state_dict_pre_hook(warn_on_older_composition, with_module=True)

    @property
    def one_memory(self) -> bool:
        """Whether one memory feeds every FC level (the paper's composition)."""
        return self.composition == 'paper'

    def new_state(self) -> InstanceMemory:
        """Empty memories for a stream, their generators seeded (see ``seed``)."""
        base = STREAM_SEED if self.seed is None else self.seed
        num_banks = 1 if self.one_memory else len(self.geos)
        return InstanceMemory([MODELS.build(seeded_memory_cfg(self.memory_cfg, base + index))
                               for index in range(num_banks)])

    @property
    def memories(self) -> List[MemoryBank]:
        return self.state.banks

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
        own = frame_rows if self.self_keys else [None] * len(self.geos)
        if self.one_memory:
            memory = self.memories[0]
            index = memory.sample_index()  # one key set for every level
            keys = [_key_set(geo, memory, index, rows, level) for level, (geo, rows) in enumerate(zip(self.geos, own))]
        else:
            keys = [_key_set(geo, memory, memory.sample_index(), rows)
                    for geo, memory, rows in zip(self.geos, self.memories, own)]
        return self.keys_from_rows([keys])

    def keys_from_rows(self, per_image: Sequence[ImageKeys]) -> InstanceKeys:
        """Keys given explicitly: per image of a batch, one (k_i, C) tensor per FC level, or None."""
        return InstanceKeys(self.geos, per_image, self.composition)

    def batch_keys(self, per_frame: Sequence[InstanceKeys]) -> InstanceKeys:
        """The keys of a batch of test frames from each frame's own (one image each, e.g. from
        :meth:`keys`), in frame order: what the RoI head of the batch reads."""
        if any(len(keys.per_image) != 1 for keys in per_frame):
            raise ValueError('InstanceLevel.batch_keys: each frame\'s keys must be of one image, got '
                             f'{[len(keys.per_image) for keys in per_frame]}')
        return self.keys_from_rows([keys.per_image[0] for keys in per_frame])

    def without_keys(self, num_images: int = 1) -> InstanceKeys:
        """No keys for ``num_images`` images: the box head's FCs alone, composed as this level
        composes them (:meth:`MAMBARoIHead.embed_proposals` gives the raw rows r_i with it)."""
        return self.keys_from_rows([None] * num_images)

    def drops_clip_keys(self) -> bool:
        """Whether this training clip's key frame gets no keys (``key_dropout``). Draws from
        Python's ``random`` at every training clip, also when the probability is 0 (a change
        would change the random stream of every trained configuration)."""
        return self.training and random.random() < self.train_cfg['key_dropout']

    # ---------------------------------------------------------------- update
    @staticmethod
    def frame_rows_ids(scores: Tensor, frame_id: Optional[int]) -> Tensor:
        """(n,) long, the frame id of each of one frame's n rows (``scores`` (n,), their scores,
        give n and the device): ``frame_id``, or -1 for a frame without one (None), what
        :meth:`update` takes as ``frame_ids``."""
        return torch.full_like(scores, -1 if frame_id is None else frame_id, dtype=torch.long)

    def update(self, rows: Sequence[Tensor], scores: Tensor, frame_ids: Tensor, replace: bool = False) -> None:
        """Writes a frame's rows.

        Args:
            rows: per FC level, (n, C) rows (r_i or y_i of the frame's top-K proposals, or the
                rows of explicit references). The paper's one memory stores the first level's
                and keeps the others' as the rows' next-level forms (or their projections).
            scores: (n,) the RPN scores of their proposals.
            frame_ids: (n,) the frames they come from.
            replace: empty the memories first (explicit references).
        """
        if replace:
            self.reset()
            self.state.from_references = True
        cache = self.cache_keys and not self.training
        if self.one_memory:
            extras = {}
            for level, (geo, level_rows) in enumerate(zip(self.geos, rows)):
                if cache:
                    extras.update(projections(geo, level_rows, level))
                elif level:
                    extras[derived_rows_name(level)] = level_rows
            self.memories[0].write(rows[0], scores, frame_ids, extras=extras or None)
            return
        for geo, memory, level_rows in zip(self.geos, self.memories, rows):
            memory.write(level_rows, scores, frame_ids, extras=projections(geo, level_rows) if cache else None)


def _key_set(geo: nn.Module, memory: MemoryBank, index: Tensor, own: Optional[Tensor], level: int = 0):
    """The key set of slots ``index`` (k,) of ``memory`` for the GEO of FC ``level``, followed by
    the frame's own rows ``own`` (K, C) or not: projections where the memory keeps them, else
    rows (k (+ K), C): the memory's features at level 0, their next-level forms beyond."""
    if KEY in memory.extras:
        return cached_key_set(geo, memory, index, own, level)
    rows = memory.rows() if level == 0 else memory.rows(derived_rows_name(level))
    return rows[index] if own is None else torch.cat([rows[index], own])
