"""mamba_vod.engine.stage_fingerprint: a stage is reused only when its config, code and inputs
are those it ran with; otherwise it is redone and one line says why."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mamba_vod.engine import StageFingerprint, config_digest, package_digest, run_stage, source_digest
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
    stopped(fingerprint)
    assert stopped.calls == [False] and stopped.said == []  # same fingerprint: resume what is there
    (tmp_path / 'stopped' / 'stage_fingerprint.json').write_text('{not json')
    stopped(fingerprint)
    assert stopped.calls[-1] is True and 'unreadable' in stopped.said[-1]


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
    assert len(package_digest()) == 64 and package_digest() == package_digest()


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
    monkeypatch.setattr(sf, 'package_digest', lambda: 'another code')
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is True and said[-1].endswith('its code changed since it ran; redoing it')
    sf.train_stage(config, work_dir, data=StageFingerprint(arguments='--seed 1'), echo=said.append)
    assert forced[-1] is False and len(said) == 3


def test_evaluate_stage_reevaluates_a_retrained_model_or_another_protocol(tmp_path, monkeypatch):
    forced = []
    monkeypatch.setattr(sf, 'evaluate', lambda *args, force, **kwargs: forced.append(force) or {'vid/mAP': 0.5})
    config = write_tiny_config(str(tmp_path))
    work_dir, said = str(tmp_path / 'test'), []

    def evaluate(model, protocol='online'):
        return sf.evaluate_stage(config, 'ckpt.pth', work_dir, model=StageFingerprint(config=model),
                                 protocol=protocol, echo=said.append)

    assert evaluate('m1') == {'vid/mAP': 0.5}
    open(osp.join(work_dir, 'test_metrics.json'), 'w').close()
    evaluate('m1')
    assert forced == [False, False] and said == []
    evaluate('m2')
    assert forced[-1] is True and 'its model changed' in said[-1]
    evaluate('m2', 'paper')
    assert forced[-1] is True and 'its protocol changed' in said[-1]
