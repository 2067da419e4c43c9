"""Test-time sampler that keeps videos whole: a memory bank never sees two videos interleaved.

Each rank gets a contiguous run of whole videos (in dataset order), cut so that the ranks'
frame counts are as even as whole videos allow; every frame is yielded exactly once over all
ranks and nothing is padded, so ranks may yield different numbers of frames (mmengine's
``collect_results`` gathers uneven parts). Within a video the frames come in frame order, or,
with ``shuffle_frames=True``, frame 0 first and the others shuffled as in MAMBA's 'paper'
protocol: Python ``random`` seeded once with ``seed``, then ``shuffle`` per video in dataset
video order (the same permutations whatever the number of ranks). Each sample keeps its own
``frame_id``; only the order of the indices changes.
"""
import random
from typing import Iterator, List, Optional, Sequence, Sized

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from mamba_vod.registry import DATA_SAMPLERS

PAPER_SEED = 10


@DATA_SAMPLERS.register_module()
class VideoSampler(Sampler):
    """Whole videos per rank, frames in order (or the paper's shuffled order).

    Args:
        dataset: a dataset with ``video_frame_indices()`` (``ImagenetVIDDataset``) or whose
            ``get_data_info(i)`` has ``video_id`` and ``frame_id``.
        shuffle_frames: frame 0 first, the rest of each video shuffled.
        seed: seed of the shuffle. mmengine's Runner passes its own seed when the config
            leaves ``seed`` out, so the paper protocol states ``seed=10``; None means 10.
        rank, world_size: this process and the number of processes; default: from
            ``torch.distributed`` (rank 0 of 1 when it is not initialised).
    """

    def __init__(self, dataset: Sized, *, shuffle_frames: bool = False, seed: Optional[int] = PAPER_SEED,
                 rank: Optional[int] = None, world_size: Optional[int] = None) -> None:
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'VideoSampler: rank {self.rank} outside world size {self.world_size}')
        self.dataset = dataset
        self.shuffle_frames = shuffle_frames
        self.seed = PAPER_SEED if seed is None else seed
        videos = self._videos(dataset)
        if shuffle_frames:
            videos = self._shuffled(videos, self.seed)
        self.videos = [v for v, r in zip(videos, split_videos([len(v) for v in videos], self.world_size))
                       if r == self.rank]
        self.indices = [i for video in self.videos for i in video]

    @staticmethod
    def _videos(dataset) -> List[List[int]]:
        """Dataset indices grouped by video in dataset order, each in frame order."""
        if hasattr(dataset, 'video_frame_indices'):
            return [list(v) for v in dataset.video_frame_indices()]
        groups, order = {}, []
        for idx in range(len(dataset)):
            info = dataset.get_data_info(idx)
            if info['video_id'] not in groups:
                groups[info['video_id']] = []
                order.append(info['video_id'])
            groups[info['video_id']].append((info['frame_id'], idx))
        return [[idx for _, idx in sorted(groups[vid])] for vid in order]

    @staticmethod
    def _shuffled(videos: List[List[int]], seed: int) -> List[List[int]]:
        rng = random.Random(seed)
        out = []
        for video in videos:
            rest = video[1:]
            rng.shuffle(rest)
            out.append(video[:1] + rest)
        return out

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def split_videos(lengths: Sequence[int], world_size: int) -> List[int]:
    """Rank of each video: contiguous runs, cut nearest to equal frame counts.

    A video goes to the rank whose share of the frames holds the video's middle frame, so
    ranks are non-decreasing along the list and each gets about ``sum(lengths) / world_size``.
    """
    total = sum(lengths)
    ranks, before = [], 0
    for length in lengths:
        middle = before + length / 2
        ranks.append(min(world_size - 1, int(middle * world_size / total)) if total else 0)
        before += length
    return ranks
