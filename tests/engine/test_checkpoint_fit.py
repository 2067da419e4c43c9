"""mamba_vod.engine.checkpoint_fit: a checkpoint of another model is refused (naming the
first keys), unless partial loading is allowed; the fit is judged after the model's own
load hooks; training from ``load_from`` reports what starts untrained."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from mamba_vod.engine import (CheckpointMismatchError, check_checkpoint_fit, checkpoint_fit, load_config,
                              load_state_dict_fit, load_weights, train_config)
from mamba_vod.registry import MODELS
from tests.apis.stream_test_utils import write_tiny_config

BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'
MAMBA = 'configs/synthetic/mamba_r18-dc5_synthetic.py'


def _state_of(cfg: Config) -> dict:
    """A state dict of the model of ``cfg`` (zeros; built on the meta device, so no init work)."""
    init_default_scope('mamba_vod')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return {key: torch.zeros(value.shape, dtype=value.dtype) for key, value in model.state_dict().items()}


def _save(state: dict, path) -> str:
    torch.save({'state_dict': state, 'meta': {}}, str(path))
    return str(path)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """The tiny Faster R-CNN config (30 classes) and a checkpoint of its model."""
    folder = tmp_path_factory.mktemp('tiny')
    config = write_tiny_config(str(folder))
    return config, _save(_state_of(load_config(config)), folder / 'tiny.pth')


def test_baseline_weights_are_refused_by_a_mamba_config_naming_the_first_missing_keys(tmp_path):
    baseline = _state_of(load_config(BASELINE))
    mamba_keys = list(_state_of(load_config(MAMBA)))
    only_mamba = [key for key in mamba_keys if key not in baseline and not key.endswith('num_batches_tracked')]
    assert only_mamba  # the GEOs
    path = _save(baseline, tmp_path / 'baseline.pth')
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fit(load_config(MAMBA), path)
    message = str(error.value)
    assert f'{len(only_mamba)} model tensor(s) missing from the checkpoint' in message
    assert only_mamba[0] in message and 'baseline.pth' in message and '--allow-partial' in message
    fit = check_checkpoint_fit(load_config(MAMBA), path, allow_partial=True)
    assert not fit.complete and set(fit.missing) == set(only_mamba)
    parts = fit.untrained_parts()
    assert len(parts) < len(only_mamba)  # whole modules, not every tensor
    assert all(any(key == part or key.startswith(part + '.') for part in parts) for key in only_mamba)


def test_another_number_of_classes_is_a_shape_mismatch(tiny):
    config, path = tiny
    cfg = load_config(config, {'model.roi_head.bbox_head.num_classes': 8})
    with pytest.raises(CheckpointMismatchError, match=r'of another shape, checkpoint vs model \(first: '
                                                      r'roi_head\.bbox_head\.fc_cls\.weight \[31, 128\] vs \[9, 128\]'):
        check_checkpoint_fit(cfg, path)
    assert check_checkpoint_fit(load_config(config), path).complete


def test_load_weights_loads_a_fitting_checkpoint_and_refuses_a_partial_one(tiny):
    config, path = tiny
    cfg = load_config(config, {'model.roi_head.bbox_head.num_classes': 8})
    model = MODELS.build(cfg.model)
    with pytest.raises(CheckpointMismatchError, match='fc_cls'):
        load_weights(model, path)
    head_before = model.roi_head.bbox_head.fc_cls.weight.clone()
    load_weights(model, path, allow_partial=True)
    assert torch.equal(model.roi_head.bbox_head.fc_cls.weight, head_before)  # mis-shaped: kept, not loaded
    assert torch.all(next(model.backbone.parameters()) == 0)  # the rest is loaded


class _RenamedLayer(nn.Module):
    """A model whose load pre-hook renames the old parameter names ``old.*`` to ``new.*``."""

    def __init__(self):
        super().__init__()
        self.new = nn.Linear(2, 3)
        self.register_load_state_dict_pre_hook(self._rename)

    @staticmethod
    def _rename(module, state_dict, prefix, *args):
        for key in [key for key in state_dict if key.startswith(prefix + 'old.')]:
            state_dict[prefix + 'new.' + key[len(prefix) + len('old.'):]] = state_dict.pop(key)


def test_the_fit_is_judged_after_the_models_load_hooks():
    model = _RenamedLayer()
    fit = load_state_dict_fit(model, {'old.weight': torch.ones(3, 2), 'old.bias': torch.ones(3)})
    assert fit.complete and not fit.unexpected
    assert torch.all(model.new.weight == 1)
    partial = load_state_dict_fit(_RenamedLayer(), {'old.weight': torch.ones(4, 2), 'extra': torch.ones(1)})
    assert partial.missing == ['new.bias'] and partial.unexpected == ['extra']
    assert partial.mismatched == ['new.weight [4, 2] vs [3, 2]']


def test_training_from_load_from_reports_the_untrained_parts(tiny, tmp_path, monkeypatch):
    config, path = tiny
    logged = []
    monkeypatch.setattr(checkpoint_fit, 'print_log', lambda message, **kwargs: logged.append(message))
    options = {'load_from': path, 'model.roi_head.bbox_head.num_classes': 8}
    cfg = train_config(config, work_dir=str(tmp_path), cfg_options=options)
    assert cfg.load_from == path  # training goes on: lenient, as mmdet
    assert any('leaves these parts of the model untrained: roi_head.bbox_head.fc_cls' in line for line in logged)
    logged.clear()
    train_config(config, work_dir=str(tmp_path), cfg_options={'load_from': path})
    assert logged == [f"load_from '{path}' fills every tensor of the model"]
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        train_config(config, work_dir=str(tmp_path), resume=str(tmp_path / 'nowhere.pth'))


def test_a_mamba_checkpoint_with_the_old_parameter_names_fits_through_the_models_renaming_hook(tmp_path):
    state = _state_of(load_config(MAMBA))
    old_names = {key.replace('instance_level.geos.', 'roi_head.bbox_head.aggregators.'): value
                 for key, value in state.items()}
    assert old_names.keys() != state.keys()
    fit = check_checkpoint_fit(load_config(MAMBA), _save(old_names, tmp_path / 'old.pth'))
    assert fit.complete and not fit.unexpected
