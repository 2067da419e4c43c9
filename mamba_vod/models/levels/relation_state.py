"""What one stream carries for MEGA / RDN between its frames: the local window of proposal rows,
the long-range memory of each relation stage, the global pool.

Shape shorthand: K proposals a frame keeps as its rows (75), C channels of the box head's FCs
(1024), S local relation stages, n rows of one entry.

An entry is one frame's rows and boxes: ``(rows (n, C), boxes (n, 4))``, boxes x1, y1, x2, y2 in
the resized input's pixels (so the state is emptied when the frame size changes: the default of
:class:`CarriedState`).

- ``window``: the last ``window_size`` frames' fc6 rows (K each), oldest first; a frame enters
  it when it is read (online: the frame itself; MEGA's offline protocol: the frame ``future``
  frames ahead, with the first frame's window padded as mega.pytorch pads it).
- ``memory[s]``: stage s's long-range memory, the last ``memory_size`` entries pushed to it:
  the rows stage s read of frames that were leaving the window (mega.pytorch's
  ``update_memory``); bounded by ``memory_size`` entries.
- ``global_pool``: up to ``global_size`` frames' fc6 rows. Online it is a uniform random sample
  of the frames seen so far (reservoir sampling, the draws from the stream's own generator,
  seeded, :mod:`.stream_seed`): MEGA's frames "from the whole video" as far as the past allows.
  Offline the protocol hands in global frames of the whole video and the pool keeps the last
  ``global_size`` (mega.pytorch's global queue).
"""
from collections import deque
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..memory import CarriedState
from .stream_seed import stream_generator

Entry = Tuple[Tensor, Tensor]  # (rows (n, C), boxes (n, 4)) of one frame


class RelationState(CarriedState):
    """A stream's window, stage memories and global pool (module docstring), all bounded.

    Args:
        window_size: frames of the local window.
        num_stages: S, one memory per local stage.
        memory_size: entries of each stage memory (0: no memory).
        global_size: frames of the global pool (0: no global pool).
        seed: seed of the pool's draws (None: ``STREAM_SEED``).
    """

    def __init__(self, *, window_size: int, num_stages: int, memory_size: int, global_size: int,
                 seed: Optional[int] = None) -> None:
        self.window_size, self.num_stages = window_size, num_stages
        self.memory_size, self.global_size, self.seed = memory_size, global_size, seed
        self.reset()

    def reset(self) -> None:
        self.window: deque = deque(maxlen=self.window_size)
        self.memory: List[deque] = [deque(maxlen=max(self.memory_size, 1)) for _ in range(self.num_stages)]
        self.global_pool: List[Entry] = []
        self.frames_seen = 0  # frames offered to the pool (reservoir sampling)
        self.generator = stream_generator(self.seed)

    @property
    def window_is_full(self) -> bool:
        return len(self.window) == self.window_size

    def push_window(self, entry: Entry) -> None:
        """A frame enters the window (the oldest leaves when it is full)."""
        self.window.append(_detached(entry))

    def push_memory(self, pushes: Sequence[Entry]) -> None:
        """Stage s's rows of the frame leaving the window, one entry per stage."""
        if self.memory_size <= 0:
            return
        for stage, entry in enumerate(pushes):
            self.memory[stage].append(_detached(entry))

    def memory_entries(self, stage: int) -> List[Entry]:
        return list(self.memory[stage]) if self.memory_size > 0 else []

    def queue_global(self, entry: Entry) -> None:
        """Offline: a global frame handed in by the protocol; the pool keeps the last ``global_size``."""
        if self.global_size <= 0:
            return
        self.global_pool.append(_detached(entry))
        del self.global_pool[:-self.global_size]

    def offer_global(self, entry: Entry) -> None:
        """Online: a seen frame joins the pool with probability global_size / frames seen,
        replacing a random member (reservoir sampling: the pool is a uniform sample of the past)."""
        if self.global_size <= 0:
            return
        self.frames_seen += 1
        if len(self.global_pool) < self.global_size:
            self.global_pool.append(_detached(entry))
            return
        slot = int(torch.randint(self.frames_seen, (1, ), generator=self.generator))
        if slot < self.global_size:
            self.global_pool[slot] = _detached(entry)

    @property
    def nbytes(self) -> int:
        entries = list(self.window) + self.global_pool + [e for memory in self.memory for e in memory]
        return sum(t.numel() * t.element_size() for entry in entries for t in entry)


def _detached(entry: Entry) -> Entry:
    return tuple(t.detach() for t in entry)
