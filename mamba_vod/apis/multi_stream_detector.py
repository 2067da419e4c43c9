"""Many streams, one model: frames of several cameras or files detected as batches, each stream
with its own memory.

Shapes: a frame is (H, W, 3) uint8 BGR; boxes are (n, 4) float xyxy in that frame's pixels.

A step takes one frame of each of some streams. The frames go through the config's test
pipeline, are grouped by their padded input size (so that a stream's results never depend on
its neighbours' sizes) and run in chunks of ``max_batch``: backbone, RPN and RoI head as one
batch; a video detector (a :class:`~mamba_vod.models.detectors.BaseVideoDetector`, through
``predict_streams``) reads and writes each stream's own state for its frame. A single-frame
detector is batched the same way, without state.
"""
import logging
import math
import numbers
from collections import defaultdict
from typing import Dict, Hashable, List, Mapping, Optional

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log

from mamba_vod.models.detectors import BaseVideoDetector

from .frame_check import check_frame
from .init_detector import ConfigLike, init_detector
from .stream_pipeline import build_stream_pipeline
from .stream_state import StreamState


class MultiStreamDetector:
    """One detector serving several streams, each with its own memory.

    Args:
        config: config path or :class:`mmengine.Config`; its test pipeline preprocesses frames.
        checkpoint: weights (a file, URL or URI, see :func:`init_detector`); None: random weights.
        device: torch device of the model.
        cfg_options: overrides merged into the config.
        max_batch: the most frames in one forward pass, a whole number >= 1 (None: a step's frames
            of one size at once).
        allow_partial: accept a checkpoint that leaves parameters untrained (see :func:`init_detector`).

    A stream's results are those a :class:`StreamingDetector` gives for the same frames (up to
    the arithmetic of batching, ~1e-3 px) whatever the other streams do: every draw of a stream's
    memories comes from generators of its own, seeded by default
    (:mod:`mamba_vod.models.levels.stream_seed`).

    Example:
        >>> detector = MultiStreamDetector('configs/synthetic/mamba_r18-dc5_synthetic.py', 'ckpt.pth')
        >>> results = detector.step({'door': frame_a, 'yard': frame_b})  # new ids open streams
        >>> results['door'].pred_instances.bboxes  # (n, 4) xyxy in frame_a's pixels
        >>> detector.reset('yard')   # a new video on that stream
        >>> detector.close('door')   # its memory is freed
    """

    def __init__(self, config: ConfigLike, checkpoint: Optional[str] = None, device: str = 'cpu', *,
                 cfg_options: Optional[dict] = None, max_batch: Optional[int] = None,
                 allow_partial: bool = False) -> None:
        if max_batch is not None and not (isinstance(max_batch, numbers.Integral) and not isinstance(max_batch, bool)
                                          and max_batch >= 1):
            raise ValueError(f'max_batch must be a whole number of frames >= 1 (or None), got {max_batch!r}')
        self.model = init_detector(config, checkpoint, device=device, cfg_options=cfg_options,
                                   allow_partial=allow_partial)
        self.cfg = self.model.cfg
        self.pipeline = build_stream_pipeline(self.cfg)
        self.max_batch = max_batch
        self.streams: Dict[Hashable, StreamState] = {}
        self.frames_total = 0
        self._warn_if_offline_protocol()

    @property
    def class_names(self) -> tuple:
        return tuple(self.model.dataset_meta.get('classes', ()))

    @property
    def has_memory(self) -> bool:
        """Whether the model is a video detector, with a state per stream."""
        return isinstance(self.model, BaseVideoDetector)

    def _warn_if_offline_protocol(self) -> None:
        protocol = self.cfg.get('test_dataloader', {}).get('dataset', {}).get('test_protocol')
        if protocol not in (None, 'online'):
            # A stream only has past frames; the 'paper' protocol needs the whole video up front.
            print_log(f"the config tests with the '{protocol}' protocol; a stream is detected online (past frames "
                      'only)', logger='current', level=logging.WARNING)

    # --------------------------------------------------------------- streams
    def open(self, stream_id: Hashable, memory=None) -> StreamState:
        """The stream ``stream_id``, opened if it is new, with ``memory`` (a
        :class:`~mamba_vod.models.detectors.MemoryState`; default: new, empty memories)."""
        if stream_id not in self.streams:
            self.streams[stream_id] = self._new_stream(stream_id, memory)
        return self.streams[stream_id]

    def _new_stream(self, stream_id: Hashable, memory=None) -> StreamState:
        """A stream that is not open yet (see :meth:`open`)."""
        if memory is None and self.has_memory:
            memory = self.model.memories.new_state()
        return StreamState(stream_id, memory)

    def reset(self, stream_id: Hashable) -> None:
        """A new video on ``stream_id``: frame ids restart at 0 and its memory is emptied."""
        self._stream(stream_id).new_video()

    def close(self, stream_id: Hashable) -> None:
        """Forgets ``stream_id`` and frees its memory."""
        del self.streams[self._stream(stream_id).name]

    def _stream(self, stream_id: Hashable) -> StreamState:
        if stream_id not in self.streams:
            raise KeyError(f'no open stream {stream_id!r}; open streams: {list(self.streams)}')
        return self.streams[stream_id]

    # ------------------------------------------------------------------ step
    @torch.no_grad()
    def step(self, frames: Mapping[Hashable, np.ndarray],
             video_lengths: Optional[Mapping[Hashable, int]] = None) -> Dict[Hashable, DetDataSample]:
        """Detects objects in the next frame of each stream given (any subset; new ids open streams).

        Args:
            frames: ``{stream_id: (H, W, 3) uint8 BGR frame}``; sizes may differ between streams
                and from a stream's last frame (the model's state reacts, e.g. MAMBA empties its
                pixel memory; with a warning).
            video_lengths: frames in a stream's video when known (a file).

        Returns:
            ``{stream_id: DetDataSample}`` in the order of ``frames``; ``pred_instances`` has
            ``bboxes`` (n, 4) xyxy in that frame's pixels, ``scores`` (n,), ``labels`` (n,).
            An empty ``frames`` (no frame ready) gives ``{}``.

        Raises:
            ValueError: a frame that is not (H, W, 3) uint8, naming it and its stream. Every frame
                is checked before anything changes: a refused step opens no stream and moves no
                counter. (An error of the model itself part way through a step closes the streams
                it opened and moves no counter, but memories already updated by the chunks that
                ran keep their update.)
        """
        if not frames:
            return {}
        streams = self._checked_streams(frames)
        lengths = video_lengths or {}
        items = {stream_id: self.pipeline(stream.frame_info(frames[stream_id], self.frames_total + index,
                                                            lengths.get(stream_id)))
                 for index, (stream_id, stream) in enumerate(streams.items())}
        opened = [stream_id for stream_id in streams if stream_id not in self.streams]
        self.streams.update({stream_id: streams[stream_id] for stream_id in opened})
        try:
            for stream_id, stream in streams.items():
                stream.note_frame_size(frames[stream_id])
            results = {}
            for chunk in self._batches(items):
                results.update(zip(chunk, self._detect([items[stream_id] for stream_id in chunk], chunk)))
        except BaseException:
            for stream_id in opened:
                del self.streams[stream_id]
            raise
        for stream in streams.values():
            stream.frame_id += 1
        self.frames_total += len(streams)
        return {stream_id: results[stream_id] for stream_id in frames}

    def _checked_streams(self, frames: Mapping[Hashable, np.ndarray]) -> Dict[Hashable, StreamState]:
        """The stream of each frame (a new id's stream made but not opened), once every frame is
        checked (:func:`check_frame`)."""
        for stream_id, frame in frames.items():
            check_frame(frame, self.streams[stream_id].frame_id if stream_id in self.streams else 0, stream=stream_id)
        return {stream_id: self.streams[stream_id] if stream_id in self.streams else self._new_stream(stream_id)
                for stream_id in frames}

    def _batches(self, items: Mapping[Hashable, dict]) -> List[List[Hashable]]:
        """Stream ids grouped by the padded size of their inputs, in chunks of ``max_batch``."""
        divisor = getattr(self.model.data_preprocessor, 'pad_size_divisor', 1) or 1
        groups = defaultdict(list)
        for stream_id, item in items.items():
            height, width = item['inputs'].shape[-2:]
            groups[(math.ceil(height / divisor), math.ceil(width / divisor))].append(stream_id)
        size = self.max_batch or max(len(group) for group in groups.values())
        return [group[start:start + size] for group in groups.values() for start in range(0, len(group), size)]

    def _detect(self, items: List[dict], stream_ids: List[Hashable]) -> List[DetDataSample]:
        data = pseudo_collate(items)
        if not self.has_memory:
            return self.model.test_step(data)
        data = self.model.data_preprocessor(data, False)
        states = [self.streams[stream_id].memory for stream_id in stream_ids]
        return self.model.predict_streams(data['inputs'], data['data_samples'], states)
