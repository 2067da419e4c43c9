"""Which pixels of stride-16 maps become pixel-level keys or memory rows.

Shape shorthand: C channels, h x w the feature map, k keys, N frames, n boxes.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..memory import random_permutation


def sample_pixels(feats: Tensor, num: int, generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Up to ``num`` pixels drawn without replacement from N maps.

    Args:
        feats: (N, C, h, w).
        generator: CPU generator (reproducible draws); None draws on the maps' device.
    Returns:
        features (k, C) with k = min(num, N*h*w), and the frame index (k,) of each.
    """
    frames, channels = feats.shape[:2]
    flat = feats.permute(0, 2, 3, 1).reshape(-1, channels)  # (N, C, h, w) -> (N*h*w, C)
    per_frame = flat.shape[0] // frames
    index = random_permutation(flat.shape[0], feats.device, generator)[:num].sort().values
    return flat[index], index // per_frame


def pixels_in_boxes(feat: Tensor, boxes: Tensor, stride: float, per_box: int,
                    generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Up to ``per_box`` random pixels of a map inside each box.

    A box covers the cells from ``floor(x1 / stride)`` to ``floor(x2 / stride)`` inclusive (and
    the same in y), clipped to the map: a corner on an exact multiple of the stride takes the
    column (row) it starts, as the authors' pixel memory does (``Duckduckgod/MAMBA``,
    ``MemoryBankPix.box_to_inds_list``); every box covers at least one cell.

    Args:
        feat: (C, h, w) map.
        boxes: (n, 4) x1, y1, x2, y2 in input-image pixels.
        stride: input pixels per map cell.
    Returns:
        features (m, C) and the index of the box of each (m,), m <= n * per_box.
    """
    height, width = feat.shape[1:]
    cells = (boxes.detach().float().cpu() / stride).floor().long()  # (n, 4) cell of each corner
    left, right = cells[:, 0].clamp(0, width - 1), cells[:, 2].clamp(0, width - 1)
    top, bottom = cells[:, 1].clamp(0, height - 1), cells[:, 3].clamp(0, height - 1)
    right, bottom = torch.maximum(left, right) + 1, torch.maximum(top, bottom) + 1  # exclusive ends
    ys, xs = torch.arange(height)[:, None], torch.arange(width)[None]
    inside = ((ys >= top[:, None, None]) & (ys < bottom[:, None, None]) & (xs >= left[:, None, None]) &
              (xs < right[:, None, None])).flatten(1)  # (n, h*w)
    # a random rank for every cell of every box; cells outside the box never win
    ranks = torch.rand(inside.shape, generator=generator).masked_fill(~inside, -1.0)
    top_ranks, cell_index = ranks.topk(min(per_box, height * width), dim=1)
    owner, slot = (top_ranks >= 0).nonzero(as_tuple=True)
    cell = cell_index[owner, slot].to(feat.device)
    return feat.flatten(1)[:, cell].t(), owner


def salient_pixels(feat: Tensor, num: int, generator: Optional[torch.Generator] = None) -> Tensor:
    """Up to ``num`` random pixels among the salient ones of a map.

    A pixel is salient when its share of a softmax over the map's pixels of the L2 norms
    (divided by sqrt(C)) is above the mean share 1/(h*w): the rule of the authors' pixel memory.

    Args:
        feat: (C, h, w) map.
    Returns:
        features (k, C), k <= num.
    """
    channels = feat.shape[0]
    flat = feat.flatten(1).t()  # (C, h, w) -> (h*w, C)
    share = torch.softmax(flat.norm(dim=1) / channels ** 0.5, dim=0)
    index = (share > 1.0 / len(flat)).nonzero(as_tuple=True)[0]
    if len(index) > num:
        index = index[random_permutation(len(index), feat.device, generator)[:num]]
    return flat[index]
