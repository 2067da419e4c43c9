"""Throughput and latency of a stream: mean fps, a live fps, p50/p95 latency, drop counts.

Bounded: latencies are kept for the last ``max_samples`` frames only, so a stream
that runs for days does not grow this object.
"""
import time
from collections import deque
from typing import Optional

import numpy as np


class StreamStats:
    """Per-frame latency (seconds spent on a frame) and wall-clock throughput.

    Args:
        window: frames over which :attr:`current_fps` is measured.
        max_samples: latencies kept for the percentiles.
    """

    def __init__(self, *, window: int = 30, max_samples: int = 100_000) -> None:
        self._latencies = deque(maxlen=max_samples)
        self._stamps = deque(maxlen=window + 1)
        self._start: Optional[float] = None
        self._last: Optional[float] = None
        self.frames = 0

    def start(self) -> None:
        """Marks the start of the stream (wall time for the mean fps counts from here)."""
        self._start = time.perf_counter()
        self._stamps.append(self._start)

    def record(self, latency_s: float) -> None:
        """Counts one processed frame that took ``latency_s`` seconds."""
        now = time.perf_counter()
        if self._start is None:
            self._start = now - latency_s
            self._stamps.append(self._start)
        self._latencies.append(latency_s)
        self._stamps.append(now)
        self._last = now
        self.frames += 1

    @property
    def current_fps(self) -> float:
        """Frames per second over the last ``window`` frames."""
        if len(self._stamps) < 2:
            return 0.0
        span = self._stamps[-1] - self._stamps[0]
        return (len(self._stamps) - 1) / span if span > 0 else 0.0

    @property
    def mean_fps(self) -> float:
        """Processed frames per wall-clock second from :meth:`start` to the last frame."""
        if not self.frames or self._last is None or self._last <= self._start:
            return 0.0
        return self.frames / (self._last - self._start)

    def latency_ms(self, percentile: float) -> float:
        return float(np.percentile(np.asarray(self._latencies), percentile) * 1000) if self._latencies else 0.0

    def summary(self, **counts: int) -> dict:
        """frames, mean fps, p50/p95 latency in ms, plus any ``counts`` (e.g. dropped=3)."""
        return dict(frames=self.frames, mean_fps=round(self.mean_fps, 2),
                    latency_p50_ms=round(self.latency_ms(50), 1), latency_p95_ms=round(self.latency_ms(95), 1),
                    **counts)

    def format_summary(self, **counts: int) -> str:
        summary = self.summary(**counts)
        text = (f"frames: {summary['frames']}  mean fps: {summary['mean_fps']:.2f}  latency p50: "
                f"{summary['latency_p50_ms']:.1f} ms  p95: {summary['latency_p95_ms']:.1f} ms")
        extra = ''.join(f'  {name}: {value}' for name, value in counts.items())
        return text + extra
