import time

import pytest

from mamba_vod.streaming import StreamStats


def test_percentiles_and_counts():
    stats = StreamStats()
    stats.start()
    for latency_ms in range(1, 101):
        stats.record(latency_ms / 1000)
    summary = stats.summary(dropped=4)
    assert summary['frames'] == 100 and summary['dropped'] == 4
    assert summary['latency_p50_ms'] == pytest.approx(50.5)
    assert stats.latency_ms(95) == pytest.approx(95.05) and summary['latency_p95_ms'] == pytest.approx(95.05, abs=0.1)
    text = stats.format_summary(dropped=4)
    assert text.startswith('frames: 100  mean fps: ') and text.endswith('dropped: 4')


def test_fps_follows_the_wall_clock_and_memory_is_bounded():
    stats = StreamStats(window=5, max_samples=10)
    stats.start()
    for _ in range(20):
        time.sleep(0.01)
        stats.record(0.01)
    assert 40 < stats.mean_fps <= 100 and 40 < stats.current_fps <= 100
    assert len(stats._latencies) == 10 and len(stats._stamps) == 6
