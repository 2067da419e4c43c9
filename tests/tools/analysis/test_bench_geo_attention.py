"""tools/analysis/bench_geo_attention.py: the gathers from a key cache compute GEO and are timed
next to SDPA (tiny shapes on CPU; the fused kernel needs CUDA and is skipped here)."""
import json

import torch

from mamba_vod.models.layers import GEO


def test_gather_rows_and_comparison_table(load_tool, monkeypatch, tmp_path, capsys):
    bench = load_tool('analysis/bench_geo_attention.py')
    monkeypatch.setattr(bench, 'SHAPES', {'tiny': (7, 20, 32)})
    monkeypatch.setattr(bench, 'MEMORY_SLOTS', 50)
    out = tmp_path / 'geo.json'
    bench.main(['--device', 'cpu', '--methods', 'sdpa', 'gather-torch', 'gather-triton', '--repeats', '2',
                '--warmup', '0', '--json', str(out)])
    rows = {row['method']: row for row in json.loads(out.read_text())['rows']}
    assert rows['gather-torch']['max_abs_diff_vs_sdpa'] < 1e-5  # the same GEO, from a key cache
    assert rows['gather-torch']['fwd']['ms'] > 0 and rows['gather-torch']['fwd+bwd']['ms'] > 0
    assert rows['gather-triton']['fwd'] == dict(skipped='needs CUDA')
    printed = capsys.readouterr().out
    assert 'Key-cache gathers vs sdpa (cpu, float32)' in printed
    assert printed.count('| tiny | gather-torch |') == 1 and '| tiny | gather-triton |' not in printed


def test_gather_geo_is_geo_forward_on_the_key_set(load_tool):
    bench = load_tool('analysis/bench_geo_attention.py')
    torch.manual_seed(0)
    geo = GEO(32, num_heads=4)
    with torch.no_grad():
        geo.group_conv.bias.normal_()  # a bias that shows if the residual misses it
        memory, query = torch.randn(40, 32), torch.randn(9, 32)
        cache = bench.key_cache(geo, memory, num_keys=15, seed=3)
        expected = geo(query, memory[cache.index])
        assert torch.allclose(bench.gather_geo(geo, query, cache, 'torch'), expected, atol=1e-5)
        assert torch.allclose(bench.gather_geo(geo, query, cache, 'triton'), expected, atol=1e-5)  # interpreted
    assert cache.k_rows.shape == cache.v_rows.shape == (40, 32) and cache.index.unique().numel() == 15
