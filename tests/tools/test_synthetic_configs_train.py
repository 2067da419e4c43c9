"""Every method's synthetic config trains through its own data pipeline: two iterations on a tiny
synthetic set in the ILSVRC2015 layout (what ``tools/train.py CONFIG`` runs, shortened), with finite
losses and a checkpoint. The model tests train on tensors they make; this one also runs each
config's datasets, reference samplers and transforms."""
import glob
import math
import os.path as osp

import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mamba_vod.engine import load_config, rebase_paths, train_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = ['--seed', '0', '--train-videos', '2', '--val-videos', '1', '--frames', '8', '--train-key-frames', '4',
        '--det-images', '4']
CONFIGS = sorted(osp.relpath(path, ROOT) for path in glob.glob(osp.join(ROOT, 'configs', 'synthetic', '*.py'))
                 if not path.endswith('_hard.py'))


@pytest.fixture(scope='module')
def tiny_data(load_tool, tmp_path_factory):
    stage = load_tool('misc/synthetic_data_stage.py')
    root = str(tmp_path_factory.mktemp('synthetic_vid'))
    stage.prepare_synthetic_data(root, TINY, echo=lambda line: None)
    return root


class LossLog(Hook):
    """Keeps the total loss of every training iteration."""
    priority = 'LOWEST'

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))


@pytest.mark.parametrize('config', CONFIGS)
def test_the_config_trains_two_iterations_through_its_data_pipeline(config, tiny_data, tmp_path):
    cfg = load_config(osp.join(ROOT, config), {
        'train_cfg': dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=100),
        'param_scheduler': [], 'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'default_hooks.checkpoint': dict(_delete_=True, type='CheckpointHook', interval=2, by_epoch=False),
        'default_hooks.logger': dict(type='LoggerHook', interval=1), 'log_processor': dict(by_epoch=False),
        'load_from': None})
    cfg.pop('val_dataloader'), cfg.pop('val_cfg'), cfg.pop('val_evaluator')
    cfg = rebase_paths(cfg, cfg.train_dataloader.dataset.datasets[0].data_root, tiny_data)
    runner = Runner.from_cfg(train_config(cfg, work_dir=str(tmp_path / 'work')))
    log = LossLog()
    runner.register_hook(log)
    runner.train()
    assert len(log.losses) == 2 and all(math.isfinite(loss) and loss > 0 for loss in log.losses), log.losses
    assert osp.isfile(tmp_path / 'work' / 'iter_2.pth')


def test_every_method_has_a_synthetic_config():
    names = {osp.basename(path).split('_r18')[0] for path in CONFIGS}
    assert {'faster-rcnn', 'mamba', 'selsa', 'selsa-troialign', 'dff', 'fgfa', 'rdn', 'mega'} <= names
