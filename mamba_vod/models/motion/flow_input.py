"""From a detector's preprocessed frames to FlowNetSimple's flow, whatever the detector's normalisation.

Shape shorthand: B frame pairs, H x W the padded frames, H' x W' the flow network's output
(H x W when both are multiples of 16), C channels of a map, h x w a map.

FlowNetSimple reads RGB frames, in 0..1 minus FlowNet's mean (mmtracking's
``flownet_simple.pth`` was trained so; mmtracking's detectors give it RGB frames normalised with
the ImageNet mean/std, which it undoes first). Our detectors' data preprocessors differ (the
synthetic and ImageNet VID configs: RGB with the ImageNet mean/std, as mmtracking; a caffe-style
one: BGR, std 1; none at all: raw BGR 0..255). :class:`FlowInput` reads the preprocessor's config
(its ``mean``, ``std`` and channel conversion; frames arrive BGR, as ``LoadImageFromFile`` and
the stream API load them) and

- gives FlowNetSimple the normalisation to undo, in RGB order (:meth:`FlowInput.motion_cfg`);
- puts the preprocessed frames in RGB order before the flow network (:meth:`FlowInput.image_flow`).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .flow_warp import flow_warp, resize_flow

#: the keys FlowInput sets in a FlowNetSimple config
NORM_KEYS = ('img_norm_mean', 'img_norm_std')


def _values(value, default: float) -> Tuple[float, float, float]:
    """Per-channel values (3,) of a preprocessor's mean / std (None: ``default``; one value: repeated)."""
    if value is None:
        return (default, ) * 3
    values = [float(v) for v in (value.flatten().tolist() if isinstance(value, Tensor) else value)]
    if len(values) not in (1, 3):
        raise ValueError(f'FlowNetSimple needs a 3-channel normalisation; the data preprocessor has {values}')
    return tuple(values * 3) if len(values) == 1 else tuple(values)


def preprocessor_normalisation(data_preprocessor) -> Tuple[bool, Tuple[float, ...], Tuple[float, ...]]:
    """(whether the preprocessed frames are RGB, mean (3,), std (3,) in the preprocessed order) of
    a data preprocessor config (or built module; None: mmengine's default, no normalisation)."""
    if isinstance(data_preprocessor, nn.Module):
        normalises = getattr(data_preprocessor, '_enable_normalize', False)
        rgb = bool(getattr(data_preprocessor, '_channel_conversion', False))
        mean, std = (getattr(data_preprocessor, name) if normalises else None for name in ('mean', 'std'))
    else:
        cfg = dict(data_preprocessor or {})
        rgb = bool(cfg.get('bgr_to_rgb', False) or cfg.get('rgb_to_bgr', False))  # either flips the BGR frames
        mean, std = cfg.get('mean'), cfg.get('std')
        if mean is None:  # mmengine normalises only when a mean is given
            mean = std = None
    return rgb, _values(mean, 0.0), _values(std, 1.0)


class FlowInput:
    """How a detector's preprocessed frames reach its FlowNetSimple (see the module docstring).

    Args:
        data_preprocessor: the detector's data preprocessor config (or module, or None).
    """

    def __init__(self, data_preprocessor) -> None:
        self.rgb, mean, std = preprocessor_normalisation(data_preprocessor)
        order = slice(None) if self.rgb else slice(None, None, -1)
        self.mean_rgb, self.std_rgb = tuple(mean[order]), tuple(std[order])

    def motion_cfg(self, motion: dict) -> dict:
        """``motion`` (a FlowNetSimple config) with the preprocessor's normalisation, RGB order.

        Raises:
            ValueError: ``motion`` names a normalisation other than the preprocessor's.
        """
        cfg = dict(motion)
        for key, value in zip(NORM_KEYS, (self.mean_rgb, self.std_rgb)):
            if key in cfg and tuple(float(v) for v in cfg[key]) != value:
                raise ValueError(f'motion.{key} {tuple(cfg[key])} differs from the data preprocessor\'s {value} '
                                 f'(RGB order); leave it out: it is taken from model.data_preprocessor')
            cfg[key] = value
        return cfg

    def image_flow(self, motion: nn.Module, imgs: Tensor, ref_imgs: Tensor,
                   valid_sizes: Sequence[Sequence[int]]) -> Tensor:
        """Flow (B, 2, H', W') in input pixels from each frame of ``imgs`` (B, 3, H, W) to the same
        row of ``ref_imgs``, both as the preprocessor gave them; ``valid_sizes``: (height, width)
        of each pair's image inside the padding (its ``img_shape``). Pairs of one valid size run
        as one batch."""
        if len(valid_sizes) != len(imgs):
            raise ValueError(f'{len(imgs)} frame pairs but {len(valid_sizes)} valid sizes')
        if not self.rgb:
            imgs, ref_imgs = imgs.flip(1), ref_imgs.flip(1)  # BGR -> RGB
        sizes = [tuple(int(s) for s in size[:2]) for size in valid_sizes]
        flows: List[Optional[Tensor]] = [None] * len(sizes)
        for size in dict.fromkeys(sizes):
            index = [b for b, other in enumerate(sizes) if other == size]
            flow = motion.image_flow(imgs[index], ref_imgs[index], valid_size=size)
            for position, b in enumerate(index):
                flows[b] = flow[position:position + 1]
        return torch.cat(flows)


def warp_maps(maps: Sequence[Tensor], flow: Tensor, *, pixel_exact: bool = False) -> Tuple[Tensor, ...]:
    """Each map level (B, C, h, w) warped by ``flow`` (B, 2, H', W') in input pixels, resized to
    the level first (as mmtracking 1.x): the maps aligned to the frames the flow starts from.
    ``pixel_exact``: the grid of :func:`flow_warp` (False: mmtracking's; a FlowNetSimple's
    ``pixel_exact_warp`` says which its flow is for)."""
    return tuple(flow_warp(level, resize_flow(flow, level.shape[-2:]), pixel_exact=pixel_exact) for level in maps)
