"""The two test protocols, defined once (mamba_vod.datasets.test_protocol)."""
import random

import pytest

from mamba_vod.datasets.test_protocol import (PAPER_REFERENCES, TEST_PROTOCOLS, protocol_frame_order,
                                              protocol_references)


def test_online_keeps_frame_order_and_has_no_references():
    videos = [[0, 1, 2], [3, 4]]
    assert protocol_frame_order('online', videos) == videos and protocol_references('online') is None


def test_paper_shuffles_every_video_after_frame_0_from_one_seeded_stream():
    videos = [list(range(6)), [6], list(range(7, 16))]
    rng = random.Random(10)  # the authors' protocol: seeded once, shuffled per video in order
    expected = []
    for video in videos:
        rest = video[1:]
        rng.shuffle(rest)
        expected.append(video[:1] + rest)
    assert protocol_frame_order('paper', videos) == expected != videos
    sampler = protocol_references('paper')
    assert sampler.sample(0, 27) == list(range(0, 27, 2)) and sampler.sample(5, 27) == []
    assert PAPER_REFERENCES['num_ref_imgs'] == 14 and TEST_PROTOCOLS == ('online', 'paper')


def test_an_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="one of \\('online', 'paper'\\), got 'offline'"):
        protocol_frame_order('offline', [[0]])
