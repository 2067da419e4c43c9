"""mamba_vod.engine.run_config: distributed training without GPUs (gloo, CPU DDP) keeps what the
config asks of DistributedDataParallel."""
import torch

from mamba_vod.engine import train_config

SYNTHETIC_MAMBA = 'configs/synthetic/mamba_r18-dc5_synthetic.py'
SYNTHETIC_BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'


def test_cpu_distributed_training_looks_for_unused_parameters_where_the_config_asks(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = train_config(SYNTHETIC_MAMBA, work_dir=str(tmp_path), launcher='pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # the pixel-level dropout leaves the pixel GEO without gradients in some iterations
    assert cfg.model.pixel_level_dropout > 0 and cfg.find_unused_parameters
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                                         find_unused_parameters=True, device_ids=None)
    baseline = train_config(SYNTHETIC_BASELINE, work_dir=str(tmp_path), launcher='pytorch')
    assert baseline.model_wrapper_cfg.find_unused_parameters is False
    assert 'model_wrapper_cfg' not in train_config(SYNTHETIC_MAMBA, work_dir=str(tmp_path))  # one process
