"""Every weight URI the configs name (``torchvision://``, ``open-mmlab://`` ...) resolves in
mmengine's tables to a URL, so the safe loader can fetch and cache it."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner.checkpoint import get_mmcls_models, get_torchvision_models

from mamba_vod.compat.checkpoint_sources import OPENMMLAB_PREFIXES, TORCHVISION_PREFIXES, openmmlab_target

CONFIGS = sorted(glob.glob(osp.join(osp.dirname(__file__), '..', '..', 'configs', '**', '*.py'), recursive=True))


def weight_sources(node) -> list:
    """Every ``checkpoint`` named by a ``Pretrained`` init_cfg anywhere in a config."""
    found = []
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and node.get('checkpoint'):
            found.append(node['checkpoint'])
        for value in node.values():
            found += weight_sources(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            found += weight_sources(value)
    return found


def resolve(uri: str) -> str:
    """The URL a weight URI stands for, by mmengine's tables (KeyError when it names nothing)."""
    if uri.startswith(TORCHVISION_PREFIXES):
        return get_torchvision_models()[uri.split('://', 1)[1]]
    if uri.startswith(OPENMMLAB_PREFIXES):
        return openmmlab_target(uri)
    if uri.startswith('mmcls://'):
        return get_mmcls_models()[uri[len('mmcls://'):]]
    return uri


def test_the_imagenet_configs_name_standard_weight_uris():
    sources = {uri for path in CONFIGS for uri in weight_sources(Config.fromfile(path).to_dict())}
    assert {'torchvision://resnet50', 'torchvision://resnet101', 'open-mmlab://resnext101_64x4d'} <= sources


@pytest.mark.parametrize('path', CONFIGS, ids=lambda path: osp.relpath(path, osp.dirname(CONFIGS[0])))
def test_every_weight_uri_of_a_config_resolves_to_a_url(path):
    for uri in weight_sources(Config.fromfile(path).to_dict()):
        assert '://' in uri, f'{path}: {uri} is a local path; name the weights by URI (torchvision://...)'
        assert resolve(uri).startswith('https://'), f'{path}: {uri} resolves to {resolve(uri)}'
