import gc

import cv2
import numpy as np
import pytest
import torch

from mamba_vod.apis import stream_state
from mamba_vod.streaming import SourceError


def _boxes(result) -> torch.Tensor:
    return result.pred_instances.bboxes


def test_step_returns_boxes_in_the_input_frame_pixels(tiny_detector, utils):
    frame = utils.make_frames(1)[0]
    # Each pixel doubled: the pipeline's bilinear resize back to 96x128 gives the same network input.
    doubled = cv2.resize(frame, (256, 192), interpolation=cv2.INTER_NEAREST)
    tiny_detector.reset()
    small = tiny_detector.step(frame)
    tiny_detector.reset()
    large = tiny_detector.step(doubled)
    assert len(_boxes(small)) > 0
    assert small.ori_shape == (96, 128) and large.ori_shape == (192, 256)
    torch.testing.assert_close(_boxes(large), 2 * _boxes(small), atol=1e-3, rtol=1e-4)
    assert float(_boxes(large)[:, 2].max()) <= 256 and float(_boxes(large)[:, 3].max()) <= 192
    assert set(small.pred_instances.keys()) >= {'bboxes', 'scores', 'labels'}


def test_frame_and_video_ids_advance_and_reset(tiny_detector, utils):
    frames = utils.make_frames(3)
    tiny_detector.reset()
    video = tiny_detector.video_id
    results = [tiny_detector.step(frame) for frame in frames]
    assert [r.metainfo['frame_id'] for r in results] == [0, 1, 2]
    assert {r.metainfo['video_id'] for r in results} == {video}
    tiny_detector.reset()
    again = tiny_detector.step(frames[0])
    assert again.metainfo['frame_id'] == 0 and again.metainfo['video_id'] == video + 1
    torch.testing.assert_close(_boxes(again), _boxes(results[0]))


def test_a_stream_whose_frame_size_changes_keeps_going_and_resets_the_pixel_memory(tiny_detector, utils, monkeypatch):
    """A single-frame detector has no memory to reset; the change is said (test_streaming_detector_mamba.py
    shows the pixel memory of a video detector emptied)."""
    logged = []
    monkeypatch.setattr(stream_state, 'print_log', lambda message, **kwargs: logged.append(message))
    tiny_detector.reset()
    sizes = [(96, 128), (96, 128), (64, 80), (120, 90)]
    results = [tiny_detector.step(utils.make_frames(1, height, width, seed=index)[0])
               for index, (height, width) in enumerate(sizes)]
    assert [r.ori_shape for r in results] == sizes
    assert not tiny_detector.has_memory and len(logged) == 2
    assert logged[0].startswith("stream 'stream': frame size changed from 128x96 to 80x64 at frame 2")
    for result, (height, width) in zip(results, sizes):
        boxes = _boxes(result)
        assert float(boxes[:, 2].max()) <= width and float(boxes[:, 3].max()) <= height


@pytest.mark.parametrize('frame, message', [
    (np.zeros((8, 8), np.uint8), 'shape'),
    (np.zeros((8, 8, 3), np.float32), 'dtype'),
    (np.zeros((8, 8, 4), np.uint8), 'BGRA'),
    ([[0]], 'numpy array'),
])
def test_a_frame_that_is_not_hxwx3_uint8_is_refused(tiny_detector, frame, message):
    with pytest.raises(ValueError, match=message):
        tiny_detector.step(frame)


def test_run_over_a_file_equals_step_over_its_decoded_frames(tiny_detector, utils, tmp_path):
    path = utils.write_video(str(tmp_path / 'clip.mp4'), utils.make_frames(6))
    decoded = utils.read_video(path)
    streamed = list(tiny_detector.run(path))
    assert len(streamed) == len(decoded) == 6
    tiny_detector.reset()
    for (frame, result), expected_frame in zip(streamed, decoded):
        np.testing.assert_array_equal(frame, expected_frame)
        torch.testing.assert_close(_boxes(result), _boxes(tiny_detector.step(expected_frame)))
        assert result.metainfo['video_length'] == 6


def test_state_stays_flat_over_a_long_stream(tiny_detector, utils):
    frames = utils.make_frames(4, 48, 64)
    tiny_detector.reset()
    counts = []
    for index in range(30):
        tiny_detector.step(frames[index % 4])
        if index in (9, 29):
            gc.collect()
            counts.append(len(gc.get_objects()))
    assert counts[1] - counts[0] < 200, counts
    assert vars(tiny_detector).keys() == {'_detector', 'model', 'cfg', 'pipeline', 'stream'}
    assert list(tiny_detector._detector.streams) == ['stream']  # one stream, whose state is all there is
    assert vars(tiny_detector.stream).keys() == {'name', 'memory', 'video_id', 'frame_id', 'frame_shape'}


def test_run_refuses_a_negative_camera_index_before_opening_it(tiny_detector):
    with pytest.raises(SourceError, match='camera index -1 names no camera'):
        next(tiny_detector.run(-1))
