"""GEO, the generalized enhancement operation of MAMBA: queries attend to memory keys (DESIGN.md s.4).

Shape shorthand: B batch, Nq queries (pixels or proposals), Nk keys (sampled memory), C channels,
H heads, d = C / H head dim.

Paper form (``value_projection=False``): ``q = query_proj(Q)``, ``k = key_proj(K)``, split into H
heads of d; ``A_h = softmax(q_h k_h^T / sqrt(d))``; ``head_h = A_h K`` uses the raw keys (all C
dims) as values; the H heads are concatenated to H*C channels and mapped back to C by
``group_conv``, a 1x1 conv with H groups; the output is ``Q + group_conv(concat)``. Each row of
``A_h`` sums to one, so ``W_h (A_h K) + b_h = A_h (K W_h^T) + b_h``: the conv folds into per-head
values of d dims, and GEO becomes ordinary multi-head attention (what :meth:`GEO.forward` runs).
:meth:`GEO.forward_literal` computes the formula as written, as a reference.

SELSA form (``value_projection=True``, the authors' released aggregator): values are
``value_proj(K)`` split into heads of d, the merged heads go through ``output_proj``; output
``Q + output_proj(concat)``.

Cosine similarity (``similarity='cosine'``): each head's q_h and k_h are scaled to unit length and
``A_h = softmax(s_h cos(q_h, k_h))`` with a learned per-head scale s_h (stored as its log,
starting at ``cosine_scale``, at most 100), as in Swin Transformer V2's scaled cosine attention.
With the dot product, q_h k_h / sqrt(d) of randomly initialised projections of similar features
is small, the attention nearly uniform, and GEO a broadcast of the keys' mean; a large scale lets
the most similar keys dominate, and with ``query_key_init='identity'`` the similarity is at first
that of the features themselves (docs/benchmarks.md, "Selective attention").

Keys projected once (inference over a memory): :meth:`GEO.project_keys` gives a key row's
projections (k, folded v); a memory keeps them beside the row, and :meth:`GEO.forward` takes
them as :class:`ProjectedKeys` instead of raw keys, so a frame projects only its queries. With
an ``index`` the key set is those slots of the memory's projection rows, read by
:func:`mamba_vod.ops.geo_attention_gather` without copying the key set out first (a fused
kernel with ``backend='triton'``).
"""
import math
from typing import NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from mamba_vod.ops import BACKENDS, geo_attention, geo_attention_gather
from mamba_vod.registry import MODELS

#: how a GEO compares queries with keys: scaled dot product (the paper) or scaled cosine
SIMILARITIES = ('dot', 'cosine')
#: the largest scale of cosine similarities (a scale that grows without bound saturates softmax)
MAX_COSINE_SCALE = 100.0


class ProjectedKeys(NamedTuple):
    """Keys already through a GEO's key and value projections (:meth:`GEO.project_keys`).

    keys (M, C) and values (M, C) rows; ``index`` (Nk,) the slots that form the key set, or None
    for all M rows.
    """
    keys: torch.Tensor
    values: torch.Tensor
    index: Optional[torch.Tensor] = None


@MODELS.register_module()
class GEO(nn.Module):
    """Multi-head attention of queries over memory keys, with the residual.

    Args:
        channels: C, the feature size of queries and keys.
        num_heads: H; C must be divisible by it.
        value_projection: False for the paper's GEO (raw keys as values, grouped 1x1 output conv),
            True for the SELSA-style aggregator (linear value and output projections).
        backend: passed to :func:`mamba_vod.ops.geo_attention` ('auto', 'triton', 'torch', 'reference').
        zero_init_output: start the output mapping at zero (GEO = identity at first);
            PyTorch's default initialisation otherwise.
        similarity: 'dot' (the paper: q_h k_h / sqrt(d)) or 'cosine' (s_h cos(q_h, k_h)).
        cosine_scale: the initial s_h of 'cosine' (1 < s_h <= 100).
        query_key_init: 'default' (PyTorch's Linear initialisation) or 'identity' (``query_proj`` and
            ``key_proj`` start as the identity: with 'cosine', attention starts as the cosine
            similarity of the features themselves, which tells the same object in other frames
            far better than random projections do: docs/benchmarks.md, "Selective attention").
        centre_values: values minus their mean over the key set: attention that weighs the keys
            uniformly adds nothing (the output bias alone), so what a GEO adds to a query comes
            from the keys it prefers. Features of one detector share a common direction (most of
            their energy), and a weighted mean of raw values is that direction for every query.

    Parameters: ``query_proj``, ``key_proj`` (Linear C->C); paper form ``group_conv``
    (Conv1d(H*C, C, 1, groups=H)); SELSA form ``value_proj``, ``output_proj`` (Linear C->C);
    cosine similarity ``log_cosine_scale`` (H,).
    """

    def __init__(self, channels: int, *, num_heads: int = 16, value_projection: bool = False,
                 backend: str = 'auto', zero_init_output: bool = False, similarity: str = 'dot',
                 cosine_scale: float = 10.0, query_key_init: str = 'default',
                 centre_values: bool = False) -> None:
        super().__init__()
        if channels <= 0 or num_heads <= 0 or channels % num_heads:
            raise ValueError(f'GEO: channels ({channels}) must be a positive multiple of num_heads ({num_heads})')
        if backend not in BACKENDS:
            raise ValueError(f'GEO: backend must be one of {BACKENDS}, got {backend!r}')
        if similarity not in SIMILARITIES:
            raise ValueError(f'GEO: similarity must be one of {SIMILARITIES}, got {similarity!r}')
        if query_key_init not in ('default', 'identity'):
            raise ValueError(f"GEO: query_key_init must be 'default' or 'identity', got {query_key_init!r}")
        if not 1.0 < cosine_scale <= MAX_COSINE_SCALE:
            raise ValueError(f'GEO: cosine_scale must be in (1, {MAX_COSINE_SCALE:g}], got {cosine_scale}')
        self.channels = channels
        self.num_heads = num_heads
        self.value_projection = value_projection
        self.backend = backend
        self.similarity = similarity
        if similarity == 'cosine':
            self.log_cosine_scale = nn.Parameter(torch.full((num_heads,), math.log(cosine_scale)))
        self.query_proj = nn.Linear(channels, channels)
        self.key_proj = nn.Linear(channels, channels)
        if value_projection:
            self.value_proj = nn.Linear(channels, channels)
            self.output_proj = nn.Linear(channels, channels)
        else:
            self.group_conv = nn.Conv1d(num_heads * channels, channels, 1, groups=num_heads)
        self.zero_init_output = zero_init_output
        self.query_key_init = query_key_init
        self.centre_values = centre_values
        self.init_weights()

    def init_weights(self) -> None:
        """With ``zero_init_output`` the output mapping starts at 0, so GEO starts as
        the identity (query + 0) and a detector trained from scratch begins as its
        single-frame self, learning how much of the keys to add. With ``query_key_init='identity'``
        the query and key projections start as the identity."""
        if self.query_key_init == 'identity':
            for projection in (self.query_proj, self.key_proj):
                nn.init.eye_(projection.weight)
                nn.init.zeros_(projection.bias)
        if self.zero_init_output:
            output = self.output_proj if self.value_projection else self.group_conv
            nn.init.zeros_(output.weight)
            nn.init.zeros_(output.bias)

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, num_heads={self.num_heads}, '
                f'value_projection={self.value_projection}, backend={self.backend!r}, '
                f'similarity={self.similarity!r}, query_key_init={self.query_key_init!r}, '
                f'centre_values={self.centre_values}')

    def project_queries(self, query: torch.Tensor) -> torch.Tensor:
        """Query rows (..., C) through ``query_proj``, (..., C) with heads side by side; with cosine
        similarity each head of unit length times s_h * sqrt(d) (the attention divides by sqrt(d))."""
        q = self.query_proj(query)
        if self.similarity == 'dot':
            return q
        head_dim = self.channels // self.num_heads
        scale = self.log_cosine_scale.clamp(max=math.log(MAX_COSINE_SCALE)).exp() * head_dim ** 0.5
        return self._unit_heads(q) * scale.repeat_interleave(head_dim)

    def _project_key_rows(self, keys: torch.Tensor) -> torch.Tensor:
        """Key rows (..., C) through ``key_proj``; with cosine similarity each head of unit length."""
        k = self.key_proj(keys)
        return k if self.similarity == 'dot' else self._unit_heads(k)

    def _unit_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(..., H*d) with each head's d dims scaled to unit length."""
        heads = x.unflatten(-1, (self.num_heads, self.channels // self.num_heads))
        return F.normalize(heads, dim=-1).flatten(-2)

    def project_keys(self, keys: torch.Tensor) -> ProjectedKeys:
        """The key and (folded, per-head) value projections of key rows (N, C), each (N, C)."""
        if self.value_projection:
            return ProjectedKeys(self._project_key_rows(keys), self.value_proj(keys))
        # head h's values: keys @ W_h^T, W_h = group_conv.weight[h*d:(h+1)*d, :, 0] (d, C)
        return ProjectedKeys(self._project_key_rows(keys), F.linear(keys, self.group_conv.weight.squeeze(-1)))

    def forward(self, query: torch.Tensor, keys: Union[torch.Tensor, ProjectedKeys]) -> torch.Tensor:
        """Enhance ``query`` (Nq, C) or (B, Nq, C) with ``keys`` (Nk, C) or (B, Nk, C), or with
        :class:`ProjectedKeys` (query (Nq, C) only).

        Returns ``query`` + aggregation, shaped like ``query``. With no keys (Nk = 0: a frame whose
        references have no proposals, mmtracking #370) the weighted sum over the keys is empty, i.e.
        0, and the output is ``query`` + the output mapping's bias: what mmtracking's fixed
        ``SelsaAggregator`` (#463) and the literal formula give, finite and differentiable.
        """
        if isinstance(keys, ProjectedKeys):
            return self._forward_projected(query, keys)
        query_b, keys_b = self._as_batched(query, keys)
        if keys_b.shape[1] == 0:
            merged = query_b.new_zeros(query_b.shape)  # no keys: see the docstring
        else:
            merged = self._attend(query_b, self.project_keys(keys_b))  # (B, Nq, C)
        return (query_b + self._output_map(merged)).reshape(query.shape)

    def _output_map(self, merged: torch.Tensor) -> torch.Tensor:
        """Merged heads (..., C) through the output mapping: ``output_proj``, or the group conv's bias
        (its weight is folded into the values)."""
        return self.output_proj(merged) if self.value_projection else merged + self.group_conv.bias

    def _attend(self, query: torch.Tensor, projected: ProjectedKeys) -> torch.Tensor:
        """The merged heads (B, Nq, C) of queries (B, Nq, C) over projected keys, each (B, Nk, C), Nk >= 1."""
        q = self._split_heads(self.project_queries(query))  # (B, H, Nq, d)
        k, v = self._split_heads(projected.keys), self._split_heads(projected.values)  # (B, H, Nk, d)
        merged = self._merge_heads(geo_attention(q, k, v, backend=self.backend))  # (B, Nq, C)
        if self.centre_values:  # the attention weights sum to one: sum_j a_j (v_j - mean v) = merged - mean v
            merged = merged - projected.values.mean(1, keepdim=True)
        return merged

    def _forward_projected(self, query: torch.Tensor, keys: ProjectedKeys) -> torch.Tensor:
        """:meth:`forward` over projected keys, the key set ``keys.index`` (all rows when None)."""
        if query.dim() != 2 or query.shape[-1] != self.channels:
            raise ValueError(f'GEO: projected keys take queries of shape (Nq, {self.channels}), got '
                             f'{tuple(query.shape)}')
        index = keys.index
        if index is None:
            index = torch.arange(len(keys.keys), device=keys.keys.device)
        if index.numel() == 0:  # no keys: the aggregation over nothing is 0, as in forward()
            return query + self._output_map(query.new_zeros(query.shape))
        q = self.project_queries(query)  # (Nq, C): heads side by side
        mean_value = keys.values.index_select(0, index).mean(0) if self.centre_values else 0  # (C,)
        if self.value_projection:
            merged = geo_attention_gather(q, keys.keys, keys.values, index, num_heads=self.num_heads,
                                          backend=self.backend)
            return query + self.output_proj(merged - mean_value)
        # paper form: Q + merged heads + bias, the residual added where the heads are written
        return geo_attention_gather(q, keys.keys, keys.values, index, num_heads=self.num_heads,
                                    residual=query + self.group_conv.bias - mean_value, backend=self.backend)

    def forward_literal(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """The formula as written, with the (Nq, Nk) attention matrices; same inputs and output as
        :meth:`forward`. Slow and memory-hungry: a reference for tests and benchmarks."""
        query_b, keys_b = self._as_batched(query, keys)
        batch, num_queries, _ = query_b.shape
        attn = self.attention_weights(query_b, keys_b)
        if self.value_projection:
            values = self.value_proj(keys_b)
            values = values - values.mean(1, keepdim=True) if self.centre_values else values
            out = self.output_proj(self._merge_heads(attn @ self._split_heads(values)))
        else:
            values = keys_b - keys_b.mean(1, keepdim=True) if self.centre_values else keys_b
            heads = attn @ values.unsqueeze(1)  # (B, H, Nq, C): raw keys as values
            concat = heads.permute(0, 2, 1, 3).reshape(batch * num_queries, self.num_heads * self.channels, 1)
            # each query row a length-1 sequence of the 1x1 conv, so that Nq = 0 is a batch of none
            out = self.group_conv(concat).reshape(batch, num_queries, self.channels)  # (B, Nq, C)
        return (query_b + out).reshape(query.shape)

    def attention_weights(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """The attention matrices A_h, (B, H, Nq, Nk), of queries (B, Nq, C) over keys (B, Nk, C);
        each row sums to one."""
        q = self._split_heads(self.project_queries(query))
        k = self._split_heads(self._project_key_rows(keys))
        return torch.softmax(q @ k.transpose(-2, -1) / (self.channels // self.num_heads) ** 0.5, dim=-1)

    def _as_batched(self, query: torch.Tensor, keys: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, Nq, C) and (B, Nk, C) views of the inputs, checked."""
        if query.dim() not in (2, 3) or keys.dim() != query.dim():
            raise ValueError('GEO: query and keys must both be (N, C) or both (B, N, C), got '
                             f'{tuple(query.shape)} and {tuple(keys.shape)}')
        if query.shape[-1] != self.channels or keys.shape[-1] != self.channels:
            raise ValueError(f'GEO: expected {self.channels} channels, got query {tuple(query.shape)} and '
                             f'keys {tuple(keys.shape)}')
        if query.dim() == 2:
            return query.unsqueeze(0), keys.unsqueeze(0)
        if query.shape[0] != keys.shape[0]:
            raise ValueError(f'GEO: query and keys have different batch sizes: {tuple(query.shape)} and '
                             f'{tuple(keys.shape)}')
        return query, keys

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, H*d) -> (B, H, N, d), a view."""
        batch, num, channels = x.shape
        return x.view(batch, num, self.num_heads, channels // self.num_heads).transpose(1, 2)

    @staticmethod
    def _merge_heads(x: torch.Tensor) -> torch.Tensor:
        """(B, H, N, d) -> (B, N, H*d), channels in head order."""
        batch, heads, num, dim = x.shape
        return x.transpose(1, 2).reshape(batch, num, heads * dim)
