"""Temporal RoI Align (Gong et al., AAAI 2021), as mmtracking's ``TemporalRoIAlign`` computes it
(``mmtrack/models/roi_heads/roi_extractors/temporal_roi_align.py``).

Shape shorthand: R RoIs, C channels, S bins per side (7), T reference maps of h x w pixels, K most
similar points, G temporal attention heads of d = C / G channels, F = T + 1 frames (key + references).

For the key frame's RoIs, with the reference maps given:
1. RoIAlign: the key frame's bin features, (R, C, S, S) (mmdet's ``SingleRoIExtractor``).
2. Most similar RoI Align (:func:`most_similar_roi_align`): per bin and reference map, the K pixels
   whose features are most cosine-similar to the bin feature; their raw features weighted by the
   softmax of those K cosines: (T, R, C, S, S).
3. TAFA (:meth:`TemporalRoIAlign.temporal_attention`): the F frames' features of each RoI
   ([own, T most similar]) embedded by ``embed_network`` (a 3x3 conv over the S x S patch); per bin
   and per group of d channels the key's embedding attends to the F embeddings (scaled dot product,
   softmax over frames) and takes the weighted sum of the raw features: (R, C, S, S). With G = 0 the
   F frames are averaged instead.
Reference RoIs (no reference maps given) get plain RoIAlign.

One difference from mmtracking: the cosine normalises with ``F.normalize`` (norm floored at 1e-12),
so an all-zero pixel or bin (possible after ChannelMapper's ReLU) has similarity 0 instead of NaN;
every other input gives the same numbers.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from torch import Tensor

from mamba_vod.ops import geo_attention
from mamba_vod.registry import MODELS


def most_similar_roi_align(bins: Tensor, ref_map: Tensor, num_points: int) -> Tensor:
    """Per bin, the softmax-weighted sum of the ``num_points`` most similar pixels of each reference map.

    Args:
        bins: (R, C, S, S) RoI bin features of the key frame.
        ref_map: (T, C, h, w) reference feature maps.
        num_points: K; at most h*w are taken.

    Returns:
        (T, R, C, S, S): for bin b and map t, sum_k softmax_k(cos_k) * p_k over the K pixels p_k of
        map t with the highest cosine similarity cos_k to b (raw, unnormalised pixel features).
    """
    num_rois, channels, size_y, size_x = bins.shape
    num_maps = ref_map.shape[0]
    queries = F.normalize(bins.permute(0, 2, 3, 1).reshape(-1, channels), dim=1)  # (R*S*S, C), bins in row order
    pixels = ref_map.flatten(2).transpose(1, 2)  # (T, h*w, C)
    cosine = queries @ F.normalize(pixels, dim=2).transpose(1, 2)  # (T, R*S*S, h*w)
    top, index = cosine.topk(min(num_points, pixels.shape[1]), dim=2)  # (T, R*S*S, K)
    points = pixels[torch.arange(num_maps, device=ref_map.device)[:, None, None], index]  # (T, R*S*S, K, C)
    weighted = torch.einsum('tbk,tbkc->tbc', top.softmax(dim=2), points)  # (T, R*S*S, C)
    return weighted.view(num_maps, num_rois, size_y, size_x, channels).permute(0, 1, 4, 2, 3)


@MODELS.register_module()
class TemporalRoIAlign(SingleRoIExtractor):
    """RoIAlign of the key frame's RoIs enriched from reference maps (module docstring).

    Args:
        num_most_similar_points: K, pixels taken per bin and reference map (mmtracking: 2).
        num_temporal_attention_blocks: G, heads of the attention across frames (mmtracking: 4);
            0 averages the frames instead (and builds no ``embed_network``).
        **kwargs: mmdet's ``SingleRoIExtractor`` arguments (``roi_layer``, ``out_channels``,
            ``featmap_strides``, ...).

    Parameters: ``embed_network.conv`` (Conv2d(C, C, 3, padding=1) with bias), named as mmtracking's.
    """

    def __init__(self, *, num_most_similar_points: int = 2, num_temporal_attention_blocks: int = 4,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if num_most_similar_points < 1:
            raise ValueError(f'TemporalRoIAlign: num_most_similar_points must be >= 1, got {num_most_similar_points}')
        heads = num_temporal_attention_blocks
        if heads > 0 and self.out_channels % heads:
            raise ValueError(f'TemporalRoIAlign: out_channels ({self.out_channels}) must be a multiple of '
                             f'num_temporal_attention_blocks ({heads})')
        self.num_most_similar_points = num_most_similar_points
        self.num_temporal_attention_blocks = heads
        if heads > 0:
            self.embed_network = ConvModule(self.out_channels, self.out_channels, 3, padding=1, norm_cfg=None,
                                            act_cfg=None)

    def forward(self, feats: Sequence[Tensor], rois: Tensor, roi_scale_factor: Optional[float] = None,
                ref_feats: Optional[Sequence[Tensor]] = None) -> Tensor:
        """RoI features of the key frame.

        Args:
            feats: the key frame's levels; the last, (1, C, h, w), is what a single level reads.
            rois: (R, 5) batch index, x1, y1, x2, y2 in input pixels.
            roi_scale_factor: as ``SingleRoIExtractor``.
            ref_feats: the reference frames' levels; only the last, (T, C, h, w), is read. None for
                reference RoIs: plain RoIAlign.

        Returns:
            (R, C, S, S).
        """
        roi_feats = super().forward(tuple(feats), rois, roi_scale_factor)  # (R, C, S, S)
        if ref_feats is None or roi_feats.shape[0] == 0:  # no RoIs: nothing to enrich
            return roi_feats
        similar = most_similar_roi_align(roi_feats, ref_feats[-1], self.num_most_similar_points)
        frames = torch.cat([roi_feats.unsqueeze(0), similar])  # (F, R, C, S, S), the key frame first
        if self.num_temporal_attention_blocks <= 0:
            return frames.mean(0)
        return self.temporal_attention(frames)

    def temporal_attention(self, frames: Tensor) -> Tensor:
        """TAFA: frames (F, R, C, S, S), the key frame's own first -> (R, C, S, S).

        Per RoI, bin and head g (channels g*d .. g*d+d-1): one query, the key frame's embedding; F
        keys, the frames' embeddings; F values, the frames' raw features; scale 1/sqrt(d).
        """
        num_frames, num_rois, channels, size_y, size_x = frames.shape
        heads = self.num_temporal_attention_blocks
        embedded = self.embed_network(frames.flatten(0, 1)).view(frames.shape)  # conv per (frame, RoI) patch

        def per_bin(x: Tensor) -> Tensor:
            """(F', R, C, S, S) -> (R*S*S, G, F', d): a batch row per bin, the frames as the sequence."""
            grouped = x.unflatten(2, (heads, channels // heads))  # (F', R, G, d, S, S)
            return grouped.permute(1, 4, 5, 2, 0, 3).flatten(0, 2)

        out = geo_attention(per_bin(embedded[:1]), per_bin(embedded), per_bin(frames))  # (R*S*S, G, 1, d)
        out = out.reshape(num_rois, size_y, size_x, channels)  # heads side by side: channel g*d + j
        return out.permute(0, 3, 1, 2).contiguous()
