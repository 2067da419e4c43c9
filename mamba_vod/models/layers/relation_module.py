"""Relation module with box geometry, as MEGA and RDN compute it (mega.pytorch,
``mega_core/modeling/roi_heads/box_head/roi_box_feature_extractors.py``: ``AttentionExtractor`` and
``MEGAFeatureExtractor.attention_module_multi_head``; Relation Networks, Hu et al., CVPR 2018).

Shape shorthand: Nq queries, Nk keys (proposal features), C channels, G groups, d = C / G, E dims of
the geometry embedding (64).

For group g (channels g*d .. g*d+d-1), query i and key j:
    q = Wq(query), k = Wk(keys);
    logit_gij = (q_ig + u_g) . k_jg / sqrt(d)            u: learned key bias (MEGA; RDN has none)
              + log(ReLU(Wg(e_ij))_g + 1e-6)            e_ij: box_geometry_embedding (local stages only)
    A_g = softmax over the keys j of logit_g;
    head_g = A_g keys (the raw keys, all C channels); the G heads side by side through Wv, a 1x1 conv
    with G groups (group g writes channels g*d ..); output query + Wv(heads) (the residual MEGA's
    caller adds). The location-free form (MEGA's global stages) has no Wg and no geometry term.
As in GEO (DESIGN.md s.4) each row of A_g sums to one, so Wv folds into per-group values of d dims,
``keys @ Wv_g^T``, and u into the queries; the location-free form is then plain scaled dot-product
attention (:func:`mamba_vod.ops.geo_attention`), the local form the same with an additive bias.
No keys (Nk = 0): the weighted sums are 0 and the output is query + Wv's bias, as mega.pytorch's
formula gives.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mamba_vod.ops import geo_attention
from mamba_vod.registry import MODELS

#: added to the geometry weight before its log: the only guard against log(0) in mega.pytorch
GEOMETRY_EPS = 1e-6


def relative_box_geometry(boxes_q: Tensor, boxes_k: Tensor, box_offset: float = 1.0) -> Tensor:
    """The position of each key box relative to each query box, (Nq, Nk, 4).

    Boxes (N, 4) are x1, y1, x2, y2; width ``x2 - x1 + box_offset`` (maskrcnn-benchmark's +1, as
    mega.pytorch; 0 for continuous boxes), centre ``(x1 + x2) / 2``. For query i and key j:
    ``log(|cx_i - cx_j| / w_i + 1e-3)``, ``log(|cy_i - cy_j| / h_i + 1e-3)``, ``log(w_i / w_j)``,
    ``log(h_i / h_j)``: offsets in units of the query's size.
    """
    def sizes_and_centres(boxes: Tensor):
        x1, y1, x2, y2 = boxes.unbind(-1)
        return x2 - x1 + box_offset, y2 - y1 + box_offset, (x1 + x2) / 2, (y1 + y2) / 2

    w_q, h_q, cx_q, cy_q = (t[:, None] for t in sizes_and_centres(boxes_q))  # (Nq, 1)
    w_k, h_k, cx_k, cy_k = (t[None] for t in sizes_and_centres(boxes_k))  # (1, Nk)
    return torch.stack([((cx_q - cx_k).abs() / w_q + 1e-3).log(), ((cy_q - cy_k).abs() / h_q + 1e-3).log(),
                        (w_q / w_k).log(), (h_q / h_k).log()], dim=-1)


def box_geometry_embedding(boxes_q: Tensor, boxes_k: Tensor, dim: int = 64, wave_length: float = 1000.0,
                           box_offset: float = 1.0) -> Tensor:
    """Sinusoidal embedding (Nq, Nk, dim) of :func:`relative_box_geometry` (Relation Networks).

    Each of the 4 coordinates c (order dx, dy, dw, dh) gives dim/4 values: ``sin(100 c / wave_length
    ** (8 r / dim))`` for r = 0 .. dim/8 - 1, then the cosines of the same angles.
    """
    if dim <= 0 or dim % 8:
        raise ValueError(f'box_geometry_embedding: dim must be a positive multiple of 8, got {dim}')
    position = relative_box_geometry(boxes_q, boxes_k, box_offset) * 100.0  # (Nq, Nk, 4)
    exponent = torch.arange(dim // 8, dtype=position.dtype, device=position.device) * (8.0 / dim)
    angles = position.unsqueeze(-1) / wave_length ** exponent  # (Nq, Nk, 4, dim/8)
    return torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(2)  # per coordinate: sines, cosines


@MODELS.register_module()
class RelationModule(nn.Module):
    """Grouped attention of proposal features over reference proposals, with box geometry
    (module docstring), and the residual.

    Args:
        channels: C (mega.pytorch: 1024).
        num_groups: G; C must be divisible by it (16).
        geometry_dim: E, the size of the geometry embedding (64); None for the location-free form.
        key_bias: the learned key bias u (MEGA: True; RDN: False).

    Parameters, each the shape of its mega.pytorch counterpart (``l_Wqs.i`` / ``g_Wqs.i`` /
    RDN's ``Wqs.i`` -> ``Wq``, and so on, ``l_us.i`` -> ``u``): ``Wq``, ``Wk`` (Linear C->C), ``Wv``
    (Conv2d(G*C, C, 1, groups=G)), ``Wg`` (Conv2d(E, G, 1), geometry only), ``u`` (G, 1, d), key bias only.
    Initialised as mega.pytorch: Wq, Wk kaiming-uniform (a=1) with zero bias; Wg, Wv, u N(0, 0.01),
    zero biases.
    """

    def __init__(self, channels: int = 1024, *, num_groups: int = 16, geometry_dim: Optional[int] = 64,
                 key_bias: bool = True) -> None:
        super().__init__()
        if channels <= 0 or num_groups <= 0 or channels % num_groups:
            raise ValueError(f'RelationModule: channels ({channels}) must be a positive multiple of num_groups '
                             f'({num_groups})')
        self.channels, self.num_groups, self.geometry_dim = channels, num_groups, geometry_dim
        self.Wq = nn.Linear(channels, channels)
        self.Wk = nn.Linear(channels, channels)
        self.Wv = nn.Conv2d(num_groups * channels, channels, 1, groups=num_groups)
        self.Wg = nn.Conv2d(geometry_dim, num_groups, 1) if geometry_dim is not None else None
        self.u = nn.Parameter(torch.empty(num_groups, 1, channels // num_groups)) if key_bias else None
        self.init_weights()

    def init_weights(self) -> None:
        """mega.pytorch's initialisation (class docstring)."""
        for linear in (self.Wq, self.Wk):
            nn.init.kaiming_uniform_(linear.weight, a=1)
            nn.init.zeros_(linear.bias)
        for conv in (self.Wv, self.Wg):
            if conv is not None:
                nn.init.normal_(conv.weight, std=0.01)
                nn.init.zeros_(conv.bias)
        if self.u is not None:
            nn.init.normal_(self.u, std=0.01)

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, num_groups={self.num_groups}, geometry_dim={self.geometry_dim}, '
                f'key_bias={self.u is not None}')

    def forward(self, query: Tensor, keys: Tensor, geometry: Optional[Tensor] = None) -> Tensor:
        """Enhance ``query`` (Nq, C) with ``keys`` (Nk, C).

        Args:
            geometry: (Nq, Nk, E) :func:`box_geometry_embedding` of the query boxes against the key
                boxes; required with ``geometry_dim``, refused without.

        Returns:
            (Nq, C): query + relation.
        """
        self._check(query, keys, geometry)
        merged = query.new_zeros(query.shape)  # no keys: every weighted sum is 0
        if keys.shape[0]:
            q = self.Wq(query) + (0 if self.u is None else self.u.flatten())  # u_g on channels g*d ..
            values = F.linear(keys, self.Wv.weight.flatten(1))  # (Nk, C): group g's rows are keys @ Wv_g^T
            heads = [self._split_groups(t) for t in (q, self.Wk(keys), values)]  # (1, G, N, d)
            if geometry is None:
                attended = geo_attention(*heads)
            else:  # PyTorch's attention adds a float mask to the scaled scores
                attended = F.scaled_dot_product_attention(*heads, attn_mask=self.geometry_logits(geometry))
            merged = attended[0].transpose(0, 1).reshape(query.shape)  # (G, Nq, d) -> (Nq, C), group order
        return query + merged + self.Wv.bias

    def geometry_logits(self, geometry: Tensor) -> Tensor:
        """log(ReLU(Wg(e)) + 1e-6) of an embedding (Nq, Nk, E), as (1, G, Nq, Nk)."""
        weight = F.relu(F.linear(geometry, self.Wg.weight.flatten(1), self.Wg.bias))  # the 1x1 conv per (i, j)
        return (weight + GEOMETRY_EPS).log().permute(2, 0, 1).unsqueeze(0)

    def _split_groups(self, x: Tensor) -> Tensor:
        """(N, G*d) -> (1, G, N, d)."""
        return x.unflatten(1, (self.num_groups, self.channels // self.num_groups)).transpose(0, 1).unsqueeze(0)

    def _check(self, query: Tensor, keys: Tensor, geometry: Optional[Tensor]) -> None:
        """Raises ValueError for inputs of the wrong shape or a geometry the form does not take."""
        if query.dim() != 2 or keys.dim() != 2 or query.shape[1] != self.channels or keys.shape[1] != self.channels:
            raise ValueError(f'RelationModule: expected query (Nq, {self.channels}) and keys (Nk, {self.channels}), '
                             f'got {tuple(query.shape)} and {tuple(keys.shape)}')
        if (geometry is None) != (self.geometry_dim is None):
            raise ValueError('RelationModule: a geometry embedding is required with geometry_dim and refused '
                             f'without (geometry_dim={self.geometry_dim})')
        if geometry is not None and geometry.shape != (query.shape[0], keys.shape[0], self.geometry_dim):
            raise ValueError(f'RelationModule: geometry must be (Nq, Nk, E) = ({query.shape[0]}, {keys.shape[0]}, '
                             f'{self.geometry_dim}), got {tuple(geometry.shape)}')
