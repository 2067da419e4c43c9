"""tools/analysis/recompute_norm_stats.py: the backbone's batch-norm running statistics become the
cumulative average over training batches of what the layers receive; nothing else changes."""
import json

import pytest
import torch
from mmengine.registry import init_default_scope

from mamba_vod.engine import load_config
from mamba_vod.registry import MODELS

from tests.tools.test_synthetic_configs_train import tiny_data  # noqa: F401 (the fixture)

SELSA = 'configs/synthetic/selsa_r18-dc5_synthetic.py'  # clips of a key frame and 2 references


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('analysis/recompute_norm_stats.py')


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint of the config's model, initialised, whose stem's statistics are skewed."""
    init_default_scope('mamba_vod')
    model = MODELS.build(load_config(SELSA).model)
    model.backbone.bn1.running_mean.fill_(5.0)
    model.backbone.bn1.running_var.fill_(9.0)
    path = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=3)), path)
    return path


def _batch_means(tool, monkeypatch):
    """Records, for each batch the tool passes, the per-channel mean of what the stem's norm receives."""
    seen = []
    built = tool.MODELS.build

    def build_with_hook(cfg):
        model = built(cfg)
        if hasattr(model, 'backbone'):  # the detector (its parts are built through MODELS too)
            model.backbone.bn1.register_forward_hook(lambda m, args, out: seen.append(args[0].mean(dim=(0, 2, 3))))
        return model

    monkeypatch.setattr(tool.MODELS, 'build', build_with_hook)
    return seen


@pytest.mark.parametrize('frames, per_clip', [('clip', 3), ('key', 1)])
def test_the_statistics_are_the_average_over_the_batches_and_nothing_else_changes(
        tool, checkpoint, tiny_data, tmp_path, monkeypatch, frames, per_clip):  # noqa: F811
    seen = _batch_means(tool, monkeypatch)
    out, report_file = tmp_path / 'recomputed.pth', tmp_path / 'report.json'
    options = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
               'train_dataloader.batch_size=2']
    report = tool.main([SELSA, str(checkpoint), str(out), '--batches', '2', '--frames', frames,
                        '--data-root', tiny_data, '--json', str(report_file), '--cfg-options', *options])
    assert report['batches'] == 2 and report['frames'] == 2 * 2 * per_clip and len(seen) == 2
    assert json.loads(report_file.read_text())['frames'] == report['frames']
    old = torch.load(checkpoint, weights_only=True)
    new = torch.load(out, weights_only=True)
    assert new['meta'] == old['meta']
    torch.testing.assert_close(new['state_dict']['backbone.bn1.running_mean'], torch.stack(seen).mean(0))
    assert (new['state_dict']['backbone.bn1.running_var'] - 9.0).abs().max() > 1.0  # the skew is gone
    for name, value in old['state_dict'].items():
        if name.endswith(('running_mean', 'running_var', 'num_batches_tracked')):
            continue
        assert torch.equal(new['state_dict'][name], value), name  # weights as trained


def test_bad_requests_are_refused_with_a_clear_line(tool, checkpoint, tmp_path, user_error):
    assert 'OUT must not be CHECKPOINT' in user_error(tool.main, [SELSA, str(checkpoint), str(checkpoint)])
    no_state = tmp_path / 'weights_only.pth'
    torch.save(dict(weights=torch.zeros(1)), no_state)
    line = user_error(tool.main, [SELSA, str(no_state), str(tmp_path / 'out.pth')])
    assert 'weights_only.pth: not a training checkpoint (no state_dict)' in line
    assert not (tmp_path / 'out.pth').exists()
    assert '--batches >= 1' in user_error(tool.main, [SELSA, str(checkpoint), str(tmp_path / 'o.pth'),
                                                      '--batches', '0'])


def test_a_model_without_batch_norm_is_refused(tool):
    init_default_scope('mamba_vod')
    cfg = load_config(SELSA).model
    cfg.backbone.norm_cfg = dict(type='GN', num_groups=8)
    with pytest.raises(ValueError, match='no batch-norm layer with running statistics'):
        tool.recompute(MODELS.build(cfg), [], batches=1)
