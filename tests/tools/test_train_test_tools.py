"""tools/train.py and tools/test.py: usage, single-process training, multi-process training
through tools/dist_train.sh (torchrun, gloo on CPU), and user errors as one line with exit
status 1 (checkpoints that are missing, empty, not checkpoints, of another model, or served
from a URL with a pickle that would run code)."""
import glob
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import MODELS
from tests.compat.checkpoint_server import serving, write_payload_checkpoint
from tests.tools._tiny_detection_config import tiny_config, write_tiny_config

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


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """A tiny config (2 classes) and a checkpoint of its model."""
    root = tmp_path_factory.mktemp('tiny')
    config = write_tiny_config(str(root), max_iters=1)
    init_default_scope('mamba_vod')
    model = MODELS.build(Config(tiny_config(str(root))).model)
    path = str(root / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return config, path


def test_test_refuses_a_checkpoint_of_another_model_unless_allowed(load_tool, tiny_checkpoint, user_error):
    config, checkpoint = tiny_checkpoint
    test = load_tool('test.py')
    line = user_error(test.main, [config, checkpoint, '--cfg-options', 'model.roi_head.bbox_head.num_classes=8'])
    assert 'tiny.pth' in line and 'roi_head.bbox_head.fc_cls.weight [3, 32] vs [9, 32]' in line
    assert '--allow-partial' in line


@pytest.mark.parametrize('make, message', [
    (lambda path: None, 'does not exist'),
    (lambda path: os.mkdir(path), 'is a directory, not a file'),
    (lambda path: open(path, 'wb').close(), 'is empty (0 bytes)'),
    (lambda path: open(path, 'w').write('see the README for the weights'), 'is not a PyTorch checkpoint'),
])
def test_test_names_a_bad_checkpoint_in_one_line(load_tool, tiny_checkpoint, tmp_path, user_error, make, message):
    config, _ = tiny_checkpoint
    path = str(tmp_path / 'bad.pth')
    make(path)
    line = user_error(load_tool('test.py').main, [config, path])
    assert 'bad.pth' in line and message in line and 'could run code' not in line


def test_train_names_a_missing_config_and_an_unwritable_work_dir(load_tool, tiny_checkpoint, tmp_path, user_error):
    config, _ = tiny_checkpoint
    train = load_tool('train.py')
    assert "config file '" in user_error(train.main, [str(tmp_path / 'nope.py')])
    (tmp_path / 'a_file').write_text('')
    line = user_error(train.main, [config, '--work-dir', str(tmp_path / 'a_file' / 'work')])
    assert 'a_file' in line


def test_a_checkpoint_url_that_would_run_code_is_refused_by_train_and_test(load_tool, tiny_checkpoint, tmp_path,
                                                                           user_error, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    config, _ = tiny_checkpoint
    (tmp_path / 'served').mkdir()
    marker = tmp_path / 'code_ran'
    write_payload_checkpoint(str(tmp_path / 'served' / 'evil.pth'), str(marker))
    with serving(str(tmp_path / 'served')) as base:
        url = f'{base}/evil.pth'
        line = user_error(load_tool('train.py').main, [config, '--work-dir', str(tmp_path / 'work'), '--resume', url])
        assert 'could run code' in line and 'evil.pth' in line
        assert 'could run code' in user_error(load_tool('test.py').main, [config, url])
    assert not marker.exists()


def test_a_user_error_from_the_command_line_is_one_line_without_traceback(tmp_path):
    config = write_tiny_config(str(tmp_path), max_iters=1)
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    result = _run([sys.executable, 'tools/test.py', config, str(empty)])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: checkpoint '{empty}' is empty (0 bytes)")


@pytest.mark.parametrize('options, words', [
    (['train_cfg.max_iter=1'], ["'train_cfg.max_iter' is not an argument of IterBasedTrainLoop",
                                "did you mean 'max_iters'"]),
    (['train_cfg.max_iters=abc'], ["'train_cfg.max_iters=abc'", 'holds a number there (1)']),
    (['optim_wrapper.optimizer.lr=fast'], ["'optim_wrapper.optimizer.lr=fast'", 'holds a number there']),
    (['model.backbone.dept=50'], ["'model.backbone.dept' is not an argument of ResNet", "did you mean 'depth'"]),
])
def test_train_names_a_config_mistake_in_one_line_before_any_work_dir(load_tool, tiny_checkpoint, tmp_path,
                                                                      user_error, options, words):
    config, _ = tiny_checkpoint
    work_dir = tmp_path / 'work'
    line = user_error(load_tool('train.py').main, [config, '--work-dir', str(work_dir), '--cfg-options', *options])
    assert all(word in line for word in words), line
    assert not work_dir.exists()


def test_train_names_the_file_and_line_of_a_config_syntax_error(load_tool, tmp_path, user_error):
    config = tmp_path / 'broken.py'
    config.write_text('model = dict(\n    type="FasterRCNN",,\n)\n')
    line = user_error(load_tool('train.py').main, [str(config), '--work-dir', str(tmp_path / 'work')])
    assert line.startswith(f"error: config file '{config}', line 2: ") and 'fix the Python syntax' in line
    assert not (tmp_path / 'work').exists()


def test_train_names_a_config_that_is_a_directory(load_tool, tmp_path, user_error):
    line = user_error(load_tool('train.py').main, [str(tmp_path), '--work-dir', str(tmp_path / 'work')])
    assert f"config file '{tmp_path}' is a directory, not a file" in line
