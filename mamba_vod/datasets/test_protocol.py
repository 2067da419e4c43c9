"""How a video detector is tested: protocols as registered objects, defined once, on the data side.

A protocol says, for the frames of each video, in which order they are tested
(:meth:`TestProtocol.frame_order`) and which other frames of the video come with each as its
references (:meth:`TestProtocol.references`, positions in the video). The test dataset reads
its protocol (``ImagenetVIDDataset(test_protocol=...)``, one config key, a name below or a
config dict) and gives the frame order (``video_frame_indices``) that the ``VideoSampler``
follows and the references of each frame; the model only sees "a frame" or "a frame with
references". Each detector declares the protocols it accepts (``test_protocols``, the video
detector base: only 'online'); ``tools/test.py --protocol NAME`` picks one of those.

The protocols, named for what they do:

- :class:`OnlineProtocol` (``'online'``): the frames of each video in order, no references:
  each frame sees only the frames before it, through the detector's state (what a camera allows).
- :class:`ReferencesAtStart`: frame 0 comes with ``num_refs`` references spread over the whole
  video (``round(i * (L - 1) / (num_refs - 1))``, i = 0 .. num_refs - 1, Python ``round``,
  duplicates kept), the other frames with none, in frame order or shuffled (``shuffle_seed``:
  Python ``random`` seeded once, then ``shuffle`` of each video after its frame 0, in dataset
  video order). ``'mamba_offline'`` is MAMBA's offline protocol, behind the paper's figures
  (14 references, shuffled with seed 10: the memory holds frames from before and after);
  ``'paper'`` is kept as its old name.
- :class:`SlidingWindow`: every frame with the frames ``stride * i`` away, i = -past .. future
  (i != 0), positions outside the video clipped to its first or last frame (so those repeat),
  frames in order (FGFA's offline protocol: 15 past and 15 future frames).
- :class:`WindowAndGlobalFrames`: MEGA's offline protocol, frames in order, each handing in only
  what enters the detector's state: frame 0 the whole window around it (``past`` + 1 + ``future``
  frames, itself at slot ``past``, clipped, so the ends repeat) then ``num_global`` global frames
  of the whole video; frame k > 0 the frame ``k + future`` (clipped) that enters the window, then
  one global frame. Global frames follow a per-video permutation (``shuffled[(k + g - 1 - i) % L]``,
  mega.pytorch's order), seeded by ``shuffle_seed`` and the video length (mega.pytorch's is
  unseeded). ``'mega_offline'``: 12 + 1 + 12 frames, 10 global; ``'rdn_offline'``: 18 + 1 + 18, none.
"""
import functools
import random
from typing import Dict, List, Optional, Tuple, Union

from mamba_vod.registry import TEST_PROTOCOL_TYPES

from .ref_frame_sampler import RefFrameSampler


class TestProtocol:
    """The online protocol's behaviour, which the others refine: frames of each video in frame
    order, no references."""

    __test__ = False  # not a pytest test class

    #: whether some frame comes with references (the dataset then packs clips of 1 + N frames)
    gives_references = False

    def frame_order(self, videos: List[List[int]]) -> List[List[int]]:
        """Sample indices of each video (given in frame order) in the order they are tested."""
        return [list(video) for video in videos]

    def references(self, position: int, video_length: int) -> List[int]:
        """Positions (0 .. video_length - 1) of the references of the frame at ``position``."""
        return []

    def __repr__(self) -> str:
        fields = ', '.join(f'{key}={value!r}' for key, value in vars(self).items())
        return f'{type(self).__name__}({fields})'


@TEST_PROTOCOL_TYPES.register_module()
class OnlineProtocol(TestProtocol):
    """Past frames only: each video in frame order, no references."""


@TEST_PROTOCOL_TYPES.register_module()
class ReferencesAtStart(TestProtocol):
    """Frame 0 with ``num_refs`` references spread over the whole video, the rest with none,
    in frame order or, with ``shuffle_seed``, shuffled after frame 0."""

    gives_references = True

    def __init__(self, *, num_refs: int = 14, shuffle_seed: Optional[int] = None) -> None:
        self.num_refs = num_refs
        self.shuffle_seed = shuffle_seed
        self._spread = RefFrameSampler(num_ref_imgs=num_refs, method='test_with_adaptive_stride')

    def frame_order(self, videos: List[List[int]]) -> List[List[int]]:
        if self.shuffle_seed is None:
            return super().frame_order(videos)
        rng = random.Random(self.shuffle_seed)  # one stream for the whole data set, as the authors'
        ordered = []
        for video in videos:
            rest = list(video[1:])
            rng.shuffle(rest)
            ordered.append(list(video[:1]) + rest)
        return ordered

    def references(self, position: int, video_length: int) -> List[int]:
        return self._spread.sample(position, video_length)

    def __repr__(self) -> str:
        return f'ReferencesAtStart(num_refs={self.num_refs}, shuffle_seed={self.shuffle_seed})'


@TEST_PROTOCOL_TYPES.register_module()
class SlidingWindow(TestProtocol):
    """Every frame with ``past`` frames before it and ``future`` after it, ``stride`` apart,
    clipped to the video (the first or last frame repeats), in frame order."""

    gives_references = True

    def __init__(self, *, past: int, future: int, stride: int = 1) -> None:
        if min(past, future) < 0 or past + future < 1 or stride < 1:
            raise ValueError(f'SlidingWindow needs past, future >= 0 (not both 0) and stride >= 1, got '
                             f'past={past}, future={future}, stride={stride}')
        self.past, self.future, self.stride = past, future, stride

    def references(self, position: int, video_length: int) -> List[int]:
        if not 0 <= position < video_length:
            raise IndexError(f'frame position {position} outside a video of {video_length} frames')
        return [min(max(position + offset * self.stride, 0), video_length - 1)
                for offset in range(-self.past, self.future + 1) if offset != 0]


@TEST_PROTOCOL_TYPES.register_module()
class WindowAndGlobalFrames(TestProtocol):
    """Frames in order; frame 0 with its whole window then ``num_global`` global frames, every
    later frame with the one frame entering the window then one global frame (module docstring)."""

    gives_references = True

    def __init__(self, *, past: int, future: int, num_global: int = 0, shuffle_seed: int = 0) -> None:
        if min(past, future, num_global) < 0:
            raise ValueError(f'WindowAndGlobalFrames needs past, future, num_global >= 0, got past={past}, '
                             f'future={future}, num_global={num_global}')
        self.past, self.future, self.num_global, self.shuffle_seed = past, future, num_global, shuffle_seed

    def references(self, position: int, video_length: int) -> List[int]:
        if not 0 <= position < video_length:
            raise IndexError(f'frame position {position} outside a video of {video_length} frames')
        last = video_length - 1
        if position == 0:
            window = [min(max(offset, 0), last) for offset in range(-self.past, self.future + 1)]
            return window + [self._global(video_length, self.num_global - 1 - i) for i in range(self.num_global)]
        extra = [self._global(video_length, position + self.num_global - 1)] if self.num_global else []
        return [min(position + self.future, last)] + extra

    def _global(self, video_length: int, index: int) -> int:
        return global_frame_order(self.shuffle_seed, video_length)[index % video_length]


@functools.lru_cache(maxsize=256)
def global_frame_order(shuffle_seed: int, video_length: int) -> Tuple[int, ...]:
    """:class:`WindowAndGlobalFrames`' permutation of the positions of a video of ``video_length``
    frames (one per seed and length), made once and cached: the protocol reads it at every frame."""
    order = list(range(video_length))
    random.Random(f'{shuffle_seed}/{video_length}').shuffle(order)
    return tuple(order)


#: the protocols ``--protocol NAME`` can name; a detector's ``test_protocols`` lists some of these
NAMED_PROTOCOLS: Dict[str, dict] = {
    'online': dict(type='OnlineProtocol'),
    'mamba_offline': dict(type='ReferencesAtStart', num_refs=14, shuffle_seed=10),
    'selsa_offline': dict(type='ReferencesAtStart', num_refs=14),
    'fgfa_offline': dict(type='SlidingWindow', past=15, future=15),
    'mega_offline': dict(type='WindowAndGlobalFrames', past=12, future=12, num_global=10),
    'rdn_offline': dict(type='WindowAndGlobalFrames', past=18, future=18),
}
#: old names kept working: 'paper' was MAMBA's offline protocol when it was the only method
ALIASES = {'paper': 'mamba_offline'}
TEST_PROTOCOLS = tuple(NAMED_PROTOCOLS) + tuple(ALIASES)


def protocol_name(name: str) -> str:
    """The protocol ``name`` stands for (an alias resolved).

    Raises:
        ValueError: an unknown name, listing the known ones.
    """
    name = ALIASES.get(name, name)
    if name not in NAMED_PROTOCOLS:
        known = ', '.join(repr(n) for n in NAMED_PROTOCOLS)
        aliases = ', '.join(f'{alias!r} = {target!r}' for alias, target in ALIASES.items())
        raise ValueError(f'unknown test protocol {name!r}: one of {known} (aliases: {aliases})')
    return name


def build_protocol(spec: Union[str, dict, TestProtocol, None]) -> TestProtocol:
    """The protocol of ``spec``: a name (:data:`NAMED_PROTOCOLS`, :data:`ALIASES`), a config dict
    of a registered type, a protocol, or None (online)."""
    if isinstance(spec, TestProtocol):
        return spec
    if spec is None:
        spec = 'online'
    if isinstance(spec, str):
        spec = NAMED_PROTOCOLS[protocol_name(spec)]
    return TEST_PROTOCOL_TYPES.build(dict(spec))
