"""Frame-by-frame detection over one stream, with the model's memory carried between frames.

All streaming state lives here (which video, which frame, the last frame size);
the model keeps only its memory bank, which is bounded, so memory and latency
stay flat however long the stream runs. Works with any mmdet detector; a model
with ``reset_memory(pixel=..., instance=...)`` (MAMBA) is treated as a video
detector whose memory belongs to the current video.

Shapes: a frame is (H, W, 3) uint8 BGR; boxes are (n, 4) float xyxy in that
frame's pixels.
"""
import logging
from typing import Iterator, Optional, Tuple, Union

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log

from mamba_vod.streaming.frame_source import FrameSource

from .init_detector import ConfigLike, init_detector
from .stream_pipeline import build_stream_pipeline


def check_frame(frame: np.ndarray, index: Optional[int] = None) -> None:
    """Raises ValueError unless ``frame`` is an (H, W, 3) uint8 array with H, W > 0."""
    where = f'frame {index}' if index is not None else 'frame'
    if not isinstance(frame, np.ndarray):
        raise ValueError(f'{where} must be a numpy array (H, W, 3) uint8 BGR, got {type(frame).__name__}')
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or 0 in frame.shape:
        raise ValueError(f'{where} must be an (H, W, 3) uint8 BGR array, got shape {frame.shape} '
                         f'dtype {frame.dtype}; convert it first (e.g. cv2.cvtColor(frame, '
                         'cv2.COLOR_GRAY2BGR or cv2.COLOR_BGRA2BGR))')


class StreamingDetector:
    """Runs a detector on frames one at a time, in arrival order (the online protocol).

    Args:
        config: config path or :class:`mmengine.Config`; its
            ``test_dataloader.dataset.pipeline`` preprocesses each frame.
        checkpoint: weights: a file, an ``http(s)://`` URL or a URI such as
            ``torchvision://`` (see :func:`init_detector`); ``None`` gives random weights
            (with a warning).
        device: torch device of the model.
        cfg_options: overrides merged into the config.
        allow_partial: accept a checkpoint that leaves parameters of the model
            untrained (refused by default; see :func:`init_detector`).

    Example:
        >>> detector = StreamingDetector('configs/synthetic/mamba_r18-dc5_synthetic.py', 'ckpt.pth')
        >>> for frame, result in detector.run('video.mp4'):
        ...     print(result.pred_instances.bboxes.shape)  # (n, 4) xyxy in frame pixels
    """

    def __init__(self,
                 config: ConfigLike,
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 *,
                 cfg_options: Optional[dict] = None,
                 allow_partial: bool = False) -> None:
        self.model = init_detector(config, checkpoint, device=device, cfg_options=cfg_options,
                                   allow_partial=allow_partial)
        self.cfg = self.model.cfg
        self.pipeline = build_stream_pipeline(self.cfg)
        self.has_memory = callable(getattr(self.model, 'reset_memory', None))
        protocol = self.cfg.get('test_dataloader', {}).get('dataset', {}).get('test_protocol')
        if protocol not in (None, 'online'):
            # A stream only has past frames; the 'paper' protocol needs the whole video up front.
            print_log(f"the config tests with the '{protocol}' protocol; a stream is detected online (past frames "
                      'only)', logger='current', level=logging.WARNING)
        self.video_id = 0
        self.frame_id = 0
        self.frames_total = 0
        self.frame_shape: Optional[Tuple[int, int]] = None

    @property
    def class_names(self) -> tuple:
        return tuple(self.model.dataset_meta.get('classes', ()))

    def reset(self) -> None:
        """Starts a new video: frame ids restart at 0 and the model's memory is emptied."""
        self.video_id += 1
        self.frame_id = 0
        self.frame_shape = None
        if self.has_memory:
            self.model.reset_memory(pixel=True, instance=True)

    def _note_frame_size(self, frame: np.ndarray) -> None:
        shape = frame.shape[:2]
        if self.frame_shape is not None and shape != self.frame_shape:
            print_log(f'frame size changed from {self.frame_shape[1]}x{self.frame_shape[0]} to '
                      f'{shape[1]}x{shape[0]} at frame {self.frame_id} of video {self.video_id}'
                      + ('; the pixel memory is reset' if self.has_memory else ''),
                      logger='current', level=logging.WARNING)
            if self.has_memory:
                self.model.reset_memory(pixel=True, instance=False)
        self.frame_shape = shape

    def _pack(self, frame: np.ndarray, video_length: Optional[int]) -> dict:
        results = dict(
            img=frame,
            img_id=self.frames_total,
            video_id=self.video_id,
            frame_id=self.frame_id,
            video_length=video_length if video_length is not None else -1,
            ref_frame_ids=[])
        return pseudo_collate([self.pipeline(results)])

    @torch.no_grad()
    def step(self, frame_bgr: np.ndarray, *, video_length: Optional[int] = None) -> DetDataSample:
        """Detects objects in the next frame of the current video.

        Args:
            frame_bgr: (H, W, 3) uint8 BGR; its size may differ from the last frame's
                (then the pixel memory is reset and a warning is logged).
            video_length: frames in the video when known (a file), else unknown (-1).

        Returns:
            DetDataSample whose ``pred_instances`` has ``bboxes`` (n, 4) xyxy in
            ``frame_bgr``'s pixels, ``scores`` (n,), ``labels`` (n,) in 0..num_classes-1.
        """
        check_frame(frame_bgr, self.frame_id)
        self._note_frame_size(frame_bgr)
        data = self._pack(frame_bgr, video_length)
        result = self.model.test_step(data)[0]
        self.frame_id += 1
        self.frames_total += 1
        return result

    def run(self, source: Union[str, int, FrameSource], **source_options
            ) -> Iterator[Tuple[np.ndarray, DetDataSample]]:
        """Yields ``(frame_bgr, result)`` for every frame of ``source``, as one new video.

        Args:
            source: a video path, a camera index, a URL, or an opened :class:`FrameSource`.
            **source_options: passed to :class:`FrameSource` when ``source`` is not one.
        """
        frames = source if isinstance(source, FrameSource) else FrameSource(source, **source_options)
        self.reset()
        with frames:
            for frame in frames:
                yield frame, self.step(frame, video_length=frames.frame_count)
