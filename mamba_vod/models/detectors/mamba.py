"""MAMBA: a two-stage detector enhanced at pixel and instance level by memories.

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, 1.. its references),
C channels of the stride-16 map, h x w that map, N reference maps, K proposals of a frame
that become its instance rows (75), C' channels of the box head's FCs (1024).
"""
import copy
from typing import List, Optional, Sequence

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import DetDataSample, SampleList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels import PixelReferences
from ..roi_heads import InstanceAggregationBBoxHead, MAMBARoIHead
from .initial_frames import start_from_references
from .legacy_names import rename_legacy_keys
from .memory_state import LevelMemories, MemoryState
from .reference_keys import aggregate_clips, aggregate_with_references
from .rpn_loss import rpn_loss_and_proposals
from .stage_records import Detected, References, as_clips, reference_frame_ids


@MODELS.register_module()
class MAMBA(TwoStageDetector):
    """Faster R-CNN with a pixel level and an instance level of aggregation over memories.

    A test frame, stage by stage (:meth:`_predict_frame`)::

        features:        backbone + neck of the key frame (and of its references, if any)
        pixel level:     keys (memory, or the references) -> GEO over every pixel of the map
        RPN:             proposals on the enhanced map
        instance level:  keys (memories, or the references' top-K proposals)
        RoI head:        detections, the box head enhanced by those keys
        update:          both levels write the frame (explicit references refill them first)

    A clip with references (T > 1) is training, or frame 0 of the paper protocol (the key frame
    joins its references as the last one). Training takes the keys from the references
    (:func:`.reference_keys.aggregate_with_references`); at test the references fill the memories, as initial
    frames that are detected and write (the authors', :mod:`.initial_frames`) or, with
    ``pixel_level.references_fill='pixels'``, through the same function as training. A single
    frame reads the memories. The memories belong to one video: they are emptied when a frame of
    another ``video_id`` arrives, by :meth:`reset_memory`, at ``train()`` / ``eval()`` and when
    weights are loaded; the test protocol is the data's. Without levels this is exactly Faster
    R-CNN on the key frame.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg:
            as :class:`TwoStageDetector`; with an instance level the RoI head is a
            :class:`MAMBARoIHead` with an :class:`InstanceAggregationBBoxHead`.
        pixel_level: a :class:`PixelLevel` config (``type`` may be left out) or None; it
            reads ``train_cfg.pixel`` and ``test_cfg.pixel``.
        instance_level: an :class:`InstanceLevel` config or None; it reads ``train_cfg.instance``.
    """

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 pixel_level: Optional[dict] = None, instance_level: Optional[dict] = None) -> None:
        # plain dicts work as well as configs (mmdet reads e.g. train_cfg.rpn)
        train_cfg, test_cfg = (None if cfg is None else ConfigDict(copy.deepcopy(cfg)) for cfg in (train_cfg, test_cfg))
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        phase = dict(train=train_cfg or {}, test=test_cfg or {})
        # instance before pixel: the parameters keep the order of older checkpoints (optimizer states)
        self.instance_level = None
        if instance_level is not None:
            self._check_roi_head()
            self.instance_level = _build_level(instance_level, 'InstanceLevel',
                                               train_cfg=phase['train'].get('instance'),
                                               num_fcs=self.roi_head.bbox_head.num_shared_fcs)
        self.pixel_level = None if pixel_level is None else _build_level(
            pixel_level, 'PixelLevel', train_cfg=phase['train'].get('pixel'), test_cfg=phase['test'].get('pixel'),
            stride=self.roi_head.bbox_roi_extractor.featmap_strides[0])
        self.memories = LevelMemories(self.pixel_level, self.instance_level)  # the stream's state they read now
        self._register_load_state_dict_pre_hook(rename_legacy_keys)
        self._register_load_state_dict_pre_hook(_forget_memories, with_module=True)

    def _check_roi_head(self) -> None:
        if not (isinstance(self.roi_head, MAMBARoIHead)
                and isinstance(self.roi_head.bbox_head, InstanceAggregationBBoxHead)):
            raise TypeError("MAMBA with an instance level needs roi_head=dict(type='MAMBARoIHead', bbox_head=dict("
                            f"type='InstanceAggregationBBoxHead', ...)), got {type(self.roi_head).__name__} / "
                            f'{type(self.roi_head.bbox_head).__name__}')

    @property
    def aggregates(self) -> bool:
        return self.pixel_level is not None or self.instance_level is not None

    # ----------------------------------------------------------------- memory
    def reset_memory(self, pixel: bool = True, instance: bool = True) -> None:
        """Empties the pixel and/or instance memories; after both, the next frame starts a video."""
        self.memories.reset(pixel, instance)

    def train(self, mode: bool = True) -> 'MAMBA':
        super().train(mode)
        self.reset_memory()  # rows written with other weights or in another mode are stale
        return self

    # ------------------------------------------------------ training / tensor
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """RPN + R-CNN losses of the key frames of clips (B, T >= 2, 3, H, W), with their references' keys."""
        clips = as_clips(batch_inputs)
        if not self.aggregates:
            return super().loss(clips[:, 0], batch_data_samples)
        if clips.shape[1] < 2:
            raise ValueError('MAMBA training needs reference frames: inputs of shape (B, T >= 2, 3, H, W), got '
                             f'{tuple(clips.shape)}; set num_ref_frames in the train pipeline')
        x, instance_keys = aggregate_clips(self, clips, batch_data_samples)
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        losses, rpn_results_list = rpn_loss_and_proposals(self.rpn_head, x, batch_data_samples, proposal_cfg)
        losses.update(self.roi_head.loss(x, rpn_results_list, batch_data_samples, instance_keys=instance_keys))
        return losses

    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList = None) -> tuple:
        """Raw head outputs of the key frames with their references (no memory)."""
        clips = as_clips(batch_inputs)
        if not self.aggregates:
            return super()._forward(clips[:, 0], batch_data_samples)
        x, instance_keys = aggregate_clips(self, clips, batch_data_samples)
        rpn_results_list = self.rpn_head.predict(x, batch_data_samples, rescale=False)
        return (self.roi_head.forward(x, rpn_results_list, batch_data_samples, instance_keys=instance_keys), )

    # ------------------------------------------------------------------- test
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        """Detections of each key frame (inputs (B, T, 3, H, W); T > 1: explicit references), clip
        after clip, through the memories; ``pred_instances`` has bboxes, scores, labels."""
        clips = as_clips(batch_inputs)
        if not self.aggregates:
            return super().predict(clips[:, 0], batch_data_samples, rescale=rescale)
        results = [self._predict_frame(clip, sample, rescale) for clip, sample in zip(clips, batch_data_samples)]
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _predict_frame(self, clip: Tensor, data_sample: DetDataSample, rescale: bool) -> InstanceData:
        """The stages of one test frame (see the class docstring); ``clip`` is (T, 3, H, W)."""
        meta = data_sample.metainfo
        self.memories.follow_video(meta.get('video_id'))
        feats = self.extract_feat(clip)[0]  # (T, C, h, w)
        raw, refs = feats[0], None
        if len(feats) > 1 and self.pixel_level is not None and self.pixel_level.references_fill == 'detections':
            start_from_references(self, feats, data_sample)  # the references are initial frames
        elif len(feats) > 1:  # explicit keys; the key frame joins the references as the last one
            num_keys = self.pixel_level.memory.key_set_size if self.pixel_level is not None else 0
            x, refs = aggregate_with_references(self, raw, torch.cat([feats[1:], feats[:1]]), meta,
                                                num_pixel_keys=num_keys, self_keys=False)
            refs = refs._replace(frame_ids=reference_frame_ids(meta, len(feats) - 1))
        if refs is None:
            x = self._enhance_pixels(raw)
        return self._detect_and_update(raw[None], x[None], [data_sample], [self.memories.current], [refs], rescale)[0]

    def predict_streams(self, batch_inputs: Tensor, batch_data_samples: SampleList, states: Sequence[MemoryState],
                        rescale: bool = True) -> SampleList:
        """Detections of B frames of B streams, each through its own memories (``states``, read and
        written in place): backbone, RPN and RoI head run as one batch, the GEOs per frame.

        Args:
            batch_inputs: (B, 3, H, W) or (B, 1, 3, H, W), one frame per stream.
            states: the B streams' memories (``memories.new_state()``), all different.
        """
        if len({id(state) for state in states}) != len(states) or len(states) != len(batch_data_samples):
            raise ValueError(f'predict_streams needs one memory state per frame, each of its own stream: got '
                             f'{len(states)} for {len(batch_data_samples)} frames')
        raw = self.extract_feat(as_clips(batch_inputs)[:, 0])[0]  # (B, C, h, w)
        maps = []
        for feat, sample, state in zip(raw, batch_data_samples, states):
            with self.memories.using(state):
                self.memories.follow_video(sample.metainfo.get('video_id'))
                maps.append(self._enhance_pixels(feat))
        results = self._detect_and_update(raw, torch.stack(maps), batch_data_samples, states, [None] * len(states),
                                          rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _enhance_pixels(self, raw: Tensor) -> Tensor:
        """The (C, h, w) map of a frame through the pixel level (keys from the memory)."""
        return raw if self.pixel_level is None else self.pixel_level.enhance(raw, self.pixel_level.keys(raw))

    def _detect_and_update(self, raw: Tensor, x: Tensor, samples: SampleList, states: Sequence[MemoryState],
                           refs: Sequence[Optional[References]], rescale: bool) -> List[InstanceData]:
        """Detections of B frames, maps before (``raw``) and after (``x``) the pixel level, both
        (B, C, h, w); then each frame's memories (``states``) write it."""
        found = self.detect(x, samples, rescale, refs, states)
        for b, detected in enumerate(found):
            with self.memories.using(states[b]):
                self._update_levels(samples[b].metainfo, raw[b], x[b], detected, refs[b], rescale)
        return [detected.detections for detected in found]

    def detect(self, x: Tensor, samples: SampleList, rescale: bool, refs: Sequence[Optional[References]],
               states: Sequence[MemoryState]) -> List[Detected]:
        """RPN and RoI head on maps (B, C, h, w) as one batch, each frame's instance keys from its
        own memories; writes nothing."""
        proposals = self.rpn_head.predict((x, ), samples, rescale=False)
        found = []
        for b, state in enumerate(states):
            with self.memories.using(state):
                found.append(self._instance_keys(x[b], proposals[b], refs[b]))
        keys = None if self.instance_level is None else self.instance_level.keys_from_rows(
            [image_keys.per_image[0] for _, _, image_keys in found])
        detections = self.roi_head.predict((x, ), proposals, samples, rescale, keys)
        return [Detected(image_detections, *image_found) for image_detections, image_found in zip(detections, found)]

    def _instance_keys(self, x: Tensor, proposals: InstanceData, refs: Optional[References]) -> tuple:
        """A test frame's top-K proposals, its raw rows when the level reads them, and its instance
        keys (map ``x`` (C, h, w))."""
        if self.instance_level is None:
            return None, None, None
        top = proposals[:self.instance_level.proposals_per_frame]
        if refs is not None:
            return top, None, self.instance_level.keys_from_rows([refs.instance_rows])
        rows = None
        if self.instance_level.needs_frame_rows:
            rows = self.roi_head.embed_proposals((x[None], ), [top.bboxes], self.instance_level.without_keys())[0]
        return top, rows, self.instance_level.keys(rows)

    def _update_levels(self, meta: dict, raw: Tensor, x: Tensor, detected: Detected, refs: Optional[References],
                       rescale: bool) -> None:
        """Both levels write the frame: the pixel level pixels of its map before (``raw``) or after
        (``x``) its GEO, both (C, h, w), at its detections; the instance level its top-K rows
        (explicit references: theirs, in place of what the memories held)."""
        frame_id = meta.get('frame_id', -1)
        if self.pixel_level is not None:
            boxes = detected.detections.bboxes
            if rescale:  # back to the resized image the map was computed on
                boxes = boxes * boxes.new_tensor(meta['scale_factor']).repeat(2)
            pixel_refs = None if refs is None or refs.pixel_rows is None else PixelReferences(
                refs.pixel_rows, refs.frame_ids.to(refs.pixel_index)[refs.pixel_index])
            self.pixel_level.update(raw, x, boxes, detected.detections.scores, frame_id, pixel_refs)
        if self.instance_level is None:
            return
        if refs is not None:
            frame_ids = refs.frame_ids.to(refs.proposals.image.device)[refs.proposals.image]
            self.instance_level.update(refs.instance_rows, refs.proposals.scores, frame_ids, replace=True)
            return
        rows, top = detected.rows, detected.top
        if self.instance_level.memory_features == 'enhanced' and not self.instance_level.is_empty:
            rows = self.roi_head.embed_proposals((x[None], ), [top.bboxes], detected.instance_keys)[0]
        self.instance_level.update(rows, top.scores, torch.full_like(top.scores, frame_id, dtype=torch.long))


def _forget_memories(model: MAMBA, *args) -> None:
    """Loading weights empties the memories: their rows and projections came from other weights."""
    model.reset_memory()


def _build_level(cfg: dict, default_type: str, **default_args):
    cfg = dict(cfg)
    cfg.setdefault('type', default_type)
    return MODELS.build(cfg, default_args=default_args)
