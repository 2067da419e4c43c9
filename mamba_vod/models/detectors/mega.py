"""MEGA (Chen et al., CVPR 2020) and RDN (Deng et al., ICCV 2019) on the video detector base, as
mega.pytorch computes them (``GeneralizedRCNNMEGA`` / ``GeneralizedRCNNRDN``, read for facts).

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, then its references),
C channels of the box head's FCs, K proposals a frame keeps as its rows (75), n key RoIs.
An entry is one frame's (rows (K, C), boxes (K, 4)): ReLU(fc6) of its first K RPN proposals.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from mmdet.structures import SampleList
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels.relation_level import RelationBatchKeys, RelationKeys, RelationLevel
from ..levels.relation_state import Entry
from ..roi_heads import RelationBBoxHead, RelationRoIHead, require_roi_head
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame


class FrameRelations(NamedTuple):
    """A test frame's keys: its own entry (online: it enters the window after the frame; None when
    a protocol handed its references in) and what its RoIs read."""
    own: Optional[Entry]
    keys: RelationKeys


@MODELS.register_module()
class MEGA(BaseVideoDetector):
    """Faster R-CNN whose box head relates each key RoI to proposals of a local window, a
    long-range memory and global frames (:class:`~mamba_vod.models.levels.RelationLevel`).

    A test frame (the base's hooks)::

        take_references: MEGA's offline protocol ('mega_offline'): the frames it hands in enter
                         the window (a video's first frame: its whole window) and the global pool
        frame_keys:      online: the frame's own first K proposals' rows join the window (it
                         holds the last ``window_size`` frames), the global pool is a seeded
                         random sample of the past; the RoIs read window, memories, pool;
                         MEGA form: each stage's reference rows, computed here once
                         (:meth:`RelationLevel.stage_references`)
        RoI head:        fc6 -> relation stages (global first, local with geometry) -> cls/reg
        write_frame:     the window's oldest frame (when it is full) to the stage memories (its
                         rows in the stage references: whether the RoI head ran or not); the
                         frame itself to the window and the global pool (online)

    Training (mega.pytorch's): the clip's references are, in order, ``train_references['local']``
    local frames, ``['memory']`` memory frames and ``['global_frames']`` global frames (fewer when the
    clip has fewer: local first). The local set is the key frame's own K proposals then each
    local frame's; memory frames give the stage memories without gradients
    (:meth:`RelationLevel.memory_stages`); global frames give the global rows, with gradients.

    Without ``relation_level`` this is exactly Faster R-CNN on the key frame.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg:
            as :class:`TwoStageDetector`; the RoI head is a :class:`RelationRoIHead` with a
            :class:`RelationBBoxHead` (its S shared FCs are fc6 and the FCs between the stages).
        relation_level: a :class:`RelationLevel` config (``type`` may be left out; ``channels``
            and ``num_stages`` come from the box head) or None.
        train_references: counts of the training clip's local, memory and global frames.
    """

    test_protocols = ('online', 'mega_offline')

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 relation_level: Optional[dict] = None, train_references: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_references = {'local': 2, 'memory': 3, 'global_frames': 2, **(train_references or {})}
        self.relation_level: Optional[RelationLevel] = None
        if relation_level is not None:
            require_roi_head(self.roi_head, RelationRoIHead, RelationBBoxHead,
                             f'{type(self).__name__} with a relation level')
            head = self.roi_head.bbox_head
            cfg = dict(relation_level, channels=head.fc_out_channels, num_stages=head.num_shared_fcs)
            cfg.setdefault('type', RelationLevel)
            self.relation_level = MODELS.build(cfg)

    @property
    def uses_references(self) -> bool:
        return self.relation_level is not None

    # ------------------------------------------------------------- entries
    def frame_entries(self, maps: Tuple[Tensor, ...], sample, proposals=None) -> List[Entry]:
        """One entry per frame of maps (F, C, h, w) per level (frames of ``sample``'s size): the
        rows of its first K test-RPN proposals (or of ``proposals``, one InstanceData a frame)."""
        if proposals is None:
            with torch.no_grad():
                proposals = self.rpn_head.predict(maps, [sample] * len(maps[0]), rescale=False)
        boxes = [p.bboxes[:self.relation_level.proposals_per_frame].detach() for p in proposals]
        rows = self.roi_head.embed_proposals(maps, boxes)
        return [(frame_rows[0], frame_boxes) for frame_rows, frame_boxes in zip(rows, boxes)]

    # ------------------------------------------------------------- training
    def train_features(self, clips: Tensor, data_samples: SampleList) -> Tuple[Tuple[Tensor, ...], dict]:
        """The key frames' maps and, per clip, the relation keys of its references."""
        if self.relation_level is None:
            return super().train_features(clips, data_samples)
        local, memory, global_ = self._split(clips.shape[1] - 1)
        with_grad = [0] + list(range(1, 1 + local)) + list(range(1 + local + memory, clips.shape[1]))
        feats = self.extract_feat(clips[:, with_grad].flatten(0, 1))  # (B * T', C, h, w) per level
        feats = tuple(level.unflatten(0, (clips.shape[0], len(with_grad))) for level in feats)
        per_clip = []
        for b, sample in enumerate(data_samples):
            entries = self.frame_entries(tuple(level[b, :1 + local] for level in feats), sample)
            globals_ = self.frame_entries(tuple(level[b, 1 + local:] for level in feats), sample) if global_ else []
            global_rows = torch.cat([rows for rows, _ in globals_]) if globals_ else None
            memories = []
            if memory:
                with torch.no_grad():
                    maps = self.extract_feat(clips[b, 1 + local:1 + local + memory])
                    memories = self.relation_level.memory_stages(self.frame_entries(maps, sample), global_rows,
                                                                 self.roi_head.bbox_head.shared_fcs)
            per_clip.append(RelationKeys(window=entries, memory=memories, global_rows=global_rows))
        keys = RelationBatchKeys(self.relation_level, per_clip)
        return tuple(level[:, 0] for level in feats), dict(instance_keys=keys)

    def _split(self, num_refs: int) -> Tuple[int, int, int]:
        """(local, memory, global) counts of a clip's ``num_refs`` references, local first."""
        wanted = self.train_references
        uses = (1, int(self.relation_level.uses_memory), int(self.relation_level.uses_global))
        counts, left = [], num_refs
        for name, use in zip(('local', 'memory', 'global_frames'), uses):
            counts.append(min(left, wanted[name] * use))
            left -= counts[-1]
        if left:
            raise ValueError(f'{type(self).__name__}: a training clip has {num_refs} references, more than '
                             f'train_references={wanted} uses')
        return tuple(counts)

    # ----------------------------------------------------------------- test
    def take_references(self, frame: VideoFrame, references: Tuple[Tensor, ...]) -> bool:
        """The offline protocol's frames (:class:`WindowAndGlobalFrames`): at a video's first
        frame its window (``window_size`` frames) then global frames, later the frame entering
        the window then global frames."""
        state = self.relation_level.state
        entries = self.frame_entries(references, frame.sample)
        count = 1 if state.window else state.window_size
        if len(entries) < count:
            raise ValueError(f'{type(self).__name__}: the offline protocol gave {len(entries)} references at the first '
                             f'frame of a video; a window of {state.window_size} frames needs them all (the '
                             'protocol and relation_level.window_size must agree)')
        for entry in entries[:count]:
            state.push_window(entry)
        for entry in entries[count:]:
            state.queue_global(entry)
        return True

    def frame_keys(self, frame: VideoFrame) -> Optional[FrameRelations]:
        """What the frame's RoIs read (class docstring)."""
        level = self.relation_level
        if level is None:
            return None
        state = level.state
        own = None
        window = list(state.window)
        if frame.references is None:
            own = self.frame_entries(frame.x, frame.sample, [frame.proposals])[0]
            window = (window + [own])[-state.window_size:]
        pool = state.global_pool
        keys = RelationKeys(window=window, memory=[state.memory_entries(s) for s in range(level.num_stages)],
                            global_rows=torch.cat([rows for rows, _ in pool]) if pool else None,
                            push_oldest=level.uses_memory and len(window) == state.window_size)
        if level.form == 'mega':  # refs of each stage, once: what the RoIs read and the memories take
            keys.stage_references = level.stage_references(keys, self.roi_head.bbox_head.shared_fcs)
        return FrameRelations(own, keys)

    def roi_head_kwargs(self, frames: Sequence[VideoFrame]) -> dict:
        if self.relation_level is None:
            return {}
        return dict(instance_keys=RelationBatchKeys(self.relation_level, [frame.keys.keys for frame in frames]))

    def write_frame(self, frame: VideoFrame) -> None:
        """The oldest window frame's stage rows to the memories; online, the frame to the window
        and the global pool."""
        if self.relation_level is None:
            return
        state = self.relation_level.state
        state.push_memory(self.relation_level.pushes(frame.keys.keys, self.roi_head.bbox_head.shared_fcs))
        if frame.keys.own is not None:
            state.push_window(frame.keys.own)
            state.offer_global(frame.keys.own)


@MODELS.register_module()
class RDN(MEGA):
    """RDN: MEGA's class with RDN's relation stages (``relation_level=dict(form='rdn', ...)``: no
    memory, no global frames, references kept at fc6, the optional advanced stage) and RDN's
    offline protocol ('rdn_offline': a window of 18 + 1 + 18 frames). A class of its own only
    because a detector declares its protocols on the class."""

    test_protocols = ('online', 'rdn_offline')
