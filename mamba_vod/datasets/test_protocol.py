"""The two ways a video detector is tested, defined once, on the data side.

- ``'online'``: the frames of each video in order, no references: each frame goes through the
  memory of the frames before it (what a camera allows).
- ``'paper'``: MAMBA's offline protocol, behind the paper's figures: frame 0 comes with 14
  references spread over the whole video (``round(i * (L - 1) / 13)``, i = 0..13, Python
  ``round``, duplicates kept: :class:`RefFrameSampler`'s ``'test_with_adaptive_stride'``),
  which fill the memories; the other frames follow in a shuffled order (Python ``random``
  seeded once with 10, then ``shuffle`` per video in dataset video order), so the memory
  holds frames from before and after.

The test dataset reads its protocol (``ImagenetVIDDataset(test_protocol=...)``, one config key)
and gives the frame-0 references and the frame order (``video_frame_indices``) that the
``VideoSampler`` follows; the model only sees "a clip with references" or "a frame".
"""
import random
from typing import List, Optional

from .ref_frame_sampler import RefFrameSampler

TEST_PROTOCOLS = ('online', 'paper')
PAPER_REFERENCES = dict(num_ref_imgs=14, method='test_with_adaptive_stride')
PAPER_SHUFFLE_SEED = 10


def check_protocol(protocol: str) -> str:
    if protocol not in TEST_PROTOCOLS:
        raise ValueError(f'test protocol must be one of {TEST_PROTOCOLS}, got {protocol!r}')
    return protocol


def protocol_references(protocol: str) -> Optional[RefFrameSampler]:
    """The sampler of the references a test frame carries under ``protocol`` (None: no references)."""
    return RefFrameSampler(**PAPER_REFERENCES) if check_protocol(protocol) == 'paper' else None


def protocol_frame_order(protocol: str, videos: List[List[int]]) -> List[List[int]]:
    """Sample indices of each video (given in frame order) in the order ``protocol`` tests them."""
    if check_protocol(protocol) == 'online':
        return [list(video) for video in videos]
    rng = random.Random(PAPER_SHUFFLE_SEED)
    ordered = []
    for video in videos:
        rest = list(video[1:])
        rng.shuffle(rest)
        ordered.append(list(video[:1]) + rest)
    return ordered
