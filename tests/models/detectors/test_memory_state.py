"""A stream's state is the collection of its state carriers' states, found by walking the model:
swapped by reference, emptied on a new video, told of a new frame size, counted in bytes."""
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from mamba_vod.models.detectors import MemoryState, StreamMemories
from mamba_vod.models.memory import CarriedState, StateCarrier

from .mamba_fixtures import build_tiny_mamba


@dataclass
class Frames(CarriedState):
    """Counts the frames seen; ``keeps_on_resize`` keeps them when the frame size changes."""
    seen: int = 0
    keeps_on_resize: bool = False

    def reset(self) -> None:
        self.seen = 0

    def on_frame_size_change(self) -> None:
        if not self.keeps_on_resize:
            self.reset()

    @property
    def nbytes(self) -> int:
        return 8 * self.seen


class Counter(StateCarrier, nn.Module):
    def __init__(self, keeps_on_resize: bool = False) -> None:
        super().__init__()
        self.keeps_on_resize = keeps_on_resize
        self.state = self.new_state()

    def new_state(self) -> Frames:
        return Frames(keeps_on_resize=self.keeps_on_resize)


def _memories():
    carriers = dict(maps=Counter(), rows=Counter(keeps_on_resize=True))
    return StreamMemories(carriers), carriers


def _see(memories, carriers, video_id, size=(64, 96)):
    memories.follow(dict(video_id=video_id, ori_shape=size))
    for carrier in carriers.values():
        carrier.state.seen += 1


def test_a_carrier_must_say_how_to_make_reset_and_count_its_state():
    with pytest.raises(TypeError, match='abstract'):
        type('NoCount', (CarriedState, ), dict(reset=lambda self: None))()
    with pytest.raises(TypeError, match='abstract'):
        type('NoNewState', (StateCarrier, nn.Module), {})()


def test_a_new_video_empties_every_state_and_a_new_size_those_tied_to_it():
    memories, carriers = _memories()
    for _ in range(3):
        _see(memories, carriers, video_id=0)
    assert [c.state.seen for c in carriers.values()] == [3, 3] and memories.current.nbytes == 48
    _see(memories, carriers, video_id=0, size=(72, 96))  # maps emptied first, rows kept
    assert [c.state.seen for c in carriers.values()] == [1, 4]
    _see(memories, carriers, video_id=1, size=(72, 96))
    assert [c.state.seen for c in carriers.values()] == [1, 1]
    memories.reset(['rows'])
    assert [c.state.seen for c in carriers.values()] == [1, 0] and memories.current.video_id == 1
    memories.reset()
    assert memories.current.video_id is None
    with pytest.raises(KeyError, match="no stream state named \\['pixels'\\]"):
        memories.reset(['pixels'])


def test_states_are_swapped_by_reference_and_belong_to_one_stream():
    memories, carriers = _memories()
    other = memories.new_state()
    assert isinstance(other, MemoryState) and other['maps'] is not memories.current['maps']
    with memories.using(other):
        _see(memories, carriers, video_id=5)
        assert carriers['maps'].state is other['maps']
    assert other['maps'].seen == 1 and memories.current['maps'].seen == 0
    with pytest.raises(ValueError, match='state carriers are'):
        memories.current = MemoryState(dict(maps=Frames()))


def test_a_video_detector_finds_its_carriers_among_its_modules():
    model = build_tiny_mamba()
    assert sorted(model.memories.carriers) == ['instance_level', 'pixel_level']
    state = model.memories.new_state()
    assert state['pixel_level'] is not model.pixel_level.state
    with model.memories.using(state):
        assert model.pixel_level.state is state['pixel_level']
        assert model.instance_level.state is state['instance_level']
    model.pixel_level.state.bank.write(torch.ones(4, 64))
    assert model.memories.current.nbytes == model.pixel_level.state.nbytes > 0
    model.load_state_dict(model.state_dict())  # weights loaded: the state is stale
    assert model.memories.current.nbytes == 0
