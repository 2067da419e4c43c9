"""The key cache (memory rows projected once, when written) gives the detections that projecting
every frame's key set gives, on a short video under both test protocols, with the memories
sampling and replacing rows."""
import pytest
import torch

from .mamba_fixtures import build_tiny_mamba
from .test_mamba_pinned import video_detections

SMALL_INSTANCE_MEMORY = dict(type='MemoryBank', capacity=60, key_set_size=25, seed=0)


def _model(cache_keys: bool):
    return build_tiny_mamba(pixel=dict(cache_keys=cache_keys),
                            instance=dict(cache_keys=cache_keys, memory=SMALL_INSTANCE_MEMORY),
                            test=dict(pixel=dict(score_thr=0.0, pixels_per_detection=3)))


@pytest.mark.parametrize('protocol', ['online', 'paper'])
def test_cached_and_projected_every_frame_give_the_same_detections(protocol):
    cached, plain = _model(True), _model(False)
    plain.load_state_dict(cached.state_dict())
    ours, theirs = video_detections(cached, protocol), video_detections(plain, protocol)
    memories = (cached.pixel_level.memory, *cached.instance_level.memories)
    assert all(memory.extras == ('key', 'value') for memory in memories)
    assert len(cached.instance_level.memories[0]) == 60  # full: sampled and updated
    for frame_id, (a, b) in enumerate(zip(ours, theirs)):
        assert torch.equal(a[2], b[2]), f'frame {frame_id} labels'
        assert torch.allclose(a[0], b[0], atol=1e-3), f'frame {frame_id} boxes'
        assert torch.allclose(a[1], b[1], atol=1e-5), f'frame {frame_id} scores'


def test_loading_weights_and_switching_modes_empty_the_memories():
    model = _model(True)
    video_detections(model, 'online')
    assert len(model.pixel_level.memory) > 0
    model.load_state_dict(model.state_dict())  # projections made with other weights are stale
    assert len(model.pixel_level.memory) == 0 and model.instance_level.is_empty
    video_detections(model, 'online')
    model.train()
    assert len(model.pixel_level.memory) == 0 and model.instance_level.is_empty
