"""tools/analysis/bench_memory_bank.py: the time of one write at several fill levels."""
import json

import pytest


def test_times_one_write_per_fill_level_and_writes_json(load_tool, tmp_path, capsys):
    bench = load_tool('analysis/bench_memory_bank.py')
    out = tmp_path / 'bank.json'
    results = bench.main(['--capacity', '200', '--fill', '0', '50', '200', '--rows', '10', '--channels', '8',
                          '--repeats', '3', '--json', str(out)])
    assert [r['fill'] for r in results] == [0, 50, 200]
    for r in results:
        assert r['rows'] == 10 and r['repeats'] == 3 and 0 < r['min_ms'] <= r['median_ms'] <= r['max_ms']
    table = capsys.readouterr().out
    assert table.count('\n| ') == 4 and '| 200 | 200 | 10 | 8 |' in table  # header + 3 rows
    assert json.loads(out.read_text())['rows'] == results


def test_rejects_fill_above_capacity(load_tool):
    bench = load_tool('analysis/bench_memory_bank.py')
    with pytest.raises(SystemExit):
        bench.parse_args(['--capacity', '100', '--fill', '101'])
