import threading
import time

import numpy as np
import pytest

from mamba_vod.streaming import LatestFrameReader


def numbered(count, period_s=0.0):
    for index in range(count):
        if period_s:
            time.sleep(period_s)
        yield np.full((2, 2, 3), index, np.uint8)


def test_a_slow_consumer_gets_the_newest_frames_and_drops_are_counted():
    with LatestFrameReader(numbered(40, period_s=0.002)) as reader:
        taken = []
        for frame in reader:
            taken.append(int(frame[0, 0, 0]))
            time.sleep(0.02)
    assert reader.received == 40
    assert reader.dropped > 0 and len(taken) + reader.dropped == 40
    assert taken == sorted(taken) and taken[-1] == 39  # in order, and the last frame is never dropped


def test_a_fast_consumer_drops_nothing():
    with LatestFrameReader(numbered(10, period_s=0.01)) as reader:
        taken = [int(frame[0, 0, 0]) for frame in reader]
    assert taken == list(range(10)) and reader.dropped == 0


def test_pacing_replays_at_the_given_fps():
    start = time.monotonic()
    with LatestFrameReader(numbered(6), pace_fps=50) as reader:
        assert len(list(reader)) + reader.dropped == 6
    assert time.monotonic() - start >= 6 / 50 - 0.01


def test_an_error_of_the_source_reaches_the_consumer():
    def failing():
        yield np.zeros((2, 2, 3), np.uint8)
        raise RuntimeError('camera unplugged')

    with LatestFrameReader(failing()) as reader:
        with pytest.raises(RuntimeError, match='camera unplugged'):
            while True:
                time.sleep(0.01)
                reader.get(timeout=1)


def test_stop_ends_the_thread_of_an_endless_source():
    stopped = threading.Event()

    def endless():
        while not stopped.is_set():
            time.sleep(0.001)
            yield np.zeros((2, 2, 3), np.uint8)

    reader = LatestFrameReader(endless()).start()
    assert reader.get(timeout=2) is not None
    reader.stop()
    assert not reader._thread.is_alive()
    stopped.set()
