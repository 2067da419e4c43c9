"""What a video detector's test-time stages hand each other for one frame, and the clip layout.

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, 1.. its references),
C channels of a map, h x w a map, H x W the padded input.
"""
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor


@dataclass
class VideoFrame:
    """One test frame on its way through :class:`BaseVideoDetector`; each stage fills a field.

    Fields (in the order the stages fill them):
        sample: the frame's data sample (``metainfo``: ``video_id``, ``frame_id``, ``ori_shape``,
            ``img_shape``, ``scale_factor``, ``ref_frame_ids`` ...).
        image: (1, 3, H, W) the preprocessed frame (None for a map detected on its own, as
            MAMBA's initial frames).
        rescale: whether detections are given in the original frame's pixels.
        raw: backbone + neck maps, one (1, C, h, w) per level, or None where
            :meth:`~BaseVideoDetector.runs_backbone` said no (e.g. DFF between key frames).
        x: the maps the RPN and the RoI head read (:meth:`~BaseVideoDetector.enhance_maps`).
        references: what the method took from explicit references (a test clip with T > 1;
            :meth:`~BaseVideoDetector.take_references`), or None.
        proposals: the RPN's proposals (bboxes, scores, labels), in the input's pixels.
        keys: what :meth:`~BaseVideoDetector.frame_keys` gave for the RoI head, or None.
        detections: bboxes, scores, labels (in the original frame's pixels when ``rescale``).
    """
    sample: DetDataSample
    image: Optional[Tensor]
    rescale: bool = True
    raw: Optional[Tuple[Tensor, ...]] = None
    x: Optional[Tuple[Tensor, ...]] = None
    references: Any = None
    proposals: Optional[InstanceData] = None
    keys: Any = None
    detections: Optional[InstanceData] = None

    @property
    def meta(self) -> dict:
        return self.sample.metainfo


def as_clips(inputs: Tensor) -> Tensor:
    """(B, T, 3, H, W); a (B, 3, H, W) batch is taken as clips of one frame."""
    if inputs.dim() == 4:
        return inputs[:, None]
    if inputs.dim() != 5:
        raise ValueError('a video detector expects inputs of shape (B, T, 3, H, W) from VideoDataPreprocessor, got '
                         f'{tuple(inputs.shape)}')
    return inputs
