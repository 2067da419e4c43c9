"""Annotated video output that is complete and playable even when the run is cut short.

Frames go to a temporary sibling file; :meth:`VideoFileWriter.close` (called from a
``with`` block, so also on Ctrl-C, SIGTERM or a decode failure) releases the
OpenCV writer, which writes the container index, and only then renames the file
to its final name.
"""
import logging
import os
from typing import Optional, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

from mamba_vod.utils import AtomicOutput

# Codec per container that the pip OpenCV wheels can encode.
FOURCC_BY_EXTENSION = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG', '.mkv': 'MJPG'}


class VideoFileWriter:
    """Writes (H, W, 3) uint8 BGR frames at ``fps``; the size is the first frame's.

    A later frame of another size is resized to it (with one warning), since a
    video stream has one size.

    Raises:
        ValueError: the extension of ``path`` is not one of ``FOURCC_BY_EXTENSION``.
    """

    def __init__(self, path: str, fps: float) -> None:
        extension = os.path.splitext(path)[1].lower()
        if extension not in FOURCC_BY_EXTENSION:
            raise ValueError(f"cannot write video '{path}': use one of the extensions "
                             f'{sorted(FOURCC_BY_EXTENSION)}')
        self.fourcc = FOURCC_BY_EXTENSION[extension]
        self.fps = float(fps)
        self._output = AtomicOutput(path)
        self._writer: Optional[cv2.VideoWriter] = None
        self.size: Optional[Tuple[int, int]] = None
        self.frames = 0
        self._resize_warned = False

    @property
    def path(self) -> str:
        return self._output.path

    def _open(self, width: int, height: int) -> None:
        self.size = (width, height)
        self._writer = cv2.VideoWriter(self._output.temp_path, cv2.VideoWriter_fourcc(*self.fourcc),
                                       self.fps, self.size)
        if not self._writer.isOpened():
            self._output.discard()
            raise RuntimeError(f"OpenCV could not open a '{self.fourcc}' video writer for '{self.path}'")

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        if (frame.shape[1], frame.shape[0]) == self.size:
            return frame
        if not self._resize_warned:
            print_log(f'frame size {frame.shape[1]}x{frame.shape[0]} differs from the video size '
                      f'{self.size[0]}x{self.size[1]}; such frames are resized in {self.path}',
                      logger='current', level=logging.WARNING)
            self._resize_warned = True
        return cv2.resize(frame, self.size)

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self._open(frame.shape[1], frame.shape[0])
        self._writer.write(self._fit(frame))
        self.frames += 1

    def close(self) -> Optional[str]:
        """Finalises the video; returns its path, or None (nothing written) when no frame came."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            return self._output.commit()
        self._output.discard()
        return None

    def __enter__(self) -> 'VideoFileWriter':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
