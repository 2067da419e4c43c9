"""RoI head that passes instance-level keys to its aggregating box head.

Shape shorthand: B images, R RoIs, K recorded rows per image, C channels of
the box head's FCs, k_i keys of level i.
"""
import contextlib
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from mamba_vod.registry import MODELS

from .instance_aggregation_bbox_head import ImageKeys


@dataclass
class InstanceKeys:
    """Keys for one call of :class:`MAMBARoIHead`, and what it recorded.

    Attributes:
        keys: per image, one (k_i, C) tensor per box-head level, or None.
        record_rows: K; when > 0 the head records the pre-ReLU enhanced
            features y_i of the first K RoIs of each image (in prediction these
            are the top-K proposals: the RPN returns them sorted by score).
        recorded: filled by the head: per image, one (<= K, C) tensor per level.
        record_enhanced: record the enhanced y_i (the authors' released model)
            or, when False, the non-enhanced r_i of the same RoIs, which is what
            training uses as keys (``embed_references``).
    """
    keys: Sequence[ImageKeys]
    record_rows: int = 0
    recorded: List[List[Tensor]] = field(default_factory=list)
    record_enhanced: bool = True


@MODELS.register_module()
class MAMBARoIHead(StandardRoIHead):
    """:class:`StandardRoIHead` whose ``loss`` / ``predict`` / ``forward`` take
    ``instance_keys`` (an :class:`InstanceKeys`) for an
    :class:`InstanceAggregationBBoxHead`; without them it is a StandardRoIHead.

    The keys are set only for the duration of one call (``_bbox_forward`` is
    the one place that reads them). :meth:`embed_references` turns reference
    proposals into keys.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._instance_keys: Optional[InstanceKeys] = None

    @contextlib.contextmanager
    def _using(self, instance_keys: Optional[InstanceKeys]) -> Iterator[None]:
        self._instance_keys = instance_keys
        try:
            yield
        finally:
            self._instance_keys = None

    def forward(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList = None,
                instance_keys: Optional[InstanceKeys] = None) -> tuple:
        with self._using(instance_keys):
            return super().forward(x, rpn_results_list, batch_data_samples)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList,
             instance_keys: Optional[InstanceKeys] = None) -> dict:
        with self._using(instance_keys):
            return super().loss(x, rpn_results_list, batch_data_samples)

    def predict(self, x: Tuple[Tensor], rpn_results_list: InstanceList, batch_data_samples: SampleList,
                rescale: bool = False, instance_keys: Optional[InstanceKeys] = None) -> InstanceList:
        if instance_keys is not None:
            instance_keys.recorded = [[] for _ in batch_data_samples]
        with self._using(instance_keys):
            return super().predict(x, rpn_results_list, batch_data_samples, rescale=rescale)

    def embed_references(self, x: Tuple[Tensor], proposals: Sequence[Tensor]) -> List[List[Tensor]]:
        """Keys of reference proposals (no aggregation): per image, one (n_b, C) tensor per level.

        Args:
            x: feature maps of the B reference images, e.g. ((B, Cin, h, w),).
            proposals: B (n_b, 4) boxes in the images' (resized) pixels.
        """
        rois = bbox2roi(list(proposals))
        feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        per_level = self.bbox_head.embed_references(feats)
        counts = [len(p) for p in proposals]
        return [list(level) for level in zip(*(rows.split(counts) for rows in per_level))]

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        """Box head forward on (R, 5) rois; reads the keys of the current call."""
        bbox_feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        context = self._instance_keys
        keys = None if context is None else context.keys
        cls_score, bbox_pred, pre_relu = self.bbox_head(bbox_feats, keys=keys, roi_img_ids=rois[:, 0])
        if context is not None and context.record_rows > 0:
            if context.record_enhanced:
                self._record(context, rois, pre_relu)
            else:  # embed only the rows that are kept
                first = self._first_rows(rois, context.record_rows)
                self._record(context, rois[first], self.bbox_head.embed_references(bbox_feats[first]))
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)

    @staticmethod
    def _first_rows(rois: Tensor, num: int) -> Tensor:
        """(R,) mask of the first ``num`` rows of each image in (R, 5) rois grouped by image."""
        image = rois[:, 0].long()
        counts = image.bincount()
        starts = counts.cumsum(0) - counts
        return torch.arange(len(rois), device=rois.device) - starts[image] < num

    @staticmethod
    def _record(context: InstanceKeys, rois: Tensor, per_level: List[Tensor]) -> None:
        """Keeps the first K rows of each image from per-level (R, C) features."""
        counts = rois[:, 0].long().bincount(minlength=len(context.recorded)).tolist()
        for image, level_rows in enumerate(zip(*(rows.split(counts) for rows in per_level))):
            context.recorded[image] = [rows[:context.record_rows] for rows in level_rows]
