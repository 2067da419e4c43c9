"""mamba_vod.engine.experiment: a finished run is reused, a stopped one is resumed."""
import os
import os.path as osp

from mamba_vod.engine import experiment
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
