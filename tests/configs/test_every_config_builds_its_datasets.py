"""Every config under configs/ builds its train, val and test datasets (lazily: no data needed), so a
setting that only the dataset checks (a reference sampler, a test protocol) fails here, not at the
start of a training. (The synthetic MEGA and DFF configs once asked for 7 and 1 references drawn
'bilateral_uniform', which needs an even count.)"""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(path for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
                 if osp.basename(osp.dirname(path)) != '_base_')


def lazy(dataset: dict) -> dict:
    """``dataset`` (a config) and the datasets it wraps, with ``lazy_init=True``: no file is read."""
    dataset = copy.deepcopy(dataset)
    if 'datasets' in dataset:
        dataset['datasets'] = [lazy(inner) for inner in dataset['datasets']]
        dataset['lazy_init'] = True
    elif 'dataset' in dataset:
        dataset['dataset'] = lazy(dataset['dataset'])
    else:
        dataset['lazy_init'] = True
    return dataset


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_the_datasets_of_every_config_build(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mamba_vod'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            assert DATASETS.build(lazy(cfg[loader].dataset)) is not None, loader


def test_every_method_has_configs_here():
    names = {osp.basename(osp.dirname(path)) for path in CONFIGS}
    assert {'mamba', 'selsa', 'temporal_roi_align', 'dff', 'fgfa', 'mega', 'rdn', 'synthetic', 'custom'} <= names
