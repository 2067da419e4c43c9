"""Faster R-CNN R-50-DC5 from ``configs/_base_/models/faster-rcnn_r50-dc5.py`` trains
and predicts on CPU with mmcv-lite (nms and RoIAlign from the provider); its ImageNet
backbone comes from the torch hub cache (``torchvision://resnet50``), and offline the error
names the URL and the cache file."""
import os
import os.path as osp
import urllib.error

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.runner.checkpoint import get_torchvision_models
from mmengine.structures import InstanceData

from mamba_vod.compat import CheckpointDownloadError, hub_cache_path
from mamba_vod.registry import MODELS

BASE_MODEL = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'models', 'faster-rcnn_r50-dc5.py')


def _model_cfg(init_backbone=False):
    model = Config.fromfile(BASE_MODEL).model
    if not init_backbone:
        model.backbone.init_cfg = None
    return model


def _sample(height=96, width=128):
    sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0), pad_shape=(height, width),
                                         batch_input_shape=(height, width)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10., 12., 60., 70.], [50., 20., 120., 90.]]),
                                       labels=torch.tensor([3, 17]))
    return sample


def test_base_config_describes_the_dc5_detector():
    model = _model_cfg()
    assert model.backbone.strides == (1, 2, 2, 1) and model.backbone.dilations == (1, 1, 1, 2)
    assert model.neck.in_channels == [2048] and model.neck.out_channels == 512
    assert model.rpn_head.anchor_generator.strides == [16]
    assert model.rpn_head.anchor_generator.scales == [4, 8, 16, 32]
    assert model.roi_head.bbox_head.num_classes == 30


def test_training_step_gives_finite_losses_and_backbone_gradients():
    torch.manual_seed(0)
    detector = MODELS.build(_model_cfg())
    detector.train()
    inputs = torch.randn(1, 3, 96, 128)
    losses = detector.loss(inputs, [_sample()])
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v) for v in losses.values())
    assert torch.isfinite(total)
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} <= set(losses)
    total.backward()
    grad = detector.backbone.layer4[0].conv2.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert detector.neck.convs[0].conv.weight.grad.abs().sum() > 0


def test_inference_step_returns_boxes_in_the_image():
    torch.manual_seed(0)
    detector = MODELS.build(_model_cfg())
    detector.eval()
    with torch.no_grad():
        results = detector.predict(torch.randn(1, 3, 96, 128), [_sample()])
    pred = results[0].pred_instances
    assert len(pred) > 0
    assert pred.bboxes.shape[1] == 4 and pred.scores.shape == pred.labels.shape
    assert (pred.bboxes[:, 2] <= 128 + 1e-3).all() and (pred.bboxes[:, 3] <= 96 + 1e-3).all()
    assert (pred.labels >= 0).all() and (pred.labels < 30).all()


def _offline(monkeypatch, torch_home):
    """A private torch hub cache, and no network (a download raises as it does offline)."""
    monkeypatch.setenv('TORCH_HOME', str(torch_home))

    def no_network(url, dst, *args, **kwargs):
        raise urllib.error.URLError('[Errno 101] Network is unreachable')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)


def test_the_pretrained_backbone_comes_from_the_torch_hub_cache(tmp_path, monkeypatch):
    _offline(monkeypatch, tmp_path)
    cached = hub_cache_path(get_torchvision_models()['resnet50'])
    os.makedirs(os.path.dirname(cached))
    torch.save({'conv1.weight': torch.full((64, 3, 7, 7), 0.5)}, cached)  # a part is enough to see it loaded
    detector = MODELS.build(_model_cfg(init_backbone=True))
    detector.init_weights()
    assert torch.all(detector.backbone.conv1.weight == 0.5)


def test_offline_without_the_cached_file_the_error_names_the_url_and_the_file(tmp_path, monkeypatch):
    _offline(monkeypatch, tmp_path)
    detector = MODELS.build(_model_cfg(init_backbone=True))
    with pytest.raises(CheckpointDownloadError) as error:
        detector.init_weights()
    message = str(error.value)
    assert 'torchvision://resnet50' in message and 'download.pytorch.org/models/resnet50-0676ba61.pth' in message
    assert str(tmp_path / 'hub' / 'checkpoints' / 'resnet50-0676ba61.pth') in message
