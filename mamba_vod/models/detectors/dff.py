"""DFF: Deep Feature Flow (Zhu et al., CVPR 2017), as mmtracking implements it (``mmtrack/models/vid/dff.py``).

Shape shorthand: B clips, T frames of a clip (index 0 the current frame, 1 its reference),
C channels of the stride-16 map, h x w that map, H x W the padded input, H' x W' the flow.

The backbone (+ neck) runs on key frames only; every other frame takes the last key frame's
maps warped to it (:func:`~mamba_vod.models.motion.flow_warp`, mmtracking's grid unless the flow
network's ``pixel_exact_warp``) by the flow FlowNetSimple (``motion``, at half resolution)
computes from the frame to the key frame. No
scale map: mmtracking's DFF warps and does nothing else (the paper's scale map is not in it).

**A speed option for streams.** Only every ``test_cfg.key_frame_interval``-th frame of a stream
(default 10) runs the backbone; the frames between run FlowNetSimple on the pair (at half
resolution) and a warp instead, then the RPN and the RoI head as usual. Interval 1 makes every
frame a key frame: exactly Faster R-CNN, at its speed. A larger interval is faster and the
frames between drift further from their own features.

Training (mmtracking): a clip of the current frame and one reference within 9 frames
('uniform'); the reference plays the key frame. Only the reference goes through the backbone;
its maps are warped by the flow from the current frame to it, and the RPN (1000 proposals)
and the RoI head (512 RoIs) learn on the warped maps against the current frame's boxes. Still
images (ImageNet DET: ``video_id`` -1, the reference a copy of the image) take the reference's
maps unwarped, the flow network still in the graph. A clip with more references reads the first.

Test: online only (past key frames). The state (:class:`~mamba_vod.models.memory.FrameCache`
``key_frame``, one per stream) holds the last key frame's image (1, 3, H, W) and maps
(1, C, h, w): bounded, whatever the stream's length. A stream's frames are counted from its
first one, so frame k is a key frame when k % interval == 0 (mmtracking's rule, for frames in
order); a new video or a new frame size empties the state and makes the next frame a key frame.

``motion=None`` switches the method off: every frame is a key frame, Faster R-CNN exactly.
"""
from typing import Optional, Tuple

import torch
from mmdet.structures import DetDataSample, SampleList
from torch import Tensor

from mamba_vod.registry import MODELS

from ..memory import CachedFrame, FrameCache
from ..motion import FlowInput, warp_maps
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame

#: mmtracking's ``test_cfg.key_frame_interval``
KEY_FRAME_INTERVAL = 10


@MODELS.register_module()
class DFF(BaseVideoDetector):
    """Faster R-CNN whose backbone runs on key frames only, the other frames' maps warped by flow.

    A test frame, stage by stage (the hooks of :class:`BaseVideoDetector`)::

        runs_backbone: a key frame (none kept, or ``key_frame_interval`` frames since it)
        backbone + neck: on key frames only
        enhance_maps:  a key frame its own maps; another frame the key frame's maps warped by
                       motion(frame, key frame)
        RPN, RoI head: as Faster R-CNN
        write_frame:   a key frame's image and maps replace the state's; every frame is counted

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, data_preprocessor, init_cfg: as
            :class:`TwoStageDetector`.
        test_cfg: the RPN's and RoI head's (``rpn``, ``rcnn``) and ``key_frame_interval``
            (frames per key frame of a stream, >= 1; default 10).
        motion: a :class:`~mamba_vod.models.motion.FlowNetSimple` config (its normalisation is
            taken from ``data_preprocessor``, :class:`~mamba_vod.models.motion.FlowInput`), or
            None: no flow, every frame a key frame.
    """

    test_protocols = ('online', )

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 motion: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.key_frame_interval = self.count_in_test_cfg('key_frame_interval', KEY_FRAME_INTERVAL)
        self.flow_input = FlowInput(data_preprocessor)
        self.motion = None if motion is None else MODELS.build(self.flow_input.motion_cfg(motion))
        self.key_frame = FrameCache(capacity=1)

    @property
    def uses_references(self) -> bool:
        return self.motion is not None

    # ------------------------------------------------------------- training
    def train_features(self, clips: Tensor, data_samples: SampleList) -> Tuple[Tuple[Tensor, ...], dict]:
        """The reference's maps (the key frame's), warped to the current frame of each clip
        (B, T >= 2, 3, H, W); still images' unwarped."""
        if self.motion is None:
            return super().train_features(clips, data_samples)
        current, key = clips[:, 0], clips[:, 1]
        key_maps = self.extract_feat(key)  # the backbone never sees the current frame
        flow = self.flow_input.image_flow(self.motion, current, key, [s.img_shape for s in data_samples])
        warped = warp_maps(key_maps, flow, pixel_exact=self.motion.pixel_exact_warp)
        still = torch.tensor([_is_still_image(s) for s in data_samples], device=clips.device).view(-1, 1, 1, 1)
        return tuple(torch.where(still, k, w) for k, w in zip(key_maps, warped)), {}

    # ----------------------------------------------------------------- test
    def runs_backbone(self, frame: VideoFrame) -> bool:
        """A key frame: no key frame kept (of this frame's size), or ``key_frame_interval`` frames since it."""
        if self.motion is None:
            return True
        state = self.key_frame.state
        key = state.newest
        return (key is None or state.frames_since_put >= self.key_frame_interval
                or key.image.shape != frame.image.shape)

    def enhance_maps(self, frame: VideoFrame) -> Tuple[Tensor, ...]:
        """A key frame's own maps; another frame's: the key frame's (1, C, h, w) warped to it."""
        if frame.raw is not None:
            return frame.raw
        key = self.key_frame.state.newest
        flow = self.flow_input.image_flow(self.motion, frame.image, key.image, [frame.meta['img_shape']])
        return warp_maps(key.maps, flow, pixel_exact=self.motion.pixel_exact_warp)

    def write_frame(self, frame: VideoFrame) -> None:
        """A key frame replaces the kept one; every frame counts towards the next key frame."""
        if self.motion is None:
            return
        state = self.key_frame.state
        if frame.raw is not None:
            state.put(frame.meta.get('frame_id'), CachedFrame.kept(frame.image, frame.raw))
        state.count_frame()


def _is_still_image(sample: DetDataSample) -> bool:
    """A training sample of a still image (ImageNet DET: no video), whose references are copies."""
    return sample.metainfo.get('video_id', -1) in (-1, None)
