"""MAMBA: a two-stage detector enhanced at pixel and instance level by memories.

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, 1.. its
references), C channels of the stride-16 map (512), h x w that map, K proposals
written per frame (75), C' channels of the box head's FCs (1024).
"""
import copy
import random
from typing import List, Optional, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import DetDataSample, SampleList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mamba_vod.registry import MODELS

from ..aggregators import pixels_in_boxes, sample_pixels
from ..roi_heads import InstanceAggregationBBoxHead, InstanceKeys, MAMBARoIHead

_TEST_MODES = ('online', 'paper')


@MODELS.register_module()
class MAMBA(TwoStageDetector):
    """Faster R-CNN with pixel-level and instance-level aggregation over memories.

    Per frame (test)::

        backbone -> neck -> [pixel GEO: every pixel a query, keys from the pixel
        memory] -> RPN -> RoIAlign -> fc6 -> [GEO] -> fc7 -> [GEO] -> cls / reg
        then: the pre-ReLU enhanced features of the top-K proposals go to the
        instance memories (one per FC level), and up to P random pixels inside
        each detection scoring >= pixel_score_thr to the pixel memory (or, with
        ``pixel_memory_writes='frame'``, random pixels of the whole map).

    A clip with references (T > 1: training, or frame 0 of the 'paper'
    protocol, where the key frame is added as the last reference) uses them
    explicitly: the pixel keys are reference pixels subsampled to the key-set
    size, the instance keys the FC features (without instance aggregation) of
    the top-K proposals of every reference, whose map is first pixel-enhanced
    by the other references when both levels are on; at test time the
    memories are reset and filled with those keys. A clip without references uses the memories; an
    empty memory makes the frame attend to itself.

    The memories are reset at every training iteration, by :meth:`reset_memory`,
    and when a test frame's ``video_id`` differs from the previous frame's (or,
    with ``test_mode='online'``, its ``frame_id`` is 0). With
    ``pixel_level=False`` and ``instance_level=False`` this is exactly the
    single-frame Faster R-CNN on the key frame.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg,
            data_preprocessor, init_cfg: as :class:`TwoStageDetector`; the RoI
            head must be a :class:`MAMBARoIHead` with an
            :class:`InstanceAggregationBBoxHead` for instance-level aggregation.
        pixel_level / instance_level: switch each level of aggregation.
        pixel_aggregator: a :class:`PixelAggregator` config.
        instance_aggregator: the GEO config injected as the box head's
            ``aggregator`` (one per shared FC).
        pixel_memory / instance_memory: :class:`MemoryBank` configs.
        num_instance_writes: K, top proposals written / used per frame.
        instance_self_keys: the key frame's own top-K proposals join its
            instance keys (training: beside the references'; test: beside the
            memory sample), as the current frame's proposals sit among the
            keys of RDN / MEGA's relation modules; False (default, far better
            on the synthetic data, see docs/benchmarks.md): the keys come from
            other frames only.
        instance_key_dropout: in training, the probability that a clip's
            key frame gets no instance keys (its box head runs single-frame),
            so the head keeps working on its own evidence.
        pixel_level_dropout: in training, the probability that a clip skips the
            pixel level (key frame and references keep their plain maps, as in
            the instance-only model), so that with both levels the instance level
            learns to aggregate on its own instead of leaning on the pixel GEO.
            Both dropouts leave a GEO without gradients on some iterations: with
            ``--launcher pytorch`` the config sets ``find_unused_parameters = True``
            (as ``configs/synthetic/mamba_r18-dc5_synthetic.py`` does).
        instance_memory_features: what the instance memories store of a frame's
            top-K proposals: 'raw' (r_i, the FC features without instance
            aggregation, of the frame's map as the RPN saw it: the kind of keys
            training uses) or 'enhanced' (the pre-ReLU y_i, as the authors' released model).
        pixel_memory_writes: what a test frame writes to the pixel memory:
            'detections' (the paper: up to ``pixels_per_detection`` random pixels
            inside each detection scoring >= ``pixel_score_thr``) or 'frame'
            (``pixels_per_frame`` random pixels of the whole map, whatever they
            show: the kind of keys training draws from the references).
        pixel_score_thr / pixels_per_detection: which detections write pixels, and up to how many.
        pixels_per_frame: pixels written per frame with ``pixel_memory_writes='frame'``.
        num_train_pixel_keys: reference pixels sampled as keys in training.
        test_mode: 'online' (past frames only) or 'paper' (see :meth:`predict_video`).
        shuffle_seed: seed of the frame shuffle of the 'paper' protocol.
        seed: seed of pixel sampling (None: torch's global generator).
    """

    def __init__(self, *, backbone: dict, rpn_head: dict, roi_head: dict, test_cfg: dict,
                 train_cfg: Optional[dict] = None, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 pixel_level: bool = True, instance_level: bool = True,
                 pixel_aggregator: Optional[dict] = None, instance_aggregator: Optional[dict] = None,
                 pixel_memory: Optional[dict] = None, instance_memory: Optional[dict] = None,
                 num_instance_writes: int = 75, instance_self_keys: bool = False,
                 instance_key_dropout: float = 0.0, pixel_level_dropout: float = 0.0,
                 instance_memory_features: str = 'raw', pixel_memory_writes: str = 'detections',
                 pixel_score_thr: float = 0.8, pixels_per_detection: int = 100, pixels_per_frame: int = 300,
                 num_train_pixel_keys: int = 2000, test_mode: str = 'online', shuffle_seed: int = 10,
                 seed: Optional[int] = None) -> None:
        if instance_memory_features not in ('raw', 'enhanced'):
            raise ValueError("instance_memory_features must be 'raw' or 'enhanced', got "
                             f"'{instance_memory_features}'")
        if pixel_memory_writes not in ('detections', 'frame'):
            raise ValueError("pixel_memory_writes must be 'detections' or 'frame', got "
                             f"'{pixel_memory_writes}'")
        if pixels_per_frame < 1:
            raise ValueError(f'pixels_per_frame must be at least 1, got {pixels_per_frame}')
        for name, value in (('instance_key_dropout', instance_key_dropout),
                            ('pixel_level_dropout', pixel_level_dropout)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be a probability in [0, 1], got {value}')
        if test_mode not in _TEST_MODES:
            raise ValueError(f"MAMBA test_mode must be one of {_TEST_MODES}, got '{test_mode}'")
        # plain dicts work as well as configs (mmdet reads e.g. train_cfg.rpn)
        train_cfg, test_cfg, roi_head = (None if cfg is None else ConfigDict(copy.deepcopy(cfg))
                                         for cfg in (train_cfg, test_cfg, roi_head))
        if instance_level:
            roi_head['bbox_head']['aggregator'] = instance_aggregator or dict(type='GEO', channels=1024, num_heads=16)
        elif 'aggregator' in roi_head['bbox_head']:
            roi_head['bbox_head']['aggregator'] = None
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.pixel_level, self.instance_level = pixel_level, instance_level
        self.test_mode = test_mode
        self.num_instance_writes = num_instance_writes
        self.instance_self_keys = instance_self_keys
        self.instance_key_dropout = instance_key_dropout
        self.pixel_level_dropout = pixel_level_dropout
        self.instance_memory_features = instance_memory_features
        self.pixel_memory_writes = pixel_memory_writes
        self.pixel_score_thr, self.pixels_per_detection = pixel_score_thr, pixels_per_detection
        self.pixels_per_frame = pixels_per_frame
        self.num_train_pixel_keys = num_train_pixel_keys
        if pixel_level:
            self.pixel_aggregator = MODELS.build(pixel_aggregator or dict(
                type='PixelAggregator', geo=dict(type='GEO', channels=512, num_heads=16)))
            self.pixel_memory = MODELS.build(pixel_memory or dict(type='MemoryBank'))
        if instance_level:
            if not (isinstance(self.roi_head, MAMBARoIHead)
                    and isinstance(self.roi_head.bbox_head, InstanceAggregationBBoxHead)):
                raise TypeError('MAMBA with instance_level=True needs roi_head=dict(type=\'MAMBARoIHead\', '
                                'bbox_head=dict(type=\'InstanceAggregationBBoxHead\', ...)), got '
                                f'{type(self.roi_head).__name__} / {type(self.roi_head.bbox_head).__name__}')
            levels = self.roi_head.bbox_head.num_shared_fcs
            self.instance_memory = nn.ModuleList(
                MODELS.build(copy.deepcopy(instance_memory or dict(type='MemoryBank'))) for _ in range(levels))
        self._shuffle_rng = random.Random(shuffle_seed)
        self._generator = None if seed is None else torch.Generator().manual_seed(seed)
        self._video_id = None

    @property
    def aggregates(self) -> bool:
        return self.pixel_level or self.instance_level

    # ----------------------------------------------------------------- memory
    def reset_memory(self, pixel: bool = True, instance: bool = True) -> None:
        """Empties the pixel and/or instance memories."""
        if pixel and self.pixel_level:
            self.pixel_memory.reset()
        if instance and self.instance_level:
            for bank in self.instance_memory:
                bank.reset()

    def _maybe_reset(self, meta: dict) -> None:
        video_id = meta.get('video_id')
        if video_id != self._video_id or (self.test_mode == 'online' and meta.get('frame_id') == 0):
            self.reset_memory()
        self._video_id = video_id

    # -------------------------------------------------------------- training
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """RPN + R-CNN losses of the key frames, enhanced with their references.

        Args:
            batch_inputs: (B, T, 3, H, W), T >= 2 when aggregating.
        """
        batch_inputs = self._as_clips(batch_inputs)
        if not self.aggregates:
            return super().loss(batch_inputs[:, 0], batch_data_samples)
        if batch_inputs.shape[1] < 2:
            raise ValueError('MAMBA training needs reference frames: inputs of shape (B, T >= 2, 3, H, W), got '
                             f'{tuple(batch_inputs.shape)}; set num_ref_frames in the train pipeline')
        self.reset_memory()
        x, instance_keys = self._aggregate_with_references(batch_inputs, batch_data_samples)
        losses, rpn_results_list = self._rpn_loss(x, batch_data_samples)
        losses.update(self.roi_head.loss(x, rpn_results_list, batch_data_samples, instance_keys=instance_keys))
        return losses

    def _rpn_loss(self, x: Tuple[Tensor], batch_data_samples: SampleList) -> Tuple[dict, list]:
        """RPN losses (class-agnostic gts) and its proposals, as :class:`TwoStageDetector`."""
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        rpn_data_samples = copy.deepcopy(batch_data_samples)
        for data_sample in rpn_data_samples:
            data_sample.gt_instances.labels = torch.zeros_like(data_sample.gt_instances.labels)
        rpn_losses, rpn_results_list = self.rpn_head.loss_and_predict(x, rpn_data_samples, proposal_cfg=proposal_cfg)
        rpn_losses = {(key if 'loss' not in key or 'rpn' in key else f'rpn_{key}'): value
                      for key, value in rpn_losses.items()}
        return rpn_losses, rpn_results_list

    def _aggregate_with_references(self, inputs: Tensor,
                                   data_samples: SampleList) -> Tuple[Tuple[Tensor], Optional[InstanceKeys]]:
        """Key-frame maps enhanced by their references' pixels ((B, C, h, w),), and
        the instance keys from the references' top-K proposals (no memory), and
        from the key frame's own with ``instance_self_keys``.

        With both levels the references are pixel-enhanced too (each by the other
        references' pixels) before their keys are taken: at test time every frame,
        and so every row of the instance memory, comes from an enhanced map."""
        num_clips, num_frames = inputs.shape[:2]
        feats = self.extract_feat(inputs.flatten(0, 1))[0]
        feats = feats.unflatten(0, (num_clips, num_frames))  # (B*T, C, h, w) -> (B, T, C, h, w)
        key_maps, keys = [], []
        for clip_feats, data_sample in zip(feats, data_samples):
            references = clip_feats[1:] if num_frames > 1 else clip_feats[:1]
            key_map = clip_feats[0]
            if self.pixel_level and not self._skips_pixel_level():
                pixels, frame_index = sample_pixels(references, self.num_train_pixel_keys, self._generator)
                key_map = self.pixel_aggregator(key_map, pixels)
                if self.instance_level:
                    references = self._enhance_references(references, pixels, frame_index)
            key_maps.append(key_map)
            if self.instance_level and self.training and random.random() < self.instance_key_dropout:
                keys.append(None)
            elif self.instance_level:
                sources = torch.cat([references, key_map[None]]) if self.instance_self_keys else references
                keys.append(self._reference_keys(sources, data_sample.metainfo)[0])
        return (torch.stack(key_maps), ), (InstanceKeys(keys) if self.instance_level else None)

    def _skips_pixel_level(self) -> bool:
        """Whether this training clip skips the pixel level (``pixel_level_dropout``);
        draws from ``random`` only when that probability is above 0."""
        return self.training and self.pixel_level_dropout > 0 and random.random() < self.pixel_level_dropout

    def _enhance_references(self, references: Tensor, pixels: Tensor, frame_index: Tensor) -> Tensor:
        """(N, C, h, w) reference maps, each enhanced by the pixel keys (k, C) that
        came from the other references (all k when N == 1); ``frame_index`` (k,)
        says which reference each key came from."""
        enhanced = []
        for index, reference in enumerate(references):
            others = frame_index != index
            enhanced.append(self.pixel_aggregator(reference, pixels[others] if others.any() else pixels))
        return torch.stack(enhanced)

    def _reference_keys(self, references: Tensor, meta: dict) -> Tuple[List[Tensor], InstanceData]:
        """Instance keys of N reference maps (N, C, h, w): per level (N*K', C'),
        and the proposals they come from (bboxes, scores, ``image`` index)."""
        with torch.no_grad():  # boxes only: the keys' gradients flow through the RoI features
            outs = self.rpn_head((references, ))
        proposals = self.rpn_head.predict_by_feat(
            *outs, batch_img_metas=[meta] * len(references), cfg=self.test_cfg.rpn, rescale=False)
        proposals = [p[:self.num_instance_writes] for p in proposals]
        per_image = self.roi_head.embed_references((references, ), [p.bboxes.detach() for p in proposals])
        keys = [torch.cat(level) for level in zip(*per_image)]
        for index, p in enumerate(proposals):
            p.image = torch.full_like(p.labels, index)
        return keys, InstanceData.cat(proposals)

    # ------------------------------------------------------------------- test
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        """Detections of each key frame, clip after clip, through the memories.

        Args:
            batch_inputs: (B, T, 3, H, W); T > 1 gives explicit references.
        Returns:
            the data samples with ``pred_instances`` (bboxes, scores, labels).
        """
        batch_inputs = self._as_clips(batch_inputs)
        if not self.aggregates:
            return super().predict(batch_inputs[:, 0], batch_data_samples, rescale=rescale)
        results = [self._predict_clip(clip, sample, rescale) for clip, sample in zip(batch_inputs, batch_data_samples)]
        return self.add_pred_to_datasample(batch_data_samples, results)

    def predict_video(self, frames: Tensor, data_samples: SampleList, rescale: bool = True) -> SampleList:
        """Runs a whole video by ``test_mode``; results in frame order.

        'online': frames in order, memory of past frames only. 'paper': frame 0
        with 14 references at round(i * (L - 1) / 13), i = 0..13, then the other
        frames in an order shuffled by a ``random.Random(shuffle_seed)`` kept
        across videos (the authors' protocol).

        Args:
            frames: (L, 3, H, W) preprocessed frames of one video, in frame order.
            data_samples: L data samples (same ``video_id``).
        """
        num = len(data_samples)
        self.reset_memory()
        self._video_id = data_samples[0].metainfo.get('video_id')
        first = frames[:1]
        order = list(range(1, num))
        if self.test_mode == 'paper':
            ref_ids = [round(i * (num - 1) / 13) for i in range(14)]
            first = torch.cat([frames[:1], frames[ref_ids]])
            data_samples[0].set_metainfo(dict(ref_frame_ids=ref_ids))
            self._shuffle_rng.shuffle(order)
        outputs = {0: self.predict(first[None], data_samples[:1], rescale=rescale)[0]}
        for index in order:
            outputs[index] = self.predict(frames[index][None, None], data_samples[index:index + 1], rescale)[0]
        return [outputs[index] for index in range(num)]

    def _predict_clip(self, clip: Tensor, data_sample: DetDataSample, rescale: bool) -> InstanceData:
        meta = data_sample.metainfo
        self._maybe_reset(meta)
        feats = self.extract_feat(clip)[0]  # (T, C, h, w)
        raw = feats[:1]
        references, ref_frame_ids = None, None
        if clip.shape[0] > 1:  # explicit references; the key frame is the last one
            self.reset_memory()
            references = torch.cat([feats[1:], raw])
            ref_frame_ids = self._reference_frame_ids(meta, clip.shape[0] - 1)
        x = (raw, )
        if self.pixel_level:
            enhanced, references = self._enhance_pixels(raw, references, ref_frame_ids)
            x = (enhanced, )
        rpn_results_list = self.rpn_head.predict(x, [data_sample], rescale=False)
        if self.instance_level:
            keys, record = self._instance_keys(x[0], references, ref_frame_ids, meta, rpn_results_list[0])
            context = InstanceKeys([keys], record_rows=record,
                                   record_enhanced=self.instance_memory_features == 'enhanced')
            written_scores = rpn_results_list[0].scores[:record]
            results = self.roi_head.predict(x, rpn_results_list, [data_sample], rescale, instance_keys=context)[0]
            if record:
                frame_ids = torch.full_like(written_scores, meta.get('frame_id', -1), dtype=torch.long)
                for bank, rows in zip(self.instance_memory, context.recorded[0]):
                    bank.write(rows, written_scores, frame_ids)
        else:
            results = self.roi_head.predict(x, rpn_results_list, [data_sample], rescale)[0]
        if self.pixel_level:
            self._write_pixels(raw[0], results, meta, rescale)
        return results

    @staticmethod
    def _reference_frame_ids(meta: dict, num_refs: int) -> Tensor:
        ref_ids = list(meta.get('ref_frame_ids') or [])
        if len(ref_ids) != num_refs:
            ref_ids = [-1] * num_refs
        return torch.tensor(ref_ids + [meta.get('frame_id', -1)], dtype=torch.long)

    def _enhance_pixels(self, raw: Tensor, references: Optional[Tensor],
                        ref_frame_ids: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """(1, C, h, w) key map enhanced by reference pixels, the pixel memory, or
        itself; and the (N, C, h, w) references, enhanced as in training when the
        instance level takes keys from them."""
        memory = self.pixel_memory
        if references is not None:
            keys, frame_index = sample_pixels(references, memory.key_set_size, self._generator)
            memory.write(keys, frame_ids=ref_frame_ids.to(frame_index)[frame_index])
            if self.instance_level:
                references = self._enhance_references(references, keys, frame_index)
        elif len(memory) == 0:  # empty memory: the frame attends to itself
            keys, _ = sample_pixels(raw, memory.key_set_size, self._generator)
        else:
            keys = memory.sample(self._generator)
        return self.pixel_aggregator(raw[0], keys.to(raw))[None], references

    def _instance_keys(self, feat: Tensor, references: Optional[Tensor], ref_frame_ids: Optional[Tensor],
                       meta: dict, proposals: InstanceData) -> Tuple[List[Tensor], int]:
        """Keys per level for the key frame (its (1, C, h, w) map ``feat``, pixel-enhanced
        with both levels, and its RPN ``proposals``, best first), and how many of
        its rows to record.

        Memory mode samples the memories (plus, with ``instance_self_keys``, the
        key frame's own top-K proposals) and records K rows; explicit mode (or an
        empty memory, where the key frame is its own reference) refills them
        with the references' keys and records nothing.
        """
        if references is None and len(self.instance_memory[0]) > 0:
            keys = [bank.sample().to(feat) for bank in self.instance_memory]
            if self.instance_self_keys:
                own = self.roi_head.embed_references((feat, ), [proposals.bboxes[:self.num_instance_writes]])[0]
                keys = [torch.cat([memory, rows]) for memory, rows in zip(keys, own)]
            return keys, self.num_instance_writes
        if references is None:
            references = feat
            ref_frame_ids = torch.tensor([meta.get('frame_id', -1)], dtype=torch.long)
        keys, proposals = self._reference_keys(references, meta)
        frame_ids = ref_frame_ids.to(proposals.image.device)[proposals.image]
        for bank, rows in zip(self.instance_memory, keys):
            bank.reset()
            bank.write(rows, proposals.scores, frame_ids)
        return keys, 0

    def _write_pixels(self, feat: Tensor, results: InstanceData, meta: dict, rescale: bool) -> None:
        """Writes pixels of the (C, h, w) map: up to P random ones inside each
        confident detection, or ``pixels_per_frame`` random ones of the map."""
        frame_id = meta.get('frame_id', -1)
        if self.pixel_memory_writes == 'frame':
            rows, _ = sample_pixels(feat[None], self.pixels_per_frame, self._generator)
            self.pixel_memory.write(rows, frame_ids=torch.full((len(rows), ), frame_id, dtype=torch.long))
            return
        keep = results.scores >= self.pixel_score_thr
        if not keep.any():
            return
        boxes = results.bboxes[keep]
        if rescale:  # back to the resized image the map was computed on
            boxes = boxes * boxes.new_tensor(meta['scale_factor']).repeat(2)
        stride = self.roi_head.bbox_roi_extractor.featmap_strides[0]
        rows, owner = pixels_in_boxes(feat, boxes, stride, self.pixels_per_detection, self._generator)
        frame_ids = torch.full((len(rows), ), frame_id, dtype=torch.long)
        self.pixel_memory.write(rows, results.scores[keep][owner.to(boxes.device)], frame_ids)

    # ----------------------------------------------------------------- tensor
    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList = None) -> tuple:
        """Raw head outputs of the key frames with their references (no memory)."""
        batch_inputs = self._as_clips(batch_inputs)
        if not self.aggregates:
            return super()._forward(batch_inputs[:, 0], batch_data_samples)
        x, instance_keys = self._aggregate_with_references(batch_inputs, batch_data_samples)
        rpn_results_list = self.rpn_head.predict(x, batch_data_samples, rescale=False)
        return (self.roi_head.forward(x, rpn_results_list, batch_data_samples, instance_keys=instance_keys), )

    @staticmethod
    def _as_clips(inputs: Tensor) -> Tensor:
        """(B, T, 3, H, W); a (B, 3, H, W) batch is taken as clips of one frame."""
        if inputs.dim() == 4:
            return inputs[:, None]
        if inputs.dim() != 5:
            raise ValueError('MAMBA expects inputs of shape (B, T, 3, H, W) from VideoDataPreprocessor, got '
                             f'{tuple(inputs.shape)}')
        return inputs
