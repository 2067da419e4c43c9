"""demo/webcam_demo.py: headless on a file and on a local HTTP MJPEG stream (in-process), and
SIGTERM from outside (a subprocess)."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest


@pytest.fixture(scope='module')
def clip(tmp_path_factory, utils):
    return utils.write_video(str(tmp_path_factory.mktemp('clip') / 'clip.mp4'), utils.make_frames(12), fps=20)


def test_headless_on_a_file_source_every_frame_is_processed_or_counted_as_dropped(
        webcam_demo, tiny_config, clip, tmp_path, utils, capsys):
    out = str(tmp_path / 'rec.mp4')
    assert webcam_demo.main([tiny_config, '--source', clip, '--no-show', '--out', out]) == 0
    summary = utils.parse_summary(capsys.readouterr().out)
    assert summary['frames'] + summary['dropped'] == 12
    recorded = utils.read_video(out)
    assert len(recorded) == summary['frames'] and recorded[0].shape == (96, 128, 3)


def test_max_frames_stops_cleanly(webcam_demo, tiny_config, clip, tmp_path, utils):
    out = str(tmp_path / 'rec.avi')
    assert webcam_demo.main([tiny_config, '--source', clip, '--no-show', '--out', out, '--max-frames', '2']) == 0
    assert len(utils.read_video(out)) == 2


def test_mjpeg_stream_that_drops_once_is_reconnected_then_ends_with_a_finalised_recording(
        webcam_demo, tiny_config, tmp_path, utils, capsys):
    out = str(tmp_path / 'rec.mp4')
    with utils.MjpegServer(utils.make_frames(16, seed=3), chunks=[6, 10], fps=30) as server:
        status = webcam_demo.main([tiny_config, '--source', server.url, '--no-show', '--out', out,
                                   '--retries', '2', '--retry-delay', '0.05', '--timeout', '5'])
    captured = capsys.readouterr()
    # The first connection drops after 6 frames and is reconnected; when the second one ends, the
    # server is gone, the retries fail, and the demo ends with what it processed.
    assert status == 3 and 'failed mid-stream (lost)' in captured.err
    assert server.connections == 2 and server.served == 16
    summary = utils.parse_summary(captured.out)
    assert summary['reconnects'] == 1
    assert summary['frames'] + summary['dropped'] == 16
    assert len(utils.read_video(out)) == summary['frames']


def test_a_recording_that_would_overwrite_the_source_file_is_refused(webcam_demo, tiny_config, clip, capsys):
    before = open(clip, 'rb').read()
    assert webcam_demo.main([tiny_config, '--source', clip, '--no-show', '--out', clip]) == 1
    assert 'is the input video' in capsys.readouterr().err
    assert open(clip, 'rb').read() == before


def test_a_camera_that_does_not_open_is_a_clear_error(webcam_demo, tiny_config, capsys):
    assert webcam_demo.main([tiny_config, '--source', '63', '--no-show']) == 1
    assert 'camera 63 did not open' in capsys.readouterr().err


def _wait_for(pattern: str, chunks: list, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if re.search(pattern, ''.join(chunks)):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_from_outside_stops_cleanly_with_a_finalised_recording(tiny_config, tmp_path, utils):
    # A long file replayed at 10 fps stands in for a camera that never ends.
    clip = utils.write_video(str(tmp_path / 'long.avi'), utils.make_frames(300, 48, 64), fps=10)
    out = str(tmp_path / 'rec.avi')
    command = [sys.executable, os.path.join(utils.REPO, 'demo', 'webcam_demo.py'), tiny_config, '--source', clip,
               '--no-show', '--out', out]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=utils.subprocess_env())
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: process.stderr.read(1), '')), daemon=True)
    reader.start()
    try:
        assert _wait_for(r'\b[2-9]frame', chunks, timeout_s=180), ''.join(chunks)[-2000:]
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, ''.join(chunks)[-2000:]
    summary = utils.parse_summary(stdout)
    assert 2 <= summary['frames'] < 300
    assert len(utils.read_video(out)) == summary['frames']
    assert sorted(os.listdir(tmp_path)) == ['long.avi', 'rec.avi']  # no partial file left
