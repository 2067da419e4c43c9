"""Checkpoints with ``weights_only=True``: mmengine checkpoints resume, a pickle
that would run code is refused before it runs, missing, empty, cut-short and
non-checkpoint files are named for what they are."""
import os
import pickle

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from torch import nn

from mamba_vod.compat import (CheckpointNotFoundError, InvalidCheckpointError, UnsafeCheckpointError,
                              load_checkpoint_file)
from tests.compat.checkpoint_server import RunsCodeWhenUnpickled, write_payload_checkpoint


class _ToyRegressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(inputs).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        return out


class _ToyData(torch.utils.data.Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 32

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        inputs = torch.randn(3, generator=generator)
        return dict(inputs=inputs, targets=inputs.sum())


def _runner(work_dir, max_iters, resume=False):
    return Runner(
        model=_ToyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=8)],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        default_scope='mamba_vod',
        resume=resume,
        randomness=dict(seed=0),
        experiment_name=f'toy_{max_iters}_{resume}')


class _FirstIterationRecorder(Hook):
    """Records the runner's state when its first training iteration starts."""

    def __init__(self):
        self.seen = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.seen is None:
            optimizer = runner.optim_wrapper.optimizer
            self.seen = dict(
                iter=runner.iter,
                lr=runner.optim_wrapper.get_lr()['lr'],
                momentum=[state['momentum_buffer'].clone() for state in optimizer.state.values()],
                weight=runner.model.linear.weight.detach().clone())


def test_runner_resumes_at_saved_iteration_with_same_optimizer_state(tmp_path):
    first = _runner(tmp_path, max_iters=4)
    first.train()
    saved_momentum = [state['momentum_buffer'] for state in first.optim_wrapper.optimizer.state.values()]
    saved_lr = first.optim_wrapper.get_lr()['lr']
    assert os.path.isfile(tmp_path / 'iter_4.pth')

    second = _runner(tmp_path, max_iters=6, resume=True)
    recorder = _FirstIterationRecorder()
    second.register_hook(recorder)
    second.train()
    assert recorder.seen['iter'] == 4
    assert recorder.seen['lr'] == pytest.approx(saved_lr)
    assert len(recorder.seen['momentum']) == len(saved_momentum) > 0
    for before, after in zip(saved_momentum, recorder.seen['momentum']):
        assert torch.equal(before, after)
    assert torch.equal(recorder.seen['weight'], first.model.linear.weight)
    assert second.iter == 6


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / 'code_ran'
    path = write_payload_checkpoint(str(tmp_path / 'evil.pth'), str(marker))

    with pytest.raises(UnsafeCheckpointError, match='evil.pth.*could run code'):
        load_checkpoint_file(path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(nn.Linear(1, 1), path)  # mmengine's path goes through the same loader
    assert not marker.exists()


def test_plain_pickle_file_is_refused(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil_plain.pth'
    with open(path, 'wb') as f:
        pickle.dump(RunsCodeWhenUnpickled(str(marker)), f)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(str(path))
    assert not marker.exists()


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match='nowhere.pth.*does not exist; check the path'):
        load_checkpoint(nn.Linear(1, 1), str(tmp_path / 'nowhere.pth'))


def _cut_short(path):
    torch.save({'state_dict': {'w': torch.ones(64)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.mark.parametrize('make, message', [
    (lambda path: path.write_bytes(b''), r"'.*bad\.pth' is empty \(0 bytes\)"),
    (lambda path: path.write_text('step 1: download the weights\n'), r"bad\.pth' is not a PyTorch checkpoint "
                                                                     r"\(it starts with 'step 1"),
    (lambda path: path.write_text('<html><body>404 Not Found</body></html>'), 'not a PyTorch checkpoint'),
    (_cut_short, r"bad\.pth' is damaged or cut short"),
])
def test_a_file_that_is_no_checkpoint_is_named_for_what_it_is(tmp_path, make, message):
    path = tmp_path / 'bad.pth'
    make(path)
    with pytest.raises(InvalidCheckpointError, match=message) as error:
        load_checkpoint(nn.Linear(1, 1), str(path))
    assert 'could run code' not in str(error.value) and 'pickle' not in str(error.value)


def test_a_checkpoint_that_is_a_directory_is_named_as_one(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"checkpoint file '{tmp_path}' is a directory, not a file"):
        load_checkpoint(nn.Linear(1, 1), str(tmp_path))
