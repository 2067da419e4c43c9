import numpy as np
import pytest
from mmengine.config import Config

from mamba_vod.apis import build_stream_pipeline
from mamba_vod.apis.stream_pipeline import stream_transforms


def test_file_loading_becomes_ndarray_loading_and_annotations_are_dropped(tiny_config):
    cfg = Config.fromfile(tiny_config)
    types = [transform['type'] for transform in stream_transforms(cfg)]
    assert types == ['mmdet.LoadImageFromNDArray', 'Resize', 'PackDetInputs']
    # the config itself is left as it was
    assert cfg.test_dataloader.dataset.pipeline[0]['type'] == 'LoadImageFromFile'


def test_pipeline_packs_a_frame_like_the_test_pipeline(tiny_config):
    pipeline = build_stream_pipeline(Config.fromfile(tiny_config))
    frame = np.zeros((48, 64, 3), np.uint8)
    packed = pipeline(dict(img=frame, img_id=3, video_id=1, frame_id=2, video_length=-1))
    assert tuple(packed['inputs'].shape) == (3, 96, 128)
    meta = packed['data_samples'].metainfo
    assert meta['ori_shape'] == (48, 64) and meta['frame_id'] == 2 and meta['video_id'] == 1


def test_pipeline_without_an_image_loader_is_refused():
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[dict(type='Resize', scale=(8, 8))]))))
    with pytest.raises(ValueError, match='LoadImageFromFile'):
        stream_transforms(cfg)
    with pytest.raises(KeyError, match='test_dataloader'):
        stream_transforms(Config(dict()))
