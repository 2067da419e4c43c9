"""tools/analysis/benchmark.py: streaming figures of one or two configs, sequential or interleaved."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

MAMBA = 'configs/synthetic/mamba_r18-dc5_synthetic.py'
BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'


class RecordingDetector:
    """Stands in for a StreamingDetector: remembers the frames it was given."""

    def __init__(self, log, name):
        self.log, self.name = log, name

    def step(self, frame):
        self.log.append((self.name, frame.copy()))


def test_interleaved_stream_gives_each_detector_the_same_frames_in_turn(load_tool):
    bench = load_tool('analysis/benchmark.py')
    log = []
    detectors = [RecordingDetector(log, 'a'), RecordingDetector(log, 'b')]
    latencies, memory = bench.stream(detectors, device='cpu', frames=3, warmup=2, size=(24, 40), memory_at=[1, 5])
    assert [name for name, _ in log] == ['a', 'b'] * 5
    for (_, frame_a), (_, frame_b) in zip(log[::2], log[1::2]):
        assert frame_a.shape == (24, 40, 3) and np.array_equal(frame_a, frame_b)
    assert not np.array_equal(log[0][1], log[2][1])  # the video moves
    assert [len(t) for t in latencies] == [3, 3]  # warm-up frames are not timed
    assert sorted(memory) == [1, 5] and all(mb > 0 for mb in memory.values())


def test_compare_two_configs_interleaved_writes_consistent_json(load_tool, tmp_path):
    bench = load_tool('analysis/benchmark.py')
    out = tmp_path / 'bench.json'
    report = bench.main([MAMBA, '--compare-config', BASELINE, '--device', 'cpu', '--frames', '3', '--warmup', '1',
                         '--size', '64', '96', '--memory-at', '2', '--interleave', '--json', str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    mamba, baseline = report['results']
    assert (mamba['config'], baseline['config']) == (MAMBA, BASELINE)
    for result in (mamba, baseline):
        assert result['frames'] == 3 and result['interleaved'] and result['size'] == [64, 96]
        assert result['p50_ms'] <= result['p95_ms']
        assert result['fps'] == pytest.approx(1000 / result['mean_ms'], rel=0.01)
        assert list(result['host_rss_mb_at_frame']) == [2]
    assert report['latency_ratio'] == pytest.approx(mamba['mean_ms'] / baseline['mean_ms'], rel=1e-3)
    assert mamba['stream_state_mb'] > 0 and baseline['stream_state_mb'] == 0  # MAMBA's memories; none


def test_several_configs_interleaved_give_each_ones_latency_over_the_first(load_tool, capsys):
    bench = load_tool('analysis/benchmark.py')
    report = bench.main([BASELINE, '--compare-config', MAMBA, BASELINE, '--device', 'cpu', '--frames', '2',
                         '--warmup', '1', '--size', '64', '96', '--memory-at', '2', '--interleave'])
    first, mamba, again = report['results']
    assert [r['config'] for r in report['results']] == [BASELINE, MAMBA, BASELINE]
    assert report['latency_vs_first'][MAMBA] == pytest.approx(mamba['mean_ms'] / first['mean_ms'], rel=1e-3)
    assert 'latency_ratio' not in report
    assert capsys.readouterr().out.count('latency ') == 2
    with pytest.raises(SystemExit):
        bench.main([BASELINE, '--compare-config', MAMBA, '--compare-checkpoint', 'a.pth', 'b.pth'])


def test_fp16_needs_cuda_and_frames_must_be_timed(load_tool):
    bench = load_tool('analysis/benchmark.py')
    with pytest.raises(ValueError, match='--device cuda'):
        bench.benchmark([(BASELINE, None)], device='cpu', frames=1, warmup=0, size=(32, 32), fp16=True)
    with pytest.raises(ValueError, match='--frames'):
        bench.benchmark([(BASELINE, None)], device='cpu', frames=0, warmup=0, size=(32, 32))


class FakeMulti:
    """Stands in for a MultiStreamDetector: logs the frames of each step."""
    log = []

    def __init__(self, config, checkpoint, device, *, cfg_options=None, max_batch=None):
        self.streams = {}

    def step(self, frames):
        FakeMulti.log.append(('multi', {index: frame.copy() for index, frame in frames.items()}))
        for index in frames:
            self.streams.setdefault(index, SimpleNamespace(memory=None))


class FakeSingle:
    """Stands in for a StreamingDetector: logs its frames under the number it was built as."""

    def __init__(self, config, checkpoint, device, *, cfg_options=None):
        self.number = sum(1 for mode, _ in FakeMulti.log if mode == 'built')
        FakeMulti.log.append(('built', self.number))
        self.stream = SimpleNamespace(memory=None)

    def step(self, frame):
        FakeMulti.log.append(('single', {self.number: frame.copy()}))


def test_streams_give_both_modes_the_same_frames_of_different_videos(load_tool, monkeypatch):
    bench = load_tool('analysis/benchmark.py')
    monkeypatch.setattr(bench, 'MultiStreamDetector', FakeMulti)
    monkeypatch.setattr(bench, 'StreamingDetector', FakeSingle)
    FakeMulti.log = []
    report = bench.benchmark_streams(MAMBA, None, streams=3, device='cpu', frames=2, warmup=2, size=(16, 24),
                                     interleave=True)
    steps = [(mode, frames) for mode, frames in FakeMulti.log if mode != 'built']
    # warm-up: stream 0 alone, then streams 1 and 2 batched; each single-stream detector on its own video
    assert [(mode, sorted(frames)) for mode, frames in steps[:4]] == [('multi', [0])] * 2 + [('multi', [1, 2])] * 2
    assert [(mode, sorted(frames)) for mode, frames in steps[4:10]] == [('single', [i]) for i in (0, 0, 1, 1, 2, 2)]
    # timed, interleaved: frame t of every stream to the batched detector, then to each single one in turn
    timed = steps[10:]
    assert [mode for mode, _ in timed] == ['multi', 'single', 'single', 'single'] * 2
    for t in range(2):
        batched = timed[4 * t][1]
        singles = {index: frame for _, frames in timed[4 * t + 1:4 * t + 4] for index, frame in frames.items()}
        assert sorted(batched) == sorted(singles) == [0, 1, 2]
        videos = [list(bench.synthetic_frames(4, 16, 24, seed=i)) for i in range(3)]
        # after the 2 warm-up frames: frame 2 + t of video i (seed i) to both modes
        assert all(np.array_equal(batched[i], videos[i][2 + t]) and np.array_equal(singles[i], videos[i][2 + t])
                   for i in range(3))
        assert not np.array_equal(batched[0], batched[1])  # different videos
    multi, sequential = report['results']
    assert multi['mode'] == 'multi' and sequential['mode'] == 'sequential' and multi['interleaved']
    assert report['throughput_ratio'] == pytest.approx(multi['aggregate_fps'] / sequential['aggregate_fps'], rel=1e-2)


def test_streams_measure_batched_mamba_against_single_stream_detectors(load_tool, tmp_path):
    bench = load_tool('analysis/benchmark.py')
    out = tmp_path / 'streams.json'
    report = bench.main([MAMBA, '--streams', '2', '--device', 'cpu', '--frames', '2', '--warmup', '2', '--size', '48',
                         '64', '--interleave', '--cfg-options', 'model.test_cfg.pixel.score_thr=0.0', '--json',
                         str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    multi, sequential = report['results']
    for result in (multi, sequential):
        assert result['streams'] == 2 and result['frames'] == 2 and result['size'] == [48, 64]
        assert result['latency_p50_ms'] <= result['latency_p95_ms']
        # every stream's instance banks hold K = 25 rows of each of its 4 frames: more than a key set
        assert result['memory_rows']['instance_level'] == dict(rows=100, key_set=100)
        assert result['memory_rows']['pixel_level']['rows'] > 0
        assert {'rss_first_stream_mb', 'rss_extra_streams_mb'} <= set(result)  # values: see docs (process-wide RSS)
    assert multi['aggregate_fps'] == pytest.approx(2 * 1000 / multi['step_mean_ms'], rel=0.01)
    assert sequential['aggregate_fps'] == pytest.approx(2 * 1000 / sequential['step_mean_ms'], rel=0.01)
    assert multi['stream_state_mb'] == sequential['stream_state_mb'] > 0
    assert report['extra_stream_states_mb'] == pytest.approx(multi['stream_state_mb'] / 2, abs=0.01)


def test_streams_need_two_streams_and_no_second_config(load_tool, capsys):
    bench = load_tool('analysis/benchmark.py')
    with pytest.raises(ValueError, match='at least 2'):
        bench.benchmark_streams(MAMBA, None, streams=1, device='cpu', frames=1, warmup=0, size=(16, 16))
    with pytest.raises(SystemExit):
        bench.main([MAMBA, '--streams', '2', '--compare-config', BASELINE])
    assert 'drop --compare-config' in capsys.readouterr().err


def test_a_compared_config_can_run_twice_with_options_of_its_own(load_tool, monkeypatch, capsys):
    """MAMBA at its own key set and at a larger one, in one interleaved run: each detector is built
    with its own options over the shared ones, and the two are told apart in the report."""
    bench = load_tool('analysis/benchmark.py')
    built = []
    real = bench.StreamingDetector

    def recording(config, checkpoint=None, **kwargs):
        built.append((config, kwargs['cfg_options']))
        return real(config, checkpoint, **kwargs)

    monkeypatch.setattr(bench, 'StreamingDetector', recording)
    key_set = 'model.instance_level.memory.key_set_size'
    report = bench.main([BASELINE, '--compare-config', MAMBA, MAMBA, '--compare-cfg-options', '-', f'{key_set}=250',
                         '--device', 'cpu', '--frames', '2', '--warmup', '1', '--size', '64', '96', '--memory-at', '2',
                         '--interleave', '--cfg-options', 'model.test_cfg.rcnn.max_per_img=50'])
    shared = {'model.test_cfg.rcnn.max_per_img': 50}
    assert built == [(BASELINE, shared), (MAMBA, shared), (MAMBA, {**shared, key_set: 250})]
    assert [r['own_cfg_options'] for r in report['results']] == [{}, {}, {key_set: 250}]
    assert set(report['latency_vs_first']) == {MAMBA, f'{MAMBA} {key_set}=250'}
    assert f'mamba_r18-dc5_synthetic.py {key_set}=250 |' in capsys.readouterr().out


def test_compared_options_must_be_key_value_pairs(load_tool, capsys):
    bench = load_tool('analysis/benchmark.py')
    assert bench.parse_own_options('a.b=250,c=x,d=True,e=[1, 2],f=0.5') == dict(
        {'a.b': 250, 'c': 'x', 'd': True, 'e': [1, 2], 'f': 0.5})
    assert bench.parse_own_options('-') == {}
    with pytest.raises(SystemExit):
        bench.main([BASELINE, '--compare-config', MAMBA, '--compare-cfg-options', 'key_set_size'])
    assert "'key_set_size' is not KEY=VALUE" in capsys.readouterr().err
