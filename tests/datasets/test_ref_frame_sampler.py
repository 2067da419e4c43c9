import random

import pytest

from mamba_vod.datasets import RefFrameSampler


@pytest.mark.parametrize('position', [0, 1, 5, 18, 19])
def test_uniform_draws_distinct_frames_inside_the_window(position):
    sampler = RefFrameSampler(num_ref_imgs=3, frame_range=4, method='uniform')
    for seed in range(20):
        refs = sampler.sample(position, 20, rng=random.Random(seed))
        assert len(refs) == 3 and len(set(refs)) == 3
        assert position not in refs
        assert all(max(0, position - 4) <= r <= min(19, position + 4) for r in refs)


def test_bilateral_uniform_takes_one_side_each():
    sampler = RefFrameSampler(num_ref_imgs=2, frame_range=[-3, 5], method='bilateral_uniform')
    seen = set()
    for seed in range(50):
        left, right = sampler.sample(10, 30, rng=random.Random(seed))
        assert 7 <= left < 10 < right <= 15
        seen |= {left, right}
    assert seen == set(range(7, 16)) - {10}  # every candidate can be drawn


def test_bilateral_uniform_at_the_first_frame_still_gives_n_references():
    sampler = RefFrameSampler(num_ref_imgs=2, frame_range=9, method='bilateral_uniform')
    refs = sampler.sample(0, 30, rng=random.Random(0))
    assert len(refs) == 2 and len(set(refs)) == 2 and all(1 <= r <= 9 for r in refs)


def test_short_videos_repeat_frames_to_keep_n_references():
    sampler = RefFrameSampler(num_ref_imgs=4, frame_range=9, method='uniform')
    assert sampler.sample(0, 1, rng=random.Random(0)) == [0, 0, 0, 0]
    refs = sampler.sample(0, 2, rng=random.Random(0))
    assert refs == [1, 1, 1, 1]


def test_key_frame_is_a_candidate_when_not_filtered():
    sampler = RefFrameSampler(num_ref_imgs=1, frame_range=0, filter_key_img=False, method='uniform')
    assert sampler.sample(3, 10, rng=random.Random(0)) == [3]


def test_adaptive_stride_spreads_14_references_over_the_video_at_frame_0_only():
    sampler = RefFrameSampler(num_ref_imgs=14, method='test_with_adaptive_stride')
    assert sampler.sample(0, 27) == list(range(0, 27, 2))  # (L-1)/13 = 2 exactly
    assert sampler.sample(0, 14) == list(range(14))
    # L=5: i*4/13 rounded, duplicates kept
    assert sampler.sample(0, 5) == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4]
    assert sampler.sample(0, 1) == [0] * 14
    assert sampler.sample(1, 27) == [] and sampler.sample(26, 27) == []


@pytest.mark.parametrize('kwargs, match', [
    (dict(method='nearest'), 'method'),
    (dict(num_ref_imgs=0), 'num_ref_imgs'),
    (dict(num_ref_imgs=3, method='bilateral_uniform'), 'even'),
    (dict(frame_range=[2, 5]), 'frame_range'),
    (dict(frame_range=[-1, 1, 2]), 'frame_range'),
])
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RefFrameSampler(**kwargs)


def test_position_outside_the_video_is_an_error():
    with pytest.raises(IndexError, match='outside a video of 4 frames'):
        RefFrameSampler().sample(4, 4)
