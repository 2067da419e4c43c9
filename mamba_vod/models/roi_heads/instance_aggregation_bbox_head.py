"""Box head that takes instance keys as an argument, between its shared FCs.

Shape shorthand: R RoIs, Cin x 7 x 7 a RoI feature, C channels of the FCs (1024).
"""
from typing import List, Optional, Tuple

import torch
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels.instance_keys import InstanceKeys


@MODELS.register_module()
class InstanceAggregationBBoxHead(ConvFCBBoxHead):
    """mmdet's ``Shared2FCBBoxHead`` (L = ``num_shared_fcs`` shared FCs, 2 by default; Temporal
    RoI Align has 3) whose features are enhanced by instance keys after each shared FC.

    For level i (fc_i = ``shared_fcs[i]``), as the keys' ``composition`` says
    (:mod:`mamba_vod.models.levels.instance_keys`)::

        release:  a_i = fc_i(x_i);        y_i = a_i + GEO_i(a_i, R_i);  x_{i+1} = ReLU(y_i)
        paper:    a_i = ReLU(fc_i(x_i));  y_i = a_i + GEO_i(a_i, R_i);  x_{i+1} = y_i
        cls_score = fc_cls(x_L);  bbox_pred = fc_reg(x_L)

    (the residual is part of the GEO). The GEOs and the keys R_i come with the
    :class:`InstanceKeys` argument; without it the head computes exactly ``Shared2FCBBoxHead``
    (``ConvFCBBoxHead`` with L shared FCs), and it has the same parameters.

    Call chain: ``forward(x, instance_keys, roi_img_ids) -> (cls_score, bbox_pred)``;
    :meth:`embed` gives the y_i (a_i for an image without keys), the rows of the instance
    memories: pre-ReLU in the release composition, after the ReLU in the paper's.
    """

    def __init__(self, *, num_shared_fcs: int = 2, fc_out_channels: int = 1024, **kwargs) -> None:
        if any(kwargs.get(f'num_{part}') for part in ('shared_convs', 'cls_convs', 'cls_fcs', 'reg_convs', 'reg_fcs')):
            raise ValueError('InstanceAggregationBBoxHead supports shared FCs only (no shared convs, no separate '
                             'cls/reg branches)')
        if num_shared_fcs < 1:
            raise ValueError(f'InstanceAggregationBBoxHead needs num_shared_fcs >= 1, got {num_shared_fcs}')
        super().__init__(**{**kwargs, **dict(num_shared_convs=0, num_shared_fcs=num_shared_fcs, num_cls_convs=0,
                                             num_cls_fcs=0, num_reg_convs=0, num_reg_fcs=0,
                                             fc_out_channels=fc_out_channels)})

    def embed(self, x: Tensor, instance_keys: Optional[InstanceKeys] = None,
              roi_img_ids: Optional[Tensor] = None) -> List[Tensor]:
        """The features y_i (R, C) of every FC level (see the class docstring).

        Args:
            x: (R, Cin, 7, 7) RoI features, grouped by image in image order.
            instance_keys: the keys of the RoIs' images, or None (no aggregation, the release
                composition: y_i = a_i = fc_i(x_i)).
            roi_img_ids: (R,) image index of each RoI (``rois[:, 0]``).
        """
        return self._levels(x, instance_keys, roi_img_ids)[0]

    def forward(self, x: Tensor, instance_keys: Optional[InstanceKeys] = None,
                roi_img_ids: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """cls_score (R, num_classes + 1) and bbox_pred (R, 4 * num_classes); arguments as :meth:`embed`."""
        x = self._levels(x, instance_keys, roi_img_ids)[1]
        return self.fc_cls(x), self.fc_reg(x)

    def _levels(self, x: Tensor, instance_keys: Optional[InstanceKeys],
                roi_img_ids: Optional[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """The y_i of every FC level and x_L, the input (R, C) of the classifier and regressor."""
        relu_first = instance_keys is not None and instance_keys.relu_first
        x = x.flatten(1)
        rows = []
        for level, fc in enumerate(self.shared_fcs):
            y = torch.relu(fc(x)) if relu_first else fc(x)
            if instance_keys is not None:
                y = instance_keys.enhance(level, y, roi_img_ids)
            rows.append(y)
            x = y if relu_first else torch.relu(y)
        return rows, x
