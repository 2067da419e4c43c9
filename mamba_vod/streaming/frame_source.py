"""Frames from a video file, a camera index or a network URL (RTSP/HTTP), through OpenCV.

Opening checks everything a user can get wrong and says what to do: a path that
does not exist, a file that is not readable or not a video, a zero-length video,
a camera that does not open, a URL that does not answer. While reading:

- a file frame that fails to decode before the announced end is skipped with a
  warning; after ``max_bad_frames`` failures in a row the stream ends
  (``end_reason == 'decode_failed'``);
- a live source (camera or URL) whose reads fail is reopened with exponential
  back-off, ``retries`` times; then the stream ends (``end_reason == 'lost'``).

Frames are (H, W, 3) uint8 BGR arrays.
"""
import logging
import os
import threading
from typing import Callable, Iterator, Optional, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log

SourceLike = Union[str, int]


class SourceError(RuntimeError):
    """A source could not be opened or gave no frame; the message names it and says what to do."""


def check_camera_index(index: int) -> None:
    """Checks a camera index before OpenCV sees it (a negative one crashes OpenCV's capture).

    Raises:
        SourceError: ``index`` is negative or a bool.
    """
    if isinstance(index, bool) or index < 0:
        raise SourceError(f'camera index {index!r} names no camera: give 0 for the first camera, 1 for the '
                          'second, and so on')


def parse_source(source: SourceLike) -> Tuple[str, Union[str, int]]:
    """``('camera', index)``, ``('url', url)`` or ``('file', path)`` for a ``--source`` value; an
    index may be negative here (``'-1'`` is a camera index, refused when the source opens)."""
    if isinstance(source, int):
        return 'camera', source
    text = str(source).strip()
    if text.isdigit() or (text[:1] == '-' and text[1:].isdigit()):
        return 'camera', int(text)
    if '://' in text:
        return 'url', text
    return 'file', os.path.expanduser(text)


def open_capture(kind: str, target: Union[str, int], timeout_s: float) -> cv2.VideoCapture:
    """An OpenCV capture; network streams get open/read timeouts so a dead server cannot hang us."""
    if kind == 'url':
        timeout_ms = int(timeout_s * 1000)
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms])
    return cv2.VideoCapture(target)


def _valid(frame) -> bool:
    return isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3 and frame.size > 0


class FrameSource:
    """Iterates over the frames of one source; see the module docstring for the failure rules.

    Args:
        source: camera index (int or digits), URL (``rtsp://``, ``http://`` ...) or file path.
        retries: reconnection attempts for a live source that stops giving frames
            (and connection attempts for a URL that does not answer at first).
        retry_delay_s: first back-off delay; it doubles per attempt up to ``max_retry_delay_s``.
        max_bad_frames: consecutive undecodable file frames after which the stream ends.
        timeout_s: open and read timeout of network streams.
        capture_factory: ``(kind, target, timeout_s) -> capture`` (OpenCV's by default).

    After iteration, ``end_reason`` is ``'end'``, ``'stopped'``, ``'lost'`` or
    ``'decode_failed'``; ``frames_read``, ``bad_frames`` and ``reconnects`` count events.
    """

    def __init__(self,
                 source: SourceLike,
                 *,
                 retries: int = 3,
                 retry_delay_s: float = 0.5,
                 max_retry_delay_s: float = 8.0,
                 max_bad_frames: int = 5,
                 timeout_s: float = 10.0,
                 capture_factory: Callable = open_capture) -> None:
        self.kind, self.target = parse_source(source)
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        self.max_retry_delay_s = max_retry_delay_s
        self.max_bad_frames = max_bad_frames
        self.timeout_s = timeout_s
        self._capture_factory = capture_factory
        self._capture = None
        self._first_frame: Optional[np.ndarray] = None
        self._stop = threading.Event()
        self.fps: Optional[float] = None
        self.frame_count: Optional[int] = None
        self.frames_read = 0
        self.bad_frames = 0
        self.reconnects = 0
        self.end_reason: Optional[str] = None

    @property
    def name(self) -> str:
        return f'camera {self.target}' if self.kind == 'camera' else f"'{self.target}'"

    @property
    def is_live(self) -> bool:
        return self.kind != 'file'

    # -- opening -------------------------------------------------------------------------------
    def _check_file(self) -> None:
        path = self.target
        if not os.path.exists(path):
            raise FileNotFoundError(f"input video '{path}' does not exist; check the path")
        if os.path.isdir(path):
            raise SourceError(f"input video '{path}' is a directory; pass a video file")
        if not os.access(path, os.R_OK):
            raise SourceError(f"input video '{path}' is not readable (permission denied)")

    def _try_open(self) -> Optional[np.ndarray]:
        """Opens the capture and reads its first frame; None (capture released) on failure."""
        self._release()
        capture = self._capture_factory(self.kind, self.target, self.timeout_s)
        if not capture.isOpened():
            capture.release()
            return None
        ok, frame = capture.read()
        if not ok or not _valid(frame):
            capture.release()
            return None
        self._capture = capture
        return frame

    def _open_failure(self, opened: bool) -> SourceError:
        if self.kind == 'camera':
            return SourceError(f'camera {self.target} did not open or gave no frame: check that it is '
                               f'connected, that /dev/video{self.target} exists and that no other '
                               'program is using it')
        if self.kind == 'url':
            return SourceError(f"could not read a frame from '{self.target}' after {self.retries + 1} "
                               'attempts: check the URL, that the server is running and reachable')
        if not opened:
            return SourceError(f"OpenCV cannot open '{self.target}' as a video: it is not a video "
                               'file, it is damaged, or its codec is missing from this OpenCV build')
        return SourceError(f"'{self.target}' has no decodable frame (a zero-length or damaged video)")

    def open(self) -> 'FrameSource':
        """Opens the source and reads its first frame. Idempotent.

        Raises:
            FileNotFoundError: the file does not exist.
            SourceError: anything else that keeps the source from giving a frame (a negative
                camera index among them, refused before OpenCV sees it).
        """
        if self._capture is not None or self._first_frame is not None:
            return self
        if self.kind == 'file':
            self._check_file()
        if self.kind == 'camera':
            check_camera_index(self.target)
        attempts = self.retries + 1 if self.kind == 'url' else 1
        for attempt in range(attempts):
            if attempt and not self._back_off(attempt, 'connection'):
                break
            frame = self._try_open()
            if frame is not None:
                self._on_opened(frame)
                return self
        raise self._open_failure(opened=self._probe_opens())

    def _probe_opens(self) -> bool:
        """Whether OpenCV can open the file at all (to tell 'not a video' from 'no frames')."""
        if self.kind != 'file':
            return False
        capture = self._capture_factory(self.kind, self.target, self.timeout_s)
        opened = capture.isOpened()
        capture.release()
        return opened

    def _on_opened(self, frame: np.ndarray) -> None:
        self._first_frame = frame
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 0 < fps < 1000 else None
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) if self.kind == 'file' else 0
        self.frame_count = count if count > 0 else None

    # -- reading -------------------------------------------------------------------------------
    def _back_off(self, attempt: int, action: str) -> bool:
        """Sleeps before retry ``attempt`` (1-based); False when stopped meanwhile."""
        delay = min(self.retry_delay_s * 2**(attempt - 1), self.max_retry_delay_s)
        print_log(f'{self.name}: {action} attempt {attempt}/{self.retries} in {delay:.2f} s',
                  logger='current', level=logging.WARNING)
        return not self._stop.wait(delay)

    def _reconnect(self) -> Optional[np.ndarray]:
        """Reopens a live source after a failed read; the first frame, or None when it stays lost."""
        print_log(f'{self.name} stopped giving frames after frame {self.frames_read}', logger='current',
                  level=logging.WARNING)
        self._release()
        for attempt in range(1, self.retries + 1):
            if not self._back_off(attempt, 'reconnection'):
                return None
            frame = self._try_open()
            if frame is not None:
                self.reconnects += 1
                print_log(f'reconnected to {self.name}', logger='current')
                return frame
        print_log(f'{self.name} is lost: no frame after {self.retries} reconnection attempts',
                  logger='current', level=logging.WARNING)
        self.end_reason = 'lost'
        return None

    def _file_ended(self) -> bool:
        """Whether a failed file read is the end of the file rather than a bad frame."""
        # Container frame counts may be one off, so a shortfall of one frame is a normal end.
        return self.frame_count is None or self.frames_read + self.bad_frames >= self.frame_count - 1

    def _skip_bad_frames(self) -> Optional[np.ndarray]:
        """After a failed file read: the next decodable frame, or None at the end / on failure."""
        if self._file_ended():
            self.end_reason = 'end'
            return None
        for _ in range(self.max_bad_frames):
            self.bad_frames += 1
            print_log(f'frame {self.frames_read + self.bad_frames - 1} of {self.name} could not be '
                      'decoded; skipping it', logger='current', level=logging.WARNING)
            if self.frames_read + self.bad_frames >= self.frame_count:
                break  # the announced frames are used up, all of the last ones undecodable
            ok, frame = self._capture.read()
            if ok and _valid(frame):
                return frame
        print_log(f'{self.name} stopped decoding after {self.frames_read} of {self.frame_count} '
                  'frames; ending the stream', logger='current', level=logging.WARNING)
        self.end_reason = 'decode_failed'
        return None

    def _next_frame(self) -> Optional[np.ndarray]:
        if self._first_frame is not None:
            frame, self._first_frame = self._first_frame, None
            return frame
        ok, frame = self._capture.read()
        if ok and _valid(frame):
            return frame
        if self.is_live:
            return self._reconnect()
        return self._skip_bad_frames()

    def __iter__(self) -> Iterator[np.ndarray]:
        self.open()
        self.end_reason = None
        try:
            while not self._stop.is_set():
                frame = self._next_frame()
                if frame is None:
                    return
                self.frames_read += 1
                yield frame
            self.end_reason = 'stopped'
        finally:
            self.end_reason = self.end_reason or 'stopped'
            self._release()

    # -- closing -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Asks a running iteration (possibly in another thread) to end after the current frame."""
        self._stop.set()

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def close(self) -> None:
        self.stop()
        self._release()
        self._first_frame = None

    def __enter__(self) -> 'FrameSource':
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()
