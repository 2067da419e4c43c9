"""MAMBA: a two-stage detector enhanced at pixel and instance level by memories.

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, 1.. its references),
C channels of the stride-16 map, h x w that map, N reference maps, K proposals of a frame
that become its instance rows (75), C' channels of the box head's FCs (1024).
"""
from typing import Optional, Sequence, Tuple

import torch
from mmdet.structures import SampleList
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels import InstanceLevel, PixelLevel, PixelReferences
from ..roi_heads import InstanceAggregationBBoxHead, MAMBARoIHead, require_roi_head
from .initial_frames import start_from_references
from .legacy_names import rename_legacy_keys
from .reference_keys import aggregate_clips, aggregate_with_references
from .stage_records import FrameKeys, References, reference_frame_ids
from .video_detector import BaseVideoDetector
from .video_frame import VideoFrame


@MODELS.register_module()
class MAMBA(BaseVideoDetector):
    """Faster R-CNN with a pixel level and an instance level of aggregation over memories.

    A test frame, stage by stage (the hooks of :class:`BaseVideoDetector`)::

        features:        backbone + neck of the key frame (and of its references, if any)
        take_references: explicit references fill the memories (the authors' initial frames,
                         :mod:`.initial_frames`) or give the frame's keys
        enhance_maps:    pixel level: keys (memory, or the references) -> GEO over every pixel
        RPN:             proposals on the enhanced map
        frame_keys:      instance level: keys (memories, or the references' top-K proposals)
        RoI head:        detections, the box head enhanced by those keys (``instance_keys``)
        write_frame:     both levels write the frame (explicit references refill them first)

    A clip with references (T > 1) is training, or frame 0 of MAMBA's offline protocol
    ('mamba_offline', alias 'paper'). Training takes the keys from the references
    (:func:`.reference_keys.aggregate_clips`); at test the references fill the memories, as
    initial frames that are detected and write (the authors', :mod:`.initial_frames`) or, with
    ``pixel_level.references_fill='pixels'``, through the same function as training. A single
    frame reads the memories. The memories (the levels' states) are the stream's
    (:class:`BaseVideoDetector`); the pixel memory is emptied when the frame size changes, the
    instance memory kept. Without levels this is exactly Faster R-CNN on the key frame.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg:
            as :class:`TwoStageDetector`; with an instance level the RoI head is a
            :class:`MAMBARoIHead` with an :class:`InstanceAggregationBBoxHead`.
        pixel_level: a :class:`PixelLevel` config (``type`` may be left out) or None; it
            reads ``train_cfg.pixel`` and ``test_cfg.pixel``.
        instance_level: an :class:`InstanceLevel` config or None; it reads ``train_cfg.instance``.
    """

    test_protocols = ('online', 'mamba_offline')

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 pixel_level: Optional[dict] = None, instance_level: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        phase = dict(train=self.train_cfg or {}, test=self.test_cfg or {})
        # instance before pixel: the parameters keep the order of older checkpoints (optimizer states)
        self.instance_level = None
        if instance_level is not None:
            require_roi_head(self.roi_head, MAMBARoIHead, InstanceAggregationBBoxHead, 'MAMBA with an instance level')
            self.instance_level = _build_level(instance_level, InstanceLevel,
                                               train_cfg=phase['train'].get('instance'),
                                               num_fcs=self.roi_head.bbox_head.num_shared_fcs)
        self.pixel_level = None if pixel_level is None else _build_level(
            pixel_level, PixelLevel, train_cfg=phase['train'].get('pixel'), test_cfg=phase['test'].get('pixel'),
            stride=self.roi_head.bbox_roi_extractor.featmap_strides[0])
        self._register_load_state_dict_pre_hook(rename_legacy_keys)

    @property
    def aggregates(self) -> bool:
        return self.pixel_level is not None or self.instance_level is not None

    @property
    def uses_references(self) -> bool:
        return self.aggregates

    # ------------------------------------------------------------- training
    def train_features(self, clips: Tensor, data_samples: SampleList) -> Tuple[Tuple[Tensor], dict]:
        """Key-frame maps enhanced by their references' pixels, and the instance keys of their rows."""
        if not self.aggregates:
            return super().train_features(clips, data_samples)
        x, instance_keys = aggregate_clips(self, clips, data_samples)
        return x, {} if instance_keys is None else dict(instance_keys=instance_keys)

    # ----------------------------------------------------------------- test
    def take_references(self, frame: VideoFrame, references: Tuple[Tensor, ...]) -> Optional[References]:
        """Frame 0 of the offline protocol: the references (N, C, h, w) fill the memories as
        initial frames (``references_fill='detections'``), or give the frame's keys (the key
        frame joins them as the last one)."""
        feats, raw = references[0], frame.raw[0]
        if self.pixel_level is not None and self.pixel_level.references_fill == 'detections':
            start_from_references(self, feats, frame.sample)
            return None
        num_keys = self.pixel_level.memory.key_set_size if self.pixel_level is not None else 0
        key_map, refs = aggregate_with_references(self, raw[0], torch.cat([feats, raw]), frame.meta,
                                                  num_pixel_keys=num_keys, self_keys=False)
        return refs._replace(frame_ids=reference_frame_ids(frame.meta, len(feats)), key_map=key_map)

    def enhance_maps(self, frame: VideoFrame) -> Tuple[Tensor]:
        """The pixel level: the map (1, C, h, w) enhanced by the memory's keys (or the references')."""
        if frame.references is not None:
            return (frame.references.key_map[None], )
        raw = frame.raw[0][0]
        return (raw if self.pixel_level is None else self.pixel_level.enhance(raw, self.pixel_level.keys(raw)))[None],

    def frame_keys(self, frame: VideoFrame) -> Optional[FrameKeys]:
        """The instance level: the frame's top-K proposals, its raw rows when the level reads them,
        and its instance keys."""
        if self.instance_level is None:
            return None
        top = frame.proposals[:self.instance_level.proposals_per_frame]
        refs = frame.references
        if refs is not None:
            return FrameKeys(top, None, self.instance_level.keys_from_rows([refs.instance_rows]))
        rows = None
        if self.instance_level.needs_frame_rows:
            rows = self.roi_head.embed_proposals(frame.x, [top.bboxes], self.instance_level.without_keys())[0]
        return FrameKeys(top, rows, self.instance_level.keys(rows))

    def roi_head_kwargs(self, frames: Sequence[VideoFrame]) -> dict:
        if self.instance_level is None:
            return {}
        return dict(instance_keys=self.instance_level.batch_keys([frame.keys.instance_keys for frame in frames]))

    def write_frame(self, frame: VideoFrame) -> None:
        """Both levels write the frame: the pixel level pixels of its map before or after its GEO
        at its detections; the instance level its top-K rows (explicit references: theirs, in
        place of what the memories held)."""
        meta, refs = frame.meta, frame.references
        raw, x = frame.raw[0][0], frame.x[0][0]  # (C, h, w)
        frame_id = meta.get('frame_id', -1)
        if self.pixel_level is not None:
            boxes = frame.detections.bboxes
            if frame.rescale:  # back to the resized image the map was computed on
                boxes = boxes * boxes.new_tensor(meta['scale_factor']).repeat(2)
            pixel_refs = None if refs is None or refs.pixel_rows is None else PixelReferences(
                refs.pixel_rows, refs.frame_ids.to(refs.pixel_index)[refs.pixel_index])
            self.pixel_level.update(raw, x, boxes, frame.detections.scores, frame_id, pixel_refs)
        if self.instance_level is None:
            return
        if refs is not None:
            frame_ids = refs.frame_ids.to(refs.proposals.image.device)[refs.proposals.image]
            self.instance_level.update(refs.instance_rows, refs.proposals.scores, frame_ids, replace=True)
            return
        rows, top = frame.keys.rows, frame.keys.top
        if self.instance_level.memory_features == 'enhanced' and not self.instance_level.is_empty:
            rows = self.roi_head.embed_proposals(frame.x, [top.bboxes], frame.keys.instance_keys)[0]
        self.instance_level.update(rows, top.scores, self.instance_level.frame_rows_ids(top.scores, frame_id))


def _build_level(cfg: dict, default_type: type, **default_args):
    """The level of ``cfg``, of ``default_type`` where it names none."""
    cfg = dict(cfg)
    cfg.setdefault('type', default_type)
    return MODELS.build(cfg, default_args=default_args)
