"""RoI head that hands instance keys to its box head (and reference maps to its RoI extractor).

Shape shorthand: B images, R RoIs, n_b boxes of image b, C channels of the box head's FCs,
T_b reference maps of image b.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances, unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels.instance_keys import InstanceKeys


@MODELS.register_module()
class MAMBARoIHead(StandardRoIHead):
    """:class:`StandardRoIHead` (box branch only) whose ``loss`` / ``predict`` / ``forward`` take
    ``instance_keys`` and pass them, as an argument, to an :class:`InstanceAggregationBBoxHead`;
    without them it computes what StandardRoIHead does. :meth:`embed_proposals` gives the rows
    that boxes write to the instance memories.

    ``reference_maps`` (Temporal RoI Align): per image, its reference maps (one (T_b, C, h, w)
    per level), handed to the RoI extractor (``ref_feats``) for that image's RoIs; the rows of
    :meth:`embed_proposals` (reference RoIs) always get the extractor's plain RoIAlign.

    Call chains: ``loss() -> _sample() -> _bbox_forward() -> bbox_head.loss_and_target()``;
    ``predict() -> _bbox_forward() -> bbox_head.predict_by_feat()``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.with_mask or self.with_shared_head:
            raise ValueError('MAMBARoIHead supports a box head only (no mask head, no shared head)')

    def forward(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList = None,
                instance_keys: Optional[InstanceKeys] = None,
                reference_maps: Optional[Sequence[Tuple[Tensor, ...]]] = None) -> Tuple[Tensor, Tensor]:
        """Raw (cls_score, bbox_pred) of every proposal."""
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        out = self._bbox_forward(x, rois, instance_keys, reference_maps)
        return out['cls_score'], out['bbox_pred']

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList,
             instance_keys: Optional[InstanceKeys] = None,
             reference_maps: Optional[Sequence[Tuple[Tensor, ...]]] = None) -> dict:
        """The box losses (``loss_cls``, ``loss_bbox``, ``acc``) of sampled proposals."""
        sampling_results = self._sample(x, rpn_results_list, batch_data_samples)
        rois = bbox2roi([res.priors for res in sampling_results])
        out = self._bbox_forward(x, rois, instance_keys, reference_maps)
        targets = self.bbox_head.loss_and_target(
            cls_score=out['cls_score'], bbox_pred=out['bbox_pred'], rois=rois, sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg)
        return targets['loss_bbox']

    def predict(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList,
                rescale: bool = False, instance_keys: Optional[InstanceKeys] = None,
                reference_maps: Optional[Sequence[Tuple[Tensor, ...]]] = None) -> InstanceList:
        """Detections (bboxes, scores, labels) of each image, as :meth:`StandardRoIHead.predict`."""
        batch_img_metas = [sample.metainfo for sample in batch_data_samples]
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            return empty_instances(batch_img_metas, rois.device, task_type='bbox',
                                   box_type=self.bbox_head.predict_box_type,
                                   num_classes=self.bbox_head.num_classes, score_per_cls=self.test_cfg is None)
        out = self._bbox_forward(x, rois, instance_keys, reference_maps)
        counts = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(
            rois=rois.split(counts), cls_scores=out['cls_score'].split(counts),
            bbox_preds=out['bbox_pred'].split(counts), batch_img_metas=batch_img_metas,
            rcnn_test_cfg=self.test_cfg, rescale=rescale)

    def embed_proposals(self, x: Tuple[Tensor], boxes: Sequence[Tensor],
                        instance_keys: Optional[InstanceKeys] = None) -> List[List[Tensor]]:
        """Memory rows of boxes: per image, one (n_b, C) tensor per FC level (the y_i of
        :meth:`InstanceAggregationBBoxHead.embed`: enhanced by ``instance_keys`` where they hold
        keys, else the FCs alone, r_i, composed as ``instance_keys`` say; None: the release
        composition's pre-ReLU r_i).

        Args:
            x: feature maps of the B images, e.g. ((B, Cin, h, w),).
            boxes: B (n_b, 4) boxes in the images' (resized) pixels.
        """
        rois = bbox2roi(list(boxes))
        feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        per_level = self.bbox_head.embed(feats, instance_keys, rois[:, 0])
        counts = [len(b) for b in boxes]
        return [list(level) for level in zip(*(rows.split(counts) for rows in per_level))]

    def _sample(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList) -> list:
        """Assigns ground truth to each image's proposals and samples them, as StandardRoIHead.loss."""
        batch_gt_instances, batch_gt_instances_ignore, _ = unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, batch_gt_instances[i], batch_gt_instances_ignore[i])
            sampling_results.append(self.bbox_sampler.sample(
                assign_result, rpn_results, batch_gt_instances[i], feats=[level[i][None] for level in x]))
        return sampling_results

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor, instance_keys: Optional[InstanceKeys] = None,
                      reference_maps: Optional[Sequence[Tuple[Tensor, ...]]] = None) -> dict:
        """Box head on (R, 5) rois: ``cls_score``, ``bbox_pred``, ``bbox_feats``."""
        bbox_feats = self._roi_features(x[:self.bbox_roi_extractor.num_inputs], rois, reference_maps)
        cls_score, bbox_pred = self.bbox_head(bbox_feats, instance_keys, self._box_head_rois(rois))
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    def _box_head_rois(self, rois: Tensor) -> Tensor:
        """What the box head receives of the (R, 5) ``rois`` beside the keys: the (R,) image index
        of each RoI (``rois[:, 0]``)."""
        return rois[:, 0]

    def _roi_features(self, x: Tuple[Tensor], rois: Tensor,
                      reference_maps: Optional[Sequence[Tuple[Tensor, ...]]]) -> Tensor:
        """(R, C, 7, 7) RoI features; with ``reference_maps``, each image's RoIs (grouped by image, in
        image order) through the extractor with that image's maps."""
        if reference_maps is None:
            return self.bbox_roi_extractor(x, rois)
        counts = torch.bincount(rois[:, 0].long(), minlength=len(reference_maps)).tolist()
        if len(counts) != len(reference_maps):
            raise ValueError(f'RoIs of {len(counts)} images but reference maps of {len(reference_maps)}')
        return torch.cat([self.bbox_roi_extractor(x, part, ref_feats=maps)
                          for part, maps in zip(rois.split(counts), reference_maps)])
