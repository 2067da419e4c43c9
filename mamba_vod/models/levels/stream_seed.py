"""Seeds of a stream's test-time draws: reproducible by default.

Every random draw a level makes at test time (the key set sampled from a bank, the rows a full
bank replaces, the pixels drawn) comes from a generator that belongs to the stream's memory: the
banks' own generators and the pixel level's. Each is seeded when the memory is made and again
when it is emptied (a new video), so a video gives the same draws, hence the same detections,
whatever ran before it on that stream and whatever other streams do (``tools/test.py``,
``StreamingDetector`` and ``MultiStreamDetector`` alike). A config changes the seed with the
level's ``seed`` (or a bank's own ``memory.seed``).
"""
import copy
from typing import Optional

import torch

#: the seed of a stream's draws where a config names none
STREAM_SEED = 0


def seeded_memory_cfg(memory_cfg: dict, seed: Optional[int]) -> dict:
    """A copy of a :class:`MemoryBank` config, seeded with ``seed`` (``STREAM_SEED`` when None)
    unless it names a seed of its own."""
    cfg = copy.deepcopy(memory_cfg)
    if cfg.get('seed') is None:
        cfg['seed'] = STREAM_SEED if seed is None else seed
    return cfg


def stream_generator(seed: Optional[int]) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (``STREAM_SEED`` when None)."""
    return torch.Generator().manual_seed(STREAM_SEED if seed is None else seed)
