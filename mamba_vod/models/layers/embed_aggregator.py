"""FGFA's aggregation of warped feature maps by embedding similarity (Zhu et al., 2017).

Shape shorthand: T frames aggregated (references, warped to the current frame), C channels,
h x w the feature map.

As mmtracking's ``EmbedAggregator`` (``mmtrack/models/aggregators/embed_aggregator.py``): an
embedding ``E`` of ``num_convs`` kxk convs (C -> C, ``embed_convs.{i}.conv``; norm and activation
after every conv but the last, so FGFA's single conv is a plain 3x3 conv with bias) is applied to
the current map x and to each reference map r_t. At every pixel p,

    w_t(p) = softmax over t of cos(E(r_t)(p), E(x)(p)),    out(p) = sum_t w_t(p) r_t(p),

a weighted sum of the *un-embedded* references, with no temperature. x itself is aggregated only
if the caller puts it among the references (mmtracking does at test time, not in training).

Zero embeddings: mmtracking divides each embedding by its norm without an epsilon, so a pixel
whose embedding is all zero (a blank or padded region after a ReLU and a zero bias) gives
0 / 0 = NaN, which spreads to the detections. Here the norm is clamped at ``eps`` (1e-12, as
``F.normalize``): wherever mmtracking's result is finite the two agree (to rounding), and a zero
embedding has cosine 0 with everything instead of NaN.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from mamba_vod.registry import MODELS

#: the smallest embedding norm divided by (see the module docstring)
NORM_EPS = 1e-12


@MODELS.register_module()
class EmbedAggregator(BaseModule):
    """Per-pixel softmax over frames of the embedding cosine similarity; reads x and ref_x, keeps no state.

    Args:
        num_convs: convs in the embedding (FGFA: 1).
        channels: C, of the maps and of every embedding conv (FGFA: 512; mmtracking's default 256).
        kernel_size: of each embedding conv (padding keeps the size).
        norm_cfg: norm after every embedding conv but the last (mmcv config).
        act_cfg: activation after every embedding conv but the last.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, *, num_convs: int = 1, channels: int = 256, kernel_size: int = 3,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if num_convs < 1:
            raise ValueError(f'EmbedAggregator needs at least one embedding conv; got num_convs={num_convs}')
        last = num_convs - 1
        self.embed_convs = nn.ModuleList(
            ConvModule(channels, channels, kernel_size, padding=(kernel_size - 1) // 2,
                       norm_cfg=None if i == last else norm_cfg, act_cfg=None if i == last else act_cfg)
            for i in range(num_convs))

    def embed(self, maps: torch.Tensor) -> torch.Tensor:
        """Unit-length embeddings (N, C, h, w) of maps (N, C, h, w) (zero where the embedding is zero)."""
        for conv in self.embed_convs:
            maps = conv(maps)
        return F.normalize(maps, dim=1, eps=NORM_EPS)

    def frame_weights(self, x: torch.Tensor, ref_x: torch.Tensor) -> torch.Tensor:
        """w (T, 1, h, w): per pixel, the softmax over the T references of their cosine with x (1, C, h, w)."""
        _check(x, ref_x)
        cosine = (self.embed(ref_x) * self.embed(x)).sum(dim=1, keepdim=True)  # (T, 1, h, w); x broadcasts
        return cosine.softmax(dim=0)

    def forward(self, x: torch.Tensor, ref_x: torch.Tensor) -> torch.Tensor:
        """The current map x (1, C, h, w) and references ref_x (T, C, h, w): (1, C, h, w)."""
        return (self.frame_weights(x, ref_x) * ref_x).sum(dim=0, keepdim=True)

    def forward_literal(self, x: torch.Tensor, ref_x: torch.Tensor) -> torch.Tensor:
        """The reference: :meth:`forward` computed from the formula, frame by frame, pixel sums by hand.

        Run it in float64 to check :meth:`forward`; it is slow and meant for tests only.
        """
        _check(x, ref_x)

        def embedding(maps):  # the raw embedding (N, C, h, w) and its norm (N, 1, h, w), floored at eps
            for conv in self.embed_convs:
                maps = conv(maps)
            return maps, torch.sqrt((maps * maps).sum(dim=1, keepdim=True)).clamp_min(NORM_EPS)

        key, key_norm = embedding(x)
        cosines = []
        for ref in ref_x:
            ref_embed, ref_norm = embedding(ref[None])
            cosines.append((ref_embed * key).sum(dim=1, keepdim=True) / (ref_norm * key_norm))
        top = torch.stack(cosines).max(dim=0).values  # (1, 1, h, w): subtracted for a stable exp
        exps = [torch.exp(cosine - top) for cosine in cosines]
        total = sum(exps)
        return sum(e / total * ref[None] for e, ref in zip(exps, ref_x))


def _check(x: torch.Tensor, ref_x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f'EmbedAggregator takes one current map x (1, C, h, w); got {tuple(x.shape)}')
    if ref_x.dim() != 4 or ref_x.shape[0] < 1 or ref_x.shape[1:] != x.shape[1:]:
        raise ValueError(f'ref_x must be (T, C, h, w) with T >= 1 and the C, h, w of x {tuple(x.shape)}; '
                         f'got {tuple(ref_x.shape)}')
