"""The test pipeline of a config, adapted to frames that arrive as arrays.

A config's test pipeline starts by loading an image file and (for evaluation)
its annotations. A stream has neither: the frame is already an HxWx3 uint8 BGR
array in ``results['img']``. So the file loader becomes ``LoadImageFromNDArray``
(same arguments) and annotation loaders are dropped; every other transform
(Resize, PackDetInputs or PackVideoInputs, ...) is kept as it is, so a frame sees
exactly the preprocessing ``tools/test.py`` applies.
"""
import copy
from typing import List, Tuple

from mmcv.transforms import Compose
from mmengine.config import Config

from mamba_vod.registry import TRANSFORMS

# File loaders whose ndarray counterpart takes the same arguments.
_FILE_LOADERS = ('LoadImageFromFile', 'mmdet.LoadImageFromFile', 'mmcv.LoadImageFromFile')
_NDARRAY_LOADER = 'mmdet.LoadImageFromNDArray'


def _transform_name(transform: dict) -> str:
    kind = transform.get('type', '')
    return kind if isinstance(kind, str) else kind.__name__


def _is_annotation_loader(transform: dict) -> bool:
    return 'Annotations' in _transform_name(transform)


def _adapt(transforms: list) -> Tuple[List[dict], bool]:
    """``transforms`` without annotation loaders and with ndarray loading, also inside wrappers
    (e.g. ``FrameBroadcaster(transforms=[...])``); and whether a file loader was replaced."""
    adapted, replaced = [], False
    for transform in transforms:
        if _is_annotation_loader(transform):
            continue
        if _transform_name(transform) in _FILE_LOADERS:
            transform['type'] = _NDARRAY_LOADER
            replaced = True
        if isinstance(transform.get('transforms'), (list, tuple)):
            transform['transforms'], inner = _adapt(list(transform['transforms']))
            replaced = replaced or inner
        adapted.append(transform)
    return adapted, replaced


def stream_transforms(cfg: Config) -> List[dict]:
    """The transform configs of ``cfg``'s test pipeline, with ndarray loading and no annotations.

    Raises:
        KeyError: the config has no ``test_dataloader.dataset.pipeline`` nor ``test_pipeline``.
        ValueError: the pipeline does not load an image file.
    """
    dataset_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = dataset_cfg.get('pipeline', cfg.get('test_pipeline'))
    if not pipeline:
        raise KeyError('the config has no test_dataloader.dataset.pipeline (nor test_pipeline); '
                       'the streaming detector needs the test pipeline to preprocess frames')
    transforms, replaced = _adapt(copy.deepcopy(list(pipeline)))
    if not replaced:
        names = [_transform_name(t) for t in pipeline]
        raise ValueError(f'the test pipeline {names} has no LoadImageFromFile to replace by '
                         'LoadImageFromNDArray; streaming needs a pipeline that loads one image')
    return transforms


def build_stream_pipeline(cfg: Config) -> Compose:
    """``Compose`` of :func:`stream_transforms`; takes ``dict(img=HxWx3 uint8 BGR, **meta)``."""
    return Compose([TRANSFORMS.build(transform) for transform in stream_transforms(cfg)])
