"""The one interface of everything that carries state from frame to frame of a stream.

Two sides of one contract:

- a :class:`CarriedState` is what one stream carries for one part of a model (MAMBA's pixel
  memory, its instance memories; later DFF's key-frame features, FGFA's window of past maps,
  MEGA's long-range memory): it empties itself for a new video (:meth:`~CarriedState.reset`),
  reacts when the stream's frame size changes (:meth:`~CarriedState.on_frame_size_change`;
  by default it empties itself, as anything holding maps or positions must) and counts the
  bytes it holds (:attr:`~CarriedState.nbytes`; its banks, if any, :attr:`~CarriedState.memory_banks`);
- a :class:`StateCarrier` is the module (an ``nn.Module``) whose computation reads and writes
  such a state: it makes a new, empty one for a stream (:meth:`~StateCarrier.new_state`,
  seeded as its config says: every test-time draw comes from the stream's own generators,
  :mod:`mamba_vod.models.levels.stream_seed`) and reads and writes the one in its ``state``
  attribute, which the detector swaps, by reference, to serve many streams.

A video detector finds its carriers by walking its modules
(:class:`~mamba_vod.models.detectors.BaseVideoDetector.memories`); a stream's state is the
collection of its carriers' states (:class:`~mamba_vod.models.detectors.MemoryState`), so a new
method adds a carrier, never a field.
"""
from abc import ABC, abstractmethod
from typing import Any, Tuple

from .memory_bank import MemoryBank


class CarriedState(ABC):
    """What one stream carries for one part of a model between its frames."""

    @abstractmethod
    def reset(self) -> None:
        """Empties the state (a new video) and seeds its generators again, so that a video
        draws as if it were the stream's first."""

    def on_frame_size_change(self) -> None:
        """The stream's frames changed size (the next frame's ``ori_shape`` is not the last
        one's): by default the state is emptied. A state that holds nothing tied to the size
        of the maps (e.g. proposal features) overrides this to keep what it holds."""
        self.reset()

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Bytes the state holds (tensors at their allocated size)."""

    @property
    def memory_banks(self) -> Tuple[MemoryBank, ...]:
        """The :class:`MemoryBank` s the state holds, for reports (rows, key sets); none by default."""
        return ()


class StateCarrier(ABC):
    """Mixin of an ``nn.Module`` that reads and writes a :class:`CarriedState` (its ``state``).

    The module sets ``self.state = self.new_state()`` when built; the detector swaps ``state``
    for the stream whose frame runs (never copies it).
    """

    state: Any

    @abstractmethod
    def new_state(self) -> CarriedState:
        """An empty state for a new stream."""

    def reset(self) -> None:
        """Empties the state read now."""
        self.state.reset()
