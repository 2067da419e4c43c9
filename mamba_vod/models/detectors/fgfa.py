"""FGFA: Flow-Guided Feature Aggregation (Zhu et al., ICCV 2017), as mmtracking implements it
(``mmtrack/models/vid/fgfa.py``).

Shape shorthand: B clips, T frames of a clip (index 0 the current frame, 1.. its N = T - 1
references), R frames aggregated, C channels of the stride-16 map, h x w that map, H x W the
padded input.

A frame's maps become the per-pixel weighted sum of other frames' maps, each warped to it
(:func:`~mamba_vod.models.motion.flow_warp`, mmtracking's grid unless the flow network's
``pixel_exact_warp``) by the flow FlowNetSimple
(``motion``, at half resolution) computes from the frame to the other one; the weights come from
:class:`~mamba_vod.models.layers.EmbedAggregator` (``aggregator``): per pixel, the cosine
similarity of an embedding of each frame's map with the current frame's, softmax over frames.
The RPN and the RoI head then run on the aggregated maps, as Faster R-CNN.

Training (mmtracking): current frame + 2 references within 9 frames (bilateral uniform); all
three go through the backbone (one batch), the references' maps are warped to the current frame,
and the aggregated set is the 2 warped references only: the current frame is left out in
training (mmtracking's asymmetry); RPN (600 proposals) and RoI head (256 RoIs) learn on the result.

Test: the aggregated set is the current frame's own maps (unwarped) and the other frames', warped.

- ``'fgfa_offline'`` (:class:`~mamba_vod.datasets.test_protocol.SlidingWindow`, 15 past + 15
  future frames, stride 1, clipped at the video's ends, so the first or last frame repeats and
  counts once per occurrence, as mmtracking's padded window): each test clip brings the 30
  references. Their backbone maps are kept by frame id in the state, so the backbone runs once
  per frame of the video (the window's newest frame), the flow once per distinct reference,
  and the state holds the last frame's window only (<= 31 frames).
- ``'online'`` (past frames only, what a camera allows): the last ``test_cfg.num_online_refs``
  frames of the stream (default 15, the offline window's past half), whose images and maps the
  state keeps, bounded to that; a stream's first frame aggregates itself alone, which is
  exactly Faster R-CNN.

mmtracking puts the current frame in the middle of the test window, here it comes last: the same
sum, up to rounding. The state is a :class:`~mamba_vod.models.memory.FrameCache` (``frames``):
images (1, 3, H, W) and maps (1, C, h, w) by frame id.

``aggregator=None`` switches the method off (Faster R-CNN on the current frame);
``motion=None`` aggregates the frames unwarped (aggregation without flow).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.structures import SampleList
from torch import Tensor

from mamba_vod.registry import MODELS

from ..memory import CachedFrame, FrameCache
from ..motion import FlowInput, warp_maps
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame

#: past frames aggregated under the online protocol (``test_cfg.num_online_refs``)
NUM_ONLINE_REFS = 15


@MODELS.register_module()
class FGFA(BaseVideoDetector):
    """Faster R-CNN on maps aggregated over frames warped by flow, weighted per pixel.

    A test frame, stage by stage (the hooks of :class:`BaseVideoDetector`)::

        extract_frames:  the frame's backbone + neck (offline: the window's frames not kept
                         yet, one batch; the others' maps come from the state)
        take_references: offline: the references' frame ids (their maps are in the state)
        enhance_maps:    aggregator(raw, [warped references..., raw])
        RPN, RoI head:   as Faster R-CNN
        write_frame:     online: the frame's image and maps join the state (the oldest leave)

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, data_preprocessor, init_cfg: as
            :class:`TwoStageDetector`.
        test_cfg: the RPN's and RoI head's (``rpn``, ``rcnn``) and ``num_online_refs`` (past
            frames aggregated online, >= 1; default 15).
        motion: a :class:`~mamba_vod.models.motion.FlowNetSimple` config (its normalisation is
            taken from ``data_preprocessor``), or None: frames aggregated unwarped.
        aggregator: an :class:`~mamba_vod.models.layers.EmbedAggregator` config, or None: no
            aggregation (Faster R-CNN).
    """

    test_protocols = ('online', 'fgfa_offline')

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 motion: Optional[dict] = None, aggregator: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        num_refs = self.count_in_test_cfg('num_online_refs', NUM_ONLINE_REFS)
        self.flow_input = FlowInput(data_preprocessor)
        self.motion = None if motion is None else MODELS.build(self.flow_input.motion_cfg(motion))
        self.aggregator = None if aggregator is None else MODELS.build(aggregator)
        self.frames = FrameCache(capacity=num_refs)

    @property
    def uses_references(self) -> bool:
        return self.aggregator is not None

    def align(self, frames: Tensor, ref_images: Tensor, ref_maps: Tuple[Tensor, ...],
              valid_sizes: Sequence[Sequence[int]]) -> Tuple[Tensor, ...]:
        """``ref_maps`` (R, C, h, w per level) of the frames ``ref_images`` (R, 3, H, W), warped to
        ``frames`` (R, 3, H, W; row r is the frame reference r goes to)."""
        if self.motion is None:
            return ref_maps
        flow = self.flow_input.image_flow(self.motion, frames, ref_images, valid_sizes)
        return warp_maps(ref_maps, flow, pixel_exact=self.motion.pixel_exact_warp)

    # ------------------------------------------------------------- training
    def train_features(self, clips: Tensor, data_samples: SampleList) -> Tuple[Tuple[Tensor, ...], dict]:
        """Each clip's (B, T, 3, H, W) references warped to its current frame and aggregated
        (the current frame's maps weigh them, but are not among them)."""
        if self.aggregator is None:
            return super().train_features(clips, data_samples)
        num_clips, num_frames = clips.shape[:2]
        maps = [level.unflatten(0, (num_clips, num_frames)) for level in self.extract_feat(clips.flatten(0, 1))]
        currents = clips[:, :1].expand_as(clips[:, 1:]).flatten(0, 1)  # (B*N, 3, H, W)
        sizes = [sample.img_shape for sample in data_samples for _ in range(num_frames - 1)]
        warped = self.align(currents, clips[:, 1:].flatten(0, 1), tuple(level[:, 1:].flatten(0, 1) for level in maps),
                            sizes)
        warped = [level.unflatten(0, (num_clips, num_frames - 1)) for level in warped]  # (B, N, C, h, w)
        x = tuple(torch.cat([self.aggregator(level[b, :1], refs[b]) for b in range(num_clips)])
                  for level, refs in zip(maps, warped))
        return x, {}

    # ----------------------------------------------------------------- test
    def extract_frames(self, clips: Tensor, frames: List[VideoFrame], runs: List[bool]) -> Optional[List[int]]:
        """A clip with references (offline): the window's maps, from the state where kept, the
        backbone on the others (one batch); returns the references' frame ids. Else the base's."""
        if clips.shape[1] == 1 or not self.uses_references:
            return super().extract_frames(clips, frames, runs)
        if len(frames) != 1:
            raise ValueError('clips with references are detected one at a time (predict)')
        frame = frames[0]
        ids = [frame.meta.get('frame_id')] + list(frame.meta.get('ref_frame_ids') or [])
        if len(ids) != clips.shape[1] or None in ids:
            raise ValueError(f'FGFA offline: a clip of {clips.shape[1]} frames needs the frame_id and '
                             f'{clips.shape[1] - 1} ref_frame_ids in its metainfo, got {ids}')
        window = self._window(ids, clips[0])
        frame.raw = window[ids[0]].maps
        return ids[1:]

    def _window(self, ids: List[int], clip: Tensor) -> dict:
        """The frames of ``ids`` (clip (T, 3, H, W) in that order) by id: kept ones from the state,
        the rest through the backbone; the state then holds exactly them."""
        state = self.frames.state
        kept = {i: state.get(i) for i in dict.fromkeys(ids) if i in state}
        window = {i: cached for i, cached in kept.items() if cached.image.shape[-2:] == clip.shape[-2:]}
        missing = [i for i in dict.fromkeys(ids) if i not in window]
        if missing:
            positions = [ids.index(i) for i in missing]
            feats = self.extract_feat(clip[positions])
            for k, (i, position) in enumerate(zip(missing, positions)):
                window[i] = CachedFrame.kept(clip[position:position + 1], tuple(level[k:k + 1] for level in feats))
        state.replace((i, window[i]) for i in dict.fromkeys(ids))
        return window

    def take_references(self, frame: VideoFrame, references: List[int]) -> List[int]:
        """Offline: the references' frame ids (their images and maps are in the state)."""
        return references

    def enhance_maps(self, frame: VideoFrame) -> Tuple[Tensor, ...]:
        """aggregator(raw, [the references warped to the frame..., raw]), one (1, C, h, w) per level."""
        if self.aggregator is None:
            return frame.raw
        state = self.frames.state
        if frame.references is None:  # online: the kept past frames
            kept = [cached for cached in state.values() if cached.image.shape == frame.image.shape]
            index = list(range(len(kept)))
        else:  # offline: each distinct reference once, then as often as the window repeats it
            distinct = list(dict.fromkeys(frame.references))
            kept = [state.get(i) for i in distinct]
            index = [distinct.index(i) for i in frame.references]
        if not kept:
            return frame.raw  # aggregating the frame alone gives it back
        aligned = self.align(frame.image.expand(len(kept), -1, -1, -1), torch.cat([cached.image for cached in kept]),
                             tuple(torch.cat(level) for level in zip(*(cached.maps for cached in kept))),
                             [frame.meta['img_shape']] * len(kept))
        return tuple(self.aggregator(raw, torch.cat([level[index], raw])) for raw, level in zip(frame.raw, aligned))

    def write_frame(self, frame: VideoFrame) -> None:
        """Online: the frame joins the kept past frames (the oldest beyond ``num_online_refs`` leave)."""
        if self.aggregator is not None and frame.references is None:
            self.frames.state.put_frame(frame.meta, CachedFrame.kept(frame.image, frame.raw))
