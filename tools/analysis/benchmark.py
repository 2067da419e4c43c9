"""Streaming speed and memory of a detector, optionally against a second config, in one run.

    python tools/analysis/benchmark.py CONFIG [--checkpoint C] [--compare-config CONFIG2
        [--compare-checkpoint C2]] [--device cpu|cuda] [--frames N] [--warmup W]
        [--size H W] [--fp16] [--memory-at 100 2000] [--interleave] [--json OUT]

Each config runs as a :class:`StreamingDetector` over the same deterministic
synthetic video (textured background, moving coloured objects) of size H x W:
per-frame latency (after ``--warmup`` frames), fps, p50/p95 latency, the
process's resident memory at the frames given by ``--memory-at``, its peak, and
on CUDA the peak device memory. ``--interleave`` feeds every frame to both
detectors in turn (the fair comparison on a loaded machine). Without a
checkpoint the weights are random, which times the same computation as trained
weights for a fixed number of proposals (the RPN keeps ``max_per_img``
proposals either way); with random weights no detection reaches MAMBA's pixel
score threshold, so the pixel memory stays empty and each frame attends to its
own pixels (a full key set: the same cost).
"""
import argparse
import contextlib
import os
import os.path as osp
import platform
import resource
import time
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import DictAction

from mamba_vod.apis import StreamingDetector
from mamba_vod.evaluation.functional import write_json


def synthetic_frames(count: int, height: int, width: int, seed: int = 0):
    """Yields ``count`` (H, W, 3) uint8 BGR frames of objects moving over clutter."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = np.kron(background, np.ones((8, 8, 1), dtype=np.uint8))[:height, :width]
    colours = rng.integers(0, 256, (3, 3))
    for index in range(count):
        frame = background.copy()
        for k, colour in enumerate(colours):
            size = int(min(height, width) * (0.2 + 0.05 * k))
            x = int((width - size) * (0.5 + 0.45 * np.sin(0.05 * index + 2 * k)))
            y = int((height - size) * (0.5 + 0.45 * np.cos(0.04 * index + k)))
            frame[y:y + size, x:x + size] = colour
        yield frame


def resident_mb() -> float:
    """The process's resident set size now, in MB (Linux /proc; else the peak)."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _timed_step(detector: StreamingDetector, frame: np.ndarray, device: str) -> float:
    """Seconds one :meth:`StreamingDetector.step` takes (device synchronised)."""
    _sync(device)
    start = time.perf_counter()
    detector.step(frame)
    _sync(device)
    return time.perf_counter() - start


def stream(detectors: List[StreamingDetector], *, device: str, frames: int, warmup: int, size,
           memory_at: List[int]) -> Tuple[List[List[float]], dict]:
    """Feeds every frame to each detector in turn (one detector: plain streaming).

    Returns the per-detector latencies in seconds (timed frames only) and the
    process's resident MB at the frame counts in ``memory_at``.
    """
    latencies: List[List[float]] = [[] for _ in detectors]
    memory = {}
    for index, frame in enumerate(synthetic_frames(warmup + frames, *size)):
        for timings, detector in zip(latencies, detectors):
            elapsed = _timed_step(detector, frame, device)
            if index >= warmup:
                timings.append(elapsed)
        if index + 1 in memory_at:
            memory[index + 1] = round(resident_mb(), 1)
    return latencies, memory


def summarise(config: str, checkpoint: Optional[str], latencies: List[float], memory: dict, **settings) -> dict:
    """The figures of one config from its latencies (s) and resident-memory samples."""
    latency_ms = np.array(latencies) * 1000
    return dict(
        config=config, checkpoint=checkpoint, **settings,
        fps=round(1000 / latency_ms.mean(), 2), mean_ms=round(float(latency_ms.mean()), 2),
        p50_ms=round(float(np.percentile(latency_ms, 50)), 2),
        p95_ms=round(float(np.percentile(latency_ms, 95)), 2),
        host_rss_mb_at_frame=memory,
        host_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


def benchmark(runs: List[Tuple[str, Optional[str]]], *, device: str, frames: int, warmup: int, size,
              fp16: bool = False, memory_at: List[int] = (), interleave: bool = False,
              cfg_options: Optional[dict] = None) -> List[dict]:
    """Streams ``warmup + frames`` frames through each (config, checkpoint) of ``runs``.

    One after the other by default (each config's memory figures are its own);
    with ``interleave`` all detectors are built first and every frame goes to
    each in turn, so that load on the machine affects them alike (the memory
    figures are then those of the process holding all of them). The peak
    resident memory is the process's peak so far, so in sequential mode a later
    config's peak includes the earlier ones'.
    """
    if fp16 and not device.startswith('cuda'):
        raise ValueError('--fp16 runs the model under CUDA autocast; use --device cuda')
    if frames < 1 or warmup < 0:
        raise ValueError(f'--frames must be >= 1 and --warmup >= 0, got {frames} and {warmup}')
    settings = dict(frames=frames, warmup=warmup, size=list(size), fp16=fp16, interleaved=interleave)
    groups = [runs] if interleave else [[run] for run in runs]
    results = []
    for group in groups:
        detectors = [StreamingDetector(config, checkpoint, device=device, cfg_options=cfg_options)
                     for config, checkpoint in group]
        if device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        autocast = torch.autocast(device_type='cuda', dtype=torch.float16) if fp16 else contextlib.nullcontext()
        with autocast:
            latencies, memory = stream(detectors, device=device, frames=frames, warmup=warmup, size=size,
                                       memory_at=memory_at)
        for (config, checkpoint), timings in zip(group, latencies):
            result = summarise(config, checkpoint, timings, memory, **settings)
            if device.startswith('cuda'):
                result['device_peak_mb'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            results.append(result)
        del detectors
    return results


def machine() -> dict:
    info = dict(python=platform.python_version(), torch=torch.__version__, cpu=platform.processor() or
                platform.machine(), cores=os.cpu_count(), threads=torch.get_num_threads())
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    return info


def print_table(results: List[dict]) -> None:
    print('| config | fps | mean ms | p50 ms | p95 ms | host RSS MB at frame | device peak MB |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for r in results:
        rss = ', '.join(f'{k}: {v}' for k, v in r['host_rss_mb_at_frame'].items()) or '-'
        print(f"| {osp.basename(r['config'])} | {r['fps']} | {r['mean_ms']} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{rss} | {r.get('device_peak_mb', '-')} |")
    if len(results) == 2:
        print(f"latency ratio {osp.basename(results[0]['config'])} / {osp.basename(results[1]['config'])}: "
              f"{results[0]['mean_ms'] / results[1]['mean_ms']:.3f} (mean), "
              f"{results[0]['p50_ms'] / results[1]['p50_ms']:.3f} (p50)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Streaming fps, latency and memory of one or two configs.')
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--compare-config', help='a second config timed in the same run (e.g. the baseline)')
    parser.add_argument('--compare-checkpoint')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--frames', type=int, default=50, help='timed frames')
    parser.add_argument('--warmup', type=int, default=5, help='untimed frames first')
    parser.add_argument('--size', type=int, nargs=2, default=[600, 1000], metavar=('H', 'W'))
    parser.add_argument('--fp16', action='store_true', help='fp16 autocast (CUDA)')
    parser.add_argument('--memory-at', type=int, nargs='*', default=[100, 2000],
                        help='frame counts (warm-up included) at which the resident memory is recorded')
    parser.add_argument('--interleave', action='store_true',
                        help='build both detectors and feed every frame to each in turn (fair under load)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='overrides for both configs')
    parser.add_argument('--json', help='write the results here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runs = [(args.config, args.checkpoint)]
    if args.compare_config:
        runs.append((args.compare_config, args.compare_checkpoint))
    results = benchmark(runs, device=args.device, frames=args.frames, warmup=args.warmup, size=args.size,
                        fp16=args.fp16, memory_at=args.memory_at, interleave=args.interleave,
                        cfg_options=args.cfg_options)
    print_table(results)
    report = dict(machine=machine(), results=results)
    if len(results) == 2:
        report['latency_ratio'] = round(results[0]['mean_ms'] / results[1]['mean_ms'], 4)
        report['latency_ratio_p50'] = round(results[0]['p50_ms'] / results[1]['p50_ms'], 4)
    if args.json:
        write_json(args.json, report)
    return report


if __name__ == '__main__':
    main()
