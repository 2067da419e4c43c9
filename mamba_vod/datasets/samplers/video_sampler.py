"""Test-time sampler that keeps videos whole: a memory bank never sees two videos interleaved.

Each rank gets a contiguous run of whole videos (in dataset order), cut so that the ranks'
frame counts are as even as whole videos allow; every frame is yielded exactly once over all
ranks and nothing is padded, so ranks may yield different numbers of frames (mmengine's
``collect_results`` gathers uneven parts). Within a video the frames come in the order the
dataset gives (``video_frame_indices``: its test protocol's, :mod:`mamba_vod.datasets.test_protocol`,
the same permutations whatever the number of ranks), else in frame order. Each sample keeps its
own ``frame_id``; only the order of the indices changes.
"""
from typing import Iterator, List, Optional, Sequence, Sized

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from mamba_vod.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class VideoSampler(Sampler):
    """Whole videos per rank, frames in the dataset's test order.

    Args:
        dataset: a dataset with ``video_frame_indices()`` (``ImagenetVIDDataset``) or whose
            ``get_data_info(i)`` has ``video_id`` and ``frame_id``.
        seed: accepted because mmengine's Runner passes one to every sampler; unused (the
            order is the dataset's).
        rank, world_size: this process and the number of processes; default: from
            ``torch.distributed`` (rank 0 of 1 when it is not initialised).
    """

    def __init__(self, dataset: Sized, *, seed: Optional[int] = None, rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'VideoSampler: rank {self.rank} outside world size {self.world_size}')
        self.dataset = dataset
        videos = self._videos(dataset)
        self.videos = [v for v, r in zip(videos, split_videos([len(v) for v in videos], self.world_size))
                       if r == self.rank]
        self.indices = [i for video in self.videos for i in video]

    @staticmethod
    def _videos(dataset) -> List[List[int]]:
        """Dataset indices grouped by video in dataset order, each in the dataset's test order
        (frame order for a dataset without ``video_frame_indices``)."""
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
