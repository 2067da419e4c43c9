"""Reproducible by default: with the synthetic MAMBA config as it is (no seed set anywhere) and
GEO weights that make the memories matter, a video gives the same detections on a stream of a
MultiStreamDetector as on a StreamingDetector alone, whatever the other stream does, and again
after other videos ran before it. Small memories draw key sets from frame 3 and replace rows from
frame 4 on; the pixel memory writes at every detection."""
import pytest
import torch

from mamba_vod.apis import MultiStreamDetector, StreamingDetector

FRAMES = 8
OPTIONS = {
    'model.instance_level.memory': dict(type='MemoryBank', capacity=60, key_set_size=30),
    'model.pixel_level.memory': dict(type='MemoryBank', capacity=60, key_set_size=20),
    'model.test_cfg.pixel': dict(score_thr=0.0, pixels_per_detection=4),
    'model.pixel_level.geo.zero_init_output': False, 'model.instance_level.geo.zero_init_output': False,
}


def _detections(results):
    return [(r.pred_instances.bboxes, r.pred_instances.scores) for r in results]


def _assert_same(got, expected):
    assert len(got) == len(expected) == FRAMES
    for (boxes, scores), (want_boxes, want_scores) in zip(got, expected):
        assert torch.equal(boxes, want_boxes) and torch.equal(scores, want_scores)


@pytest.fixture(scope='module')
def detectors(utils):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='random weights'):
        multi = MultiStreamDetector(utils.MAMBA_SYNTHETIC, cfg_options=OPTIONS)
    with pytest.warns(UserWarning, match='random weights'):
        single = StreamingDetector(utils.MAMBA_SYNTHETIC, cfg_options=OPTIONS)
    single.model.load_state_dict(multi.model.state_dict())
    return multi, single


def test_a_stream_gives_what_it_gives_alone_whatever_the_other_stream_does(detectors, utils):
    multi, single = detectors
    video_a, video_b = utils.make_frames(FRAMES, 64, 80, seed=1), utils.make_frames(FRAMES, 96, 64, seed=2)
    alone = _detections(single.step(frame) for frame in video_a)
    together = _detections(multi.step({'a': a, 'b': b})['a'] for a, b in zip(video_a, video_b))
    _assert_same(together, alone)
    assert len(multi.streams['a'].memory['instance_level'].banks[0]) == 60  # full: key sets drawn, rows replaced
    single.reset()
    for frame in video_b:  # another video before it on the same stream
        single.step(frame)
    single.reset()
    _assert_same(_detections(single.step(frame) for frame in video_a), alone)
