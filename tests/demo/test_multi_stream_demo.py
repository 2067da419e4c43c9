"""demo/multi_stream_demo.py, run in-process through its main(): video files of different sizes and
lengths written by the tests, MAMBA (configs/synthetic) or the tiny Faster R-CNN with random
weights; whole outputs per stream, a stop mid-run, outputs that would destroy an input, bad input."""
import json
import os
import re
import runpy
import signal
from types import SimpleNamespace

import pytest

from mamba_vod.apis import MultiStreamDetector

# (frames, height, width) of the test videos: different sizes and lengths
CLIPS = [(10, 96, 128), (6, 64, 80), (4, 72, 96)]


@pytest.fixture(scope='module')
def multi_stream_demo(utils):
    """The demo script's functions (it is a script, not a module of a package)."""
    return SimpleNamespace(**runpy.run_path(os.path.join(utils.REPO, 'demo', 'multi_stream_demo.py')))


@pytest.fixture(scope='module')
def clips(tmp_path_factory, utils):
    folder = tmp_path_factory.mktemp('clips')
    return [utils.write_video(str(folder / f'clip{index}.avi'), utils.make_frames(count, height, width, seed=index),
                              fps=10) for index, (count, height, width) in enumerate(CLIPS)]


def _json_lines(path):
    with open(path) as file:
        return [json.loads(line) for line in file]


def _summaries(text):
    """{stream index: {'frames': n, 'dropped': n, ...}} from the demo's summary lines."""
    found = {}
    for index, fields in re.findall(r'^stream (\d+) \(.*?\): (frames: .*)$', text, re.M):
        found[int(index)] = {name: float(value) for name, value in re.findall(r'(\w+): ([0-9.]+)', fields)}
    return found


def test_every_frame_of_every_stream_is_written_whole(multi_stream_demo, clips, tmp_path, utils, capsys):
    out_dir = tmp_path / 'out'  # created by the demo
    status = multi_stream_demo.main(clips + [utils.MAMBA_SYNTHETIC, '--out-dir', str(out_dir), '--every-frame',
                                             '--score-thr', '0', '--max-batch', '2', '--report-every', '0'])
    assert status == 0
    stdout = capsys.readouterr().out
    for index, (count, height, width) in enumerate(CLIPS):
        video = utils.read_video(str(out_dir / f'stream_{index}.mp4'))
        assert len(video) == count and video[0].shape == (height, width, 3)
        lines = _json_lines(out_dir / f'stream_{index}.jsonl')
        assert [line['frame'] for line in lines] == list(range(count))
        assert all(len(line['boxes']) == len(line['scores']) > 0 for line in lines)
    assert sorted(os.listdir(out_dir)) == [f'stream_{i}.{ext}' for i in range(3) for ext in ('jsonl', 'mp4')]
    summaries = _summaries(stdout)
    assert [summaries[i]['frames'] for i in range(3)] == [count for count, _, _ in CLIPS]
    assert all(summaries[i]['dropped'] == 0 for i in range(3))
    assert re.search(r'^fps  0: [0-9.]+  1: [0-9.]+.*  all: [0-9.]+$', stdout, re.M)
    steps = int(re.search(r'all streams: frames: 20  steps: (\d+)', stdout).group(1))
    assert 10 <= steps < 20  # the streams were batched: fewer steps than frames


def test_replayed_files_process_or_drop_every_frame_in_order(multi_stream_demo, tiny_config, clips, tmp_path, utils,
                                                             capsys):
    out_dir = tmp_path / 'out'
    assert multi_stream_demo.main(clips[:2] + [tiny_config, '--out-dir', str(out_dir)]) == 0
    summaries = _summaries(capsys.readouterr().out)
    for index, (count, _, _) in enumerate(CLIPS[:2]):
        indices = [line['frame'] for line in _json_lines(out_dir / f'stream_{index}.jsonl')]
        assert len(utils.read_video(str(out_dir / f'stream_{index}.mp4'))) == len(indices) == summaries[index]['frames']
        assert len(indices) + summaries[index]['dropped'] == count
        assert indices == sorted(set(indices)) and indices[-1] == count - 1  # the last frame is never dropped


def test_sigterm_mid_run_finalises_every_output(multi_stream_demo, tiny_config, tmp_path, utils, monkeypatch,
                                                capsys):
    long_clips = [utils.write_video(str(tmp_path / f'long{i}.avi'), utils.make_frames(40, 48 + 16 * i, 64, seed=i))
                  for i in range(2)]
    step, steps = MultiStreamDetector.step, []

    def step_then_terminate(self, frames, *args):
        steps.append(len(frames))
        if len(steps) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return step(self, frames, *args)

    monkeypatch.setattr(MultiStreamDetector, 'step', step_then_terminate)
    out_dir = tmp_path / 'out'
    assert multi_stream_demo.main(long_clips + [tiny_config, '--out-dir', str(out_dir), '--every-frame']) == 0
    summaries = _summaries(capsys.readouterr().out)
    for index in range(2):
        written = len(utils.read_video(str(out_dir / f'stream_{index}.mp4')))
        assert written == len(_json_lines(out_dir / f'stream_{index}.jsonl')) == summaries[index]['frames']
    assert 3 <= sum(steps) and all(summaries[i]['frames'] < 40 for i in range(2))
    assert sorted(os.listdir(out_dir)) == ['stream_0.jsonl', 'stream_0.mp4', 'stream_1.jsonl', 'stream_1.mp4']


def test_max_frames_ends_each_stream(multi_stream_demo, tiny_config, clips, tmp_path, utils):
    out_dir = tmp_path / 'out'
    assert multi_stream_demo.main(clips + [tiny_config, '--out-dir', str(out_dir), '--every-frame',
                                           '--max-frames', '5']) == 0
    assert [len(_json_lines(out_dir / f'stream_{i}.jsonl')) for i in range(3)] == [5, 5, 4]
    assert len(utils.read_video(str(out_dir / 'stream_0.mp4'))) == 5


def test_an_output_that_is_an_input_is_refused(multi_stream_demo, tiny_config, clips, tmp_path, capsys):
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    victim = out_dir / 'stream_1.mp4'  # what stream 1 would write
    victim.write_bytes(open(clips[0], 'rb').read())
    before = victim.read_bytes()
    assert multi_stream_demo.main([str(victim), clips[1], tiny_config, '--out-dir', str(out_dir)]) == 1
    assert f"--out-dir '{victim}' is the input video" in capsys.readouterr().err
    assert victim.read_bytes() == before and os.listdir(out_dir) == ['stream_1.mp4']


@pytest.mark.parametrize('make_args, message', [
    (lambda clips, d: [clips[0], str(d / 'missing.mp4')], 'missing.mp4\' does not exist'),
    (lambda clips, d: [clips[0], '--max-batch', '0'], '--max-batch must be at least 1'),
    (lambda clips, d: [clips[0], '--max-frames', '0'], '--max-frames must be at least 1'),
])
def test_bad_input_is_one_line_and_writes_nothing(multi_stream_demo, tiny_config, clips, tmp_path, capsys, make_args,
                                                  message):
    args = make_args(clips, tmp_path)
    extra = args[1:] if args[1].startswith('--') else []
    sources = args[:1] if extra else args
    out_dir = tmp_path / 'out'
    assert multi_stream_demo.main(sources + [tiny_config, '--out-dir', str(out_dir)] + extra) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('error: ') and message in err[-1]
    assert not out_dir.exists()


def test_an_out_dir_that_is_a_file_is_refused(multi_stream_demo, tiny_config, clips, tmp_path, capsys):
    not_a_folder = tmp_path / 'file'
    not_a_folder.write_text('x')
    assert multi_stream_demo.main([clips[0], tiny_config, '--out-dir', str(not_a_folder)]) == 1
    assert 'is a file; give a folder' in capsys.readouterr().err


class FakeWindow:
    """Stands in for PreviewWindow: keeps what it is shown; 'q' is pressed at the third image."""
    shown = []

    def __init__(self, title):
        self.enabled = True

    def show(self, image):
        FakeWindow.shown.append(image)
        return len(FakeWindow.shown) < 3

    def close(self):
        pass


def test_show_tiles_the_streams_and_q_stops_every_stream(multi_stream_demo, tiny_config, clips, tmp_path, utils,
                                                         monkeypatch):
    from mamba_vod.streaming import multi_stream_demo as loop
    monkeypatch.setattr(loop, 'PreviewWindow', FakeWindow)
    FakeWindow.shown = []
    out_dir = tmp_path / 'out'
    assert multi_stream_demo.main(clips + [tiny_config, '--out-dir', str(out_dir), '--every-frame', '--show']) == 0
    assert len(FakeWindow.shown) == 3 and FakeWindow.shown[-1].shape == (480, 640, 3)  # 3 streams: a 2x2 grid
    counts = [len(_json_lines(out_dir / f'stream_{i}.jsonl')) for i in range(3)]
    assert 1 <= min(counts) and max(counts) <= 3
    assert counts == [len(utils.read_video(str(out_dir / f'stream_{i}.mp4'))) for i in range(3)]


def test_outputs_of_an_earlier_run_that_would_not_be_replaced_are_removed(multi_stream_demo, tiny_config, clips,
                                                                          tmp_path, capsys):
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    old = ['stream_0.mp4', 'stream_2.mp4', 'stream_2.jsonl', 'stream_10.jsonl', '.stream_1.k3j4h5.partial.mp4',
           '.stream_3.x1y2.partial.jsonl', 'notes.txt', 'stream_x.mp4']
    for name in old:
        (out_dir / name).write_text('left by an earlier run')
    assert multi_stream_demo.main(clips[:2] + [tiny_config, '--out-dir', str(out_dir), '--every-frame',
                                               '--max-frames', '2']) == 0
    assert sorted(os.listdir(out_dir)) == ['notes.txt', 'stream_0.jsonl', 'stream_0.mp4', 'stream_1.jsonl',
                                           'stream_1.mp4', 'stream_x.mp4']
    assert (f"removed 5 file(s) an earlier run left in '{out_dir}': .stream_1.k3j4h5.partial.mp4, "
            '.stream_3.x1y2.partial.jsonl, stream_10.jsonl, stream_2.jsonl, stream_2.mp4') in capsys.readouterr().out
