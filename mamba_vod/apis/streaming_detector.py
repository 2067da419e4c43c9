"""Frame-by-frame detection over one stream, with the model's memory carried between frames.

The stream's state (which video, which frame, the last frame size, and the model's
memories, which are bounded, so memory and latency stay flat however long the stream
runs) is one :class:`StreamState`; this is a :class:`MultiStreamDetector` of one stream.
Works with any mmdet detector; a video detector (a
:class:`~mamba_vod.models.detectors.BaseVideoDetector`) keeps a state that belongs to the
current video.

Shapes: a frame is (H, W, 3) uint8 BGR; boxes are (n, 4) float xyxy in that
frame's pixels.
"""
from typing import Iterator, Optional, Tuple, Union

import numpy as np
from mmdet.structures import DetDataSample

from mamba_vod.streaming.frame_source import FrameSource

from .frame_check import check_frame
from .init_detector import ConfigLike
from .multi_stream_detector import MultiStreamDetector

STREAM = 'stream'


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
        self._detector = MultiStreamDetector(config, checkpoint, device, cfg_options=cfg_options, max_batch=1,
                                             allow_partial=allow_partial)
        self.model, self.cfg, self.pipeline = self._detector.model, self._detector.cfg, self._detector.pipeline
        # the model's own memories are the stream's: what a user inspects on the model is the stream
        memory = self.model.memories.current if self._detector.has_memory else None
        self.stream = self._detector.open(STREAM, memory=memory)

    @property
    def class_names(self) -> tuple:
        return self._detector.class_names

    @property
    def has_memory(self) -> bool:
        return self._detector.has_memory

    @property
    def video_id(self) -> int:
        return self.stream.video_id

    @property
    def frame_id(self) -> int:
        return self.stream.frame_id

    @property
    def frames_total(self) -> int:
        return self._detector.frames_total

    def reset(self) -> None:
        """Starts a new video: frame ids restart at 0 and the model's memory is emptied."""
        self._detector.reset(STREAM)

    def step(self, frame_bgr: np.ndarray, *, video_length: Optional[int] = None) -> DetDataSample:
        """Detects objects in the next frame of the current video.

        Args:
            frame_bgr: (H, W, 3) uint8 BGR; its size may differ from the last frame's
                (then the model's state reacts, e.g. MAMBA's pixel memory is reset, and a
                warning is logged).
            video_length: frames in the video when known (a file), else unknown (-1).

        Returns:
            DetDataSample whose ``pred_instances`` has ``bboxes`` (n, 4) xyxy in
            ``frame_bgr``'s pixels, ``scores`` (n,), ``labels`` (n,) in 0..num_classes-1.
        """
        check_frame(frame_bgr, self.frame_id)
        return self._detector.step({STREAM: frame_bgr}, {STREAM: video_length})[STREAM]

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
