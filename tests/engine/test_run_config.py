"""mamba_vod.engine.run_config: distributed training without GPUs (gloo, CPU DDP) keeps what the
config asks of DistributedDataParallel; tests take checkpoints from the same sources as
everything else, and check their outputs first."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mamba_vod.engine import load_config, run_config, train_config
from mamba_vod.registry import MODELS
from tests.apis.stream_test_utils import write_tiny_config
from tests.compat.checkpoint_server import serving

SYNTHETIC_MAMBA = 'configs/synthetic/mamba_r18-dc5_synthetic.py'
SYNTHETIC_BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'


def test_cpu_distributed_training_looks_for_unused_parameters_where_the_config_asks(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = train_config(SYNTHETIC_MAMBA, work_dir=str(tmp_path), launcher='pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # the pixel-level dropout leaves the pixel GEO without gradients in some iterations
    assert cfg.model.train_cfg.pixel.level_dropout > 0 and cfg.find_unused_parameters
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                                         find_unused_parameters=True, device_ids=None)
    baseline = train_config(SYNTHETIC_BASELINE, work_dir=str(tmp_path), launcher='pytorch')
    assert baseline.model_wrapper_cfg.find_unused_parameters is False
    assert 'model_wrapper_cfg' not in train_config(SYNTHETIC_MAMBA, work_dir=str(tmp_path))  # one process


def test_test_config_takes_a_url_checkpoint_and_checks_the_output_folder_first(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    config = write_tiny_config(str(tmp_path))
    init_default_scope('mamba_vod')
    with torch.device('meta'):
        model = MODELS.build(load_config(config).model)
    (tmp_path / 'served').mkdir()
    torch.save({k: torch.zeros(v.shape, dtype=v.dtype) for k, v in model.state_dict().items()},
               tmp_path / 'served' / 'tiny.pth')
    with serving(str(tmp_path / 'served')) as base:
        cfg = run_config.test_config(config, f'{base}/tiny.pth', work_dir=str(tmp_path / 'work'))
    assert cfg.load_from == f'{base}/tiny.pth'
    (tmp_path / 'a_file').write_text('')
    with pytest.raises(NotADirectoryError, match="cannot write --out .*a_file' is a file"):
        run_config.test_config(config, f'{base}/tiny.pth', out=str(tmp_path / 'a_file' / 'preds.npz'))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        run_config.test_config(config, str(tmp_path / 'nowhere.pth'))


def test_runs_in_one_process_write_into_their_own_folders(tmp_path):
    """A train and then a test in one process (the quickstart, the ablation): the test's
    visualizer (its config dump and scalars) is its own, under its own work dir."""
    from mmengine.runner import Runner
    init_default_scope('mamba_vod')
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=MODELS.build(load_config(SYNTHETIC_BASELINE).model).state_dict(), meta={}),
               checkpoint)
    train = Runner.from_cfg(train_config(SYNTHETIC_BASELINE, work_dir=str(tmp_path / 'train')))
    test = Runner.from_cfg(run_config.test_config(SYNTHETIC_BASELINE, checkpoint, work_dir=str(tmp_path / 'test')))
    assert train.visualizer is not test.visualizer
    for runner, folder in ((train, 'train'), (test, 'test')):
        save_dir = runner.visualizer._vis_backends['LocalVisBackend']._save_dir
        assert save_dir.startswith(str(tmp_path / folder))
