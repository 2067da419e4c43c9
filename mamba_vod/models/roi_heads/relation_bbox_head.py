"""Box head (and its RoI head) whose shared FCs interleave with MEGA's / RDN's relation stages.

Shape shorthand: R RoIs, Cin x 7 x 7 a RoI feature, C channels of the FCs (1024), S shared FCs.
"""
from typing import List, Optional, Tuple

import torch
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from torch import Tensor

from mamba_vod.registry import MODELS

from ..levels.relation_level import RelationBatchKeys
from .mamba_roi_head import MAMBARoIHead


@MODELS.register_module()
class RelationBBoxHead(ConvFCBBoxHead):
    """:class:`ConvFCBBoxHead` with S shared FCs (fc6 = ``shared_fcs[0]``) whose rows, given
    relation keys, go through the relation stages of a
    :class:`~mamba_vod.models.levels.RelationLevel` between the FCs (its docstring has the
    formulas); without keys it computes exactly :class:`ConvFCBBoxHead`, with the same parameters.

    Call chain: ``forward(x, instance_keys, rois) -> (cls_score, bbox_pred)``; the RoIs (R, 5)
    come as the third argument (:class:`RelationRoIHead` passes them where
    :class:`MAMBARoIHead` passes their image indices), since the geometry terms read the boxes.
    :meth:`embed` gives ReLU(fc6) rows, what a frame keeps for the window, memory and global pool.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.num_shared_convs or self.num_cls_convs or self.num_cls_fcs or self.num_reg_convs or self.num_reg_fcs:
            raise ValueError('RelationBBoxHead supports shared FCs only (no shared convs, no separate cls/reg '
                             'branches)')
        if self.num_shared_fcs < 1:
            raise ValueError('RelationBBoxHead needs at least one shared FC (fc6)')

    def embed(self, x: Tensor, instance_keys: Optional[RelationBatchKeys] = None,
              roi_img_ids: Optional[Tensor] = None) -> List[Tensor]:
        """[(R, C) ReLU(fc6(x))] of RoI features x (R, Cin, 7, 7)."""
        return [torch.relu(self.shared_fcs[0](x.flatten(1)))]

    def forward(self, x: Tensor, instance_keys: Optional[RelationBatchKeys] = None,
                rois: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """cls_score (R, num_classes + 1) and bbox_pred (R, 4 * num_classes) of RoI features x
        (R, Cin, 7, 7), grouped by image in image order.

        Args:
            instance_keys: the relation keys of each image, or None (the plain head).
            rois: (R, 5) image index, x1, y1, x2, y2 of each RoI; required with keys.
        """
        if instance_keys is None:
            return super().forward(x)
        if rois is None or tuple(rois.shape) != (x.shape[0], 5):
            got = None if rois is None else tuple(rois.shape)
            raise ValueError(f'RelationBBoxHead with relation keys needs the RoIs ({x.shape[0]}, 5) as its third '
                             f'argument (image index, x1, y1, x2, y2), got {got}')
        rows = instance_keys.enhance(self.embed(x)[0], rois, self.shared_fcs)
        return self.fc_cls(rows), self.fc_reg(rows)


@MODELS.register_module()
class RelationRoIHead(MAMBARoIHead):
    """:class:`MAMBARoIHead` that hands its box head the RoIs (R, 5), boxes included, beside the
    relation keys (the geometry terms read them); without keys exactly StandardRoIHead's box
    branch."""

    def _box_head_rois(self, rois: Tensor) -> Tensor:
        return rois
