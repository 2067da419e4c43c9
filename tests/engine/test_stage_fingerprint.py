"""mamba_vod.engine.stage_fingerprint: a stage is reused only when it finished, its config, code,
environment and inputs are those it ran with and its outputs are on disk as it wrote them;
otherwise it is redone (or, for a training, resumed) and one line says why."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mamba_vod.engine import StageFingerprint, config_digest, run_stage, source_digest
from mamba_vod.engine import stage_fingerprint as sf
from tests.tools._tiny_detection_config import write_tiny_config


class Stage:
    """A stage that records the ``force`` it was run with and writes one output."""

    def __init__(self, folder):
        self.folder, self.calls, self.said = str(folder), [], []

    def __call__(self, fingerprint, force=False):
        def run(redo):
            self.calls.append(redo)
            open(osp.join(self.folder, 'out.txt'), 'w').close()
            return 'result'
        return run_stage('demo', self.folder, fingerprint, run, force=force, echo=self.said.append)


def test_unchanged_reuses_changed_config_or_code_reruns(tmp_path):
    stage = Stage(tmp_path / 'stage')
    first = StageFingerprint(config='c1', code='k1')
    assert stage(first) == 'result' and stage.calls == [False] and stage.said == []
    record = json.loads((tmp_path / 'stage' / 'stage_fingerprint.json').read_text())
    assert record['finished'] and record['fingerprint'] == first.value and record['parts'] == first.parts

    stage(StageFingerprint(code='k1', config='c1'))  # the same parts, in another order
    assert stage.calls == [False, False] and stage.said == []
    stage(StageFingerprint(config='c2', code='k1'))
    assert stage.calls[-1] is True and stage.said == ['demo: its config changed since it ran; redoing it']
    stage(StageFingerprint(config='c2', code='k2'))
    assert stage.calls[-1] is True and stage.said[-1] == 'demo: its code changed since it ran; redoing it'
    stage(StageFingerprint(config='c2', code='k2', data='d'))  # a new input
    assert stage.calls[-1] is True and 'its data changed' in stage.said[-1]
    stage(StageFingerprint(config='c2', code='k2', data='d'), force=True)
    assert stage.calls[-1] is True and len(stage.said) == 3  # forced: nothing to explain


def test_outputs_without_a_record_are_redone_a_stopped_run_resumes(tmp_path):
    folder = tmp_path / 'old'
    folder.mkdir()
    (folder / 'epoch_1.pth').write_bytes(b'made before fingerprints')
    stage = Stage(folder)
    stage(StageFingerprint(config='c'))
    assert stage.calls == [True] and 'no fingerprint' in stage.said[0]

    stopped = Stage(tmp_path / 'stopped')
    fingerprint = StageFingerprint(config='c')

    def interrupted(redo):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage('demo', stopped.folder, fingerprint, interrupted)
    assert not json.loads((tmp_path / 'stopped' / 'stage_fingerprint.json').read_text())['finished']
    assert fingerprint.why_not_reusable(stopped.folder) == 'its last run did not finish'
    stopped(fingerprint)  # an unfinished run is not reused ...
    assert stopped.calls == [True] and stopped.said == ['demo: its last run did not finish; redoing it']
    with pytest.raises(KeyboardInterrupt):
        run_stage('demo', stopped.folder, fingerprint, interrupted)
    said, calls = [], []
    run_stage('demo', stopped.folder, fingerprint, calls.append, resumable=True, echo=said.append)
    assert calls == [False] and said == ['demo: its last run did not finish; resuming it']  # ... unless it resumes
    (tmp_path / 'stopped' / 'stage_fingerprint.json').write_text('{not json')
    stopped(fingerprint)
    assert stopped.calls[-1] is True and 'unreadable' in stopped.said[-1]


def test_outputs_changed_on_disk_are_redone(tmp_path):
    stage = Stage(tmp_path / 'stage')
    fingerprint = StageFingerprint(config='c')
    stage(fingerprint)
    out = tmp_path / 'stage' / 'out.txt'
    record = json.loads((tmp_path / 'stage' / 'stage_fingerprint.json').read_text())
    assert list(record['outputs']) == ['out.txt']  # the record itself is not an output

    def reuse_after(change, reason):
        change()
        stage(fingerprint)
        assert stage.calls[-1] is True and stage.said[-1] == f'demo: {reason}; redoing it'
        stage(fingerprint)
        assert stage.calls[-1] is False  # the redone outputs are recorded again

    reuse_after(lambda: out.write_text('edited'), "its output 'out.txt' was changed since it ran")
    reuse_after(lambda: (tmp_path / 'stage' / 'extra.txt').write_text(''),
                "its output 'extra.txt' was added since it ran")
    reuse_after(lambda: [os.remove(path) for path in (out, tmp_path / 'stage' / 'extra.txt')],
                "its output 'extra.txt' is missing since it ran (and 1 other file)")


def test_a_nested_stage_and_files_outside_the_patterns_are_not_outputs(tmp_path):
    folder = tmp_path / 'train'
    fingerprint, calls = StageFingerprint(config='c'), []

    def train(redo):
        calls.append(redo)
        (folder / 'epoch_1.pth').write_bytes(b'weights')
        (folder / 'train.log').write_text('line 1\n')

    run_stage('train', str(folder), fingerprint, train, outputs=('*.pth',))
    run_stage('test', str(folder / 'test'), StageFingerprint(model=fingerprint.value), lambda redo: None)
    (folder / 'test' / 'test_metrics.json').write_text('{}')
    (folder / 'train.log').write_text('line 1\nline 2\n')
    assert fingerprint.why_not_reusable(str(folder), outputs=('*.pth',)) is None
    os.utime(folder / 'epoch_1.pth', ns=(1, 1))
    assert 'epoch_1.pth' in fingerprint.why_not_reusable(str(folder), outputs=('*.pth',))


def test_the_environment_names_the_packages_that_change_figures_and_the_device(monkeypatch):
    text = sf.environment()
    for name in ('torch=', 'torchvision=', 'triton=', 'mmcv-lite=', 'mmengine=', 'mmdet=', 'numpy=', 'opencv=',
                 'pycocotools=', 'pillow=', 'device=cpu'):
        assert name in text, name
    assert 'device=' not in sf.environment(device=False)
    monkeypatch.setattr(sf.torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(sf.torch.cuda, 'get_device_name', lambda index: 'NVIDIA H100')
    assert sf._device().startswith('NVIDIA H100 (CUDA ')


def test_config_digest_sees_every_merged_value():
    cfg = Config(dict(model=dict(type='A', depth=18), data=dict(root='data/x/')))
    same = Config(dict(data=dict(root='data/x/'), model=dict(depth=18, type='A')))
    assert config_digest(cfg) == config_digest(same)
    cfg.merge_from_dict({'model.depth': 50})
    assert config_digest(cfg) != config_digest(same)


def test_source_digest_ignores_comments_and_docstrings(tmp_path):
    package = tmp_path / 'pkg'
    package.mkdir()
    module = package / 'm.py'
    module.write_text('"""Doc."""\ndef f(x):\n    return x + 1\n')
    before = source_digest(str(package))
    module.write_text('"""Another doc."""\n# a comment\ndef f(x):\n    """Says what f does."""\n    return x + 1\n')
    assert source_digest(str(package)) == before
    module.write_text('def f(x):\n    return x + 2\n')
    assert source_digest(str(package)) != before
    module.write_text('def f(x):\n    return x + 1\n')
    assert source_digest(str(package)) == before
    assert source_digest(str(module)) == before  # a file is named as in its folder
    (package / 'n.py').write_text('y = 1\n')
    assert source_digest(str(package)) != before
    assert source_digest(str(module), str(package / 'n.py')) == source_digest(str(package))


def test_train_stage_retrains_for_another_config_code_or_data(tmp_path, monkeypatch):
    config = write_tiny_config(str(tmp_path), max_iters=2)
    work_dir = str(tmp_path / 'work')
    data = StageFingerprint(arguments='--seed 0')
    said = []
    checkpoint, model = sf.train_stage(config, work_dir, data=data, echo=said.append)  # a real (2-iteration) run
    stamp = os.stat(checkpoint).st_mtime_ns
    assert sf.train_stage(config, work_dir, data=data, echo=said.append) == (checkpoint, model)
    assert os.stat(checkpoint).st_mtime_ns == stamp and said == []  # reused

    forced = []
    monkeypatch.setattr(sf, 'train', lambda *args, force, **kwargs: forced.append(force) or checkpoint)
    _, other = sf.train_stage(config, work_dir, data=data, cfg_options={'optim_wrapper.optimizer.lr': 0.02},
                              echo=said.append)
    assert forced == [True] and other != model and 'config changed' in said[-1]
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is True and 'config, data changed' in said[-1]
    monkeypatch.setattr(sf, 'config_code_digest', lambda cfg: 'another code')
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is True and said[-1].endswith('its code changed since it ran; redoing it')
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is False and len(said) == 3
    monkeypatch.setattr(sf, 'environment', lambda: 'numpy=another device=cpu')
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is True and said[-1].endswith('its environment changed since it ran; redoing it')
    os.remove(checkpoint)  # a checkpoint deleted by hand
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is True and f"its output '{osp.basename(checkpoint)}' is missing" in said[-1]


def test_evaluate_stage_reevaluates_a_retrained_model_or_another_protocol(tmp_path, monkeypatch):
    forced = []
    config = write_tiny_config(str(tmp_path))
    work_dir, said = str(tmp_path / 'test'), []

    def fake_evaluate(*args, force, **kwargs):
        forced.append(force)
        with open(osp.join(work_dir, 'test_metrics.json'), 'w') as f:
            f.write('{"vid/mAP": 0.5}')
        return {'vid/mAP': 0.5}

    monkeypatch.setattr(sf, 'evaluate', fake_evaluate)

    def evaluate(model, protocol='online'):
        return sf.evaluate_stage(config, 'ckpt.pth', work_dir, model=StageFingerprint(config=model),
                                 protocol=protocol, echo=said.append)

    assert evaluate('m1') == {'vid/mAP': 0.5}
    evaluate('m1')
    assert forced == [False, False] and said == []
    evaluate('m2')
    assert forced[-1] is True and 'its model changed' in said[-1]
    evaluate('m2', 'paper')
    assert forced[-1] is True and 'its protocol changed' in said[-1]
