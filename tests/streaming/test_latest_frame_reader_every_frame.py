"""LatestFrameReader options of the multi-stream demo: every frame handed out (drop=False), a
ready event shared by several readers, and the arrival number of the frame taken."""
import threading
import time

import numpy as np

from mamba_vod.streaming import LatestFrameReader


def numbered(count):
    for index in range(count):
        yield np.full((2, 2, 3), index, np.uint8)


def test_without_drop_a_slow_consumer_gets_every_frame_in_order():
    with LatestFrameReader(numbered(12), drop=False) as reader:
        taken = []
        for frame in reader:
            taken.append((int(frame[0, 0, 0]), reader.last_index))
            time.sleep(0.005)
    assert taken == [(index, index) for index in range(12)] and reader.dropped == 0


def test_last_index_tells_which_frames_were_dropped():
    with LatestFrameReader(numbered(30)) as reader:
        time.sleep(0.2)  # every frame has arrived: only the newest is left
        assert int(reader.get(timeout=1)[0, 0, 0]) == reader.last_index == 29
    assert reader.dropped == 29


def test_a_shared_event_wakes_the_consumer_for_a_frame_of_any_reader():
    ready, gate, silent = threading.Event(), threading.Event(), threading.Event()

    def late():
        gate.wait(5)
        yield np.zeros((2, 2, 3), np.uint8)

    def never():
        silent.wait(5)
        yield from ()

    with LatestFrameReader(never(), ready=ready), LatestFrameReader(late(), ready=ready) as reader:
        assert not ready.wait(0.05)  # nothing yet
        gate.set()
        assert ready.wait(2) and reader.get(timeout=0) is not None
        silent.set()


def test_stop_releases_a_reader_waiting_for_its_slot_to_be_taken():
    reader = LatestFrameReader(numbered(1000), drop=False).start()
    assert reader.get(timeout=2) is not None
    time.sleep(0.05)  # the thread now waits with the next frame
    reader.stop(join_timeout_s=2)
    assert not reader._thread.is_alive() and reader.received <= 3
