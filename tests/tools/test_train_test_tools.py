"""tools/train.py and tools/test.py: usage, single-process training, and
multi-process training through tools/dist_train.sh (torchrun, gloo on CPU)."""
import glob
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from tests.tools._tiny_detection_config import write_tiny_config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _run(args, env_extra=None, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''), OMP_NUM_THREADS='1',
               **(env_extra or {}))
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.parametrize('tool, words', [('train.py', ['--work-dir', '--resume', '--amp', '--cfg-options',
                                                       '--launcher']),
                                         ('test.py', ['checkpoint', '--work-dir', '--out', '--protocol',
                                                      '--cfg-options', '--launcher'])])
def test_help_lists_the_arguments(tool, words):
    result = _run([sys.executable, osp.join('tools', tool), '--help'])
    assert result.returncode == 0, result.stderr
    for word in words:
        assert word in result.stdout


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_script_runs_two_processes_that_save_once(tmp_path):
    config = write_tiny_config(str(tmp_path), max_iters=4)
    work_dir = tmp_path / 'work'
    result = _run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work_dir),
                   '--cfg-options', 'log_level=DEBUG'],
                  env_extra=dict(PORT=str(_free_port()), PYTHON=sys.executable))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    rank_logs = sorted(glob.glob(str(work_dir / '*' / '*_rank*.log')))
    assert [log[-9:] for log in rank_logs] == ['rank0.log', 'rank1.log']
    for log in rank_logs:
        text = open(log).read()
        assert 'Distributed training: True' in text
        assert 'Iter(train) [4/4]' in text
    checkpoints = sorted(osp.basename(p) for p in glob.glob(str(work_dir / '**' / '*.pth'), recursive=True))
    assert checkpoints == ['iter_4.pth']


def test_train_then_resume_from_the_command_line(tmp_path):
    config = write_tiny_config(str(tmp_path), max_iters=2)
    work_dir = tmp_path / 'work'
    first = _run([sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir)])
    assert first.returncode == 0, first.stderr[-3000:]
    assert osp.isfile(work_dir / 'iter_2.pth')
    second = _run([sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir), '--resume',
                   '--cfg-options', 'train_cfg.max_iters=3', 'default_hooks.checkpoint.interval=3'])
    assert second.returncode == 0, second.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 2' in second.stdout + second.stderr
    assert osp.isfile(work_dir / 'iter_3.pth')
