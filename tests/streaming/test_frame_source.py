import subprocess
import sys

import numpy as np
import pytest

from mamba_vod.streaming import FrameSource, SourceError, parse_source
from mamba_vod.streaming import frame_source as frame_source_module


class FakeCapture:
    """A capture whose reads follow a script: a frame for True, a failed read for False."""

    def __init__(self, script, opened=True, count=0):
        self.script = list(script)
        self.opened = opened
        self.count = count
        self.released = False

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return self.opened

    def read(self):
        ok = self.script.pop(0) if self.script else False
        return (True, np.zeros((4, 6, 3), np.uint8)) if ok else (False, None)

    def get(self, prop):
        return {frame_source_module.cv2.CAP_PROP_FPS: 12.0,
                frame_source_module.cv2.CAP_PROP_FRAME_COUNT: self.count}.get(prop, 0)

    def release(self):
        self.released = True


def factory(captures):
    """capture_factory returning the given captures in order (then ones that do not open)."""
    opened = []

    def make(kind, target, timeout_s):
        capture = captures.pop(0) if captures else FakeCapture([], opened=False)
        opened.append(capture)
        return capture

    make.opened = opened
    return make


@pytest.mark.parametrize('source, expected', [
    (0, ('camera', 0)), ('2', ('camera', 2)), (' rtsp://cam/x ', ('url', 'rtsp://cam/x')),
    ('http://h:8/s.mjpg', ('url', 'http://h:8/s.mjpg')), ('clip.mp4', ('file', 'clip.mp4')),
])
def test_parse_source(source, expected):
    assert parse_source(source) == expected


def test_a_bad_file_frame_is_skipped_with_a_warning_and_the_stream_goes_on(tmp_path, monkeypatch):
    path = tmp_path / 'v.mp4'
    path.write_bytes(b'x')
    logged = []
    monkeypatch.setattr(frame_source_module, 'print_log', lambda message, **kwargs: logged.append(message))
    source = FrameSource(str(path), capture_factory=factory([FakeCapture([1, 1, 0, 1, 1], count=5)]))
    frames = list(source)
    assert len(frames) == 4 and source.bad_frames == 1 and source.end_reason == 'end'
    assert logged == [f"frame 2 of '{path}' could not be decoded; skipping it"]
    assert source.fps == 12.0 and source.frame_count == 5


def test_a_file_that_stops_decoding_ends_the_stream_as_decode_failed(tmp_path, utils):
    path = utils.write_video(str(tmp_path / 'v.avi'), utils.make_frames(12))
    cut = utils.truncated_copy(path, str(tmp_path / 'cut.avi'))
    source = FrameSource(cut, max_bad_frames=3)
    frames = list(source)
    assert 0 < len(frames) < 11
    assert source.end_reason == 'decode_failed' and source.bad_frames == 3


def test_a_live_source_reconnects_with_doubling_back_off_then_is_lost(monkeypatch):
    delays = []
    monkeypatch.setattr(frame_source_module.threading.Event, 'wait', lambda self, delay: delays.append(delay))
    make = factory([FakeCapture([1, 1, 1]), FakeCapture([]), FakeCapture([1, 1])])
    source = FrameSource('rtsp://camera/stream', retries=3, retry_delay_s=0.1, capture_factory=make)
    frames = list(source)
    # 3 frames, lost, attempt 1 opens but gives nothing, attempt 2 gives 2 frames, lost, 3 attempts fail
    assert len(frames) == 5 and source.reconnects == 1 and source.end_reason == 'lost'
    assert delays == pytest.approx([0.1, 0.2, 0.1, 0.2, 0.4])
    assert all(capture.released for capture in make.opened)


def test_open_errors_name_the_source_and_what_to_do(tmp_path, utils):
    with pytest.raises(FileNotFoundError, match='missing.mp4.*does not exist'):
        FrameSource(str(tmp_path / 'missing.mp4')).open()
    with pytest.raises(SourceError, match='is a directory'):
        FrameSource(str(tmp_path)).open()
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'not a video' * 50)
    with pytest.raises(SourceError, match='cannot open .*garbage.mp4.* as a video'):
        FrameSource(str(garbage)).open()
    empty = utils.write_video(str(tmp_path / 'empty.avi'), [])
    with pytest.raises(SourceError, match='no decodable frame'):
        FrameSource(empty).open()
    with pytest.raises(SourceError, match='camera 3 did not open'):
        FrameSource(3, capture_factory=factory([])).open()


def test_a_url_that_never_answers_fails_after_its_retries(monkeypatch):
    monkeypatch.setattr(frame_source_module.threading.Event, 'wait', lambda self, delay: False)
    make = factory([])
    with pytest.raises(SourceError, match='after 3 attempts'):
        FrameSource('http://127.0.0.1:9/none', retries=2, capture_factory=make).open()
    assert len(make.opened) == 3


def test_stop_ends_an_endless_live_source():
    source = FrameSource(0, capture_factory=factory([FakeCapture([1] * 1000)]))
    taken = 0
    for _ in source:
        taken += 1
        if taken == 3:
            source.stop()
    assert taken == 3 and source.end_reason == 'stopped'


@pytest.mark.parametrize('index', [-1, '-1', ' -2 '])
def test_a_negative_camera_index_is_refused_before_opencv_sees_it(index):
    make = factory([FakeCapture([1])])
    source = FrameSource(index, capture_factory=make)
    assert source.kind == 'camera'
    with pytest.raises(SourceError, match=r"camera index -\d names no camera: give 0 for the first camera"):
        source.open()
    assert make.opened == []  # OpenCV was never asked


def test_a_negative_camera_index_is_one_line_not_a_crash_of_opencv():
    code = 'from mamba_vod.streaming import FrameSource\nFrameSource(-1).open()'
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.returncode  # 139 (SIGSEGV) when OpenCV got the index
    assert done.stderr.strip().splitlines()[-1].startswith('mamba_vod.streaming.frame_source.SourceError: camera '
                                                           'index -1 names no camera')
