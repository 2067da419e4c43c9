"""tools/quickstart.py end to end on a tiny synthetic set (1 epoch): data, conversion,
training and evaluation of both models, the demo video, the side-by-side video, the report
and its PNG; a re-run reuses every stage. The side-by-side rendering on a tiny video."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mamba_vod.engine import StageFingerprint, source_digest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _quickstart(work_dir):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/quickstart.py', '--work-dir', str(work_dir), '--tiny', '--epochs',
                           '1'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_quickstart_runs_every_stage_and_reuses_them(tmp_path):
    code = source_digest(osp.join(ROOT, 'mamba_vod'))
    work_dir = tmp_path / 'qs'
    first = _quickstart(work_dir)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    report = json.loads((work_dir / 'report.json').read_text())
    assert set(report['metrics']) == {'baseline', 'mamba'}
    for metrics in report['metrics'].values():
        assert 0.0 <= metrics['vid/mAP'] <= 1.0
        assert {'vid/mAP_degraded', 'vid/mAP_clean', 'vid/mAP_fast'} <= set(metrics)
    assert '| mamba |' in first.stdout and '| baseline |' in first.stdout
    paper = report['paper_protocol_metrics']
    assert paper['baseline'] == report['metrics']['baseline']  # single-frame: the order does not matter
    assert 0.0 <= paper['mamba']['vid/mAP'] <= 1.0
    text = (work_dir / 'report.md').read_text()
    for protocol, metrics in (('online', report['metrics']), ('paper', paper)):
        gain = 100 * (metrics['mamba']['vid/mAP'] - metrics['baseline']['vid/mAP'])
        assert f'MAMBA minus baseline, {protocol} protocol: mAP {gain:+.1f}' in text
        assert f'| mamba | {protocol} | {100 * metrics["mamba"]["vid/mAP"]:.1f} |' in text
    assert ', 1 epoch per model,' in text and 'One run of 1 epoch is not evidence' in text

    assert _frame_count(report['paths']['demo_video']) == 8  # the tiny set's val video
    assert osp.isfile(work_dir / 'mamba' / 'test' / 'predictions.npz')
    side = report['paths']['side_by_side_video']
    assert _frame_count(side) == 8 and _frame_size(side)[0] == 2 * 3 * 160 + 6
    assert cv2.imread(report['paths']['comparison_png']).shape[1] == 2 * 480  # online and paper panels
    for stage in ('data/synthetic_vid', 'mamba', 'mamba/test', 'mamba/test_paper', 'baseline', 'demo',
                  'side_by_side'):
        assert json.loads((work_dir / stage / 'stage_fingerprint.json').read_text())['finished'], stage

    outputs = [report['paths']['mamba checkpoint'], side, work_dir / 'data' / 'synthetic_vid' / 'annotations'
               / 'imagenet_vid_val.json']
    stamps = [os.stat(path).st_mtime_ns for path in outputs]
    second = _quickstart(work_dir)
    assert second.returncode == 0, second.stderr[-3000:]
    redone = [line for line in (second.stdout + second.stderr).splitlines() if 'redoing' in line]
    if source_digest(osp.join(ROOT, 'mamba_vod')) != code:  # edited while this test ran (a shared tree):
        # what ran on the old code is redone, and only that (the data, made by tools/, is kept)
        changed = {part for line in redone for part in line.split(': its ')[1].split(' changed')[0].split(', ')}
        assert redone and changed <= {'code', 'model', 'baseline', 'mamba'}, redone
        assert not any(line.startswith('data:') for line in redone), redone
        return
    assert redone == [], redone
    assert [os.stat(path).st_mtime_ns for path in outputs] == stamps  # reused, not redone
    assert json.loads((work_dir / 'report.json').read_text())['metrics'] == report['metrics']


def _frame_count(path):
    video = cv2.VideoCapture(str(path))
    count = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    video.release()
    return count


def _frame_size(path):
    video = cv2.VideoCapture(str(path))
    size = int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))
    video.release()
    return size


def _frames(path):
    video, frames = cv2.VideoCapture(str(path)), []
    ok, frame = video.read()
    while ok:
        frames.append(frame)
        ok, frame = video.read()
    video.release()
    return frames


@pytest.fixture
def tiny_video(tmp_path):
    """A synthetic-layout val video of 4 frames (64 x 80), frames 1 and 2 degraded."""
    root = tmp_path / 'data'
    video = root / 'Data' / 'VID' / 'val' / 'ILSVRC2015_val_00000000'
    video.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(4):
        cv2.imwrite(str(video / f'{t:06d}.JPEG'), rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))
    (root / 'Lists').mkdir()
    (root / 'Lists' / 'VID_val_degraded_frames.txt').write_text(
        ''.join(f'val/ILSVRC2015_val_00000000/{t:06d}.JPEG\n' for t in (1, 2)))
    return root


def test_side_by_side_marks_the_degraded_frames(load_tool, tiny_video, tmp_path):
    tool = load_tool('misc/side_by_side_video.py')
    frames, degraded = tool.degraded_val_video(str(tiny_video))
    assert [osp.basename(f) for f in frames] == [f'{t:06d}.JPEG' for t in range(4)]
    assert degraded == [False, True, True, False]
    models = {'baseline': ('configs/synthetic/faster-rcnn_r18-dc5_synthetic.py', None),  # random weights
              'MAMBA': ('configs/synthetic/mamba_r18-dc5_synthetic.py', None)}
    out = tool.render_side_by_side(models, frames, degraded, str(tmp_path / 'out' / 'side.mp4'), scale=3)
    video = _frames(out)
    assert len(video) == 4
    assert video[0].shape == (tool.TITLE_PX + 3 * 64, 2 * 3 * 80 + tool.GAP_PX, 3)
    # the red DEGRADED label in the title bar and the red border: on frames 1 and 2 only
    for t, frame in enumerate(video):
        title, body = frame[:tool.TITLE_PX].astype(int), frame[tool.TITLE_PX:].astype(int)
        red = ((title[..., 2] > 170) & (title[..., :2].max(axis=2) < 110)).sum()
        border = body[:, :2, 2].mean() - body[:, :2, :2].mean()
        assert (red > 100) == degraded[t], t
        assert (border > 60) == degraded[t], t
    with pytest.raises(ValueError, match='one flag per frame'):
        tool.render_side_by_side(models, frames, degraded[:2], str(tmp_path / 'bad.mp4'))


def test_a_video_is_redrawn_when_the_script_that_draws_it_changes(load_tool, tmp_path):
    quickstart = load_tool('quickstart.py')
    models = {'baseline': StageFingerprint(config='b'), 'mamba': StageFingerprint(config='m')}
    script = tmp_path / 'draw.py'
    script.write_text('def draw(frame):\n    return frame\n')
    before = quickstart.video_fingerprint(str(script), models)
    assert set(before.parts) == {'code', 'environment', 'baseline', 'mamba'}  # code: the script and its imports
    assert 'device=' in before.parts['environment']
    script.write_text('def draw(frame):\n    return frame[::-1]\n')
    assert quickstart.video_fingerprint(str(script), models) != before
    assert (quickstart.video_fingerprint('demo/video_demo.py', models).parts['code']
            != quickstart.video_fingerprint('tools/misc/side_by_side_video.py', models).parts['code'])
