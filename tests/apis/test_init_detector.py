import pytest
import torch
from mmengine.config import Config

from mamba_vod.apis import StreamingDetector, init_detector
from mamba_vod.compat import UnsafeCheckpointError
from mamba_vod.engine import CheckpointMismatchError
from tests.compat.checkpoint_server import serving, write_payload_checkpoint


def test_without_checkpoint_random_weights_warn_and_classes_come_from_config(tiny_config, utils):
    with pytest.warns(UserWarning, match='random weights'):
        model = init_detector(tiny_config)
    assert not model.training
    assert model.dataset_meta['classes'] == utils.VID_CLASSES
    assert model.cfg.model.backbone.depth == 18


def test_checkpoint_weights_and_class_names_are_loaded(tiny_config, tmp_path):
    with pytest.warns(UserWarning):
        source = init_detector(tiny_config)
    with torch.no_grad():
        for param in source.parameters():
            param.fill_(0.25)
    names = [f'thing{i}' for i in range(30)]
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=source.state_dict(), meta=dict(dataset_meta=dict(CLASSES=names))), path)
    model = init_detector(tiny_config, path)
    assert model.dataset_meta['classes'] == names
    first = next(model.backbone.parameters())
    assert torch.all(first == 0.25)


def test_cfg_options_apply_without_touching_the_given_config(tiny_config):
    cfg = Config.fromfile(tiny_config)
    with pytest.warns(UserWarning):
        model = init_detector(cfg, cfg_options={'model.test_cfg.rcnn.max_per_img': 7})
    assert model.cfg.model.test_cfg.rcnn.max_per_img == 7
    assert cfg.model.test_cfg.rcnn.max_per_img == 100


def test_missing_config_and_missing_checkpoint_are_named(tiny_config, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        init_detector(str(tmp_path / 'nope.py'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_detector(tiny_config, str(tmp_path / 'missing.pth'))


def test_a_checkpoint_that_leaves_parameters_untrained_is_refused_unless_allowed(tiny_config, tmp_path):
    with pytest.warns(UserWarning):
        source = init_detector(tiny_config)
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {k: v for k, v in source.state_dict().items() if not k.startswith('roi_head.')}}, path)
    with pytest.raises(CheckpointMismatchError, match=r"ckpt\.pth' does not fit .* missing from the checkpoint "
                                                      r'\(first: roi_head\.'):
        init_detector(tiny_config, path)
    with pytest.raises(CheckpointMismatchError, match='missing'):
        StreamingDetector(tiny_config, path)
    model = init_detector(tiny_config, path, allow_partial=True)
    assert torch.equal(next(model.backbone.parameters()), next(source.backbone.parameters()))
    assert StreamingDetector(tiny_config, path, allow_partial=True).model.training is False


def test_a_checkpoint_url_whose_pickle_would_run_code_is_refused(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    (tmp_path / 'served').mkdir()
    marker = tmp_path / 'code_ran'
    write_payload_checkpoint(str(tmp_path / 'served' / 'evil.pth'), str(marker))
    with serving(str(tmp_path / 'served')) as base:
        with pytest.raises(UnsafeCheckpointError, match='could run code'):
            StreamingDetector(tiny_config, f'{base}/evil.pth')
    assert not marker.exists()
