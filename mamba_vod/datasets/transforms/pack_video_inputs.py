"""Packing of a key frame and its reference frames into one model input.

Shape shorthand: T frames (index 0 the key frame, 1.. the references), H, W the image size
after the (shared) resize.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import PackDetInputs

from mamba_vod.registry import TRANSFORMS

VIDEO_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                   'flip_direction', 'video_id', 'frame_id', 'video_length')


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Packs T frames for the video detectors.

    Reads ``results`` either as one frame (the fields of mmdet's pipelines; T = 1) or as lists
    of T per-frame values (what ``ImagenetVIDDataset`` with ``ref_img_sampler`` and mmcv's
    ``TransformBroadcaster`` produce).

    Returns:
        dict: ``inputs``: uint8 tensor (T, 3, H, W) in the channel order of the loaded images
        (BGR from ``LoadImageFromFile``); ``data_samples``: the key frame's ``DetDataSample``
        as mmdet's ``PackDetInputs`` makes it (``gt_instances``, ``ignored_instances``) with
        ``meta_keys`` in its metainfo, plus ``ref_frame_ids`` (list[int], length T - 1: the
        ``frame_id`` of each reference).

    Args:
        meta_keys: key-frame fields copied to the metainfo.
    """

    def __init__(self, *, meta_keys: Sequence[str] = VIDEO_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)
        self._pack_key = PackDetInputs(meta_keys=self.meta_keys)

    def transform(self, results: dict) -> dict:
        if not isinstance(results.get('img'), (list, tuple)):
            results = {name: [value] for name, value in results.items()}
        images = results['img']
        self._check_sizes(images, results.get('img_path') or [None] * len(images))
        key = {name: values[0] for name, values in results.items()}
        packed = self._pack_key.transform(key)
        packed['inputs'] = torch.stack([self._to_chw(img) for img in images])
        frame_ids = results.get('frame_id') or [None] * len(images)
        packed['data_samples'].set_metainfo(dict(ref_frame_ids=list(frame_ids[1:])))
        return packed

    @staticmethod
    def _to_chw(img: np.ndarray) -> torch.Tensor:
        """(H, W, 3) or (H, W) array -> (3 or 1, H, W) tensor of the same dtype."""
        if img.ndim < 3:
            img = img[..., None]
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    @staticmethod
    def _check_sizes(images: Sequence[np.ndarray], paths: Sequence) -> None:
        shapes = [img.shape for img in images]
        for shape, path in zip(shapes[1:], paths[1:]):
            if shape != shapes[0]:
                raise ValueError(
                    f'PackVideoInputs: reference frame {path} has shape {shape} but the key frame '
                    f'{paths[0]} has {shapes[0]}; apply the same resize to every frame (wrap the '
                    'transforms in TransformBroadcaster with share_random_params=True)')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
