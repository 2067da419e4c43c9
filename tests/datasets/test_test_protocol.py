"""The test protocols, registered objects defined once (mamba_vod.datasets.test_protocol): each
gives the frame order and each frame's references."""
import random

import pytest

from mamba_vod.datasets.test_protocol import (ALIASES, NAMED_PROTOCOLS, OnlineProtocol, ReferencesAtStart,
                                              SlidingWindow, build_protocol, protocol_name)


def test_online_keeps_frame_order_and_has_no_references():
    videos = [[0, 1, 2], [3, 4]]
    online = build_protocol('online')
    assert isinstance(online, OnlineProtocol) and not online.gives_references
    assert online.frame_order(videos) == videos and online.references(1, 3) == []
    assert isinstance(build_protocol(None), OnlineProtocol)


def test_mamba_offline_spreads_14_references_at_frame_0_and_shuffles_from_one_seeded_stream():
    videos = [list(range(6)), [6], list(range(7, 16))]
    rng = random.Random(10)  # the authors' protocol: seeded once, shuffled per video in order
    expected = []
    for video in videos:
        rest = video[1:]
        rng.shuffle(rest)
        expected.append(video[:1] + rest)
    protocol = build_protocol('mamba_offline')
    assert protocol.frame_order(videos) == expected != videos
    assert protocol.references(0, 27) == list(range(0, 27, 2)) and protocol.references(5, 27) == []
    assert protocol.references(0, 14) == list(range(14))
    assert protocol.references(0, 10) == [round(i * 9 / 13) for i in range(14)]  # repeats on a short video
    assert protocol_name('paper') == 'mamba_offline' and repr(build_protocol('paper')) == repr(protocol)


def test_selsa_offline_is_the_same_references_in_frame_order():
    protocol = build_protocol('selsa_offline')
    assert protocol.frame_order([[0, 1, 2, 3]]) == [[0, 1, 2, 3]]
    assert protocol.references(0, 27) == build_protocol('mamba_offline').references(0, 27)


def test_a_sliding_window_clips_at_the_ends_of_the_video():
    window = SlidingWindow(past=2, future=3)
    assert window.references(5, 20) == [3, 4, 6, 7, 8]
    assert window.references(0, 20) == [0, 0, 1, 2, 3]  # the first frame repeats
    assert window.references(19, 20) == [17, 18, 19, 19, 19]  # the last frame repeats
    assert SlidingWindow(past=1, future=1, stride=4).references(8, 20) == [4, 12]
    assert len(build_protocol('fgfa_offline').references(40, 100)) == 30
    with pytest.raises(ValueError, match='past, future >= 0'):
        SlidingWindow(past=0, future=0)


def test_a_protocol_can_be_a_config_dict():
    protocol = build_protocol(dict(type='ReferencesAtStart', num_refs=3))
    assert isinstance(protocol, ReferencesAtStart) and protocol.references(0, 11) == [0, 5, 10]


def test_an_unknown_protocol_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown test protocol 'offline': one of 'online', 'mamba_offline'.*"
                                         "'paper' = 'mamba_offline'"):
        build_protocol('offline')
    assert set(ALIASES.values()) <= set(NAMED_PROTOCOLS)
