import pytest

from mamba_vod.datasets import VideoSampler
from mamba_vod.datasets.samplers import split_videos
from mamba_vod.datasets.test_protocol import build_protocol


class FakeVideos:
    """A dataset whose samples are (video_id, frame_id), listed in a given order."""

    def __init__(self, lengths, order=None):
        self.samples = [(v, f) for v, n in enumerate(lengths) for f in range(n)]
        if order is not None:
            self.samples = [self.samples[i] for i in order]

    def __len__(self):
        return len(self.samples)

    def get_data_info(self, idx):
        video_id, frame_id = self.samples[idx]
        return dict(video_id=video_id, frame_id=frame_id)


def frames_of(dataset, sampler):
    return [dataset.samples[i] for i in sampler]


def test_two_ranks_get_whole_videos_in_order_and_every_frame_once():
    dataset = FakeVideos([5, 3, 4, 6, 3])
    parts = [frames_of(dataset, VideoSampler(dataset, rank=r, world_size=2)) for r in range(2)]
    assert parts[0] == [(v, f) for v, n in [(0, 5), (1, 3), (2, 4)] for f in range(n)]
    assert parts[1] == [(v, f) for v, n in [(3, 6), (4, 3)] for f in range(n)]
    assert len(VideoSampler(dataset, rank=1, world_size=2)) == 9
    single = frames_of(dataset, VideoSampler(dataset, rank=0, world_size=1))
    assert single == parts[0] + parts[1] == dataset.samples


@pytest.mark.parametrize('world_size', [1, 2, 3, 7])
def test_any_world_size_covers_each_frame_exactly_once(world_size):
    dataset = FakeVideos([1, 9, 2, 2, 7, 3])
    parts = [list(VideoSampler(dataset, rank=r, world_size=world_size)) for r in range(world_size)]
    assert sorted(i for part in parts for i in part) == list(range(len(dataset)))
    videos = [{dataset.samples[i][0] for i in part} for part in parts]
    assert sum(len(v) for v in videos) == 6  # no video is split between ranks


def test_split_is_balanced_by_frame_count():
    assert split_videos([10, 10, 10, 10], 2) == [0, 0, 1, 1]
    assert split_videos([30, 1, 1, 1, 1, 1, 1], 2) == [0, 1, 1, 1, 1, 1, 1]
    assert split_videos([2, 2, 2, 2, 2, 2], 3) == [0, 0, 1, 1, 2, 2]


def test_frames_come_in_frame_order_whatever_the_dataset_order():
    dataset = FakeVideos([3, 4], order=[6, 2, 0, 5, 1, 3, 4])
    assert frames_of(dataset, VideoSampler(dataset, world_size=1, rank=0)) == \
        [(1, 0), (1, 1), (1, 2), (1, 3), (0, 0), (0, 1), (0, 2)]  # videos in order of appearance


def test_the_paper_order_is_the_same_whatever_the_number_of_ranks():
    class PaperOrder(FakeVideos):
        def video_frame_indices(self):
            lengths = [6, 1, 9]
            starts = [sum(lengths[:i]) for i in range(len(lengths))]
            videos = [list(range(start, start + length)) for start, length in zip(starts, lengths)]
            return build_protocol('paper').frame_order(videos)

    dataset = PaperOrder([6, 1, 9])
    one = list(VideoSampler(dataset, rank=0, world_size=1))
    two = [list(VideoSampler(dataset, rank=r, world_size=2)) for r in range(2)]
    assert two[0] + two[1] == one and sorted(one) == list(range(16)) and one != sorted(one)


def test_uses_the_datasets_own_video_grouping(tmp_path):
    class Grouped(FakeVideos):
        def video_frame_indices(self):
            return [[2, 1], [0]]

        def get_data_info(self, idx):
            raise AssertionError('not needed when the dataset groups its videos')

    assert list(VideoSampler(Grouped([3]), rank=0, world_size=1)) == [2, 1, 0]


def test_bad_rank_is_an_error():
    with pytest.raises(ValueError, match='rank 2 outside world size 2'):
        VideoSampler(FakeVideos([2]), rank=2, world_size=2)
