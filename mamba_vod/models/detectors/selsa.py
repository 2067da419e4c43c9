"""SELSA (Wu et al., ICCV 2019) and Temporal RoI Align (Gong et al., AAAI 2021) as mmtracking
computes them, on the video detector base.

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, 1.. its N references),
C channels of the stride-16 map, h x w that map, K proposals of a frame that become its rows
(all the test RPN gives: 300), C' channels of the box head's FCs (1024), L shared FCs
(SELSA 2, Temporal RoI Align 3), P = ``past_frames``.

**SELSA is MAMBA's instance level without memory**, so it is built from it, not beside it.
mmtracking's ``SelsaBBoxHead`` computes at FC level i ``a_i = fc_i(x_i)``,
``x_{i+1} = ReLU(a_i + Agg_i(a_i, r_i))`` with reference rows ``r_i = fc_i(ReLU(r_{i-1}))``
that are never enhanced, and its ``SelsaAggregator`` is GEO's SELSA form
(tests/fidelity/test_selsa_aggregator.py). That is :class:`InstanceAggregationBBoxHead` in the
release composition (:mod:`mamba_vod.models.levels.instance_keys`) with keys the raw rows r_i
of reference proposals, which :meth:`MAMBARoIHead.embed_proposals` gives and an
:class:`InstanceLevel` with ``memory_features='raw'`` writes. What SELSA lacks is MAMBA's
memory: its keys are ALL the rows of a set of frames (no key-set draw, no random replacement),
plus the frame's own. So the detector builds an :class:`InstanceLevel` (release composition,
``self_keys``) whose bank per FC level holds exactly P frames' rows: capacity P*K, key set =
capacity, first in first out (``MemoryBank(replacement='oldest')``); the GEOs, the box head,
the RoI head and the rows projected once when written (``cache_keys``) are MAMBA's. No
test-time draw happens at all.

Training (mmtracking): a key frame and 2 references (within 9 frames, bilateral uniform); the
references' proposals by the test RPN settings (300 each), their rows through the FCs with
gradients but not enhanced; the key frame's own proposals are NOT keys in training (they are at
test); the key frame's RPN gives 600 proposals of which 256 RoIs are sampled.

Test, one frame (the hooks of :class:`BaseVideoDetector`)::

    take_references: explicit references (frame 0 of 'selsa_offline') replace the state:
                     their rows (and, TRA, their maps); a state filled so takes no writes
    frame_keys:      the frame's K rows (own keys), its keys = the bank's rows + its own
                     (TRA: the reference maps, the held ones then its own)
    RoI head:        detections (keys to the box head, maps to the RoI extractor)
    write_frame:     online only: the frame's K rows (and map) replace the oldest

Protocols: ``'selsa_offline'`` (``ReferencesAtStart(num_refs=14)``, mmtracking's
``test_with_adaptive_stride``): frame 0 with 14 references spread over the video, kept for the
whole video; every frame attends to their 14 x 300 rows and its own 300 (mmtracking's 15 x 300).
The bank holds P*K rows, so P must be at least the protocol's references (14) to keep them all.
``'online'`` (past frames only): the rows of the last P frames the stream wrote, P = 14 by
default (the offline reference count), the oldest rows replaced first (a frame with fewer than
K proposals leaves room for older rows); frame 0 of a video attends to itself alone. This is
mmtracking's SELSA with past references only, which its maintainer measured about 0.2 mAP below
the offline protocol on ImageNet VID (mmtracking #174).

**Temporal RoI Align** is the same detector with ``roi_head.bbox_roi_extractor`` a
:class:`TemporalRoIAlign` and 3 shared FCs (mmtracking: the SELSA type with another RoI
extractor; here too a config, no subclass). Its extractor reads reference maps for the key
frame's RoIs: in training the references' maps; at test the maps of the same frames as the rows
(offline: the 14 references; online: the last P frames), then the frame's own (mmtracking: 15
maps, the current last). The detector keeps them in a :class:`FrameCache` (``reference_maps``,
a state per stream, emptied when the frame size changes) whenever the extractor is temporal.
Reference RoIs (the rows) get plain RoIAlign, as in mmtracking.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from mmdet.structures import SampleList
from mmengine.structures import InstanceData
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels import InstanceKeys, InstanceLevel
from ..memory import CachedFrame, FrameCache
from ..roi_heads import InstanceAggregationBBoxHead, MAMBARoIHead, TemporalRoIAlign, require_roi_head
from .reference_keys import proposal_rows
from .stage_records import reference_frame_ids
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame

#: what SELSA's instance level is, whatever the config says
SELSA_LEVEL = dict(composition='release', memory_features='raw', self_keys=True)


class SelsaKeys(NamedTuple):
    """A test frame's keys (:meth:`SELSA.frame_keys`) and what its write reads."""
    top: InstanceData  # its top-K proposals
    rows: List[Tensor]  # their raw rows per FC level (K, C')
    instance_keys: InstanceKeys
    maps: Optional[Tuple[Tensor]]  # TRA: ((N', C, h, w),) the reference maps, its own last


@MODELS.register_module()
class SELSA(BaseVideoDetector):
    """SELSA, and Temporal RoI Align with a :class:`TemporalRoIAlign` extractor (module docstring).

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg:
            as :class:`TwoStageDetector`; with an instance level the RoI head is a
            :class:`MAMBARoIHead` with an :class:`InstanceAggregationBBoxHead`.
        instance_level: the :class:`InstanceLevel`'s ``geo`` (SELSA form: ``value_projection=True``)
            and optionally ``proposals_per_frame`` K (default: ``test_cfg.rpn.max_per_img``) and
            ``seed``; None switches the aggregation off (Faster R-CNN on the key frame).
        past_frames: P, the frames whose rows (and maps) the online protocol keeps.
    """

    test_protocols = ('online', 'selsa_offline')

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 instance_level: Optional[dict] = None, past_frames: int = 14) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if past_frames < 1:
            raise ValueError(f'SELSA past_frames must be >= 1, got {past_frames}')
        self.instance_level = self.reference_maps = None
        if instance_level is None:
            return
        require_roi_head(self.roi_head, MAMBARoIHead, InstanceAggregationBBoxHead, 'SELSA')
        self.instance_level = MODELS.build(self._level_cfg(instance_level, past_frames))
        if isinstance(self.roi_head.bbox_roi_extractor, TemporalRoIAlign):
            self.reference_maps = FrameCache(capacity=past_frames)

    def _level_cfg(self, cfg: dict, past_frames: int) -> dict:
        """The :class:`InstanceLevel` of SELSA (module docstring) from the config's ``instance_level``."""
        fixed = sorted(set(cfg) & (set(SELSA_LEVEL) | {'memory', 'num_fcs', 'cache_keys'}))
        if fixed:
            raise ValueError(f'SELSA sets instance_level.{fixed} itself (its keys are all the rows of its '
                             f'reference frames); give geo, proposals_per_frame, seed only')
        cfg = {'type': InstanceLevel, 'proposals_per_frame': self.test_cfg.rpn.max_per_img, **cfg}
        rows = past_frames * cfg['proposals_per_frame']
        return dict(cfg, **SELSA_LEVEL, num_fcs=self.roi_head.bbox_head.num_shared_fcs,
                    memory=dict(type='MemoryBank', capacity=rows, key_set_size=rows, replacement='oldest'))

    @property
    def uses_references(self) -> bool:
        return self.instance_level is not None

    # ------------------------------------------------------------- training
    def train_features(self, clips: Tensor, data_samples: SampleList) -> Tuple[Tuple[Tensor], dict]:
        """The key frames' maps ((B, C, h, w),) of clips (B, T, 3, H, W); the RoI head reads the
        rows of each clip's references' proposals (TRA: and their maps)."""
        if self.instance_level is None:
            return super().train_features(clips, data_samples)
        feats = self.extract_feat(clips.flatten(0, 1))[0].unflatten(0, clips.shape[:2])  # (B, T, C, h, w)
        rows = [proposal_rows(self, clip[1:], sample.metainfo)[0] for clip, sample in zip(feats, data_samples)]
        kwargs = dict(instance_keys=self.instance_level.keys_from_rows(rows))
        if self.reference_maps is not None:
            kwargs['reference_maps'] = [(clip[1:], ) for clip in feats]
        return (feats[:, 0], ), kwargs

    # ----------------------------------------------------------------- test
    def take_references(self, frame: VideoFrame, references: Tuple[Tensor, ...]) -> None:
        """Explicit references ((N, C, h, w),) replace the stream's state: the rows of all their
        proposals (and their maps), kept until the video ends."""
        maps = references[-1]
        rows, proposals = proposal_rows(self, maps, frame.meta)
        frame_ids = reference_frame_ids(frame.meta, len(maps))[:-1].to(proposals.image.device)
        self.instance_level.update(rows, proposals.scores, frame_ids[proposals.image.long()], replace=True)
        if self.reference_maps is not None:
            self.reference_maps.state.replace((index, _maps_only(m)) for index, m in enumerate(maps))

    def frame_keys(self, frame: VideoFrame) -> Optional[SelsaKeys]:
        """The frame's own K rows; its keys, the state's rows then its own; TRA: its reference maps."""
        if self.instance_level is None:
            return None
        top = frame.proposals[:self.instance_level.proposals_per_frame]
        rows = self.roi_head.embed_proposals(frame.x, [top.bboxes], self.instance_level.without_keys())[0]
        maps = None
        if self.reference_maps is not None:
            own = frame.x[-1][0]  # (C, h, w)
            held = [cached.maps[-1][0] for cached in self.reference_maps.state.values()]
            maps = (torch.stack([m for m in held if m.shape == own.shape] + [own]), )  # frames padded otherwise: out
        return SelsaKeys(top, rows, self.instance_level.keys(rows), maps)

    def roi_head_kwargs(self, frames: Sequence[VideoFrame]) -> dict:
        if self.instance_level is None:
            return {}
        kwargs = dict(instance_keys=self.instance_level.batch_keys([frame.keys.instance_keys for frame in frames]))
        if self.reference_maps is not None:
            kwargs['reference_maps'] = [frame.keys.maps for frame in frames]
        return kwargs

    def write_frame(self, frame: VideoFrame) -> None:
        """Online: the frame's rows (and map) replace the oldest; a state filled from explicit
        references takes no writes."""
        if self.instance_level is None or self.instance_level.state.from_references:
            return
        top = frame.keys.top
        frame_ids = self.instance_level.frame_rows_ids(top.scores, frame.meta.get('frame_id'))
        self.instance_level.update(frame.keys.rows, top.scores, frame_ids)
        if self.reference_maps is not None:
            self.reference_maps.state.put_frame(frame.meta, _maps_only(frame.x[-1][0]))


def _maps_only(feature_map: Tensor) -> CachedFrame:
    """A cached frame of one (C, h, w) map; Temporal RoI Align keeps no image."""
    return CachedFrame(image=None, maps=(feature_map.detach()[None], ))
