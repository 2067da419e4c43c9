"""Whole frames carried from frame to frame of a stream: images and their feature maps.

Shape shorthand: H x W the padded input frame, C channels of a map, h x w a map.

The flow-based methods keep past frames whole, not rows of features: DFF the last key frame
(its image, for the flow, and its maps, to warp), FGFA the window of frames it aggregates;
Temporal RoI Align keeps reference frames' maps only (no image).
A :class:`FrameCache` is their :class:`~mamba_vod.models.memory.StateCarrier`; its state,
a :class:`FrameCacheState`, holds :class:`CachedFrame` s by key (a frame id), oldest first,
never more than ``capacity`` of them through :meth:`~FrameCacheState.put`, and never more than
the window given to :meth:`~FrameCacheState.replace`. A new frame size empties it (the maps
are tied to the size).
"""
from collections import OrderedDict
from typing import Hashable, Iterable, List, Mapping, NamedTuple, Optional, Tuple

from torch import Tensor, nn

from .carried_state import CarriedState, StateCarrier


class CachedFrame(NamedTuple):
    """One frame kept whole: ``image`` (1, 3, H, W) as the detector's preprocessor gave it, or
    None when a method keeps maps only (Temporal RoI Align), and ``maps`` (one (1, C, h, w) per
    level, the backbone + neck's)."""
    image: Optional[Tensor]
    maps: Tuple[Tensor, ...]

    @classmethod
    def kept(cls, image: Optional[Tensor], maps: Tuple[Tensor, ...]) -> 'CachedFrame':
        """A frame to keep: copies, detached, so that the batch they were cut from is not held."""
        return cls(None if image is None else image.detach().clone(), tuple(level.detach().clone() for level in maps))

    @property
    def nbytes(self) -> int:
        tensors = self.maps if self.image is None else (self.image, *self.maps)
        return sum(t.numel() * t.element_size() for t in tensors)


class FrameCacheState(CarriedState):
    """What one stream carries in a :class:`FrameCache`: frames by key, oldest first, and the
    number of frames counted since the newest was put (:meth:`count_frame`).

    Args:
        capacity: the most frames :meth:`put` keeps (the oldest go first).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.frames: 'OrderedDict[Hashable, CachedFrame]' = OrderedDict()
        self.frames_since_put = 0

    def reset(self) -> None:
        self.frames.clear()
        self.frames_since_put = 0

    def __len__(self) -> int:
        return len(self.frames)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.frames

    def get(self, key: Hashable) -> Optional[CachedFrame]:
        return self.frames.get(key)

    def values(self) -> List[CachedFrame]:
        """The frames, oldest first."""
        return list(self.frames.values())

    @property
    def newest(self) -> Optional[CachedFrame]:
        return next(reversed(self.frames.values()), None)

    def put(self, key: Hashable, frame: CachedFrame) -> None:
        """Keeps ``frame`` as the newest (replacing one of the same key); drops the oldest beyond
        ``capacity``; the count of frames since the newest restarts at 0."""
        self.frames.pop(key, None)
        self.frames[key] = frame
        while len(self.frames) > self.capacity:
            self.frames.popitem(last=False)
        self.frames_since_put = 0

    def put_frame(self, meta: Mapping, frame: CachedFrame) -> None:
        """:meth:`put` of a stream's frame under its key: its ``frame_id`` (``meta``, its metainfo),
        or, when it has none (or None), a key of its own (a new object), so frames without ids
        never replace one another: the state still keeps the last ``capacity`` of them."""
        frame_id = meta.get('frame_id')
        self.put(object() if frame_id is None else frame_id, frame)

    def replace(self, frames: Iterable[Tuple[Hashable, CachedFrame]]) -> None:
        """Holds exactly ``frames`` ((key, frame) pairs, oldest first; a window, whatever
        ``capacity``)."""
        self.frames = OrderedDict(frames)

    def count_frame(self) -> None:
        """One more frame of the stream went by."""
        self.frames_since_put += 1

    @property
    def nbytes(self) -> int:
        return sum(frame.nbytes for frame in self.frames.values())


class FrameCache(StateCarrier, nn.Module):
    """The module that carries whole frames of a stream (no parameters: checkpoints do not see it).

    Args:
        capacity: the most frames one stream's state keeps through :meth:`FrameCacheState.put`.
    """

    def __init__(self, *, capacity: int) -> None:
        super().__init__()
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f'FrameCache capacity must be a whole number >= 1, got {capacity!r}')
        self.capacity = capacity
        self.state = self.new_state()

    def new_state(self) -> FrameCacheState:
        return FrameCacheState(self.capacity)

    def extra_repr(self) -> str:
        return f'capacity={self.capacity}'
