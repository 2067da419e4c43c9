"""Tests of :class:`mamba_vod.models.memory.FrameCache`: bounded by its capacity or by the window
it is given, counts frames since the newest, copies what it keeps, empties itself."""
import pytest
import torch

from mamba_vod.models.memory import CachedFrame, FrameCache


def _frame(value: float) -> CachedFrame:
    return CachedFrame(torch.full((1, 3, 8, 8), float(value)), (torch.full((1, 4, 2, 2), float(value)), ))


def test_put_keeps_the_newest_frames_up_to_its_capacity():
    cache = FrameCache(capacity=2)
    state = cache.state
    for key in range(4):
        state.put(key, _frame(key))
    assert list(state.frames) == [2, 3] and state.newest.image[0, 0, 0, 0] == 3
    state.put(2, _frame(9.0))  # the same key again: replaced, now the newest
    assert list(state.frames) == [3, 2] and state.newest.image[0, 0, 0, 0] == 9
    assert state.nbytes == 2 * (3 * 64 + 4 * 4) * 4


def test_put_frame_keys_a_frame_by_its_id_and_frames_without_ids_apart():
    state = FrameCache(capacity=3).state
    for value in range(5):
        state.put_frame({}, _frame(value))  # no frame id: none replaces another
    assert len(state) == 3 and [f.image[0, 0, 0, 0].item() for f in state.values()] == [2, 3, 4]
    state.put_frame(dict(frame_id=None), _frame(5))
    state.put_frame(dict(frame_id=7), _frame(6))
    state.put_frame(dict(frame_id=7), _frame(7))  # the same id again: replaced
    assert len(state) == 3 and state.get(7).image[0, 0, 0, 0] == 7
    assert [f.image[0, 0, 0, 0].item() for f in state.values()] == [4, 5, 7]


def test_replace_holds_exactly_the_window_whatever_the_capacity():
    state = FrameCache(capacity=1).state
    state.replace((key, _frame(key)) for key in (5, 6, 7))
    assert list(state.frames) == [5, 6, 7] and 6 in state and state.get(4) is None


def test_frames_are_counted_from_the_newest_put_and_reset_empties():
    state = FrameCache(capacity=1).state
    state.put(0, _frame(0))
    state.count_frame()
    state.count_frame()
    assert state.frames_since_put == 2
    state.put(2, _frame(2))
    assert state.frames_since_put == 0
    state.count_frame()
    state.on_frame_size_change()  # maps are tied to the frame size
    assert len(state) == 0 and state.newest is None and state.frames_since_put == 0 and state.nbytes == 0


def test_kept_frames_are_detached_copies():
    batch = torch.randn(4, 3, 8, 8, requires_grad=True)
    maps = torch.randn(4, 2, 2, 2)
    kept = CachedFrame.kept(batch[1:2], (maps[1:2], ))
    assert not kept.image.requires_grad and kept.image.untyped_storage().nbytes() == 3 * 64 * 4
    maps.zero_()
    assert kept.maps[0].abs().sum() > 0


def test_a_frame_of_maps_only_has_no_image_and_counts_its_maps():
    maps = torch.randn(1, 4, 2, 2)
    kept = CachedFrame.kept(None, (maps, ))  # Temporal RoI Align keeps no image
    assert kept.image is None and kept.nbytes == 4 * 4 * 4
    state = FrameCache(capacity=2).state
    state.put(0, kept)
    assert state.nbytes == kept.nbytes


def test_each_stream_gets_its_own_state():
    cache = FrameCache(capacity=2)
    first, second = cache.new_state(), cache.new_state()
    first.put(0, _frame(0))
    assert len(second) == 0 and first is not second


@pytest.mark.parametrize('capacity', [0, 1.5])
def test_a_capacity_that_is_not_a_whole_number_is_refused(capacity):
    with pytest.raises(ValueError, match='capacity must be a whole number >= 1'):
        FrameCache(capacity=capacity)
