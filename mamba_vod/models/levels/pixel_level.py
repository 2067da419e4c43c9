"""MAMBA's pixel level: every pixel of the stride-16 map attends to pixel keys (one GEO), and
a pixel memory collects pixels of the frames seen.

Shape shorthand: C channels of the map, h x w the map, k keys, N reference maps, n detections.

The level owns its GEO, its memory and the generator of its random draws. Its surface is
the one both levels share:

- :meth:`reset` empties the memory (a new video);
- :meth:`keys` (read-only) gives a test frame's key set: the memory's, or the frame's own
  pixels while the memory is empty; :meth:`keys_from_references` draws keys from explicit
  reference maps (training, and frame 0 of the paper protocol);
- :meth:`enhance` runs the GEO over a map;
- :meth:`update`, once per frame after its detections are known, writes the memory: with
  explicit references it first refills it with their keys; then, by ``memory_writes``,
  'detections' (the paper: up to ``pixels_per_detection`` random pixels of the frame's map
  inside each detection scoring >= ``score_thr``) or 'frame' (``pixels_per_frame`` random
  pixels of the whole map, the kind of keys training draws).
"""
import copy
import random
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

from .level_options import level_options
from .pixel_sampling import pixels_in_boxes, sample_pixels

MEMORY_WRITES = ('detections', 'frame')
TRAIN_DEFAULTS = dict(num_keys=2000, level_dropout=0.0)
TEST_DEFAULTS = dict(score_thr=0.8, pixels_per_detection=100, pixels_per_frame=300)


class PixelReferences(NamedTuple):
    """Pixel keys drawn from explicit reference maps: rows (k, C) and the frame id (k,) of each."""
    rows: Tensor
    frame_ids: Tensor


@MODELS.register_module()
class PixelLevel(nn.Module):
    """Pixel-level aggregation with a pixel memory.

    Args:
        geo: config of the GEO (``channels`` = C of the map).
        memory: config of the :class:`MemoryBank` (default: MAMBA's, 20000 rows, key sets of 2000).
        memory_writes: 'detections' or 'frame' (see the module docstring).
        stride: input pixels per map cell (the RoI extractor's stride; set by the detector).
        seed: seed of the level's draws (pixel keys and written pixels); None uses torch's
            global generator.
        train_cfg: ``num_keys`` (reference pixels sampled as keys in training) and
            ``level_dropout`` (the probability that a training clip skips the pixel level, so
            that with both levels the instance level learns to aggregate on its own).
        test_cfg: ``score_thr``, ``pixels_per_detection``, ``pixels_per_frame``.
    """

    def __init__(self, *, geo: dict, memory: Optional[dict] = None, memory_writes: str = 'detections',
                 stride: int = 16, seed: Optional[int] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if memory_writes not in MEMORY_WRITES:
            raise ValueError(f'pixel_level.memory_writes must be one of {MEMORY_WRITES}, got {memory_writes!r}')
        self.train_cfg = level_options(TRAIN_DEFAULTS, train_cfg, 'model.train_cfg.pixel')
        self.test_cfg = level_options(TEST_DEFAULTS, test_cfg, 'model.test_cfg.pixel')
        if not 0.0 <= self.train_cfg['level_dropout'] <= 1.0:
            raise ValueError('model.train_cfg.pixel.level_dropout must be a probability in [0, 1], got '
                             f"{self.train_cfg['level_dropout']}")
        if self.test_cfg['pixels_per_frame'] < 1:
            raise ValueError(f"model.test_cfg.pixel.pixels_per_frame must be at least 1, got "
                             f"{self.test_cfg['pixels_per_frame']}")
        self.geo = MODELS.build(copy.deepcopy(geo))
        self.memory = MODELS.build(copy.deepcopy(memory or dict(type='MemoryBank')))
        self.memory_writes = memory_writes
        self.stride = stride
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def reset(self) -> None:
        """Empties the memory."""
        self.memory.reset()

    # ------------------------------------------------------------------ keys
    def keys(self, feat: Tensor) -> Tensor:
        """Key set (k, C) of a test frame whose map is ``feat`` (C, h, w): the memory's, or,
        while the memory is empty, the frame's own pixels."""
        if len(self.memory) == 0:
            return sample_pixels(feat[None], self.memory.key_set_size, self.generator)[0]
        return self.memory.sample(self.generator).to(feat)

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
    def update(self, feat: Tensor, boxes: Tensor, scores: Tensor, frame_id: int,
               references: Optional[PixelReferences] = None) -> None:
        """Writes the memory after a test frame.

        Args:
            feat: (C, h, w) the frame's map (before the GEO).
            boxes: (n, 4) its detections, xyxy in the pixels of the image the map was computed on.
            scores: (n,) their scores.
            frame_id: the frame's id, stored with its rows.
            references: keys of explicit references: the memory is refilled with them first.
        """
        if references is not None:
            self.memory.reset()
            self.memory.write(references.rows, frame_ids=references.frame_ids)
        if self.memory_writes == 'frame':
            rows, _ = sample_pixels(feat[None], self.test_cfg['pixels_per_frame'], self.generator)
            self.memory.write(rows, frame_ids=torch.full((len(rows), ), frame_id, dtype=torch.long))
            return
        keep = scores >= self.test_cfg['score_thr']
        if not keep.any():
            return
        rows, owner = pixels_in_boxes(feat, boxes[keep], self.stride, self.test_cfg['pixels_per_detection'],
                                      self.generator)
        frame_ids = torch.full((len(rows), ), frame_id, dtype=torch.long)
        self.memory.write(rows, scores[keep][owner.to(boxes.device)], frame_ids)
