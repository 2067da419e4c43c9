"""Reads a live source in a thread and hands out only the newest frame.

When the model is slower than the camera, frames queue up and the output falls
further and further behind. This reader keeps one slot: a frame that is replaced
before anyone takes it is dropped (and counted), so the consumer always gets the
most recent frame and latency stays bounded.
"""
import threading
import time
from typing import Iterable, Iterator, Optional

import numpy as np


class LatestFrameReader:
    """Latest-frame slot filled by a background thread.

    Args:
        frames: any iterable of frames (e.g. a :class:`FrameSource`); it is
            consumed in the reader thread.
        pace_fps: if set, the thread yields at most this many frames per second
            (to replay a file at its own speed, as a camera would deliver it).
        drop: replace an untaken frame by a newer one (the default); False makes the
            thread wait until the slot is taken, so every frame is handed out (a file
            read ahead by one frame while the consumer works).
        ready: an event set whenever a frame arrives or the source ends (one event
            shared by several readers lets a consumer wait for any of them).

    Iterating yields frames in arrival order, skipping stale ones, until the
    source ends or :meth:`stop` is called. ``received`` counts frames read from
    the source, ``dropped`` those replaced before being taken, ``last_index`` is
    the arrival number (0-based) of the frame :meth:`get` returned last. An
    exception raised by the source is re-raised to the consumer.
    """

    def __init__(self, frames: Iterable[np.ndarray], *, pace_fps: Optional[float] = None, drop: bool = True,
                 ready: Optional[threading.Event] = None) -> None:
        self._frames = frames
        self._period = 1.0 / pace_fps if pace_fps else 0.0
        self._drop = drop
        self._ready = ready
        self._slot: Optional[np.ndarray] = None
        self._slot_index = -1
        self.last_index = -1
        self._done = False
        self._error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, name='latest-frame-reader', daemon=True)
        self.received = 0
        self.dropped = 0

    def _put(self, frame: np.ndarray) -> None:
        with self._changed:
            if not self._drop:
                self._changed.wait_for(lambda: self._slot is None or self._stop.is_set())
                if self._stop.is_set():
                    return
            if self._slot is not None:
                self.dropped += 1
            self._slot, self._slot_index = frame, self.received
            self.received += 1
            self._changed.notify_all()
        self._signal_ready()

    def _signal_ready(self) -> None:
        if self._ready is not None:
            self._ready.set()

    def _read(self) -> None:
        next_time = time.monotonic()
        try:
            for frame in self._frames:
                if self._period:
                    next_time += self._period
                    if self._stop.wait(max(0.0, next_time - time.monotonic())):
                        break
                self._put(frame)
                if self._stop.is_set():
                    break
        except BaseException as error:  # handed to the consumer thread
            self._error = error
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()
            self._signal_ready()

    def start(self) -> 'LatestFrameReader':
        self._thread.start()
        return self

    def get(self, timeout: Optional[float] = None) -> Optional[np.ndarray]:
        """The newest untaken frame; waits for one. None once the source ended (or on timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: self._slot is not None or self._done, timeout)
            frame, self._slot = self._slot, None
            if frame is not None:
                self.last_index = self._slot_index
                self._changed.notify_all()  # a reader that does not drop waits for the slot
            elif self._error is not None:
                error, self._error = self._error, None
                raise error
            return frame

    @property
    def finished(self) -> bool:
        with self._changed:
            return self._done and self._slot is None

    def __iter__(self) -> Iterator[np.ndarray]:
        while not self._stop.is_set():
            frame = self.get(timeout=0.1)
            if frame is not None:
                yield frame
            elif self.finished:
                return

    def request_stop(self) -> None:
        """Asks the thread (and the source, if it has ``stop()``) to end; returns at once."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        stop_source = getattr(self._frames, 'stop', None)
        if callable(stop_source):
            stop_source()

    def stop(self, join_timeout_s: float = 5.0) -> None:
        """:meth:`request_stop`, then waits for the thread."""
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(join_timeout_s)

    def __enter__(self) -> 'LatestFrameReader':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
