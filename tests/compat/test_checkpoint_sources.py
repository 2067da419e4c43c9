"""Every source mmengine names a checkpoint by ends in the safe load: a payload served from
a loopback URL, a pre-filled torch hub cache, mmengine's home folder, pavi or object storage
is refused before it runs; good weights load from the cache without a download; an offline
machine is told which URL failed and which file would serve instead."""
import os
import sys
import types
import urllib.error

import pytest
import torch
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner import load_checkpoint
from torch import nn

from mamba_vod.compat import (CheckpointDownloadError, CheckpointError, UnsafeCheckpointError, hub_cache_path,
                              install_safe_checkpoint_loading)
from mamba_vod.compat import checkpoint_sources
from tests.compat.checkpoint_server import serving, write_payload_checkpoint

RESNET50_URL = mmengine_checkpoint.get_torchvision_models()['resnet50']


@pytest.fixture(autouse=True)
def _private_caches(tmp_path, monkeypatch):
    """Each test gets its own torch hub cache and mmengine home, and no download reaches the
    network (a test that needs one serves it on 127.0.0.1)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    real_download = torch.hub.download_url_to_file

    def loopback_only(url, dst, *args, **kwargs):
        if not url.startswith('http://127.0.0.1:'):
            raise urllib.error.URLError('network is unreachable (test)')
        return real_download(url, dst, *args, **kwargs)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', loopback_only)


def _weights(value: float) -> dict:
    return {'weight': torch.full((2, 3), value), 'bias': torch.zeros(2)}


def test_a_url_serving_a_payload_is_refused_before_it_runs(tmp_path):
    served = tmp_path / 'served'
    served.mkdir()
    marker = tmp_path / 'code_ran'
    write_payload_checkpoint(str(served / 'evil.pth'), str(marker))
    with serving(str(served)) as base:
        with pytest.raises(UnsafeCheckpointError, match='could run code'):
            load_checkpoint(nn.Linear(3, 2), f'{base}/evil.pth')
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(f'{base}/evil.pth')
    assert not marker.exists()


def test_a_url_is_downloaded_once_into_the_torch_hub_cache(tmp_path):
    served = tmp_path / 'served'
    served.mkdir()
    torch.save({'state_dict': _weights(0.5)}, served / 'linear-0123abcd.pth')
    model = nn.Linear(3, 2)
    with serving(str(served)) as base:
        url = f'{base}/linear-0123abcd.pth'
        load_checkpoint(model, url)
    assert torch.all(model.weight == 0.5)
    cached = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'linear-0123abcd.pth'
    assert hub_cache_path(url) == str(cached) and cached.is_file()
    again = nn.Linear(3, 2)
    load_checkpoint(again, url)  # the server is gone: the cache serves
    assert torch.all(again.weight == 0.5)


def _prefill(url: str, content) -> str:
    path = hub_cache_path(url)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(content, path)
    return path


@pytest.mark.parametrize('uri', ['torchvision://resnet50', 'modelzoo://resnet50'])
def test_torchvision_uris_load_from_a_prefilled_cache_and_refuse_a_payload_there(tmp_path, uri):
    _prefill(RESNET50_URL, _weights(0.25))
    model = nn.Linear(3, 2)
    load_checkpoint(model, uri)
    assert torch.all(model.weight == 0.25)
    marker = tmp_path / 'code_ran'
    write_payload_checkpoint(hub_cache_path(RESNET50_URL), str(marker))
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(model, uri)
    assert not marker.exists()


def test_open_mmlab_uris_load_urls_through_the_cache_and_local_files_safely(tmp_path):
    url = mmengine_checkpoint.get_external_models()['resnext101_64x4d']
    _prefill(url, _weights(0.75))
    model = nn.Linear(3, 2)
    load_checkpoint(model, 'open-mmlab://resnext101_64x4d')
    assert torch.all(model.weight == 0.75)
    home = tmp_path / 'mmengine_home'  # open_mmlab.json there maps names to files under it
    home.mkdir(exist_ok=True)
    (home / 'open_mmlab.json').write_text('{"mine": "weights/mine.pth"}')
    (home / 'weights').mkdir()
    marker = tmp_path / 'code_ran'
    write_payload_checkpoint(str(home / 'weights' / 'mine.pth'), str(marker))
    for uri in ('open-mmlab://mine', 'openmmlab://mine'):
        with pytest.raises(UnsafeCheckpointError, match='mine.pth'):
            load_checkpoint(model, uri)
    assert not marker.exists()


def test_mmcls_uris_keep_the_backbone_keys(tmp_path):
    name, url = next(iter(mmengine_checkpoint.get_mmcls_models().items()))
    _prefill(url, {'state_dict': {'backbone.weight': torch.ones(2, 3), 'head.fc.weight': torch.ones(1)}})
    loaded = CheckpointLoader.load_checkpoint(f'mmcls://{name}')
    assert list(loaded['state_dict']) == ['weight']
    write_payload_checkpoint(hub_cache_path(url), str(tmp_path / 'code_ran'))
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(f'mmcls://{name}')
    assert not (tmp_path / 'code_ran').exists()


def test_pavi_and_object_storage_end_in_the_safe_load(tmp_path, monkeypatch):
    marker = tmp_path / 'code_ran'
    payload = write_payload_checkpoint(str(tmp_path / 'evil.pth'), str(marker))

    class CloudModel:
        name = 'evil.pth'

        def download(self, destination):
            with open(payload, 'rb') as source, open(destination, 'wb') as target:
                target.write(source.read())

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: CloudModel())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(nn.Linear(3, 2), 'pavi://project/evil')

    class Bucket:

        def get(self, uri):
            with open(payload, 'rb') as source:
                return source.read()

    monkeypatch.setattr(checkpoint_sources, 'get_file_backend', lambda uri, backend_args: Bucket())
    for uri in ('s3://bucket/evil.pth', 'cluster:s3://bucket/evil.pth', 'petrel://bucket/evil.pth'):
        with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
            load_checkpoint(nn.Linear(3, 2), uri)
    assert not marker.exists()


def test_offline_the_error_names_the_url_and_the_cache_file():
    with pytest.raises(CheckpointDownloadError) as error:
        load_checkpoint(nn.Linear(3, 2), 'torchvision://resnet101')
    url = mmengine_checkpoint.get_torchvision_models()['resnet101']
    message = str(error.value)
    assert 'torchvision://resnet101' in message and url in message and hub_cache_path(url) in message
    assert 'no network access' in message


def test_a_server_that_does_not_answer_is_a_download_error(tmp_path):
    with serving(str(tmp_path)) as base:
        pass  # stopped: nothing listens on the port any more
    with pytest.raises(CheckpointDownloadError, match=f'{base}/gone.pth.*gone.pth'):
        load_checkpoint(nn.Linear(3, 2), f'{base}/gone.pth')


def test_an_unknown_name_lists_near_ones():
    with pytest.raises(CheckpointError, match="'torchvision://resnet5' names no torchvision weights.*near names: "
                                              '.*resnet50'):
        load_checkpoint(nn.Linear(3, 2), 'torchvision://resnet5')


def test_every_registered_scheme_ends_in_a_safe_loader(tmp_path):
    unsafe = []

    def load_from_elsewhere(filename, map_location=None):
        unsafe.append(filename)
        return torch.load(filename, weights_only=False)

    CheckpointLoader.register_scheme('elsewhere://', load_from_elsewhere)
    try:
        install_safe_checkpoint_loading()
        safe = set(checkpoint_sources.SAFE_LOADERS.values())
        for prefix, loader in CheckpointLoader._schemes.items():
            assert loader in safe or loader.__name__ == 'load_from_unsupported', prefix
        assert set(checkpoint_sources.SAFE_LOADERS) <= set(CheckpointLoader._schemes)
        with pytest.raises(CheckpointError, match='cannot be loaded safely'):
            load_checkpoint(nn.Linear(3, 2), 'elsewhere://x.pth')
        assert not unsafe
    finally:
        CheckpointLoader._schemes.pop('elsewhere://')
