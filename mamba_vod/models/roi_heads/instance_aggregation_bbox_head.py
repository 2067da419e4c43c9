"""Box head with instance-level aggregation between its shared FCs.

Shape shorthand: R RoIs, Cin x 7 x 7 a RoI feature, C channels of the FCs
(1024), k_i keys of level i, B images.
"""
import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from torch import Tensor, nn

from mamba_vod.registry import MODELS

# keys of one image: one (k_i, C) tensor per shared FC, or None (no aggregation for that image)
ImageKeys = Optional[Sequence[Tensor]]


@MODELS.register_module()
class InstanceAggregationBBoxHead(Shared2FCBBoxHead):
    """:class:`Shared2FCBBoxHead` with one aggregator (a GEO) after each shared FC.

    For level i (fc_i = ``shared_fcs[i]``)::

        a_i = fc_i(x_i);  y_i = a_i + Agg_i(a_i, R_i);  x_{i+1} = ReLU(y_i)
        cls_score = fc_cls(x_2);  bbox_pred = fc_reg(x_2)

    (the residual is part of the GEO and sits before the ReLU). With
    ``aggregator=None``, or without keys, it computes exactly
    :class:`Shared2FCBBoxHead`.

    Call chain: ``forward(x, keys, roi_img_ids) -> (cls_score, bbox_pred, [y_i])``;
    :meth:`embed_references` gives the keys of reference RoIs (the FCs without
    aggregation, pre-ReLU r_i).

    Args:
        aggregator: config of the aggregator (e.g. ``dict(type='GEO',
            channels=1024, num_heads=16)``), built once per shared FC into
            ``aggregators``; None for a plain box head.
        **kwargs: arguments of :class:`Shared2FCBBoxHead`.
    """

    def __init__(self, *, aggregator: Optional[dict] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.aggregators = None
        if aggregator is not None:
            self.aggregators = nn.ModuleList(
                MODELS.build(copy.deepcopy(aggregator)) for _ in range(self.num_shared_fcs))

    @property
    def with_aggregation(self) -> bool:
        return self.aggregators is not None

    def embed_references(self, x: Tensor) -> List[Tensor]:
        """Keys of reference RoIs: [r_0 = fc_0(x), r_1 = fc_1(ReLU(r_0))], each (R, C).

        Args:
            x: (R, Cin, 7, 7) RoI features.
        """
        x = x.flatten(1)
        embedded = []
        for fc in self.shared_fcs:
            a = fc(x)
            embedded.append(a)
            x = torch.relu(a)
        return embedded

    def forward(self, x: Tensor, keys: Optional[Sequence[ImageKeys]] = None,
                roi_img_ids: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, List[Tensor]]:
        """Scores and box deltas of R RoIs, enhanced by the keys of their images.

        Args:
            x: (R, Cin, 7, 7) RoI features, grouped by image in image order.
            keys: per image, one (k_i, C) tensor per level, or None; None (or no
                aggregators) for no aggregation.
            roi_img_ids: (R,) image index of each RoI (``rois[:, 0]``); may be
                None with a single image.

        Returns:
            cls_score (R, num_classes + 1), bbox_pred (R, 4 * num_classes), and
            the pre-ReLU y_i (R, C) of each level.
        """
        x = x.flatten(1)
        pre_relu = []
        for level, fc in enumerate(self.shared_fcs):
            y = fc(x)
            if self.with_aggregation and keys is not None:
                y = self._aggregate(level, y, keys, roi_img_ids)
            pre_relu.append(y)
            x = torch.relu(y)
        return self.fc_cls(x), self.fc_reg(x), pre_relu

    def _aggregate(self, level: int, y: Tensor, keys: Sequence[ImageKeys], roi_img_ids: Optional[Tensor]) -> Tensor:
        """Applies aggregator ``level`` to each image's rows with that image's keys."""
        aggregator = self.aggregators[level]
        if len(keys) == 1:
            return y if keys[0] is None else aggregator(y, keys[0][level])
        if roi_img_ids is None:
            raise ValueError('InstanceAggregationBBoxHead needs roi_img_ids (rois[:, 0]) with keys of several images')
        counts = torch.bincount(roi_img_ids.long(), minlength=len(keys)).tolist()
        if len(counts) != len(keys):
            raise ValueError(f'RoIs of {len(counts)} images but keys of {len(keys)}')
        parts = y.split(counts)  # rows are grouped by image (bbox2roi order)
        return torch.cat([
            part if image_keys is None or part.shape[0] == 0 else aggregator(part, image_keys[level])
            for part, image_keys in zip(parts, keys)
        ])
