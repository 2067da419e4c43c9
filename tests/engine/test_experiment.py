"""mamba_vod.engine.experiment: a finished run is reused, a stopped one is resumed; a budget
of other epochs moves the schedule with it."""
import os
import os.path as osp

import pytest

from mamba_vod.engine import epoch_budget, experiment, load_config
from tests.tools._tiny_detection_config import write_tiny_config


def test_train_reuses_a_finished_run_and_resumes_a_stopped_one(tmp_path):
    config = write_tiny_config(str(tmp_path), max_iters=2)
    work_dir = str(tmp_path / 'work')
    stopped = experiment.train(config, work_dir)  # a 2-iteration run stands for one stopped early
    assert osp.basename(stopped) == 'iter_2.pth'

    longer = {'train_cfg.max_iters': 4, 'default_hooks.checkpoint.interval': 2}
    finished = experiment.train(config, work_dir, cfg_options=longer)
    assert osp.basename(finished) == 'iter_4.pth'
    logs = sorted(os.path.join(root, name) for root, _, names in os.walk(work_dir) for name in names
                  if name.endswith('.log'))
    assert any('resumed' in open(log).read().lower() for log in logs)
    assert not any('Iter(train) [1/4]' in open(log).read() for log in logs)  # continued at iteration 3

    stamp = os.stat(finished).st_mtime_ns
    assert experiment.train(config, work_dir, cfg_options=longer) == finished
    assert os.stat(finished).st_mtime_ns == stamp  # reused, not retrained


def test_epoch_budget_stretches_the_step_schedule_with_the_epochs(tmp_path):
    config = 'configs/synthetic/mamba_r18-dc5_synthetic.py'  # 8 epochs, lr / 10 after epoch 6
    options = epoch_budget(config, 16)
    cfg = load_config(config, options)
    assert cfg.train_cfg.max_epochs == 16 and cfg.train_cfg.val_interval == 16
    warmup, steps = cfg.param_scheduler
    assert warmup.by_epoch is False and warmup.end == 50  # iteration-wise: untouched
    assert steps.type == 'MultiStepLR' and steps.milestones == [12] and steps.end == 16
    assert epoch_budget(config, 1)['param_scheduler.1.milestones'] == [1]
    with pytest.raises(ValueError, match='epochs must be >= 1'):
        epoch_budget(config, 0)
    by_iterations = tmp_path / 'iters.py'
    by_iterations.write_text(f"_base_ = '{osp.abspath(config)}'\n"
                             "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=10)\n")
    with pytest.raises(ValueError, match='not an epoch-based schedule'):
        epoch_budget(str(by_iterations), 4)
