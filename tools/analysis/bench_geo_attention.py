"""Benchmark GEO at MAMBA's shapes: the literal formula, the PyTorch (SDPA) fold and the Triton fold.

For each shape (16 heads) it times the whole GEO module (projections included) forward under
``torch.no_grad`` and forward+backward (gradients of the inputs and parameters), reports the median
over ``--repeats`` runs after one warm-up, and the peak memory above what was allocated before the
run (CUDA: the caching allocator's peak; CPU: the process's peak resident set, reset through
``/proc/self/clear_refs``). Prints a markdown table; ``--json OUT`` also writes the rows.

    python tools/analysis/bench_geo_attention.py --device cuda --dtype float16 --json geo.json
    python tools/analysis/bench_geo_attention.py --device cpu --warmup 0 --repeats 1 --skip-literal-above 2000

Methods: ``literal`` = :meth:`GEO.forward_literal` (16 heads of C dims over the raw keys, concat,
grouped 1x1 conv), ``sdpa`` = :meth:`GEO.forward` with backend 'torch', ``triton`` = backend
'triton' (CUDA only).
"""
import argparse
import contextlib
import ctypes
import gc
import os
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import torch

from mamba_vod.evaluation.functional import write_json
from mamba_vod.models.layers import GEO

SHAPES = {  # name: (Nq, Nk, C)
    'instance': (300, 2000, 1024),
    'pixel-2k-c1024': (38 * 63, 2000, 1024),
    'pixel-20k-c1024': (38 * 63, 20000, 1024),
    'pixel-2k-c512': (38 * 63, 2000, 512),
    'pixel-20k-c512': (38 * 63, 20000, 512),
}
METHODS = ('literal', 'sdpa', 'triton')
DTYPES = {'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--dtype', default='float32', choices=sorted(DTYPES))
    parser.add_argument('--repeats', type=int, default=5, help='timed runs per measurement (median)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed runs first (Triton autotunes in them)')
    parser.add_argument('--shapes', nargs='+', default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--skip-literal-above', type=int, default=None, metavar='NK',
                        help='skip the literal formula for shapes with more than NK keys (its (H, Nq, Nk) '
                             'attention tensors are large and slow on CPU)')
    parser.add_argument('--json', default=None, metavar='OUT', help='also write the rows to this JSON file')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    if args.repeats < 1:
        parser.error('--repeats must be at least 1')
    return args


class PeakMemory:
    """Peak memory (MiB) of a block of code above what was in use when it started."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == 'cuda'
        self.cpu_supported = os.path.exists('/proc/self/clear_refs')
        if not self.cuda:
            _return_freed_memory_to_os()

    def __enter__(self) -> 'PeakMemory':
        gc.collect()
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        elif self.cpu_supported:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets the peak resident set (VmHWM) to the current one
            self.start = _proc_status_kib('VmRSS') * 1024
        return self

    def __exit__(self, *exc) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            self.mib = (torch.cuda.max_memory_allocated(self.device) - self.start) / 2**20
        elif self.cpu_supported:
            self.mib = (_proc_status_kib('VmHWM') * 1024 - self.start) / 2**20
        else:
            self.mib = float('nan')


def _return_freed_memory_to_os() -> None:
    """Make glibc serve allocations over 64 KiB with mmap and give freed memory back, so the
    resident set follows the live tensors (by default freed blocks stay resident and a second
    run would show no growth)."""
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 16)
    libc.mallopt(m_trim_threshold, 1 << 16)


def _proc_status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'/proc/self/status has no {field}')


def _step(geo: GEO, method: str, query: torch.Tensor, keys: torch.Tensor, backward: bool) -> None:
    forward = geo.forward_literal if method == 'literal' else geo.forward
    if method != 'literal':
        geo.backend = 'torch' if method == 'sdpa' else 'triton'
    if not backward:
        with torch.no_grad():
            forward(query, keys)
        return
    query = query.detach().requires_grad_()
    keys = keys.detach().requires_grad_()
    forward(query, keys).sum().backward()
    geo.zero_grad(set_to_none=True)


def _measure(run: Callable[[], None], device: torch.device, repeats: int, warmup: int) -> Dict[str, float]:
    for _ in range(warmup):
        run()
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    times = []
    peak = PeakMemory(device)  # measured over the first timed repeat only
    for i in range(repeats):
        with peak if i == 0 else contextlib.nullcontext():
            sync()
            start = time.perf_counter()
            run()
            sync()
            times.append(time.perf_counter() - start)
    return dict(ms=1000 * statistics.median(times), peak_mib=peak.mib)


def run_benchmark(args: argparse.Namespace) -> List[dict]:
    device = torch.device(args.device)
    dtype = DTYPES[args.dtype]
    rows = []
    for shape in args.shapes:
        num_queries, num_keys, channels = SHAPES[shape]
        torch.manual_seed(0)
        geo = GEO(channels, num_heads=16).to(device=device, dtype=dtype)
        query = torch.randn(num_queries, channels, device=device, dtype=dtype)
        keys = torch.randn(num_keys, channels, device=device, dtype=dtype)
        for method in args.methods:
            row = dict(shape=shape, Nq=num_queries, Nk=num_keys, C=channels, heads=16, method=method,
                       device=args.device, dtype=args.dtype)
            skip = _skip_reason(method, num_keys, args)
            for mode, backward in (('fwd', False), ('fwd+bwd', True)):
                if skip:
                    row[mode] = dict(skipped=skip)
                    continue
                row[mode] = _measure(lambda: _step(geo, method, query, keys, backward), device, args.repeats,
                                     args.warmup)
            rows.append(row)
            print(f'{shape} {method}: {row}', file=sys.stderr, flush=True)
    return rows


def _skip_reason(method: str, num_keys: int, args: argparse.Namespace) -> Optional[str]:
    if method == 'triton' and args.device != 'cuda':
        return 'needs CUDA'
    if method == 'literal' and args.skip_literal_above is not None and num_keys > args.skip_literal_above:
        return f'Nk > {args.skip_literal_above} (--skip-literal-above)'
    return None


def markdown_table(rows: List[dict]) -> str:
    lines = ['| shape | Nq | Nk | C | method | fwd ms | fwd peak MiB | fwd+bwd ms | fwd+bwd peak MiB |',
             '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |']
    for row in rows:
        cells = []
        for mode in ('fwd', 'fwd+bwd'):
            result = row[mode]
            cells += (['skipped', '-'] if 'skipped' in result else
                      [f"{result['ms']:.1f}", f"{result['peak_mib']:.0f}"])
        lines.append(f"| {row['shape']} | {row['Nq']} | {row['Nk']} | {row['C']} | {row['method']} | "
                     + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_report(rows: List[dict], path: str, args: argparse.Namespace) -> None:
    """Write the rows, the command and the versions to ``path`` (atomically)."""
    write_json(path, dict(command=' '.join(sys.argv), torch=torch.__version__, rows=rows,
                          gpu=torch.cuda.get_device_name() if args.device == 'cuda' else None))


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    rows = run_benchmark(args)
    print(markdown_table(rows))
    if args.json:
        write_report(rows, args.json, args)


if __name__ == '__main__':
    main()
