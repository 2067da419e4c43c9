"""What one stream (a video, a camera) carries from frame to frame through MAMBA.

A :class:`MemoryState` holds each level's memory (banks with their cached projections, the
pixel level's carried set and its generator) and the video it belongs to. The detector reads
and writes the state its :class:`LevelMemories` holds now; a state is swapped in and out by
reference, never copied, so one model serves many streams, each with its own memory
(``MAMBA.predict_streams``, :class:`mamba_vod.apis.MultiStreamDetector`).
"""
import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ..levels.instance_level import InstanceMemory
from ..levels.pixel_level import PixelMemory


@dataclass
class MemoryState:
    """The memories of one stream (None for a level the model lacks) and its current video."""
    pixel: Optional[PixelMemory] = None
    instance: Optional[InstanceMemory] = None
    video_id: Any = None

    def reset(self, pixel: bool = True, instance: bool = True) -> None:
        """Empties the pixel and/or instance memories; after both, the next frame starts a video."""
        for memory, chosen in ((self.pixel, pixel), (self.instance, instance)):
            if chosen and memory is not None:
                memory.reset()
        if pixel and instance:
            self.video_id = None

    @property
    def nbytes(self) -> int:
        """Bytes the state's banks hold (rows, projections and bookkeeping, at their capacity once written)."""
        banks = ([self.pixel.bank] if self.pixel is not None else []) + (
            list(self.instance.banks) if self.instance is not None else [])
        carried = self.pixel.carried if self.pixel is not None and self.pixel.carried is not None else None
        return sum(bank.nbytes for bank in banks) + (0 if carried is None else carried.numel() * carried.element_size())


class LevelMemories:
    """The memory state a detector's levels read and write now, and the means to swap it.

    Args:
        pixel_level, instance_level: the detector's levels (None where it has none).
    """

    def __init__(self, pixel_level, instance_level) -> None:
        self.levels = (pixel_level, instance_level)
        self._current = MemoryState(None if pixel_level is None else pixel_level.state,
                                    None if instance_level is None else instance_level.state)

    def new_state(self) -> MemoryState:
        """Empty memories for another stream (seeded as the levels' configs say)."""
        pixel_level, instance_level = self.levels
        return MemoryState(None if pixel_level is None else pixel_level.new_state(),
                           None if instance_level is None else instance_level.new_state())

    @property
    def current(self) -> MemoryState:
        return self._current

    @current.setter
    def current(self, state: MemoryState) -> None:
        self._current = state
        for level, level_state in zip(self.levels, (state.pixel, state.instance)):
            if level is not None:
                level.state = level_state

    @contextlib.contextmanager
    def using(self, state: MemoryState) -> Iterator[None]:
        """Reads and writes ``state`` inside the block, then the state of before again."""
        previous, self.current = self.current, state
        try:
            yield
        finally:
            self.current = previous

    def reset(self, pixel: bool = True, instance: bool = True) -> None:
        """Empties the current pixel and/or instance memories (:meth:`MemoryState.reset`)."""
        self._current.reset(pixel, instance)

    def follow_video(self, video_id: Any) -> None:
        """A frame of ``video_id`` comes: the memories are emptied when it is another video."""
        if video_id != self._current.video_id:
            self.reset()
        self._current.video_id = video_id
