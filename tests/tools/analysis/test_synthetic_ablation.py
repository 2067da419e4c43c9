"""tools/analysis/synthetic_ablation.py: reading finished runs and the mean / spread over seeds, the
variants and data sets it runs, the one JSON of every result."""
import json
import re
import statistics

import pytest
from mmengine.config import Config

from mamba_vod.engine import StageFingerprint, rebase_paths


def _finish(work_dir, variant, seed, metrics, epochs=16, eval_folder='test'):
    folder = work_dir / variant / f'{epochs}e_seed{seed}' / eval_folder
    folder.mkdir(parents=True)
    (folder / 'test_metrics.json').write_text(json.dumps(metrics))


def _record_as_current(tool, work_dir, variant, seed, epochs=16, data_set='default'):
    """Records in the run's folders the fingerprints a full run would give them today."""
    data_root = tool.data_root_of(str(work_dir / 'data'), data_set)
    training = tool._current_training(data_set, variant, seed, epochs, data_root)
    run = tool.run_dir(str(work_dir), variant, seed, epochs, data_set)
    training.record(run, stage='train', finished=True, outputs=tool.TRAINING_OUTPUTS)
    for protocol in tool._protocols_of(tool.config_of(variant, data_set), tool.PROTOCOLS).values():
        folder = tool.eval_dir(run, protocol)
        tool.evaluation_fingerprint(tool.config_of(variant, data_set), model=training, protocol=protocol,
                                    data_root=(tool.SETS[data_set]['config_root'], data_root)).record(
            folder, stage='test', finished=True, outputs=tool.EVALUATION_OUTPUTS)


def test_a_summary_counts_only_the_runs_a_full_run_would_reuse(load_tool, tmp_path, capsys):
    """A training made with another config (here: recorded with another fingerprint), or a test of
    another model, is named and left out; the current runs are counted."""
    tool = load_tool('analysis/synthetic_ablation.py')
    metrics = {'vid/mAP': 0.7, 'vid/mAP_degraded': 0.4, 'vid/mAP_clean': 0.9}
    for seed in (0, 1, 2):
        _finish(tmp_path, 'baseline', seed, metrics)
        _record_as_current(tool, tmp_path, 'baseline', seed)
    StageFingerprint(config='an older config').record(str(tmp_path / 'baseline' / '16e_seed1'), stage='train',
                                                      finished=True, outputs=tool.TRAINING_OUTPUTS)
    StageFingerprint(model='another model').record(str(tmp_path / 'baseline' / '16e_seed2' / 'test'), stage='test',
                                                   finished=True, outputs=tool.EVALUATION_OUTPUTS)
    summary = tool.main(['--work-dir', str(tmp_path), '--seeds', '0', '1', '2', '--variants', 'baseline',
                         '--protocols', 'online', '--summary-only'])['default']
    assert summary['online']['baseline']['seeds'] == [0]
    printed = capsys.readouterr().out
    assert re.search(r'not counted: default set, baseline, seed 1, online protocol: its training: its [a-z, ]*config'
                     r'[a-z, ]* changed since it ran', printed)
    assert re.search(r'not counted: default set, baseline, seed 2, online protocol: its test: its [a-z, ]*model'
                     r'[a-z, ]* changed since it ran', printed)
    assert 'seed 0, online' not in printed


def test_summary_of_finished_runs(load_tool, tmp_path):
    tool = load_tool('analysis/synthetic_ablation.py')
    degraded = [0.30, 0.34, 0.41]
    for seed, value in enumerate(degraded):
        _finish(tmp_path, 'both', seed, {'vid/mAP': 0.7, 'vid/mAP_degraded': value, 'vid/mAP_clean': 0.9 + seed / 100})
    _finish(tmp_path, 'baseline', 1, {'vid/mAP': 0.6, 'vid/mAP_degraded': 0.2, 'vid/mAP_clean': 0.95})
    runs = tool.finished_runs(str(tmp_path), ['baseline', 'pixel', 'both'], [0, 1, 2], protocols=['online'])
    assert list(runs) == ['online']
    runs = runs['online']
    assert sorted(runs) == ['baseline', 'both'] and sorted(runs['both']) == [0, 1, 2]
    summary = tool.summarise(runs)
    mean, spread, values = summary['both']['vid/mAP_degraded']
    assert values == pytest.approx([100 * v for v in degraded])
    assert mean == round(100 * statistics.mean(degraded), 1)
    assert spread == round(100 * statistics.stdev(degraded), 1)
    assert summary['baseline']['seeds'] == [1] and summary['baseline']['vid/mAP'][1] == 0.0


def test_a_difference_is_called_only_beyond_the_combined_standard_error(load_tool, capsys):
    tool = load_tool('analysis/synthetic_ablation.py')
    key = 'vid/mAP_degraded'
    runs = {'baseline': {s: {key: v} for s, v in enumerate([0.40, 0.42, 0.44])},
            'both': {s: {key: v} for s, v in enumerate([0.50, 0.53, 0.47])},
            'pixel': {s: {key: v} for s, v in enumerate([0.36, 0.44, 0.49])},
            'instance': {0: {key: 0.60}}}
    for metrics in (m for per_seed in runs.values() for m in per_seed.values()):
        metrics.update({'vid/mAP': 0.5, 'vid/mAP_clean': 0.9})
    summary = tool.summarise(runs)
    assert tool.mean_and_error([40.0, 42.0, 44.0]) == pytest.approx((42.0, 2 / 3 ** 0.5))  # plot_ablation's
    delta, error, called = tool.difference(summary, 'both', key)
    assert delta == pytest.approx(8.0) and error == pytest.approx((4 / 3 + 9 / 3) ** 0.5) and called
    delta, error, called = tool.difference(summary, 'pixel', key)
    assert delta == pytest.approx(1.0) and error > 1.0 and not called
    assert not tool.difference(summary, 'instance', key)[2]  # one seed: no error known, nothing called
    tool.print_table(summary, [0, 1, 2], 'online')
    rows = {line.split(' (seeds')[0].strip('| '): line for line in capsys.readouterr().out.splitlines()
            if line.startswith('| ') and '(seeds' in line}
    assert rows['both'].endswith('| +8.0 ± 2.1 * |') and '(50.0, 53.0, 47.0)' in rows['both']
    assert rows['pixel'].endswith('| +1.0 ± 4.0 |') and rows['baseline'].endswith('|  |')
    # one seed: its value alone, no '± 0.0' that would read as an exact figure
    assert rows['instance'].endswith('| +18.0 (one seed: no error) |') and '60.0 (60.0)' in rows['instance']


def test_runs_of_another_budget_live_in_their_own_folders(load_tool, tmp_path):
    tool = load_tool('analysis/synthetic_ablation.py')
    assert tool.run_dir(str(tmp_path), 'both', 2, 16) == str(tmp_path / 'both' / '16e_seed2')
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.5}, epochs=8)
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.75})
    assert tool.finished_runs(str(tmp_path), ['both'], [0], epochs=8)['online']['both'][0]['vid/mAP'] == 0.5
    assert tool.finished_runs(str(tmp_path), ['both'], [0])['online']['both'][0]['vid/mAP'] == 0.75  # 16 epochs
    assert tool.finished_runs(str(tmp_path), ['both'], [0], epochs=12) == {'online': {}, 'offline': {}}


def test_each_protocol_has_its_evaluation_and_the_baseline_one_for_all(load_tool, tmp_path, capsys):
    tool = load_tool('analysis/synthetic_ablation.py')
    run = tool.run_dir(str(tmp_path), 'both', 0, 16)
    assert tool.eval_dir(run, 'mamba_offline') == run + '/test_mamba_offline'
    assert tool.eval_dir(run, 'online') == tool.eval_dir(run, None) == run + '/test'
    # read from the configs: MAMBA's own offline protocol; the single-frame baseline has none
    assert tool.run_protocols(tool.config_of('both')) == {'online': 'online', 'offline': 'mamba_offline'}
    assert tool.run_protocols(tool.config_of('baseline', 'hard')) is None
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.7, 'vid/mAP_degraded': 0.4, 'vid/mAP_clean': 0.9})
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.8, 'vid/mAP_degraded': 0.5, 'vid/mAP_clean': 0.9},
            eval_folder='test_mamba_offline')
    _finish(tmp_path, 'baseline', 0, {'vid/mAP': 0.6, 'vid/mAP_degraded': 0.3, 'vid/mAP_clean': 0.9})
    runs = tool.finished_runs(str(tmp_path), ['baseline', 'both'], [0])
    assert runs['online']['both'][0]['vid/mAP'] == 0.7 and runs['offline']['both'][0]['vid/mAP'] == 0.8
    assert runs['online']['baseline'] == runs['offline']['baseline']
    for variant in ('baseline', 'both'):
        _record_as_current(tool, tmp_path, variant, 0)
    summary = tool.main(['--work-dir', str(tmp_path), '--seeds', '0', '--variants', 'baseline', 'both',
                         '--summary-only'])['default']
    assert summary['offline']['both']['vid/mAP_degraded'][0] == 50.0
    old_name = tool.main(['--work-dir', str(tmp_path), '--seeds', '0', '--variants', 'both', '--protocols', 'paper',
                          '--summary-only'])['default']
    assert list(old_name) == ['offline'] and old_name['offline']['both']['vid/mAP_degraded'][0] == 50.0
    assert summary['online']['both']['vid/mAP_degraded'][0] == 40.0
    printed = capsys.readouterr().out
    assert printed.index('online protocol') < printed.index('offline protocol')
    assert '(baseline: single-frame, detects every frame on its own: the same under every protocol)' in printed


@pytest.mark.parametrize('variant', ['baseline', 'pixel', 'instance', 'both', 'both-enhanced', 'selsa',
                                     'selsa-troialign', 'dff', 'fgfa', 'rdn', 'mega'])
def test_each_hard_variant_is_its_default_one_on_the_hard_data(load_tool, variant):
    tool = load_tool('analysis/synthetic_ablation.py')
    default, hard = (Config.fromfile(tool.config_of(variant, data_set)) for data_set in ('default', 'hard'))
    assert hard.val_evaluator.ann_file == 'data/synthetic_vid_hard/annotations/imagenet_vid_val.json'
    assert {d.data_root for d in hard.train_dataloader.dataset.datasets} == {'data/synthetic_vid_hard/'}
    assert hard.test_dataloader.dataset.data_root == 'data/synthetic_vid_hard/'
    moved = rebase_paths(hard, 'data/synthetic_vid_hard/', 'data/synthetic_vid/').to_dict()
    expected = default.to_dict()
    assert sorted(moved) == sorted(expected)
    assert [key for key in expected if moved[key] != expected[key]] == []
    if variant == 'both-enhanced':
        assert hard.model.instance_level.memory_features == 'enhanced'


def test_runs_every_set_and_variant_into_one_json(load_tool, tmp_path, monkeypatch):
    tool = load_tool('analysis/synthetic_ablation.py')
    calls = []

    def prepare(data_root, generator_args):
        calls.append(('data', data_root, tuple(generator_args)))
        return StageFingerprint(arguments=' '.join(generator_args))

    def train(config, folder, *, data, data_root, cfg_options):
        calls.append(('train', config, folder, data_root, cfg_options['randomness.seed']))
        return folder + '/epoch_16.pth', StageFingerprint(config=config)

    def evaluate(config, checkpoint, folder, *, model, data_root, protocol):
        calls.append(('test', config, folder, protocol))
        seed = int(checkpoint.split('seed')[1][0])
        hard = 0.1 if 'hard' in config else 0.0
        return {'vid/mAP': 0.5 - hard, 'vid/mAP_degraded': 0.3 + seed / 10 - hard, 'vid/mAP_clean': 0.8}

    monkeypatch.setattr(tool, 'prepare_synthetic_data', prepare)
    monkeypatch.setattr(tool, 'train_stage', train)
    monkeypatch.setattr(tool, 'evaluate_stage', evaluate)
    out = tmp_path / 'all.json'
    summary = tool.main(['--work-dir', str(tmp_path / 'w'), '--sets', 'default', 'hard', '--variants', 'baseline',
                         'both-enhanced', '--seeds', '0', '1', '--epochs', '2', '--json', str(out)])

    data = [c for c in calls if c[0] == 'data']
    assert data == [('data', str(tmp_path / 'w/data/synthetic_vid'), ('--seed', '0')),
                    ('data', str(tmp_path / 'w/data/synthetic_vid_hard'), ('--preset', 'hard', '--seed', '0'))]
    trained = {(c[1], c[2]) for c in calls if c[0] == 'train'}
    # both-enhanced (the release composition) trains its own model, tested with MAMBA's offline protocol
    assert ('configs/synthetic/mamba-enhanced_r18-dc5_synthetic_hard.py',
            str(tmp_path / 'w/hard/both-enhanced/2e_seed1')) in trained
    assert ('test', 'configs/synthetic/mamba-enhanced_r18-dc5_synthetic_hard.py',
            str(tmp_path / 'w/hard/both-enhanced/2e_seed1/test_mamba_offline'), 'mamba_offline') in calls
    assert ('configs/synthetic/faster-rcnn_r18-dc5_synthetic.py', str(tmp_path / 'w/baseline/2e_seed0')) in trained
    assert len(trained) == 2 * 2 * 2
    assert {c[3] for c in calls if c[0] == 'train' and 'hard' in c[1]} == {
        ('data/synthetic_vid_hard/', str(tmp_path / 'w/data/synthetic_vid_hard'))}
    assert {c[3] for c in calls if c[0] == 'test' and 'faster-rcnn' in c[1]} == {None}  # no protocol: once
    assert summary['hard']['offline']['both-enhanced']['vid/mAP_degraded'][0] == pytest.approx(25.0)

    written = json.loads(out.read_text())
    assert written['epochs'] == 2 and written['summary']['default']['online']['baseline']['seeds'] == [0, 1]
    records = written['results']
    assert len(records) == 2 * 2 * 2 * 2  # set x protocol x variant x seed
    record = next(r for r in records if (r['set'], r['protocol'], r['variant'], r['seed']) ==
                  ('hard', 'online', 'both-enhanced', 1))
    assert record == dict(set='hard', protocol='online', variant='both-enhanced', seed=1, all=40.0,
                          degraded=30.0, clean=80.0)


def test_the_comparison_runs_every_method_and_the_tuning_set_is_the_hard_one_with_another_seed(
        load_tool, tmp_path, monkeypatch):
    tool = load_tool('analysis/synthetic_ablation.py')
    calls = []
    monkeypatch.setattr(tool, 'prepare_synthetic_data', lambda root, args: calls.append(('data', root, tuple(args))))
    monkeypatch.setattr(tool, 'train_stage', lambda config, folder, **kw: calls.append(('train', config, folder)) or (
        folder + '/epoch_16.pth', None))
    monkeypatch.setattr(tool, 'evaluate_stage', lambda config, checkpoint, folder, **kw: {
        'vid/mAP': 0.5, 'vid/mAP_degraded': 0.4 if 'faster-rcnn' in config else 0.45, 'vid/mAP_clean': 0.8})
    figure = tmp_path / 'comparison.png'
    tool.main(['--work-dir', str(tmp_path / 'w'), '--sets', 'tuning', '--variants', 'comparison', '--seeds', '0',
               '--figure', str(figure)])
    assert calls[0] == ('data', str(tmp_path / 'w/data/synthetic_vid_tuning'), ('--preset', 'hard', '--seed', '1'))
    trained = [c[1:] for c in calls if c[0] == 'train']
    assert [config for config, _ in trained] == [tool.config_of(v, 'hard') for v in tool.COMPARISON]
    assert all(folder.startswith(str(tmp_path / 'w/tuning/')) for _, folder in trained)
    records = json.loads((tmp_path / 'w/ablation.json').read_text())['results']
    assert {r['variant'] for r in records if r['protocol'] == 'online'} == set(tool.COMPARISON)
    assert 'dff' not in {r['variant'] for r in records if r['protocol'] == 'offline'}  # online only
    assert figure.stat().st_size > 0
