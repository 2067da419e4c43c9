"""What one stream (a file, a camera) carries between its frames at the library level.

Shapes: a frame is (H, W, 3) uint8 BGR.
"""
import logging
from typing import Hashable, Optional, Tuple

import numpy as np
from mmengine.logging import print_log


class StreamState:
    """One stream's memory (the model's, for a video detector), video and frame counters, and
    last frame size.

    Args:
        name: how messages name the stream.
        memory: the stream's :class:`~mamba_vod.models.detectors.MemoryState` (a video
            detector's), or None for a single-frame detector.
    """

    def __init__(self, name: Hashable, memory=None) -> None:
        self.name = name
        self.memory = memory
        self.video_id = 0
        self.frame_id = 0
        self.frame_shape: Optional[Tuple[int, int]] = None

    def new_video(self) -> None:
        """Frame ids restart at 0 and the memory is emptied."""
        self.video_id += 1
        self.frame_id = 0
        self.frame_shape = None
        if self.memory is not None:
            self.memory.reset()

    def note_frame_size(self, frame: np.ndarray) -> None:
        """A frame of another size than the last one is said with a warning; the model's state
        reacts to it itself (:meth:`~mamba_vod.models.memory.CarriedState.on_frame_size_change`,
        e.g. MAMBA's pixel memory is emptied, its instance memory kept)."""
        shape = frame.shape[:2]
        if self.frame_shape is not None and shape != self.frame_shape:
            print_log(f'stream {self.name!r}: frame size changed from {self.frame_shape[1]}x{self.frame_shape[0]} '
                      f'to {shape[1]}x{shape[0]} at frame {self.frame_id} of video {self.video_id}'
                      + ('; state tied to the frame size is reset' if self.memory is not None else ''),
                      logger='current', level=logging.WARNING)
        self.frame_shape = shape

    def frame_info(self, frame: np.ndarray, img_id: int, video_length: Optional[int]) -> dict:
        """The input of the stream pipeline for ``frame``, the next frame of the current video."""
        return dict(img=frame, img_id=img_id, video_id=self.video_id, frame_id=self.frame_id,
                    video_length=video_length if video_length is not None else -1, ref_frame_ids=[])
