"""FlowNetSimple (Dosovitskiy et al., 2015) as mmtracking's DFF and FGFA use it.

Shape shorthand: B frame pairs, H x W the padded input frames, h x w the feature map (stride 16
by default), H/2 x W/2 the flow network's input, H/8 x W/8 its raw flow.

Layer for layer as mmtracking's ``FlowNetSimple`` (``mmtrack/models/motion/flownet_simple.py``):
every layer is an mmcv ``ConvModule`` under the same name, so mmtracking's
``flownet_simple.pth`` and the ``motion.*`` keys of its DFF/FGFA checkpoints load after removing
the prefix (33 tensors, all bias-free except the encoder's).

- Encoder, LeakyReLU(0.1) after each conv, the first conv of a stage with stride 2:
  conv1 6->64 k7; conv2 64->128 k5; conv3 128->256 k5, 256->256 k3; conv4 256->512 k3 (x2);
  conv5 512->512 k3 (x2); conv6 512->1024 k3, 1024->1024 k3.
- Decoder, from conv6 (1/64 of the flow input) up to conv2 (1/4): at level l = 5, 4, 3, 2,
  ``f = predict_flow{l+1}(cat)``, then ``cat = [conv{l} out, deconv{l}(cat), upsample_flow{l}(f)]``
  along channels (the two upsampled parts cropped to conv{l}'s size at the top left): 1026, 770,
  386, 194 channels. ``predict_flow`` (3x3, 194->2) gives the raw flow at H/8 x W/8.
- Input (:meth:`prepare_pairs`): the two frames, normalised by the detector (``(img - mean) /
  std``), are un-normalised to 0..255, divided by 255, minus (0.411, 0.432, 0.450) per channel in
  the detector's channel order (RGB in mmtracking), rows/columns past the valid image size set to
  0, then resized by ``img_scale_factor`` (0.5) bilinearly.
- Output (:meth:`image_flow`): the raw flow upsampled bilinearly by 4 / img_scale_factor = 8 to the
  input size and multiplied by 8 and by ``flow_scale_factor`` (5): input pixels. :meth:`forward`
  then resizes it to the feature map (:func:`resize_flow`, as mmtracking's warp does), so it is in
  feature-map pixels, ready for :func:`flow_warp`.
- From scratch (``zero_init_flow=True`` and ``pixel_exact_warp=True``, the synthetic configs; not
  mmtracking's): the last prediction layer starts at zero, so the untrained network's flow is 0
  everywhere, and the warp reads on the exact grid (:func:`flow_warp`), where zero flow is the
  identity (on mmtracking's grid it contracts a map by up to a pixel towards its top-left corner,
  which its released weights learnt to undo): every warp starts as the identity. Without pretrained
  weights a random network's flow (raw values times 40) scatters the references' maps, and the
  heads learn on maps unlike any frame's own; at zero the heads first learn on the neighbours' maps
  as they are, the stand-in for pretrained flow, whose warp is close to the frame's own map. The
  same rule as the GEOs' ``zero_init_output``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn

from mamba_vod.registry import MODELS
from .flow_warp import resize_flow

#: mmtracking's pretrained FlowNetSimple, named by every DFF/FGFA config's ``motion.init_cfg``
FLOWNET_SIMPLE_URL = 'https://download.openmmlab.com/mmtracking/pretrained_weights/flownet_simple.pth'

#: encoder stages conv1..conv6: (in channels, out channels, kernel of each conv); conv i.0 has stride 2
ENCODER = ((6, 64, (7, )), (64, 128, (5, )), (128, 256, (5, 3)), (256, 512, (3, 3)), (512, 512, (3, 3)),
           (512, 1024, (3, 3)))
#: decoder levels l: (l, channels of the concatenation it upsamples, deconv{l}'s out channels)
DECODER = ((5, 1024, 512), (4, 1026, 256), (3, 770, 128), (2, 386, 64))
#: channels of the last concatenation (conv2 128 + deconv2 64 + flow 2), read by ``predict_flow``
LAST_CONCAT = 194
#: the detector's normalisation in mmtracking's configs (RGB)
DETECTOR_MEAN = (123.675, 116.28, 103.53)
DETECTOR_STD = (58.395, 57.12, 57.375)


def _layer(in_channels: int, out_channels: int, kernel: int, stride: int = 1, *, transposed: bool = False,
           bias: bool = False, leaky: bool = False) -> ConvModule:
    """A conv (or, transposed, a 4x4 stride-2 deconv) with an optional LeakyReLU(0.1)."""
    return ConvModule(in_channels, out_channels, kernel, stride=stride, padding=1 if transposed else kernel // 2,
                      bias=bias, conv_cfg=dict(type='deconv' if transposed else 'Conv'),
                      act_cfg=dict(type='LeakyReLU', negative_slope=0.1) if leaky else None)


def _crop(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` cut to the height and width of ``like``, from the top left."""
    return x[..., :like.shape[-2], :like.shape[-1]]


def _pair_stat(values: Sequence[float]) -> torch.Tensor:
    """Per-channel values (3,) repeated for the 6 channels of a frame pair, as (1, 6, 1, 1)."""
    return torch.tensor(list(values), dtype=torch.float32).repeat(2).view(1, 6, 1, 1)


@MODELS.register_module()
class FlowNetSimple(BaseModule):
    """Flow from the current frame to a reference frame, at the feature stride.

    Reads two detector-normalised frames; writes nothing (no state between calls).

    Args:
        img_scale_factor: the frames are resized by it before the network (mmtracking: 0.5).
        flow_scale_factor: the raw flow is multiplied by it (5, FlowNet's training scale).
        flow_img_norm_mean: subtracted from the 0..1 frames, per channel (FlowNet's mean).
        flow_img_norm_std: the 0..255 frames are divided by it, per channel.
        img_norm_mean: the detector's normalisation mean, undone first.
        img_norm_std: the detector's normalisation std, undone first.
        feat_stride: stride of the feature map the flow is for (h = ceil(H / stride)).
        zero_init_flow: from scratch, ``predict_flow`` starts at zero (flow 0); refused with a
            ``Pretrained`` ``init_cfg``, whose weights would replace it.
        pixel_exact_warp: the grid the flow is for, read by the detectors' warps
            (:func:`~mamba_vod.models.motion.warp_maps`): False for mmtracking's (its weights were
            trained on it), True for the exact one (zero flow the identity).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=FLOWNET_SIMPLE_URL)``.
    """

    def __init__(self, *, img_scale_factor: float = 0.5, flow_scale_factor: float = 5.0,
                 flow_img_norm_mean: Sequence[float] = (0.411, 0.432, 0.450),
                 flow_img_norm_std: Sequence[float] = (255.0, 255.0, 255.0),
                 img_norm_mean: Sequence[float] = DETECTOR_MEAN, img_norm_std: Sequence[float] = DETECTOR_STD,
                 feat_stride: int = 16, zero_init_flow: bool = False, pixel_exact_warp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if zero_init_flow and (init_cfg or {}).get('type') == 'Pretrained':
            raise ValueError('FlowNetSimple: zero_init_flow=True starts the flow at zero for training from scratch; '
                             f'init_cfg loads pretrained weights ({init_cfg.get("checkpoint")}) that would replace '
                             'it. Set one of the two.')
        super().__init__(init_cfg)
        self.zero_init_flow = zero_init_flow
        self.pixel_exact_warp = pixel_exact_warp
        self.img_scale_factor = img_scale_factor
        self.flow_scale_factor = flow_scale_factor
        self.feat_stride = feat_stride
        for name, values in (('img_norm_mean', img_norm_mean), ('img_norm_std', img_norm_std),
                             ('flow_img_norm_mean', flow_img_norm_mean), ('flow_img_norm_std', flow_img_norm_std)):
            self.register_buffer(name, _pair_stat(values), persistent=False)  # not in checkpoints
        for stage, (in_channels, out_channels, kernels) in enumerate(ENCODER, 1):
            convs = [_layer(in_channels if j == 0 else out_channels, out_channels, kernel, 2 if j == 0 else 1,
                            bias=True, leaky=True) for j, kernel in enumerate(kernels)]
            self.add_module(f'conv{stage}', nn.ModuleList(convs))
        for level, in_channels, out_channels in DECODER:
            self.add_module(f'deconv{level}', _layer(in_channels, out_channels, 4, 2, transposed=True, leaky=True))
            self.add_module(f'predict_flow{level + 1}', _layer(in_channels, 2, 3))
            self.add_module(f'upsample_flow{level}', _layer(2, 2, 4, 2, transposed=True))
        self.predict_flow = _layer(LAST_CONCAT, 2, 3)

    def init_weights(self) -> None:
        """mmcv's default (Kaiming) or ``init_cfg``; with ``zero_init_flow``, ``predict_flow`` then 0."""
        super().init_weights()
        if self.zero_init_flow:
            nn.init.zeros_(self.predict_flow.conv.weight)

    def prepare_pairs(self, imgs: torch.Tensor, ref_imgs: torch.Tensor,
                      valid_size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """The network's input (B, 6, H/2, W/2) from frames (B, 3, H, W) and references (B, 3, H, W).

        ``valid_size`` = (height, width) of the image inside the padded frames (mmtracking: the
        current frame's ``img_shape``); the pad area is set to 0 after FlowNet's normalisation.
        """
        if imgs.shape != ref_imgs.shape or imgs.dim() != 4 or imgs.shape[1] != 3:
            raise ValueError(f'FlowNetSimple expects two (B, 3, H, W) frames of one shape; got '
                             f'{tuple(imgs.shape)} and {tuple(ref_imgs.shape)}')
        pairs = torch.cat((imgs, ref_imgs), dim=1)  # (B, 6, H, W): current frame first
        pixels = pairs * self.img_norm_std.to(pairs.dtype) + self.img_norm_mean.to(pairs.dtype)  # 0..255
        pairs = pixels / self.flow_img_norm_std.to(pairs.dtype) - self.flow_img_norm_mean.to(pairs.dtype)
        if valid_size is not None:
            keep_rows = torch.arange(pairs.shape[-2], device=pairs.device) < int(valid_size[0])
            keep_cols = torch.arange(pairs.shape[-1], device=pairs.device) < int(valid_size[1])
            pairs = pairs * (keep_rows[:, None] & keep_cols[None, :]).to(pairs.dtype)
        return F.interpolate(pairs, scale_factor=self.img_scale_factor, mode='bilinear', align_corners=False)

    def encode(self, pairs: torch.Tensor) -> List[torch.Tensor]:
        """The outputs of conv1..conv6 for the network's input (B, 6, H/2, W/2)."""
        outs = []
        for stage in range(1, len(ENCODER) + 1):
            for conv in getattr(self, f'conv{stage}'):
                pairs = conv(pairs)
            outs.append(pairs)
        return outs

    def decode(self, encoded: List[torch.Tensor]) -> torch.Tensor:
        """The raw flow (B, 2, H/8, W/8) from the encoder's outputs (conv2..conv6 are read)."""
        concat = encoded[-1]
        for level, _, _ in DECODER:
            skip = encoded[level - 1]  # conv{level}'s output
            coarse_flow = getattr(self, f'predict_flow{level + 1}')(concat)
            concat = torch.cat((skip, _crop(getattr(self, f'deconv{level}')(concat), skip),
                                _crop(getattr(self, f'upsample_flow{level}')(coarse_flow), skip)), dim=1)
        return self.predict_flow(concat)

    def image_flow(self, imgs: torch.Tensor, ref_imgs: torch.Tensor,
                   valid_size: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Flow (B, 2, ~H, ~W) in input pixels: what mmtracking's ``FlowNetSimple.forward`` returns.

        Its size is 8 times the raw flow's (H x W when H and W are multiples of 16).
        """
        raw = self.decode(self.encode(self.prepare_pairs(imgs, ref_imgs, valid_size)))
        upscale = 4 / self.img_scale_factor
        flow = F.interpolate(raw, scale_factor=upscale, mode='bilinear', align_corners=False)
        return flow * (upscale * self.flow_scale_factor)

    def forward(self, imgs: torch.Tensor, ref_imgs: torch.Tensor, *, valid_size: Optional[Sequence[int]] = None,
                feat_size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Flow (B, 2, h, w) in feature-map pixels, from each frame of ``imgs`` (B, 3, H, W) to the same
        row of ``ref_imgs`` (B, 3, H, W): ``flow_warp(ref_feats, flow)`` aligns the references' maps
        to the frames.

        ``feat_size`` = (h, w) of the feature map, by default (ceil(H / stride), ceil(W / stride));
        ``valid_size`` as in :meth:`prepare_pairs`.
        """
        if feat_size is None:
            feat_size = tuple(-(-side // self.feat_stride) for side in imgs.shape[-2:])
        return resize_flow(self.image_flow(imgs, ref_imgs, valid_size), feat_size)
