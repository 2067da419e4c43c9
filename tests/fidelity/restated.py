"""The authors' computations restated in float64, from reading their code (facts, not their code).

Each function names the file and function it restates. Weights are passed as plain tensors
(taken from our modules), so the restatement shares nothing with our forward code.

Shape shorthand: Nq queries, Nk keys, C channels, H heads, d = C / H.
"""
from typing import Dict, List

import torch
from torch import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """x (N, Cin) times weight (Cout, Cin) transposed, plus bias (Cout,)."""
    return x @ weight.t() + bias


def paper_geo(query: Tensor, keys: Tensor, w: Dict[str, Tensor], heads: int) -> Tensor:
    """``Duckduckgod/MAMBA``, ``mamba_core/modeling/mem_bank/generalized_enhancement.py``,
    ``GEO.attention_module_multi_head`` then ``enhance_with_mem_test`` (output type 'attention').

    wq / wk are linear maps C -> C; head h of the queries and keys is channels h*d .. h*d+d-1;
    affinity q_h k_h^T / sqrt(d), softmax over the keys; each head's output is the affinity
    times the RAW keys (all C channels); the H outputs side by side (H*C channels, head h at
    h*C ..) go through ``wv``, a 1x1 convolution with H groups (group h reads input channels
    h*C .. h*C+C-1 and writes output channels h*d .. h*d+d-1); the result is query + that.

    Args:
        query: (Nq, C); keys: (Nk, C).
        w: ``wq.weight`` (C, C), ``wq.bias``, ``wk.weight``, ``wk.bias``, ``wv.weight`` (C, C)
            (the conv's (C, C, 1, 1) squeezed: row o reads the C channels of its group),
            ``wv.bias`` (C,).
    """
    channels = query.shape[1]
    d = channels // heads
    q = linear(query, w['wq.weight'], w['wq.bias'])
    k = linear(keys, w['wk.weight'], w['wk.bias'])
    out = torch.empty_like(query)
    for h in range(heads):
        part = slice(h * d, (h + 1) * d)
        affinity = torch.softmax(q[:, part] @ k[:, part].t() / d ** 0.5, dim=1)  # (Nq, Nk)
        head_out = affinity @ keys  # (Nq, C): the raw keys as values
        out[:, part] = head_out @ w['wv.weight'][part].t() + w['wv.bias'][part]  # group h of the conv
    return query + out


def selsa_aggregate(query: Tensor, keys: Tensor, w: Dict[str, Tensor], heads: int) -> Tensor:
    """vfe.pytorch, ``mmdet/models/aggregators/mamba_aggregator.py``,
    ``MambaAggregator.forward_with_ref_x``: the aggregation alone (its caller adds the query).

    Query embed ``fc_embed``, key embed ``ref_fc_embed``, values ``ref_fc``, each C -> C; head h
    is channels h*d ..; affinity / sqrt(d), softmax over keys; heads side by side in head order
    through ``fc``.
    """
    channels = query.shape[1]
    d = channels // heads
    q = linear(query, w['fc_embed.weight'], w['fc_embed.bias'])
    k = linear(keys, w['ref_fc_embed.weight'], w['ref_fc_embed.bias'])
    v = linear(keys, w['ref_fc.weight'], w['ref_fc.bias'])
    merged = torch.empty(query.shape[0], channels, dtype=query.dtype)
    for h in range(heads):
        part = slice(h * d, (h + 1) * d)
        merged[:, part] = torch.softmax(q[:, part] @ k[:, part].t() / d ** 0.5, dim=1) @ v[:, part]
    return linear(merged, w['fc.weight'], w['fc.bias'])


def paper_geo_weights(geo) -> Dict[str, Tensor]:
    """Our paper-form GEO's parameters under the names of the authors' GEO, float64."""
    return {'wq.weight': geo.query_proj.weight, 'wq.bias': geo.query_proj.bias,
            'wk.weight': geo.key_proj.weight, 'wk.bias': geo.key_proj.bias,
            'wv.weight': geo.group_conv.weight[..., 0], 'wv.bias': geo.group_conv.bias}


def selsa_weights(geo) -> Dict[str, Tensor]:
    """Our SELSA-form GEO's parameters under the names of vfe.pytorch's aggregator, float64."""
    return {'fc_embed.weight': geo.query_proj.weight, 'fc_embed.bias': geo.query_proj.bias,
            'ref_fc_embed.weight': geo.key_proj.weight, 'ref_fc_embed.bias': geo.key_proj.bias,
            'ref_fc.weight': geo.value_proj.weight, 'ref_fc.bias': geo.value_proj.bias,
            'fc.weight': geo.output_proj.weight, 'fc.bias': geo.output_proj.bias}


def fc_weights(head) -> List[Dict[str, Tensor]]:
    """The box head's shared FCs, then fc_cls and fc_reg, as weight / bias pairs."""
    return [{'weight': fc.weight, 'bias': fc.bias} for fc in (*head.shared_fcs, head.fc_cls, head.fc_reg)]


def box_cells(box: List[float], stride: int, width: int) -> List[int]:
    """``Duckduckgod/MAMBA``, ``mamba_core/modeling/mem_bank/memory_bank_pix.py``,
    ``MemoryBankPix.write_test`` / ``box_to_inds_list``: a box divided by the stride and cast to
    int (truncation) covers x from x1 to x2 INCLUSIVE and y from y1 to y2 inclusive; the cell
    (x, y) of a map of width w is index x + y * w."""
    x1, y1, x2, y2 = (int(v / stride) for v in box)
    return sorted(x + y * width for x in range(x1, x2 + 1) for y in range(y1, y2 + 1))


def salient_cells(flat: Tensor) -> List[int]:
    """``MemoryBankPix.get_obj_irr_pixels``: the L2 norm of each pixel (n, C) over sqrt(C),
    softmax over the n pixels, kept where above 1 / n."""
    share = torch.softmax(flat.pow(2).sum(1).sqrt() / flat.shape[1] ** 0.5, dim=0)
    return (share > 1.0 / flat.shape[0]).nonzero().flatten().tolist()
