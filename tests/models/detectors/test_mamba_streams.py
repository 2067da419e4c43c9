"""predict_streams: frames of several streams as one batch, each through its own memories, give
what each stream alone gives."""
import pytest
import torch

from .mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess

LENGTHS = (5, 3, 6)  # three streams of different lengths


def _model():
    model = build_tiny_mamba(pixel=dict(memory=dict(type='MemoryBank', capacity=120, key_set_size=40, seed=0)),
                             instance=dict(memory=dict(type='MemoryBank', capacity=50, key_set_size=15, seed=0)),
                             test=dict(pixel=dict(score_thr=0.0, pixels_per_detection=3)))
    return model.eval()


def _frame(stream, frame_id):
    return make_clip(1, 48, 64, seed=100 * stream + frame_id)


def _sample(stream, frame_id):
    return make_sample(video_id=stream, frame_id=frame_id, height=48, width=64)


@torch.no_grad()
def test_each_stream_gets_what_it_gets_alone_whatever_the_others_do():
    model = _model()
    alone, alone_states = {}, {}
    for stream, length in enumerate(LENGTHS):
        model.memories.current = alone_states[stream] = model.memories.new_state()
        alone[stream] = [model.predict(*preprocess(model, [_frame(stream, f)], [_sample(stream, f)]))[0]
                         for f in range(length)]
    states = {stream: model.memories.new_state() for stream in range(len(LENGTHS))}
    for frame_id in range(max(LENGTHS)):
        streams = [s for s, length in enumerate(LENGTHS) if frame_id < length]
        inputs, samples = preprocess(model, [_frame(s, frame_id) for s in streams],
                                     [_sample(s, frame_id) for s in streams])
        results = model.predict_streams(inputs, samples, [states[s] for s in streams])
        for stream, result in zip(streams, results):
            expected = alone[stream][frame_id].pred_instances
            got = result.pred_instances
            assert torch.equal(got.labels, expected.labels), (stream, frame_id)
            assert torch.allclose(got.bboxes, expected.bboxes, atol=1e-3), (stream, frame_id)
    for stream in states:  # the same memories as alone, rows for rows
        for ours, theirs in ((states[stream]['pixel_level'].bank, alone_states[stream]['pixel_level'].bank),
                             (states[stream]['instance_level'].banks[1],
                              alone_states[stream]['instance_level'].banks[1])):
            assert len(ours) == len(theirs) > 0 and torch.equal(ours.frame_ids, theirs.frame_ids)
    assert len(states[2]['instance_level'].banks[0]) == 50  # full: sampled and updated


def test_states_must_be_one_per_frame_and_distinct():
    model = _model()
    state = model.memories.new_state()
    inputs, samples = preprocess(model, [_frame(0, 0), _frame(1, 0)], [_sample(0, 0), _sample(1, 0)])
    with pytest.raises(ValueError, match='one memory state per frame'):
        model.predict_streams(inputs, samples, [state, state])
    with pytest.raises(ValueError, match='one memory state per frame'):
        model.predict_streams(inputs, samples, [state])
