"""tools/analysis/synthetic_ablation.py: reading finished runs and the mean / spread over seeds."""
import json
import statistics

import pytest


def _finish(work_dir, variant, seed, metrics, epochs=16):
    folder = work_dir / variant / f'{epochs}e_seed{seed}' / 'test'
    folder.mkdir(parents=True)
    (folder / 'test_metrics.json').write_text(json.dumps(metrics))


def test_summary_of_finished_runs(load_tool, tmp_path):
    tool = load_tool('analysis/synthetic_ablation.py')
    degraded = [0.30, 0.34, 0.41]
    for seed, value in enumerate(degraded):
        _finish(tmp_path, 'both', seed, {'vid/mAP': 0.7, 'vid/mAP_degraded': value, 'vid/mAP_clean': 0.9 + seed / 100})
    _finish(tmp_path, 'baseline', 1, {'vid/mAP': 0.6, 'vid/mAP_degraded': 0.2, 'vid/mAP_clean': 0.95})
    runs = tool.finished_runs(str(tmp_path), ['baseline', 'pixel', 'both'], [0, 1, 2])
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
    assert tool.finished_runs(str(tmp_path), ['both'], [0], epochs=8)['both'][0]['vid/mAP'] == 0.5
    assert tool.finished_runs(str(tmp_path), ['both'], [0])['both'][0]['vid/mAP'] == 0.75  # 16 epochs
    assert tool.finished_runs(str(tmp_path), ['both'], [0], epochs=12) == {}
