"""The frames the library takes: (H, W, 3) uint8 BGR arrays."""
from typing import Hashable, Optional

import numpy as np


def check_frame(frame: np.ndarray, index: Optional[int] = None, stream: Optional[Hashable] = None) -> None:
    """Raises ValueError unless ``frame`` is an (H, W, 3) uint8 array with H, W > 0; the message
    names the frame (``index``) and its ``stream``."""
    where = ('frame' if index is None else f'frame {index}') + ('' if stream is None else f' of stream {stream!r}')
    if not isinstance(frame, np.ndarray):
        raise ValueError(f'{where} must be a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}')
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or 0 in frame.shape:
        raise ValueError(f'{where} must be an (H, W, 3) uint8 BGR array, got shape {frame.shape} '
                         f'dtype {frame.dtype}; convert it first (e.g. cv2.cvtColor(frame, '
                         'cv2.COLOR_GRAY2BGR or cv2.COLOR_BGRA2BGR))')
