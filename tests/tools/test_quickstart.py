"""tools/quickstart.py end to end on a tiny synthetic set (1 epoch): data, conversion,
training and evaluation of both models, the demo video, the report; a re-run reuses
every stage."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _quickstart(work_dir):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/quickstart.py', '--work-dir', str(work_dir), '--tiny', '--epochs',
                           '1'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_quickstart_runs_every_stage_and_reuses_them(tmp_path):
    work_dir = tmp_path / 'qs'
    first = _quickstart(work_dir)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    report = json.loads((work_dir / 'report.json').read_text())
    assert set(report['metrics']) == {'baseline', 'mamba'}
    for metrics in report['metrics'].values():
        assert 0.0 <= metrics['vid/mAP'] <= 1.0
        assert {'vid/mAP_degraded', 'vid/mAP_clean', 'vid/mAP_fast'} <= set(metrics)
    assert '| mamba |' in first.stdout and '| baseline |' in first.stdout
    gain = 100 * (report['metrics']['mamba']['vid/mAP'] - report['metrics']['baseline']['vid/mAP'])
    text = (work_dir / 'report.md').read_text()
    assert f'MAMBA minus baseline: mAP {gain:+.1f}' in text
    assert ', 1 epoch per model,' in text and 'One run of 1 epoch is not evidence' in text

    demo = cv2.VideoCapture(report['paths']['demo_video'])
    frames = int(demo.get(cv2.CAP_PROP_FRAME_COUNT))
    demo.release()
    assert frames == 8  # the tiny set's val video
    assert osp.isfile(work_dir / 'mamba' / 'test' / 'predictions.npz')

    checkpoint = report['paths']['mamba checkpoint']
    stamp = os.stat(checkpoint).st_mtime_ns
    second = _quickstart(work_dir)
    assert second.returncode == 0, second.stderr[-3000:]
    assert os.stat(checkpoint).st_mtime_ns == stamp  # reused, not retrained
    assert json.loads((work_dir / 'report.json').read_text())['metrics'] == report['metrics']
