"""An OpenCV preview window that degrades to nothing where no display exists, and the grid that
tiles several streams' frames into one image for it."""
import logging
import math
import os
import sys
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log


def display_available() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith('linux'):
        return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
    return True


def tile_frames(frames: Sequence[np.ndarray], cell: Tuple[int, int] = (320, 240)) -> np.ndarray:
    """One (rows * h, cols * w, 3) uint8 image of ``frames`` in a near-square grid, row by row.

    Each frame (H, W, 3) is scaled to fit a cell of ``cell`` = (w, h) pixels, keeping its aspect
    ratio, and centred on black; empty cells stay black.
    """
    width, height = cell
    columns = max(1, math.ceil(math.sqrt(len(frames))))
    rows = max(1, math.ceil(len(frames) / columns))
    grid = np.zeros((rows * height, columns * width, 3), np.uint8)
    for index, frame in enumerate(frames):
        scale = min(width / frame.shape[1], height / frame.shape[0])
        fitted = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale))))
        top = (index // columns) * height + (height - fitted.shape[0]) // 2
        left = (index % columns) * width + (width - fitted.shape[1]) // 2
        grid[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    return grid


class PreviewWindow:
    """Shows frames; :meth:`show` returns False once the user pressed q or Esc.

    Without a display, or with an OpenCV build that has no GUI, it warns once and
    shows nothing (``enabled`` is False).
    """

    def __init__(self, title: str = 'mamba_vod') -> None:
        self.title = title
        self.enabled = display_available()
        if not self.enabled:
            print_log('no display found (DISPLAY/WAYLAND_DISPLAY unset): running without a window',
                      logger='current', level=logging.WARNING)

    def show(self, image: np.ndarray) -> bool:
        if not self.enabled:
            return True
        try:
            cv2.imshow(self.title, image)
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as error:
            print_log(f'cannot open a window ({error.msg.strip()}); running without one', logger='current',
                      level=logging.WARNING)
            self.enabled = False
            return True
        return key not in (ord('q'), 27)

    def close(self) -> None:
        if self.enabled:
            cv2.destroyWindow(self.title)
