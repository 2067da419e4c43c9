"""Batches clips of frames for the video detectors.

Shape shorthand: B clips in the batch, T frames per clip (index 0 the key frame,
1.. its reference frames), H, W a frame's size, Hp, Wp the padded size.
"""
import math
from typing import List, Sequence, Union

import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.models.utils.misc import samplelist_boxtype2tensor
from mmengine.model import ImgDataPreprocessor
from torch import Tensor

from mamba_vod.registry import MODELS


@MODELS.register_module()
class VideoDataPreprocessor(DetDataPreprocessor):
    """:class:`DetDataPreprocessor` for clips of frames.

    Reads ``dict(inputs=[(T, 3, H, W) uint8 BGR per clip] or (B, T, 3, H, W),
    data_samples=[DetDataSample per clip])`` and returns ``dict(inputs=(B, T, 3,
    Hp, Wp) float, data_samples=...)``: frames converted BGR->RGB (with
    ``bgr_to_rgb=True``), normalised, and zero-padded to a common size that is a
    multiple of ``pad_size_divisor``. Every clip of a batch must have the same T.
    Sets ``batch_input_shape`` (Hp, Wp) and ``pad_shape`` (the clip's own padded
    size) in each data sample's metainfo. Constructor arguments are those of
    :class:`DetDataPreprocessor` (mean, std, bgr_to_rgb, pad_size_divisor, ...).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        clips = self._clips(data['inputs'])
        data_samples = data.get('data_samples')
        num_frames = clips[0].shape[0]
        frames = [frame for clip in clips for frame in clip]  # B * T frames (3, H, W)
        batch = ImgDataPreprocessor.forward(self, dict(inputs=frames, data_samples=None), training)['inputs']
        inputs = batch.view(len(clips), num_frames, *batch.shape[1:])  # (B*T, 3, Hp, Wp) -> (B, T, 3, Hp, Wp)
        if data_samples is not None:
            if len(data_samples) != len(clips):
                raise ValueError(f'VideoDataPreprocessor got {len(clips)} clips but {len(data_samples)} data '
                                 'samples; PackVideoInputs gives one data sample (the key frame) per clip')
            for clip, data_sample in zip(clips, data_samples):
                data_sample.set_metainfo(
                    dict(batch_input_shape=tuple(inputs.shape[-2:]), pad_shape=self._padded(clip.shape[-2:])))
            if self.boxtype2tensor:
                samplelist_boxtype2tensor(data_samples)
        return dict(inputs=inputs, data_samples=data_samples)

    def _padded(self, size: Sequence[int]) -> tuple:
        divisor = self.pad_size_divisor
        return tuple(int(math.ceil(s / divisor)) * divisor for s in size)

    @staticmethod
    def _clips(inputs: Union[Tensor, List[Tensor]]) -> List[Tensor]:
        """Checks the clips: a list of (T, 3, H, W) tensors with one T, or a (B, T, 3, H, W) tensor."""
        if isinstance(inputs, Tensor):
            if inputs.dim() != 5:
                raise ValueError('VideoDataPreprocessor expects inputs of shape (B, T, 3, H, W) or a list of '
                                 f'(T, 3, H, W) tensors (PackVideoInputs), got a tensor of shape {tuple(inputs.shape)}')
            inputs = list(inputs)
        if not inputs:
            raise ValueError('VideoDataPreprocessor got an empty batch')
        for index, clip in enumerate(inputs):
            if not isinstance(clip, Tensor) or clip.dim() != 4 or clip.shape[1] != 3:
                shape = tuple(clip.shape) if isinstance(clip, Tensor) else type(clip).__name__
                raise ValueError(f'VideoDataPreprocessor: clip {index} of the batch must be a (T, 3, H, W) tensor '
                                 f'(key frame first, then its references; see PackVideoInputs), got {shape}')
        lengths = sorted({clip.shape[0] for clip in inputs})
        if len(lengths) > 1:
            raise ValueError(f'VideoDataPreprocessor: the clips of a batch have different numbers of frames '
                             f'{lengths}; use the same number of reference frames for every sample, or batch '
                             'size 1 at test time (frame 0 of the paper protocol carries 14 references)')
        return [torch.as_tensor(clip) for clip in inputs]
