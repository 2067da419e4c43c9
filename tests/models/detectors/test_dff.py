"""DFF (:mod:`mamba_vod.models.detectors.dff`): key frames run the backbone, the frames between
the key frame's maps warped by flow; training warps the reference's maps; bounded state.

The contract (training step, online protocol, streaming, multi-stream, ``motion=None`` as Faster
R-CNN) is in ``test_video_detector_contract.py``."""
import pytest
import torch

from mamba_vod.models.motion import flow_warp

from .flow_fixtures import (MMTRACKING_GRID, assert_same, build, detect, faster_rcnn_of, frames, record, train_maps,
                            zero_flow)
from .test_mamba_pinned import one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


def test_key_frame_interval_1_is_faster_rcnn_on_every_frame():
    model = build('dff', {'model.test_cfg.key_frame_interval': 1})
    faster_rcnn = faster_rcnn_of('dff', model)
    for frame_id, frame in enumerate(frames(4, seed=10)):
        expected = detect(faster_rcnn, frame)
        assert len(expected[0]) > 0
        assert_same(detect(model, frame, frame_id=frame_id), expected, f'frame {frame_id}')


def test_only_key_frames_run_the_backbone():
    model = build('dff', {'model.test_cfg.key_frame_interval': 3})
    faster_rcnn = faster_rcnn_of('dff', model)
    calls = record(model.backbone, 'forward')
    video = frames(7, seed=20)
    for frame_id, frame in enumerate(video):
        got = detect(model, frame, frame_id=frame_id)
        key = frame_id % 3 == 0
        assert len(calls) == frame_id // 3 + 1, f'frame {frame_id}'
        # a key frame is Faster R-CNN on it; a frame between reads the key frame's maps, warped
        assert torch.equal(got[1], detect(faster_rcnn, frame)[1]) == key, f'frame {frame_id}'
    detect(model, video[0], video_id=1, frame_id=0)  # a new video starts with a key frame
    assert len(calls) == 4
    detect(model, video[1], video_id=1, frame_id=1)
    assert len(calls) == 4
    detect(model, frames(1, seed=30, height=96, width=64)[0], video_id=1, frame_id=2)  # another size: a key frame
    assert len(calls) == 5


def test_with_zero_flow_the_frames_between_are_the_key_frames_maps_warped():
    """Zero flow: whatever their images, the frames between read flow_warp(key maps, 0) (mmtracking's
    grid reads slightly inside the map, not the identity), so they detect the same boxes."""
    model = build('dff', MMTRACKING_GRID)  # zero flow reads slightly inside the map there
    zero_flow(model)
    maps = record(model, 'enhance_maps')
    video = frames(3, seed=40)
    results = [detect(model, frame, frame_id=frame_id) for frame_id, frame in enumerate(video)]
    key_maps = maps[0][1][0]
    warped = flow_warp(key_maps, torch.zeros(1, 2, *key_maps.shape[-2:]))
    for frame_id in (1, 2):
        assert torch.equal(maps[frame_id][1][0], warped)
    assert_same(results[1], results[2])
    assert not torch.equal(results[0][1], results[1][1])


def test_training_warps_the_references_maps_and_the_backbone_never_sees_the_current_frame():
    model = build('dff', MMTRACKING_GRID)  # zero flow reads slightly inside the map there
    zero_flow(model)
    current, other, reference = frames(3, seed=50)
    x = train_maps(model, torch.stack([current, reference]))[0]
    assert torch.equal(x, train_maps(model, torch.stack([other, reference]))[0])
    ref_maps = train_maps(model, torch.stack([reference, reference]), video_id=-1)[0]  # a still image: unwarped
    torch.testing.assert_close(x, flow_warp(ref_maps, torch.zeros(1, 2, *ref_maps.shape[-2:])))
    assert not torch.allclose(x, ref_maps)


def test_a_frame_with_no_proposals_detects_nothing_without_crashing():
    model = build('dff', {'model.test_cfg.rpn.min_bbox_size': 10000, 'model.test_cfg.key_frame_interval': 2})
    for frame_id, frame in enumerate(frames(3, seed=60)):  # key, warped, key
        bboxes, scores, labels = detect(model, frame, frame_id=frame_id)
        assert bboxes.shape == (0, 4) and len(scores) == len(labels) == 0


def test_a_long_stream_keeps_one_key_frame():
    model = build('dff', {'model.test_cfg.key_frame_interval': 3})
    sizes = []
    for frame_id, frame in enumerate(frames(3, seed=70) * 8):
        detect(model, frame, frame_id=frame_id)
        sizes.append(model.memories.current.nbytes)
        assert len(model.key_frame.state) == 1
    assert sizes == [sizes[0]] * len(sizes) and sizes[0] > 0


@pytest.mark.parametrize('interval', [0, 2.5, True])
def test_a_key_frame_interval_that_is_not_a_whole_number_is_refused(interval):
    with pytest.raises(ValueError, match='key_frame_interval must be a whole number >= 1'):
        build('dff', {'model.test_cfg.key_frame_interval': interval})
