"""Warping a feature map by a flow field, as mmtracking's DFF and FGFA do (``flow_warp_feats``).

Shape shorthand: B frame pairs, C channels, h x w the feature map, H x W the map a flow was
computed at (FlowNetSimple's, the input image's size).

A flow (B, 2, h, w) gives, for every pixel (y, x) of the current frame's map, a displacement in
pixels of that map: channel 0 along x (width), channel 1 along y (height). The warp is backward:
``out[y, x]`` reads the other frame's map at (x + fx, y + fy), bilinearly, clamped to the border.

mmtracking's grid: it normalises a sample position as ``(x + fx) / w * 2 - 1``, dividing by w
rather than w - 1, and calls ``grid_sample(..., align_corners=True)``, which maps [-1, 1] onto
[0, w - 1]. The position actually read is therefore ``(x + fx) * (w - 1) / w``: the read falls
short of the intended position by ``(x + fx) / w`` pixels (0 at the left/top edge, almost one
pixel at the right/bottom edge). Zero flow is thus *not* the identity (pixel x reads
x - x / w) and a constant flow d shifts by d only approximately. mmtracking's released DFF/FGFA
checkpoints were trained with this grid, so it is the default; ``pixel_exact=True`` divides by
w - 1 instead, and then zero flow is the identity and a flow d reads exactly x + d.
"""
from typing import Sequence

import torch
import torch.nn.functional as F


def resize_flow(flow: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """A flow (B, 2, H, W) resized to ``size`` = (h, w) in the pixels of the new size.

    As mmtracking 1.x does before warping: bilinear interpolation to exactly (h, w)
    (``align_corners=False``), then the x channel times w / W and the y channel times h / H.
    """
    height, width = flow.shape[-2:]
    new_height, new_width = int(size[0]), int(size[1])
    resized = F.interpolate(flow, size=(new_height, new_width), mode='bilinear', align_corners=False)
    scale = resized.new_tensor([new_width / width, new_height / height]).view(1, 2, 1, 1)
    return resized * scale


def flow_warp(feats: torch.Tensor, flow: torch.Tensor, *, pixel_exact: bool = False) -> torch.Tensor:
    """``feats`` (B, C, h, w) read at every pixel plus ``flow`` (B, 2, h, w): (B, C, h, w).

    Args:
        feats: the map to warp (the reference or key frame's features).
        flow: displacements in pixels of ``feats`` (x then y), from the current frame to the
            frame of ``feats`` (:meth:`FlowNetSimple.forward` gives it at this size).
        pixel_exact: False (default) for mmtracking's grid, which reads (x + fx) * (w - 1) / w
            (see the module docstring); True to read exactly x + fx.
    """
    if feats.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f'flow_warp expects feats (B, C, h, w) and flow (B, 2, h, w); got '
                         f'{tuple(feats.shape)} and {tuple(flow.shape)}')
    if flow.shape[0] != feats.shape[0] or flow.shape[-2:] != feats.shape[-2:]:
        raise ValueError(f'flow {tuple(flow.shape)} does not match feats {tuple(feats.shape)} in batch or '
                         f'size; resize it first (resize_flow)')
    height, width = feats.shape[-2:]
    rows, cols = torch.meshgrid(torch.arange(height, dtype=flow.dtype, device=flow.device),
                                torch.arange(width, dtype=flow.dtype, device=flow.device), indexing='ij')
    # a 1-pixel axis maps every grid value to pixel 0, so any finite divisor serves there
    x_div, y_div = (max(width - 1, 1), max(height - 1, 1)) if pixel_exact else (width, height)
    grid_x = (cols + flow[:, 0]) / x_div * 2 - 1  # (B, h, w), in [-1, 1] inside the map
    grid_y = (rows + flow[:, 1]) / y_div * 2 - 1
    grid = torch.stack((grid_x, grid_y), dim=-1)  # (B, h, w, 2): grid_sample wants x first
    return F.grid_sample(feats, grid.to(feats.dtype), mode='bilinear', padding_mode='border', align_corners=True)
