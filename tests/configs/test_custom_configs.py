"""configs/custom: data_root and classes are the only edits (they reach the data, the metric and
the model), and the COCO-trained MMDetection zoo checkpoint they start from fits the detector
except its classifier and box regressor — tested on a cache file in the zoo checkpoint's names and
shapes (zero-stride tensors, so the file is small), as an offline machine cannot download it."""
import os
import urllib.error

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from mamba_vod.compat import CheckpointDownloadError, hub_cache_path
from mamba_vod.engine import check_checkpoint_fit, load_config
from mamba_vod.registry import MODELS
from tests.tools._custom_config import CUSTOM_CONFIGS as CUSTOM
from tests.tools._custom_config import edited_custom_config

ZOO_URL = ('https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r50_caffe_dc5_mstrain_3x_coco/'
           'faster_rcnn_r50_caffe_dc5_mstrain_3x_coco_20201028_002107-34a53b2c.pth')
# MMDetection's configs/_base_/models/faster-rcnn_r50-caffe-dc5.py, the model behind ZOO_URL, as
# that file spells it (80 COCO classes); the detector of the test's cache file
ZOO_MODEL = dict(
    type='mmdet.FasterRCNN',
    backbone=dict(type='mmdet.ResNet', depth=50, num_stages=4, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2),
                  out_indices=(3, ), frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                  style='caffe'),
    rpn_head=dict(type='mmdet.RPNHead', in_channels=2048, feat_channels=2048,
                  anchor_generator=dict(type='mmdet.AnchorGenerator', scales=[2, 4, 8, 16, 32], ratios=[0.5, 1.0, 2.0],
                                        strides=[16]),
                  bbox_coder=dict(type='mmdet.DeltaXYWHBBoxCoder')),
    roi_head=dict(type='mmdet.StandardRoIHead',
                  bbox_roi_extractor=dict(type='mmdet.SingleRoIExtractor', out_channels=2048, featmap_strides=[16],
                                          roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
                  bbox_head=dict(type='mmdet.Shared2FCBBoxHead', in_channels=2048, fc_out_channels=1024,
                                 roi_feat_size=7, num_classes=80, bbox_coder=dict(type='mmdet.DeltaXYWHBBoxCoder'))),
    train_cfg=None, test_cfg=dict(rpn=None, rcnn=None))
CLASSIFIER = ['roi_head.bbox_head.fc_cls.bias', 'roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.fc_reg.bias',
              'roi_head.bbox_head.fc_reg.weight']


@pytest.fixture(autouse=True)
def _offline_cache(tmp_path, monkeypatch):
    """A private torch hub cache; every download fails, as on a machine without network."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))

    def no_network(url, dst, *args, **kwargs):
        raise urllib.error.URLError('network is unreachable (test)')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)


def _write_zoo_cache_file() -> str:
    """The zoo checkpoint's names and shapes, random values repeated along all but the last axis."""
    init_default_scope('mamba_vod')
    with torch.device('meta'):
        zoo = MODELS.build(ConfigDict(ZOO_MODEL))
    generator = torch.Generator().manual_seed(0)
    state_dict = {key: torch.randn(value.shape[-1:], generator=generator).expand(value.shape)
                  for key, value in zoo.state_dict().items() if value.is_floating_point()}
    path = hub_cache_path(ZOO_URL)
    os.makedirs(os.path.dirname(path))
    torch.save(dict(meta=dict(CLASSES=tuple(f'coco_{i}' for i in range(80))), state_dict=state_dict), path)
    assert os.path.getsize(path) < 2_000_000  # 165M parameters, stored as rows
    return path


@pytest.mark.parametrize('name', sorted(CUSTOM))
def test_the_zoo_checkpoint_fills_all_but_the_classifier_and_the_geos(name):
    cfg = load_config(CUSTOM[name])
    assert cfg.load_from == ZOO_URL
    _write_zoo_cache_file()
    fit = check_checkpoint_fit(cfg, cfg.load_from, allow_partial=True)
    assert sorted(key.split(' ')[0] for key in fit.mismatched) == CLASSIFIER
    assert fit.unexpected == []
    assert all(key.startswith(('pixel_level.geo.', 'instance_level.geos.')) for key in fit.missing)
    assert bool(fit.missing) == name.startswith('mamba')
    loaded = set(fit.model_keys) - set(fit.missing) - set(CLASSIFIER)
    assert {'backbone.conv1.weight', 'backbone.layer4.2.conv3.weight', 'rpn_head.rpn_conv.weight',
            'rpn_head.rpn_cls.weight', 'roi_head.bbox_head.shared_fcs.0.weight',
            'roi_head.bbox_head.shared_fcs.1.weight'} <= loaded


def test_offline_without_the_cache_file_the_error_names_the_url_and_the_file():
    cfg = load_config(CUSTOM['mamba_r50-dc5'])
    with pytest.raises(CheckpointDownloadError) as error:
        check_checkpoint_fit(cfg, cfg.load_from, allow_partial=True)
    assert ZOO_URL in str(error.value) and hub_cache_path(ZOO_URL) in str(error.value)


@pytest.mark.parametrize('name', sorted(CUSTOM))
def test_data_root_and_classes_reach_the_data_the_metric_and_the_model(name, tmp_path):
    classes = ('kayak', 'swimmer', 'paddle')
    cfg = load_config(edited_custom_config(name, tmp_path, 'data/lake/', classes))
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.type == 'CocoVIDDataset'
        assert loader.dataset.data_root == 'data/lake/' and loader.dataset.metainfo.classes == classes
    assert cfg.test_evaluator.ann_file == 'data/lake/annotations/vid_val.json' and cfg.test_evaluator.coco_ap
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert (cfg.train_dataloader.dataset.get('ref_img_sampler') is not None) == name.startswith('mamba')
