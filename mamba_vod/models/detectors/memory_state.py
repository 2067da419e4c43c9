"""What one stream (a video, a camera) carries from frame to frame through a video detector.

A :class:`MemoryState` is the collection of the states of the detector's state carriers
(:class:`~mamba_vod.models.memory.StateCarrier`, found on the model: for MAMBA its pixel
level's and its instance level's memories, by module name), with the video and frame size the
stream is at. The detector reads and writes the state its :class:`StreamMemories` holds now; a
state is swapped in and out by reference, never copied, so one model serves many streams, each
with its own state (:meth:`BaseVideoDetector.predict_streams`,
:class:`mamba_vod.apis.MultiStreamDetector`).

The rules of a stream (:meth:`StreamMemories.follow`): a frame of another ``video_id`` empties
every state; a frame of another size (``ori_shape``) than the last one calls each state's
:meth:`~mamba_vod.models.memory.CarriedState.on_frame_size_change`.
"""
import contextlib
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional

from ..memory import CarriedState, StateCarrier


class MemoryState:
    """One stream's state: the carriers' states by module name, its video and its frame size.

    Args:
        parts: ``{module name: state}`` (e.g. ``{'pixel_level': PixelMemory, 'instance_level':
            InstanceMemory}``); empty for a detector without carriers.
    """

    def __init__(self, parts: Mapping[str, CarriedState]) -> None:
        self.parts: Dict[str, CarriedState] = dict(parts)
        self.video_id: Any = None
        self.frame_size: Optional[tuple] = None

    def __getitem__(self, name: str) -> CarriedState:
        """The state of the carrier ``name`` (e.g. ``state['instance_level'].banks``)."""
        return self.parts[name]

    def reset(self, names: Optional[Iterable[str]] = None) -> None:
        """Empties the states ``names`` (all when None); after all of them the next frame starts
        a video."""
        chosen = list(self.parts) if names is None else list(names)
        unknown = sorted(set(chosen) - set(self.parts))
        if unknown:
            raise KeyError(f'no stream state named {unknown}; the states are {sorted(self.parts)}')
        for name in chosen:
            self.parts[name].reset()
        if set(chosen) == set(self.parts):
            self.video_id = self.frame_size = None

    def on_frame_size_change(self) -> None:
        """Each state reacts to a new frame size (:meth:`CarriedState.on_frame_size_change`)."""
        for state in self.parts.values():
            state.on_frame_size_change()

    @property
    def nbytes(self) -> int:
        """Bytes the stream's states hold (banks at their capacity once written, with their cached
        projections and bookkeeping)."""
        return sum(state.nbytes for state in self.parts.values())


class StreamMemories:
    """The :class:`MemoryState` a detector's carriers read and write now, and the means to swap it.

    Args:
        carriers: ``{module name: carrier}`` of the detector.
    """

    def __init__(self, carriers: Mapping[str, StateCarrier]) -> None:
        self.carriers: Dict[str, StateCarrier] = dict(carriers)
        self._current = MemoryState({name: carrier.state for name, carrier in self.carriers.items()})

    def new_state(self) -> MemoryState:
        """Empty states for another stream (seeded as the carriers' configs say)."""
        return MemoryState({name: carrier.new_state() for name, carrier in self.carriers.items()})

    @property
    def current(self) -> MemoryState:
        return self._current

    @current.setter
    def current(self, state: MemoryState) -> None:
        if state.parts.keys() != self.carriers.keys():
            raise ValueError(f'a stream state of {sorted(state.parts)} for a model whose state carriers are '
                             f'{sorted(self.carriers)}; make it with model.memories.new_state()')
        self._current = state
        for name, carrier in self.carriers.items():
            carrier.state = state.parts[name]

    @contextlib.contextmanager
    def using(self, state: MemoryState) -> Iterator[None]:
        """Reads and writes ``state`` inside the block, then the state of before again."""
        previous, self.current = self.current, state
        try:
            yield
        finally:
            self.current = previous

    def reset(self, names: Optional[Iterable[str]] = None) -> None:
        """Empties the current states ``names`` (all when None; :meth:`MemoryState.reset`)."""
        self._current.reset(names)

    def follow(self, meta: Mapping) -> None:
        """A frame (its ``metainfo``) comes: another ``video_id`` empties the states, another
        frame size (``ori_shape``) than the last one makes each react to it."""
        state = self._current
        video_id, size = meta.get('video_id'), meta.get('ori_shape')
        size = None if size is None else tuple(size)
        if video_id != state.video_id:
            state.reset()
        elif size is not None and state.frame_size is not None and size != state.frame_size:
            state.on_frame_size_change()
        state.video_id, state.frame_size = video_id, size
