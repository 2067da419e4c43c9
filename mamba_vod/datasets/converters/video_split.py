"""Train / val split of a data set by whole videos (no video has frames on both sides)."""
from typing import List, Tuple

import numpy as np


def split_videos(num_videos: int, val_fraction: float, seed: int = 0) -> Tuple[List[int], List[int]]:
    """Indices of the train and the val videos, each in input order.

    ``round(val_fraction * V)`` videos go to val (at least one when ``val_fraction > 0``), drawn
    with ``numpy.random.default_rng(seed)``: the same input and seed give the same split.

    Raises:
        ValueError: ``val_fraction`` outside [0, 1), or a split that leaves no train video.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f'--val-fraction must lie in [0, 1), got {val_fraction}')
    num_val = max(1, round(val_fraction * num_videos)) if val_fraction > 0 else 0
    if num_val >= num_videos and num_val:
        raise ValueError(f'--val-fraction {val_fraction} of {num_videos} video(s) leaves no video to train on; '
                         'a split by video needs at least 2 videos')
    val = set(np.random.default_rng(seed).permutation(num_videos)[:num_val].tolist())
    return [i for i in range(num_videos) if i not in val], sorted(val)
