"""RoIAlign on the res5 map computed from the C4 map: the box features of mega.pytorch's R-C4
models (their res5 ``head`` runs on the whole stride-16 map, with dilation 2, before pooling).

Shape shorthand: B images, C4 = 1024 channels of the stride-16 map, C5 = 2048 after res5, R RoIs.
"""
from typing import Optional, Tuple

import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from torch import Tensor, nn

from mamba_vod.registry import MODELS


@MODELS.register_module()
class Res5RoIExtractor(SingleRoIExtractor):
    """res5 on the whole C4 map (B, C4, h, w) -> (B, C5, h, w) (mmdet's ``ResLayer``, stage 3,
    stride 1, dilation 2), an optional 1x1 conv + ReLU to ``reduce_channels`` (mega.pytorch's
    R-50 ``REDUCE_CHANNEL``: 256), then :class:`SingleRoIExtractor` on that map: (R, C, 7, 7).

    Args:
        res_layer: an mmdet ``ResLayer`` config (``depth``, ``stage=3``, ``stride=1``,
            ``dilation=2``, ``style``, ``norm_cfg``, ``init_cfg``).
        reduce_channels: output channels of the reduce conv, or None (R-101: none).
        **kwargs: :class:`SingleRoIExtractor`'s (one level: ``featmap_strides=[16]``).
    """

    def __init__(self, *, res_layer: dict, reduce_channels: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if len(self.featmap_strides) != 1:
            raise ValueError(f'Res5RoIExtractor reads one map, got featmap_strides={self.featmap_strides}')
        self.res5 = MODELS.build(dict(res_layer))
        expansion_channels = 2048  # res5 of every ResNet-50/101/152
        self.reduce = nn.Conv2d(expansion_channels, reduce_channels, 1) if reduce_channels else None

    def forward(self, feats: Tuple[Tensor], rois: Tensor, roi_scale_factor: Optional[float] = None) -> Tensor:
        x = self.res5(feats[0])
        if self.reduce is not None:
            x = torch.relu(self.reduce(x))
        return super().forward((x, ), rois, roi_scale_factor)
