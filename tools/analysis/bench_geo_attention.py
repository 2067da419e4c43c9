"""Benchmark GEO at MAMBA's shapes: the literal formula, the SDPA and Triton folds, and the gathers.

For each shape (16 heads) it times the whole GEO module (projections included) forward under
``torch.no_grad`` and forward+backward (gradients of the inputs and parameters), reports the median
over ``--repeats`` runs after one warm-up, and the peak memory above what was allocated before the
run (CUDA: the caching allocator's peak; CPU: the process's peak resident set, reset through
``/proc/self/clear_refs``). Prints a markdown table; ``--json OUT`` also writes the rows.

    python tools/analysis/bench_geo_attention.py --device cuda --dtype float16 --json geo.json
    python tools/analysis/bench_geo_attention.py --device cpu --warmup 0 --repeats 1 --skip-literal-above 2000

Methods: ``literal`` = :meth:`GEO.forward_literal` (16 heads of C dims over the raw keys, concat,
grouped 1x1 conv), ``sdpa`` = :meth:`GEO.forward` with backend 'torch', ``triton`` = backend
'triton' (CUDA only). The gathers compute the same GEO (paper form) from a key cache:
``gather-torch`` = :func:`mamba_vod.ops.geo_attention_gather` backend 'torch' (``index_select`` of
the key set's rows + SDPA + residual add), ``gather-triton`` = backend 'triton' (the fused kernel:
the key set read by index from the cached rows, residual ``Q + bias`` added in its epilogue, CUDA
only). For ``fwd`` the memory holds ``max(Nk, 20000)`` rows (MAMBA's bank capacity) projected
once through the GEO's key and value maps, before timing, as a key cache would hold them; the key
set is Nk random slots; the query projection is timed. For ``fwd+bwd`` (training with explicit
keys) the Nk keys are projected inside the timed step and read through ``index = arange(Nk)``.
After the main table, a second one compares the gathers with ``sdpa``, forward and forward+backward
(speedup = sdpa ms / gather ms: above 1 is faster than ``sdpa``), with the largest difference of
their outputs from ``sdpa``'s on the same keys.
"""
import argparse
import contextlib
import ctypes
import gc
import os
import statistics
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import torch
import torch.nn.functional as F

from mamba_vod.evaluation.functional import write_json
from mamba_vod.models.layers import GEO
from mamba_vod.ops import geo_attention_gather

SHAPES = {  # name: (Nq, Nk, C)
    'instance': (300, 2000, 1024),
    'pixel-2k-c1024': (38 * 63, 2000, 1024),
    'pixel-20k-c1024': (38 * 63, 20000, 1024),
    'pixel-2k-c512': (38 * 63, 2000, 512),
    'pixel-20k-c512': (38 * 63, 20000, 512),
}
METHODS = ('literal', 'sdpa', 'triton', 'gather-torch', 'gather-triton')
GATHERS = ('gather-torch', 'gather-triton')
MEMORY_SLOTS = 20000  # MAMBA's bank capacity: the rows a key cache holds
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


class KeyCache(NamedTuple):
    """What a key cache holds for one GEO: its key and value projections of every memory row,
    (M, C) each, and a key set of Nk slots (Nk,)."""
    k_rows: torch.Tensor
    v_rows: torch.Tensor
    index: torch.Tensor


def _project_keys(geo: GEO, keys: torch.Tensor):
    """GEO's (paper form) key and per-head value projections of ``keys`` (N, C), each (N, C)."""
    return geo.key_proj(keys), F.linear(keys, geo.group_conv.weight.squeeze(-1))


def key_cache(geo: GEO, memory: torch.Tensor, num_keys: int, seed: int = 0) -> KeyCache:
    """Project ``memory`` (M, C) once (no autograd) and draw ``num_keys`` distinct slots."""
    with torch.no_grad():
        k_rows, v_rows = _project_keys(geo, memory)
    index = torch.randperm(memory.shape[0], generator=torch.Generator().manual_seed(seed))[:num_keys]
    return KeyCache(k_rows, v_rows, index.to(memory.device))


def gather_geo(geo: GEO, query: torch.Tensor, cache: KeyCache, backend: str) -> torch.Tensor:
    """GEO.forward(query, keys) for the keys ``cache.index`` of a key cache: the query projection,
    then the gathered attention with the residual ``query + bias`` (paper form)."""
    return geo_attention_gather(geo.query_proj(query), cache.k_rows, cache.v_rows, cache.index,
                                num_heads=geo.num_heads, residual=query + geo.group_conv.bias, backend=backend)


def _gather_step(geo: GEO, method: str, query: torch.Tensor, keys: torch.Tensor, cache: KeyCache,
                 backward: bool) -> None:
    backend = method.split('-')[1]
    if not backward:
        with torch.no_grad():
            gather_geo(geo, query, cache, backend)
        return
    query = query.detach().requires_grad_()
    keys = keys.detach().requires_grad_()
    explicit = KeyCache(*_project_keys(geo, keys), torch.arange(keys.shape[0], device=keys.device))
    gather_geo(geo, query, explicit, backend).sum().backward()
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
        cache = None
        for method in args.methods:
            row = dict(shape=shape, Nq=num_queries, Nk=num_keys, C=channels, heads=16, method=method,
                       device=args.device, dtype=args.dtype)
            skip = _skip_reason(method, num_keys, args)
            if method in GATHERS and not skip:
                if cache is None:  # the memory's rows, projected once; the key set's raw rows
                    memory = torch.randn(max(num_keys, MEMORY_SLOTS), channels, device=device, dtype=dtype)
                    cache = key_cache(geo, memory, num_keys)
                    key_set = memory[cache.index]
                    del memory
                row['max_abs_diff_vs_sdpa'] = _gather_error(geo, query, key_set, cache, method)
            for mode, backward in (('fwd', False), ('fwd+bwd', True)):
                if skip:
                    row[mode] = dict(skipped=skip)
                    continue
                if method in GATHERS:
                    run = lambda: _gather_step(geo, method, query, keys, cache, backward)  # noqa: E731
                else:
                    run = lambda: _step(geo, method, query, keys, backward)  # noqa: E731
                row[mode] = _measure(run, device, args.repeats, args.warmup)
            rows.append(row)
            print(f'{shape} {method}: {row}', file=sys.stderr, flush=True)
    return rows


def _gather_error(geo: GEO, query: torch.Tensor, key_set: torch.Tensor, cache: KeyCache, method: str) -> float:
    """Largest absolute difference between a gather's output and GEO.forward (SDPA) on the same
    keys ``key_set`` (Nk, C) = the memory rows at ``cache.index``."""
    with torch.no_grad():
        geo.backend = 'torch'
        expected = geo(query, key_set)
        return (gather_geo(geo, query, cache, method.split('-')[1]) - expected).abs().max().item()


def _skip_reason(method: str, num_keys: int, args: argparse.Namespace) -> Optional[str]:
    if method in ('triton', 'gather-triton') and args.device != 'cuda':
        return 'needs CUDA'
    if method == 'literal' and args.skip_literal_above is not None and num_keys > args.skip_literal_above:
        return f'Nk > {args.skip_literal_above} (--skip-literal-above)'
    return None


def _ms(value: float) -> str:
    """Milliseconds with three significant-ish digits (GPU forwards take tenths of a ms)."""
    return f'{value:.3f}' if value < 1 else f'{value:.2f}' if value < 10 else f'{value:.1f}'


def markdown_table(rows: List[dict]) -> str:
    lines = ['| shape | Nq | Nk | C | method | fwd ms | fwd peak MiB | fwd+bwd ms | fwd+bwd peak MiB |',
             '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |']
    for row in rows:
        cells = []
        for mode in ('fwd', 'fwd+bwd'):
            result = row[mode]
            cells += (['skipped', '-'] if 'skipped' in result else
                      [_ms(result['ms']), f"{result['peak_mib']:.0f}"])
        lines.append(f"| {row['shape']} | {row['Nq']} | {row['Nk']} | {row['C']} | {row['method']} | "
                     + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def gather_table(rows: List[dict]) -> Optional[str]:
    """Per shape: the gathers against ``sdpa`` (speedup = sdpa ms / gather ms, above 1 is faster),
    and their largest output difference from ``sdpa``; None when no shape has ``sdpa`` and a gather."""
    by_shape: Dict[str, Dict[str, dict]] = {}
    for row in rows:
        by_shape.setdefault(row['shape'], {})[row['method']] = row
    lines = ['| shape | method | fwd ms | sdpa fwd ms | fwd speedup | fwd+bwd ms | sdpa fwd+bwd ms | '
             'fwd+bwd speedup | max abs diff |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for shape, methods in by_shape.items():
        sdpa = methods.get('sdpa')
        for name in GATHERS:
            gather = methods.get(name)
            pair = (sdpa, gather)
            if None in pair or any('skipped' in row[mode] for row in pair for mode in ('fwd', 'fwd+bwd')):
                continue
            cells = []
            for mode in ('fwd', 'fwd+bwd'):
                base, ours = sdpa[mode], gather[mode]
                cells += [_ms(ours['ms']), _ms(base['ms']), f"{base['ms'] / ours['ms']:.2f}x"]
            lines.append(f'| {shape} | {name} | ' + ' | '.join(cells) + f" | {gather['max_abs_diff_vs_sdpa']:.2g} |")
    return '\n'.join(lines) if len(lines) > 2 else None


def write_report(rows: List[dict], path: str, args: argparse.Namespace) -> None:
    """Write the rows, the command and the versions to ``path`` (atomically)."""
    write_json(path, dict(command=' '.join(sys.argv), torch=torch.__version__, rows=rows,
                          gpu=torch.cuda.get_device_name() if args.device == 'cuda' else None))


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    rows = run_benchmark(args)
    print(markdown_table(rows))
    gathers = gather_table(rows)
    if gathers:
        print(f'\nKey-cache gathers vs sdpa ({args.device}, {args.dtype}):\n{gathers}')
    if args.json:
        write_report(rows, args.json, args)


if __name__ == '__main__':
    main()
