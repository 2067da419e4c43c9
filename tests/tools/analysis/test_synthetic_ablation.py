"""tools/analysis/synthetic_ablation.py: reading finished runs and the mean / spread over seeds."""
import json
import statistics

import pytest


def _finish(work_dir, variant, seed, metrics, epochs=16, eval_folder='test'):
    folder = work_dir / variant / f'{epochs}e_seed{seed}' / eval_folder
    folder.mkdir(parents=True)
    (folder / 'test_metrics.json').write_text(json.dumps(metrics))


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


def test_runs_of_another_budget_live_in_their_own_folders(load_tool, tmp_path):
    tool = load_tool('analysis/synthetic_ablation.py')
    assert tool.run_dir(str(tmp_path), 'both', 2, 16) == str(tmp_path / 'both' / '16e_seed2')
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.5}, epochs=8)
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.75})
    assert tool.finished_runs(str(tmp_path), ['both'], [0], epochs=8)['online']['both'][0]['vid/mAP'] == 0.5
    assert tool.finished_runs(str(tmp_path), ['both'], [0])['online']['both'][0]['vid/mAP'] == 0.75  # 16 epochs
    assert tool.finished_runs(str(tmp_path), ['both'], [0], epochs=12) == {'online': {}, 'paper': {}}


def test_each_protocol_has_its_evaluation_and_the_baseline_one_for_all(load_tool, tmp_path, capsys):
    tool = load_tool('analysis/synthetic_ablation.py')
    run = tool.run_dir(str(tmp_path), 'both', 0, 16)
    assert tool.eval_dir(run, 'both', 'paper') == run + '/test_paper'
    assert tool.eval_dir(run, 'both', 'online') == tool.eval_dir(run, 'baseline', 'paper') == run + '/test'
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.7, 'vid/mAP_degraded': 0.4, 'vid/mAP_clean': 0.9})
    _finish(tmp_path, 'both', 0, {'vid/mAP': 0.8, 'vid/mAP_degraded': 0.5, 'vid/mAP_clean': 0.9},
            eval_folder='test_paper')
    _finish(tmp_path, 'baseline', 0, {'vid/mAP': 0.6, 'vid/mAP_degraded': 0.3, 'vid/mAP_clean': 0.9})
    runs = tool.finished_runs(str(tmp_path), ['baseline', 'both'], [0])
    assert runs['online']['both'][0]['vid/mAP'] == 0.7 and runs['paper']['both'][0]['vid/mAP'] == 0.8
    assert runs['online']['baseline'] == runs['paper']['baseline']
    summary = tool.main(['--work-dir', str(tmp_path), '--seeds', '0', '--variants', 'baseline', 'both',
                         '--summary-only'])
    assert summary['paper']['both']['vid/mAP_degraded'][0] == 50.0
    assert summary['online']['both']['vid/mAP_degraded'][0] == 40.0
    printed = capsys.readouterr().out
    assert printed.index('online protocol') < printed.index('paper protocol')
    assert 'the same under every protocol' in printed
