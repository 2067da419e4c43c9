"""MAMBA's pixel level: every pixel of the stride-16 map attends to pixel keys (one GEO), and
a pixel memory collects pixels of the frames seen.

Shape shorthand: C channels of the map, h x w the map, k keys, N reference maps, n detections.

The level owns its GEO, its memory, the per-frame carried set and the generator of its random
draws. Its surface is the one both levels share:

- :meth:`reset` empties the memory and the carried set (a new video); the level is a
  :class:`~mamba_vod.models.memory.StateCarrier` whose state (:class:`PixelMemory`) is also
  emptied when the stream's frame size changes;
- :meth:`keys` (read-only) gives a test frame's key set: the memory's key set followed by the
  carried set, or all of the frame's own pixels while both are empty (as the authors' code);
  :meth:`keys_from_references`
  draws keys from explicit reference maps (training, and frame 0 of the paper protocol with
  ``references_fill='pixels'``);
- :meth:`enhance` runs the GEO over a map;
- :meth:`update`, once per frame after its detections are known, writes the memory (below).

What a test frame writes (the defaults are the authors' pixel memory, ``Duckduckgod/MAMBA``):

- ``memory_writes='detections'``: up to ``pixels_per_detection`` random pixels inside each
  detection scoring >= ``score_thr``, taken from the frame's map after the GEO
  (``memory_rows='enhanced'``) or before it (``'raw'``). A frame without such a detection
  changes nothing (the carried set included), as in the authors' code.
- ``carried_keys=True``: the frame also leaves a set that is not stored but joins the next
  frame's keys, replaced by every frame that writes: up to ``pixels_per_detection`` pixels of
  each detection scoring in [``carried_score_thr``, ``score_thr``), then up to
  ``salient_pixels`` salient pixels of the map (:func:`salient_pixels`).
- ``memory_writes='frame'``: ``pixels_per_frame`` random pixels of the whole raw map, whatever
  they show (the kind of keys training draws).

Explicit references (frame 0 of the paper protocol) fill the memory: ``references_fill=
'detections'`` (the authors: each reference map is detected, and writes as a frame of raw
rows would; :meth:`write_detections`) or ``'pixels'`` (random pixels of the references, the
keys the frame then uses).

Draws come from the stream's generator (:attr:`PixelMemory.generator`), seeded when the memory
is made and again when it is emptied (:mod:`.stream_seed`); in training, with no ``seed``
given, from torch's global generator (seeded by the runner's ``randomness``).
"""
import copy
import random
from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

from ..layers import ProjectedKeys
from ..memory import CarriedState, MemoryBank, StateCarrier, random_permutation
from .key_cache import cached_key_set, projections
from .level_options import level_options
from .pixel_sampling import pixels_in_boxes, salient_pixels, sample_pixels
from .stream_seed import seeded_memory_cfg, stream_generator

MEMORY_WRITES = ('detections', 'frame')
MEMORY_ROWS = ('enhanced', 'raw')
REFERENCES_FILLS = ('detections', 'pixels')
TRAIN_DEFAULTS = dict(num_keys=2000, level_dropout=0.0)
TEST_DEFAULTS = dict(score_thr=0.8, pixels_per_detection=100, pixels_per_frame=300, carried_score_thr=0.5,
                     salient_pixels=100)


@dataclass
class PixelMemory(CarriedState):
    """What the pixel level carries from frame to frame of one stream: its bank (rows and their
    projections), the carried set (c, C) and the generator of its draws, seeded with ``seed``."""
    bank: MemoryBank
    carried: Optional[Tensor] = None
    seed: Optional[int] = None
    generator: torch.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.generator = stream_generator(self.seed)

    def clear(self) -> None:
        """Empties the bank and the carried set; the level's generator goes on."""
        self.bank.reset()
        self.carried = None

    def reset(self) -> None:
        """Empties the bank and the carried set and seeds the generators again: a new video
        draws as if it were the stream's first."""
        self.clear()
        self.generator.manual_seed(self.generator.initial_seed())

    @property
    def nbytes(self) -> int:
        """The bank's bytes (rows, projections, bookkeeping) and the carried set's."""
        carried = 0 if self.carried is None else self.carried.numel() * self.carried.element_size()
        return self.bank.nbytes + carried

    @property
    def memory_banks(self) -> Tuple[MemoryBank, ...]:
        return (self.bank, )


class PixelReferences(NamedTuple):
    """Pixel keys drawn from explicit reference maps: rows (k, C) and the frame id (k,) of each."""
    rows: Tensor
    frame_ids: Tensor


@MODELS.register_module()
class PixelLevel(StateCarrier, nn.Module):
    """Pixel-level aggregation with a pixel memory.

    Args:
        geo: config of the GEO (``channels`` = C of the map).
        memory: config of the :class:`MemoryBank` (default: MAMBA's, 20000 rows, key sets of 2000).
        memory_writes: 'detections' or 'frame' (see the module docstring).
        memory_rows: 'enhanced' or 'raw': the map detection pixels are written from.
        carried_keys: keep the per-frame set of medium-score and salient pixels for the next frame.
        references_fill: 'detections' or 'pixels': how explicit references fill the memory.
        cache_keys: keep the projections of memory rows at inference (see the module docstring).
        stride: input pixels per map cell (the RoI extractor's stride; set by the detector).
        seed: seed of the level's draws (pixel keys and written pixels), given to every new
            memory (:meth:`new_state`), and of its bank's where ``memory`` names none; None:
            :data:`~.stream_seed.STREAM_SEED` at test time, torch's global generator in training.
        train_cfg: ``num_keys`` (reference pixels sampled as keys in training) and
            ``level_dropout`` (the probability that a training clip skips the pixel level, so
            that with both levels the instance level learns to aggregate on its own).
        test_cfg: ``score_thr``, ``pixels_per_detection``, ``pixels_per_frame``, ``carried_score_thr``,
            ``salient_pixels``.
    """

    def __init__(self, *, geo: dict, memory: Optional[dict] = None, memory_writes: str = 'detections',
                 memory_rows: str = 'enhanced', carried_keys: bool = True, references_fill: str = 'detections',
                 cache_keys: bool = True, stride: int = 16, seed: Optional[int] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None) -> None:
        super().__init__()
        for name, value, choices in (('memory_writes', memory_writes, MEMORY_WRITES),
                                     ('memory_rows', memory_rows, MEMORY_ROWS),
                                     ('references_fill', references_fill, REFERENCES_FILLS)):
            if value not in choices:
                raise ValueError(f'pixel_level.{name} must be one of {choices}, got {value!r}')
        self.train_cfg = level_options(TRAIN_DEFAULTS, train_cfg, 'model.train_cfg.pixel')
        self.test_cfg = level_options(TEST_DEFAULTS, test_cfg, 'model.test_cfg.pixel')
        if not 0.0 <= self.train_cfg['level_dropout'] <= 1.0:
            raise ValueError('model.train_cfg.pixel.level_dropout must be a probability in [0, 1], got '
                             f"{self.train_cfg['level_dropout']}")
        if self.test_cfg['pixels_per_frame'] < 1:
            raise ValueError(f"model.test_cfg.pixel.pixels_per_frame must be at least 1, got "
                             f"{self.test_cfg['pixels_per_frame']}")
        self.geo = MODELS.build(copy.deepcopy(geo))
        self.memory_cfg, self.seed = copy.deepcopy(memory or dict(type='MemoryBank')), seed
        self.memory_writes, self.memory_rows = memory_writes, memory_rows
        self.carried_keys, self.references_fill, self.cache_keys = carried_keys, references_fill, cache_keys
        self.stride = stride
        self.state = self.new_state()

    # ----------------------------------------------------------------- state
    def new_state(self) -> PixelMemory:
        """An empty memory for a stream (its generators seeded, see ``seed``)."""
        return PixelMemory(MODELS.build(seeded_memory_cfg(self.memory_cfg, self.seed)), seed=self.seed)

    @property
    def memory(self) -> MemoryBank:
        return self.state.bank

    @property
    def carried(self) -> Optional[Tensor]:
        """(c, C) the last frame's carried set, or None."""
        return self.state.carried

    @carried.setter
    def carried(self, rows: Optional[Tensor]) -> None:
        self.state.carried = rows

    @property
    def generator(self) -> Optional[torch.Generator]:
        """The generator of the level's draws: the stream's, or None (torch's global one) in
        training without a ``seed``."""
        return None if self.training and self.seed is None else self.state.generator

    # ------------------------------------------------------------------ keys
    def keys(self, feat: Tensor) -> Union[Tensor, ProjectedKeys]:
        """Key set of a test frame whose map is ``feat`` (C, h, w): the memory's key set, then the
        carried set; while both are empty, every pixel of the frame (h*w, C). Rows (k, C), or
        their projections where the memory keeps them."""
        carried = self.carried if self.carried is not None and len(self.carried) else None
        if len(self.memory) == 0 and carried is None:
            # the permutation the code before drew here (for 2000 of the pixels) is still drawn, so
            # that the later draws of a stream stay what they were (as InstanceLevel.drops_clip_keys)
            random_permutation(feat.shape[1] * feat.shape[2], feat.device, self.generator)
            return feat.flatten(1).t()  # (C, h, w) -> (h*w, C)
        if len(self.memory) == 0:
            return carried
        if self.memory.extras:
            return cached_key_set(self.geo, self.memory, self.memory.sample_index(self.generator), carried)
        rows = self.memory.sample(self.generator).to(feat)
        return rows if carried is None else torch.cat([rows, carried.to(feat)])

    def keys_from_references(self, references: Tensor, num: int) -> Tuple[Tensor, Tensor]:
        """Up to ``num`` random pixels (k, C) of the (N, C, h, w) reference maps, and the
        reference index (k,) of each."""
        return sample_pixels(references, num, self.generator)

    def skips_clip(self) -> bool:
        """Whether this training clip skips the pixel level (``level_dropout``); draws from
        Python's ``random`` only when that probability is above 0."""
        dropout = self.train_cfg['level_dropout']
        return self.training and dropout > 0 and random.random() < dropout

    # --------------------------------------------------------------- enhance
    def enhance(self, feat: Tensor, keys: Tensor) -> Tensor:
        """(C, h, w) map whose every pixel is a GEO query over ``keys`` (k, C); same shape."""
        channels, height, width = feat.shape
        queries = feat.flatten(1).t()  # (C, h, w) -> (h*w, C): pixel (y, x) is query y * w + x
        return self.geo(queries, keys).t().reshape(channels, height, width)

    def enhance_references(self, references: Tensor, keys: Tensor, frame_index: Tensor) -> Tensor:
        """(N, C, h, w) reference maps, each enhanced by the keys (k, C) that came from the
        other references (all k when N == 1); ``frame_index`` (k,) says whose each key is."""
        enhanced = []
        for index, reference in enumerate(references):
            others = frame_index != index
            enhanced.append(self.enhance(reference, keys[others] if others.any() else keys))
        return torch.stack(enhanced)

    # ---------------------------------------------------------------- update
    def update(self, feat: Tensor, enhanced: Tensor, boxes: Tensor, scores: Tensor, frame_id: int,
               references: Optional[PixelReferences] = None) -> None:
        """Writes the memory after a test frame.

        Args:
            feat: (C, h, w) the frame's map before the GEO; ``enhanced`` the same after it.
            boxes: (n, 4) its detections, xyxy in the pixels of the image the map was computed on.
            scores: (n,) their scores.
            frame_id: the frame's id, stored with its rows.
            references: pixel keys of explicit references (``references_fill='pixels'``): the
                memory is refilled with them first.
        """
        if references is not None:
            self.state.clear()
            self._write(references.rows, frame_ids=references.frame_ids)
        if self.memory_writes == 'frame':
            rows, _ = sample_pixels(feat[None], self.test_cfg['pixels_per_frame'], self.generator)
            self._write(rows, frame_ids=torch.full((len(rows), ), frame_id, dtype=torch.long))
            return
        self.write_detections(enhanced if self.memory_rows == 'enhanced' else feat, boxes, scores, frame_id)

    def write_detections(self, feat: Tensor, boxes: Tensor, scores: Tensor, frame_id: int) -> None:
        """Pixels of the (C, h, w) map ``feat`` inside the confident detections (n, 4) go to the
        memory and, with ``carried_keys``, the medium-score and salient ones become the carried
        set; nothing changes when no detection is confident."""
        cfg = self.test_cfg
        keep = scores >= cfg['score_thr']
        if not keep.any():
            return
        rows, owner = pixels_in_boxes(feat, boxes[keep], self.stride, cfg['pixels_per_detection'], self.generator)
        frame_ids = torch.full((len(rows), ), frame_id, dtype=torch.long)
        self._write(rows, scores[keep][owner.to(boxes.device)], frame_ids)
        if self.carried_keys:
            medium = (scores >= cfg['carried_score_thr']) & ~keep
            medium_rows, _ = pixels_in_boxes(feat, boxes[medium], self.stride, cfg['pixels_per_detection'],
                                             self.generator)
            self.carried = torch.cat([medium_rows, salient_pixels(feat, cfg['salient_pixels'], self.generator)])

    def _write(self, rows: Tensor, scores: Optional[Tensor] = None, frame_ids: Optional[Tensor] = None) -> None:
        """Rows (n, C) to the memory, with their projections at inference (``cache_keys``)."""
        extras = projections(self.geo, rows) if self.cache_keys and not self.training else None
        self.memory.write(rows, scores, frame_ids, extras=extras)
