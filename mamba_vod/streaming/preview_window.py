"""An OpenCV preview window that degrades to nothing where no display exists."""
import logging
import os
import sys

import cv2
import numpy as np
from mmengine.logging import print_log


def display_available() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith('linux'):
        return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
    return True


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
