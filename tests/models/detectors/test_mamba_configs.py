"""The MAMBA configs: they build, set the switches they name, and the synthetic one keeps the
single-frame baseline's budget."""
import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mamba_vod.registry import MODELS

SYNTHETIC_BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'
SWITCHES = {'mamba_': (True, True), 'mamba-enhanced_': (True, True), 'mamba-staged_': (True, True),
            'mamba-ins_': (False, True), 'mamba-pix_': (True, False)}


def _switches(path):
    name = path.rsplit('/', 1)[1]
    return next(value for prefix, value in SWITCHES.items() if name.startswith(prefix))


@pytest.mark.parametrize('path', sorted(glob.glob('configs/mamba/*.py') + glob.glob('configs/synthetic/mamba*.py')))
def test_config_builds_with_its_switches(path):
    cfg = Config.fromfile(path)
    with torch.device('meta'):  # names and shapes only
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'MAMBA'
    assert (model.pixel_level is not None, model.instance_level is not None) == _switches(path)
    assert cfg.train_dataloader.dataset.datasets[0].pipeline[-1].type == 'PackVideoInputs'
    assert model.data_preprocessor.pad_size_divisor == 16


def test_release_config_is_the_compatible_mode():
    cfg = Config.fromfile('configs/mamba/mamba-ins_r101-dc5_vfe-release_imagenetvid.py')
    assert cfg.model.instance_level.geo.value_projection and cfg.model.pixel_level is None
    assert cfg.model.backbone.depth == 101
    # tested under the paper's protocol by default: the one key the data side reads
    assert cfg.test_dataloader.dataset.test_protocol == cfg.val_dataloader.dataset.test_protocol == 'paper'
    # the released model stores its enhanced features; models trained here store what training keys on
    assert cfg.model.instance_level.memory_features == 'enhanced'
    assert MODELS.get('InstanceLevel').__init__.__kwdefaults__['memory_features'] == 'raw'


def test_synthetic_mamba_has_the_baseline_backbone_data_and_budget():
    mamba = Config.fromfile('configs/synthetic/mamba_r18-dc5_synthetic.py')
    baseline = Config.fromfile(SYNTHETIC_BASELINE)
    for key in ('backbone', 'neck', 'rpn_head'):
        assert mamba.model[key] == baseline.model[key], key
    for phase in ('train_cfg', 'test_cfg'):  # the baseline's, plus the levels' options
        levels = {key: mamba.model[phase].pop(key) for key in ('pixel', 'instance') if key in mamba.model[phase]}
        assert mamba.model[phase] == baseline.model[phase] and set(levels) <= {'pixel', 'instance'}, phase
    for key in ('bbox_roi_extractor', ):
        assert mamba.model.roi_head[key] == baseline.model.roi_head[key]
    ours = {k: v for k, v in mamba.model.roi_head.bbox_head.items() if k != 'type'}
    assert ours == {k: v for k, v in baseline.model.roi_head.bbox_head.items() if k != 'type'}
    for key in ('train_cfg', 'param_scheduler', 'auto_scale_lr', 'randomness', 'img_scale',
                'data_root', 'val_evaluator', 'default_hooks'):
        assert mamba[key] == baseline[key], key
    # the same optimiser; only the GEOs learn slower
    paramwise = mamba.optim_wrapper.pop('paramwise_cfg')
    assert mamba.optim_wrapper == baseline.optim_wrapper and 'paramwise_cfg' not in baseline.optim_wrapper
    assert paramwise == dict(custom_keys={'pixel_level.geo': dict(lr_mult=0.1),
                                          'instance_level.geos': dict(lr_mult=0.1)})
    for key in ('batch_size', 'num_workers'):
        assert mamba.train_dataloader[key] == baseline.train_dataloader[key], key
    for ours, theirs in zip(mamba.train_dataloader.dataset.datasets, baseline.train_dataloader.dataset.datasets):
        assert ours.ann_file == theirs.ann_file and ours.ref_img_sampler.num_ref_imgs == 2


def test_synthetic_mamba_optimiser_slows_exactly_the_geos():
    cfg = Config.fromfile('configs/synthetic/mamba_r18-dc5_synthetic.py')
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    lr_of = {id(param): group['lr'] for group in optim_wrapper.optimizer.param_groups for param in group['params']}
    for name, param in model.named_parameters():
        slow = name.startswith(('instance_level.geos.', 'pixel_level.geo.'))
        assert lr_of[id(param)] == pytest.approx(base_lr * (0.1 if slow else 1.0)), name
    assert any(name.startswith('pixel_level.geo.') for name, _ in model.named_parameters())
    assert any(name.startswith('instance_level.geos.1.') for name, _ in model.named_parameters())
    assert any(name.startswith('backbone.') for name, _ in model.named_parameters())


def test_synthetic_pixel_level_dropout_only_where_the_instance_level_is_on():
    """The dropout lets the instance level learn on its own; it would only slow a pixel level alone."""
    dropout = {}
    for variant in ('mamba', 'mamba-pix', 'mamba-ins'):
        cfg = Config.fromfile(f'configs/synthetic/{variant}_r18-dc5_synthetic.py')
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        dropout[variant] = model.pixel_level.train_cfg['level_dropout'] if model.pixel_level is not None else None
    assert dropout == {'mamba': 0.5, 'mamba-pix': 0.0, 'mamba-ins': None}


def test_the_staged_recipe_trains_only_the_pixel_geo():
    """The authors' pixel recipe: stage 2 freezes everything the instance-level model trained."""
    cfg = Config.fromfile('configs/synthetic/mamba-staged_r18-dc5_synthetic.py')
    hooks = [hook for hook in cfg.custom_hooks if hook.type == 'FrozenModulesHook']
    assert len(hooks) == 1 and set(hooks[0].modules) == {'backbone', 'neck', 'rpn_head', 'roi_head', 'instance_level'}
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    learning = {name.split('.')[0] for name, _ in model.named_parameters()} - set(hooks[0].modules)
    assert learning == {'pixel_level'} and model.pixel_level.train_cfg['level_dropout'] == 0.0
