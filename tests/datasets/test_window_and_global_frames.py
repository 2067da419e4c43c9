"""MEGA's offline protocol (WindowAndGlobalFrames): what enters the detector's state, frame by frame."""
import random

import pytest

from mamba_vod.datasets.test_protocol import NAMED_PROTOCOLS, WindowAndGlobalFrames, build_protocol


def test_frame_0_hands_in_its_whole_window_then_the_global_frames_later_frames_one_of_each():
    protocol = WindowAndGlobalFrames(past=2, future=3, num_global=4, shuffle_seed=5)
    length = 8
    assert protocol.frame_order([list(range(length))]) == [list(range(length))]  # in order
    first = protocol.references(0, length)
    assert first[:6] == [0, 0, 0, 1, 2, 3]  # 2 past (clipped: frame 0 repeats), itself, 3 future
    globals_0 = first[6:]
    assert len(globals_0) == 4 and len(set(globals_0)) == 4  # one permutation: distinct frames
    assert protocol.references(1, length)[0] == 4  # the frame entering the window: 1 + future
    assert protocol.references(6, length)[0] == 7  # clipped to the last frame
    later = [protocol.references(k, length)[1] for k in range(1, length)]
    # frame k's global frame continues the permutation that frame 0's came from
    order = [protocol._global(length, i) for i in range(length)]
    assert globals_0 == [order[3], order[2], order[1], order[0]]
    assert later == [order[(k + 3) % length] for k in range(1, length)]


def test_the_global_frames_are_seeded():
    a, b = (WindowAndGlobalFrames(past=1, future=1, num_global=3, shuffle_seed=s) for s in (0, 0))
    assert a.references(0, 20) == b.references(0, 20)
    other = WindowAndGlobalFrames(past=1, future=1, num_global=3, shuffle_seed=1)
    assert any(other.references(k, 20) != a.references(k, 20) for k in range(20))


def test_named_protocols_are_megas_and_rdns_windows():
    mega, rdn = build_protocol('mega_offline'), build_protocol('rdn_offline')
    assert len(mega.references(0, 100)) == 25 + 10 and len(mega.references(50, 100)) == 2
    assert len(rdn.references(0, 100)) == 37 and rdn.references(50, 100) == [68]
    assert 'mega_offline' in NAMED_PROTOCOLS and mega.gives_references


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='past, future, num_global >= 0'):
        WindowAndGlobalFrames(past=-1, future=1)
    with pytest.raises(IndexError, match='outside a video'):
        WindowAndGlobalFrames(past=1, future=1).references(5, 5)


def test_the_global_permutation_is_made_once_per_seed_and_length():
    from mamba_vod.datasets.test_protocol import global_frame_order
    global_frame_order.cache_clear()
    protocol = WindowAndGlobalFrames(past=2, future=2, num_global=3, shuffle_seed=7)
    for length in (40, 41):
        for position in range(length):
            protocol.references(position, length)
    assert global_frame_order.cache_info().misses == 2  # once per (seed, length), not per frame
    order = list(range(40))
    random.Random('7/40').shuffle(order)  # the permutation it always was
    assert global_frame_order(7, 40) == tuple(order)
    assert protocol.references(0, 40)[5:] == [order[2], order[1], order[0]]
