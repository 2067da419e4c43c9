"""MultiStreamDemo with fake live sources (scripted OpenCV captures) beside a real video file: a
source that is lost after a reconnection, or that raises, ends its own stream only."""
import json
import os
import time

import pytest
import torch

from mamba_vod.apis import MultiStreamDetector
from mamba_vod.streaming import EXIT_SOURCE_FAILED, FrameSource, MultiStreamDemo, stream_output_paths
from tests.streaming.test_frame_source import FakeCapture, factory


class RaisingCapture(FakeCapture):
    """Gives ``frames`` frames, then its read raises (as a broken driver or decoder can)."""

    def __init__(self, frames):
        super().__init__([1] * frames)

    def read(self):
        if not self.script:
            raise RuntimeError('driver crashed')
        return super().read()


class SlowCapture(FakeCapture):
    """Gives ``frames`` frames, one every ``period_s`` seconds (the first at once)."""

    def __init__(self, frames, period_s):
        super().__init__([1] * frames)
        self.period_s = period_s
        self.reads = 0

    def read(self):
        if self.reads:
            time.sleep(self.period_s)
        self.reads += 1
        return super().read()


@pytest.fixture(scope='module')
def detector(utils, tmp_path_factory):
    torch.set_num_threads(1)
    with pytest.warns(UserWarning, match='random weights'):
        return MultiStreamDetector(utils.write_tiny_config(str(tmp_path_factory.mktemp('config'))), max_batch=2)


def _lines(path):
    with open(path) as file:
        return [json.loads(line) for line in file]


def test_a_lost_and_a_raising_source_end_their_streams_while_the_file_goes_on(detector, utils, tmp_path, capsys):
    clip = utils.write_video(str(tmp_path / 'clip.avi'), utils.make_frames(8, 64, 80))
    # connection 1 gives 3 frames, the reconnection 2 more, then every reconnection fails: lost
    lost = FrameSource('rtsp://camera/lost', retries=2, retry_delay_s=0.01,
                       capture_factory=factory([FakeCapture([1, 1, 1]), FakeCapture([1, 1])]))
    raising = FrameSource(1, capture_factory=factory([RaisingCapture(2)]))
    out_dir = str(tmp_path / 'out')
    os.mkdir(out_dir)
    demo = MultiStreamDemo(detector, [FrameSource(clip), lost, raising], out_dir, score_thr=0.0, every_frame=True)
    assert demo.run() == EXIT_SOURCE_FAILED
    file_stream, lost_stream, raising_stream = demo.streams
    assert (file_stream.end_reason, lost_stream.end_reason, raising_stream.end_reason) == ('end', 'lost', 'error')
    assert lost.reconnects == 1 and lost_stream.reader.received == 5
    assert [line['frame'] for line in _lines(stream_output_paths(out_dir, 0)[1])] == list(range(8))
    assert len(utils.read_video(stream_output_paths(out_dir, 0)[0])) == 8
    for index, stream in ((1, lost_stream), (2, raising_stream)):
        video, lines = stream_output_paths(out_dir, index)
        assert 0 < stream.stats.frames == len(_lines(lines)) == len(utils.read_video(video))
        assert stream.stats.frames + stream.reader.dropped == stream.reader.received
    err = capsys.readouterr().err
    assert "stream 1 ('rtsp://camera/lost') failed mid-stream (lost)" in err
    assert 'stream 2 (camera 1) failed mid-stream (error: RuntimeError: driver crashed)' in err
    assert sorted(os.listdir(out_dir)) == sorted(os.path.basename(path) for i in range(3)
                                                 for path in stream_output_paths(out_dir, i))
    assert not detector.streams  # every stream's memory was freed


def test_a_slow_source_is_never_waited_for(detector, utils, tmp_path, monkeypatch):
    clip = utils.write_video(str(tmp_path / 'clip.avi'), utils.make_frames(6, 64, 80))
    slow = FrameSource('rtsp://camera/slow', retries=0, capture_factory=factory([SlowCapture(3, period_s=0.6)]))
    steps, step = [], MultiStreamDetector.step
    monkeypatch.setattr(MultiStreamDetector, 'step', lambda self, frames, *a: steps.append(set(frames)) or step(
        self, frames, *a))
    demo = MultiStreamDemo(detector, [FrameSource(clip), slow], str(tmp_path), every_frame=True)
    assert demo.run() == EXIT_SOURCE_FAILED  # the slow camera is lost after its 3 frames
    with_file = [index for index, ids in enumerate(steps) if 0 in ids]
    with_slow = [index for index, ids in enumerate(steps) if 1 in ids]
    assert len(with_file) == 6 and 1 <= len(with_slow) <= 3
    assert with_file[-1] < with_slow[-1]  # the file was done while the slow camera still had frames to give
    assert sum(1 for index in with_file if index in with_slow) <= 2
