"""tools/analysis/benchmark.py: streaming figures of one or two configs, sequential or interleaved."""
import json

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


def test_fp16_needs_cuda_and_frames_must_be_timed(load_tool):
    bench = load_tool('analysis/benchmark.py')
    with pytest.raises(ValueError, match='--device cuda'):
        bench.benchmark([(BASELINE, None)], device='cpu', frames=1, warmup=0, size=(32, 32), fp16=True)
    with pytest.raises(ValueError, match='--frames'):
        bench.benchmark([(BASELINE, None)], device='cpu', frames=0, warmup=0, size=(32, 32))
