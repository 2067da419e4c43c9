"""tools/analysis/device_check.sh: the GPU script runs where no GPU is, so its commands are checked
here with a stand-in ``python`` that records its arguments: every config it names exists, and the
comparison step times every method's R-50 config against the baseline in one interleaved run."""
import os
import os.path as osp
import stat
import subprocess

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
METHODS = ('dff', 'fgfa', 'selsa', 'selsa-troialign', 'rdn', 'mega', 'mamba')


def _recorded_calls(tmp_path, parts: str):
    fake = tmp_path / 'bin' / 'python'
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path}/calls.txt\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f'{fake.parent}:{os.environ["PATH"]}', OUT=str(tmp_path / 'out'), PARTS=parts)
    subprocess.run(['bash', 'tools/analysis/device_check.sh'], cwd=ROOT, env=env, check=True, capture_output=True)
    return [line.split() for line in (tmp_path / 'calls.txt').read_text().splitlines()]


def test_every_config_the_gpu_script_names_exists(tmp_path):
    calls = _recorded_calls(tmp_path, 'compare streams')
    configs = [arg for call in calls for arg in call if arg.startswith('configs/')]
    assert len(configs) >= 8
    missing = [config for config in configs if not osp.isfile(osp.join(ROOT, config))]
    assert missing == []


def test_the_comparison_times_every_method_against_the_baseline_interleaved(tmp_path):
    calls = [call for call in _recorded_calls(tmp_path, 'compare') if 'tools/analysis/benchmark.py' in call]
    assert len(calls) == 1
    call = calls[0]
    assert call[call.index('tools/analysis/benchmark.py') + 1].startswith('configs/faster_rcnn/faster-rcnn_r50')
    compared = call[call.index('--compare-config') + 1:call.index('--device')]
    assert sorted(osp.basename(c).split('_')[0] for c in compared) == sorted(METHODS)
    assert all('r50' in c and osp.isfile(osp.join(ROOT, c)) for c in compared)
    assert '--interleave' in call and call[call.index('--size') + 1:call.index('--size') + 3] == ['600', '1000']
