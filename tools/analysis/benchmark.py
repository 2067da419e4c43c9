"""Streaming speed and memory of a detector, optionally against a second config, in one run;
or of N streams through one batched model against N single-stream detectors (``--streams N``).

    python tools/analysis/benchmark.py CONFIG [--checkpoint C] [--compare-config CONFIG2 [CONFIG3 ...]
        [--compare-checkpoint C2 [C3 ...]] [--compare-cfg-options K=V[,K=V] | - ...]] [--device cpu|cuda]
        [--frames N] [--warmup W]
        [--size H W] [--fp16] [--memory-at 100 2000] [--interleave] [--json OUT]
    python tools/analysis/benchmark.py CONFIG --streams N [--max-batch B] [--frames N] [--warmup W]
        [--size H W] [--interleave] [--cfg-options ...] [--json OUT]

Each config runs as a :class:`StreamingDetector` over the same deterministic
synthetic video (textured background, moving coloured objects) of size H x W:
per-frame latency (after ``--warmup`` frames), fps, p50/p95 latency, the
process's resident memory at the frames given by ``--memory-at``, its peak, the MB
its stream's state holds after the last frame (``stream_state_mb``: memories, kept frames and maps,
what each further stream costs), and on CUDA the peak device memory; with three or more configs, each one's mean latency
over the first's (``latency_vs_first``: put the baseline first). ``--interleave`` feeds every frame to every
detector in turn (the fair comparison on a loaded machine); ``--compare-cfg-options`` gives each
compared config options of its own (e.g. MAMBA a second time with a larger key set). Without a
checkpoint the weights are random, which times the same computation as trained
weights for a fixed number of proposals (the RPN keeps ``max_per_img``
proposals either way); with random weights no detection reaches MAMBA's pixel
score threshold, so the pixel memory stays empty and each frame attends to its
own pixels (a full key set: the same cost).

``--streams N`` (N >= 2) streams N different synthetic videos of one size through a
:class:`MultiStreamDetector` (one step: one frame of every stream, batched) and, in the same
run, through N :class:`StreamingDetector` s fed round-robin (frame t of stream 0, of stream 1,
...). Reported per mode: aggregate frames per second (all streams' frames
over the time of the steps), per-stream latency p50/p95 (the time from a frame's step start to
its result: a batch's time for every frame of it), and the resident memory growth (MB) from
before the mode's detectors were built to after their warm-up (``--warmup`` frames per stream,
which fill the memories), beside the bytes the streams' memory states hold. The modes are
built and warmed up one after the other (the batched one first, in a process that holds
nothing else yet; the single-stream detectors one by one, so the growth of the first one is a
single stream's); ``--interleave`` then alternates the modes frame index by frame index (fair
under load), else each mode streams all its frames in turn.
"""
import argparse
import ast
import contextlib
import itertools
import os
import os.path as osp
import platform
import re
import resource
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import DictAction

from mamba_vod.apis import MultiStreamDetector, StreamingDetector
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


def _timed(call: Callable[[], object], device: str) -> float:
    """Seconds ``call()`` takes (device synchronised)."""
    _sync(device)
    start = time.perf_counter()
    call()
    _sync(device)
    return time.perf_counter() - start


def _timed_step(detector: StreamingDetector, frame: np.ndarray, device: str) -> float:
    """Seconds one :meth:`StreamingDetector.step` takes (device synchronised)."""
    return _timed(lambda: detector.step(frame), device)


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


def stream_state_mb(detector: StreamingDetector) -> float:
    """MB the stream's state holds (memories, kept frames and maps, caches) after its last frame:
    what each further stream of the method costs beside the shared model."""
    state = detector.stream.memory
    return round((0 if state is None else state.nbytes) / 2**20, 2)


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


def benchmark(runs: List[tuple], *, device: str, frames: int, warmup: int, size,
              fp16: bool = False, memory_at: List[int] = (), interleave: bool = False,
              cfg_options: Optional[dict] = None) -> List[dict]:
    """Streams ``warmup + frames`` frames through each (config, checkpoint[, options]) of ``runs``;
    a run's own ``options`` (a dict, e.g. a larger key set for one of two MAMBA runs) go over
    ``cfg_options`` and are recorded in its result (``own_cfg_options``).

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
    runs = [(run[0], run[1], run[2] if len(run) > 2 else {}) for run in runs]
    groups = [runs] if interleave else [[run] for run in runs]
    results = []
    for group in groups:
        detectors = [StreamingDetector(config, checkpoint, device=device,
                                       cfg_options={**(cfg_options or {}), **own} or None)
                     for config, checkpoint, own in group]
        if device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        autocast = torch.autocast(device_type='cuda', dtype=torch.float16) if fp16 else contextlib.nullcontext()
        with autocast:
            latencies, memory = stream(detectors, device=device, frames=frames, warmup=warmup, size=size,
                                       memory_at=memory_at)
        for (config, checkpoint, own), timings, detector in zip(group, latencies, detectors):
            result = summarise(config, checkpoint, timings, memory, **settings)
            result.update(stream_state_mb=stream_state_mb(detector), own_cfg_options=own)
            if device.startswith('cuda'):
                result['device_peak_mb'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            results.append(result)
        del detectors
    return results


# ------------------------------------------------------------------ --streams N
def stream_frames(streams: int, count: int, size, start: int = 0):
    """Yields, for t in [start, count), the tuple of frame t of ``streams`` different videos (seeds 0..N-1)."""
    videos = [synthetic_frames(count, *size, seed=seed) for seed in range(streams)]
    return itertools.islice(zip(*videos), start, None)


class BatchedStreams:
    """Mode 'multi': the streams through one :class:`MultiStreamDetector`, a step = one frame of each."""
    mode = 'multi'

    def __init__(self, build: Callable[[], MultiStreamDetector], device: str) -> None:
        self.detector = build()
        self.device = device

    def step(self, frames: Sequence[np.ndarray], first: int = 0) -> List[float]:
        """The per-stream latencies (s) of one batched step over ``frames``, one per stream from
        stream ``first`` on."""
        elapsed = _timed(lambda: self.detector.step(dict(enumerate(frames, first))), self.device)
        return [elapsed] * len(frames)

    @property
    def states(self) -> list:
        return [stream.memory for stream in self.detector.streams.values()]


class SingleStreams:
    """Mode 'sequential': one :class:`StreamingDetector` per stream, a step = each in turn (round-robin)."""
    mode = 'sequential'

    def __init__(self, build: Callable[[], StreamingDetector], device: str) -> None:
        self._build = build
        self.detectors: List[StreamingDetector] = []
        self.device = device

    def add(self, frames: Sequence[np.ndarray]) -> None:
        """Builds the next stream's detector and warms it up over ``frames`` (its video)."""
        detector = self._build()
        for frame in frames:
            detector.step(frame)
        self.detectors.append(detector)

    def step(self, frames: Sequence[np.ndarray]) -> List[float]:
        return [_timed_step(detector, frame, self.device) for detector, frame in zip(self.detectors, frames)]

    @property
    def states(self) -> list:
        return [detector.stream.memory for detector in self.detectors]


def memory_fill(states: Sequence) -> dict:
    """Per state carrier of the model (MAMBA: 'pixel_level', 'instance_level'), the fewest rows a
    stream's memory bank holds and the key-set size (carriers with banks)."""
    banks = defaultdict(list)
    for state in states:
        for name, part in ({} if state is None else state.parts).items():
            banks[name] += part.memory_banks
    return {name: dict(rows=min(len(bank) for bank in found), key_set=found[0].key_set_size)
            for name, found in banks.items() if found}


def _device_mb(device: str) -> float:
    return torch.cuda.memory_allocated() / 2**20 if device.startswith('cuda') else 0.0


def build_modes(config: str, checkpoint: Optional[str], *, streams: int, device: str, warmup: int, size,
                cfg_options: Optional[dict], max_batch: Optional[int]) -> Tuple[list, Dict[str, dict]]:
    """Both modes, built and warmed up (``warmup`` frames of every stream) one after the other.

    In each mode stream 0 is warmed up alone first, then the other streams: the resident (and
    CUDA) memory the mode grew by with its first stream (model, one filled memory, and for the
    mode built first the process's one-time costs) and with the N - 1 streams after it."""
    warm = list(stream_frames(streams, warmup, size))
    memory = {}

    def grew(since: Tuple[float, float]) -> Tuple[float, float]:
        return resident_mb() - since[0], _device_mb(device) - since[1]

    start = (resident_mb(), _device_mb(device))
    batched = BatchedStreams(lambda: MultiStreamDetector(config, checkpoint, device, cfg_options=cfg_options,
                                                         max_batch=max_batch), device)
    for first, others in ((0, slice(0, 1)), (1, slice(1, None))):
        for frames in warm:
            batched.step(frames[others], first=first)
        memory.setdefault('multi', []).append(grew(start))
    start = (resident_mb(), _device_mb(device))
    singles = SingleStreams(lambda: StreamingDetector(config, checkpoint, device, cfg_options=cfg_options), device)
    for index in range(streams):
        singles.add([frames[index] for frames in warm])
        if index in (0, streams - 1):
            memory.setdefault('sequential', []).append(grew(start))
    return [batched, singles], {mode: dict(rss_first_stream_mb=one[0], rss_extra_streams_mb=every[0] - one[0],
                                           device_first_stream_mb=one[1], device_extra_streams_mb=every[1] - one[1])
                                for mode, (one, every) in memory.items()}


def summarise_mode(runner, latencies: List[List[float]], memory: dict, **settings) -> dict:
    """The figures of one mode from its per-step, per-stream latencies (s) and its memory growth."""
    latency_ms = np.array(latencies) * 1000  # (steps, streams)
    step_ms = latency_ms.max(axis=1) if runner.mode == 'multi' else latency_ms.sum(axis=1)
    states = [state for state in runner.states if state is not None]
    return dict(mode=runner.mode, **settings,
                aggregate_fps=round(latency_ms.size / step_ms.sum() * 1000, 2),
                step_mean_ms=round(float(step_ms.mean()), 2),
                latency_p50_ms=round(float(np.percentile(latency_ms, 50)), 2),
                latency_p95_ms=round(float(np.percentile(latency_ms, 95)), 2),
                **{key: round(value, 1) for key, value in memory.items()},
                stream_state_mb=round(sum(state.nbytes for state in states) / 2**20, 2),
                memory_rows=memory_fill(states))


def timed_steps(runners: list, streams: int, count: int, size, *, start: int, interleave: bool):
    """``(frames_t, runner)`` in the order they are timed, for t in [start, count): interleaved, every
    mode takes frame t before any takes t + 1; else one mode takes all its frames, then the next."""
    if interleave:
        return ((frames_t, runner) for frames_t in stream_frames(streams, count, size, start) for runner in runners)
    return ((frames_t, runner) for runner in runners for frames_t in stream_frames(streams, count, size, start))


def benchmark_streams(config: str, checkpoint: Optional[str], *, streams: int, device: str, frames: int, warmup: int,
                      size, fp16: bool = False, interleave: bool = False, cfg_options: Optional[dict] = None,
                      max_batch: Optional[int] = None) -> dict:
    """``streams`` videos through both modes (see the module docstring); the report of both."""
    if streams < 2:
        raise ValueError(f'--streams compares several streams: give at least 2, got {streams}')
    if fp16 and not device.startswith('cuda'):
        raise ValueError('--fp16 runs the model under CUDA autocast; use --device cuda')
    if frames < 1 or warmup < 0:
        raise ValueError(f'--frames must be >= 1 and --warmup >= 0, got {frames} and {warmup}')
    autocast = torch.autocast(device_type='cuda', dtype=torch.float16) if fp16 else contextlib.nullcontext()
    with autocast:
        runners, memory = build_modes(config, checkpoint, streams=streams, device=device, warmup=warmup, size=size,
                                      cfg_options=cfg_options, max_batch=max_batch)
        latencies = {runner.mode: [] for runner in runners}
        for frames_t, runner in timed_steps(runners, streams, warmup + frames, size, start=warmup,
                                            interleave=interleave):
            latencies[runner.mode].append(runner.step(frames_t))
    settings = dict(config=config, checkpoint=checkpoint, streams=streams, max_batch=max_batch, frames=frames,
                    warmup=warmup, size=list(size), fp16=fp16, interleaved=interleave)
    multi, sequential = (summarise_mode(runner, latencies[runner.mode], memory[runner.mode], **settings)
                         for runner in runners)
    return dict(results=[multi, sequential],
                throughput_ratio=round(multi['aggregate_fps'] / sequential['aggregate_fps'], 3),
                extra_stream_states_mb=round(multi['stream_state_mb'] * (streams - 1) / streams, 2))


def print_streams_table(report: dict) -> None:
    print('| mode | streams | aggregate fps | step mean ms | stream latency p50 ms | p95 ms | RSS MB, first stream | '
          'RSS MB, other streams | stream states MB | memory rows (fewest) / key set |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for r in report['results']:
        rows = ', '.join(f"{level} {fill['rows']}/{fill['key_set']}" for level, fill in r['memory_rows'].items()) or '-'
        print(f"| {r['mode']} | {r['streams']} | {r['aggregate_fps']} | {r['step_mean_ms']} | {r['latency_p50_ms']} | "
              f"{r['latency_p95_ms']} | {r['rss_first_stream_mb']} | {r['rss_extra_streams_mb']} | "
              f"{r['stream_state_mb']} | {rows} |")
    multi = report['results'][0]
    print(f"aggregate throughput multi / sequential: {report['throughput_ratio']:.3f}x "
          f"({'interleaved' if multi['interleaved'] else 'one mode after the other'}, "
          'the single-stream detectors fed round-robin)')
    print(f"resident memory for the {multi['streams'] - 1} streams after the first: multi "
          f"{multi['rss_extra_streams_mb']} MB, sequential {report['results'][1]['rss_extra_streams_mb']} MB; "
          f"their memory states hold {report['extra_stream_states_mb']} MB")


def machine() -> dict:
    info = dict(python=platform.python_version(), torch=torch.__version__, cpu=platform.processor() or
                platform.machine(), cores=os.cpu_count(), threads=torch.get_num_threads())
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
    return info


def run_label(result: dict, *, full_path: bool = False) -> str:
    """A result's config file name (or path), with the options it alone had (``--compare-cfg-options``)."""
    own = result.get('own_cfg_options') or {}
    name = result['config'] if full_path else osp.basename(result['config'])
    return name + ''.join(f' {key}={value}' for key, value in own.items())


def _literal(value: str):
    """``value`` as the Python literal it spells (250, 0.5, True, None, [1, 2]), else the string."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def parse_own_options(text: str) -> dict:
    """``KEY=VALUE[,KEY=VALUE ...]`` as a dict of parsed values (``-``: none)."""
    if text == '-':
        return {}
    options = {}
    for item in re.split(r',(?=[\w.]+=)', text):  # a comma inside a value ([1, 2]) stays in it
        key, equals, value = item.partition('=')
        if not equals or not key:
            raise ValueError(f'--compare-cfg-options: {item!r} is not KEY=VALUE (one entry per --compare-config: '
                             "KEY=VALUE[,KEY=VALUE ...], or '-' for none)")
        options[key] = _literal(value)
    return options


def print_table(results: List[dict]) -> None:
    print('| config | fps | mean ms | p50 ms | p95 ms | stream state MB | host RSS MB at frame | device peak MB |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
    for r in results:
        rss = ', '.join(f'{k}: {v}' for k, v in r['host_rss_mb_at_frame'].items()) or '-'
        print(f"| {run_label(r)} | {r['fps']} | {r['mean_ms']} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{r['stream_state_mb']} | {rss} | {r.get('device_peak_mb', '-')} |")
    if len(results) == 2:
        print(f"latency ratio {run_label(results[0])} / {run_label(results[1])}: "
              f"{results[0]['mean_ms'] / results[1]['mean_ms']:.3f} (mean), "
              f"{results[0]['p50_ms'] / results[1]['p50_ms']:.3f} (p50)")
    for other in results[1:] if len(results) > 2 else []:
        print(f"latency {run_label(other)} / {run_label(results[0])}: "
              f"{other['mean_ms'] / results[0]['mean_ms']:.3f} (mean), "
              f"{other['p50_ms'] / results[0]['p50_ms']:.3f} (p50)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Streaming fps, latency and memory of one or two configs.')
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--compare-config', nargs='+', default=[],
                        help='more configs timed in the same run (e.g. the baseline and other methods)')
    parser.add_argument('--compare-checkpoint', nargs='+', default=[],
                        help='their checkpoints, in the same order (default: random weights)')
    parser.add_argument('--compare-cfg-options', nargs='+', default=[],
                        help="options of each compared config alone, in the same order: KEY=VALUE[,KEY=VALUE ...] "
                             "or '-' (e.g. one config twice, the second with a larger key set)")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--frames', type=int, default=50, help='timed frames')
    parser.add_argument('--warmup', type=int, default=5, help='untimed frames first')
    parser.add_argument('--size', type=int, nargs=2, default=[600, 1000], metavar=('H', 'W'))
    parser.add_argument('--fp16', action='store_true', help='fp16 autocast (CUDA)')
    parser.add_argument('--memory-at', type=int, nargs='*', default=[100, 2000],
                        help='frame counts (warm-up included) at which the resident memory is recorded')
    parser.add_argument('--interleave', action='store_true',
                        help='build every detector and feed every frame to each in turn (fair under load)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='overrides for both configs')
    parser.add_argument('--streams', type=int, default=1,
                        help='N >= 2: N streams through one MultiStreamDetector against N StreamingDetectors')
    parser.add_argument('--max-batch', type=int, default=None, help='with --streams: the most frames in one pass')
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args(argv)
    if args.streams != 1 and args.compare_config:
        parser.error('--streams compares batched and single-stream detectors of one config; drop --compare-config')
    if len(args.compare_cfg_options) > len(args.compare_config):
        parser.error(f'{len(args.compare_cfg_options)} --compare-cfg-options for {len(args.compare_config)} '
                     '--compare-config')
    try:
        args.own_options = [parse_own_options(text) for text in args.compare_cfg_options]
    except ValueError as err:
        parser.error(str(err))
    if len(args.compare_checkpoint) > len(args.compare_config):
        parser.error(f'{len(args.compare_checkpoint)} --compare-checkpoint for {len(args.compare_config)} '
                     '--compare-config')
    return args


def main_streams(args: argparse.Namespace) -> dict:
    """``--streams N``: the report of both modes (printed, and written to ``--json``)."""
    report = benchmark_streams(args.config, args.checkpoint, streams=args.streams, device=args.device,
                               frames=args.frames, warmup=args.warmup, size=args.size, fp16=args.fp16,
                               interleave=args.interleave, cfg_options=args.cfg_options, max_batch=args.max_batch)
    print_streams_table(report)
    report = dict(machine=machine(), **report)
    if args.json:
        write_json(args.json, report)
    return report


def main(argv=None):
    args = parse_args(argv)
    if args.streams != 1:
        return main_streams(args)
    checkpoints = args.compare_checkpoint + [None] * (len(args.compare_config) - len(args.compare_checkpoint))
    own = args.own_options + [{}] * (len(args.compare_config) - len(args.own_options))
    runs = [(args.config, args.checkpoint, {})] + list(zip(args.compare_config, checkpoints, own))
    results = benchmark(runs, device=args.device, frames=args.frames, warmup=args.warmup, size=args.size,
                        fp16=args.fp16, memory_at=args.memory_at, interleave=args.interleave,
                        cfg_options=args.cfg_options)
    print_table(results)
    report = dict(machine=machine(), results=results)
    if len(results) == 2:
        report['latency_ratio'] = round(results[0]['mean_ms'] / results[1]['mean_ms'], 4)
        report['latency_ratio_p50'] = round(results[0]['p50_ms'] / results[1]['p50_ms'], 4)
    elif len(results) > 2:
        report['latency_vs_first'] = {run_label(r, full_path=True): round(r['mean_ms'] / results[0]['mean_ms'], 4)
                                      for r in results[1:]}
    if args.json:
        write_json(args.json, report)
    return report


if __name__ == '__main__':
    main()
