"""Benchmark MemoryBank.write: the cost of one frame's write at several fill levels.

    python tools/analysis/bench_memory_bank.py [--rows 75] [--channels 1024] [--capacity 20000]
        [--fill 75 7575 18075 20000] [--repeats 11] [--json OUT]

For each fill level it builds a bank of ``--capacity`` slots, fills it with that many rows (one
untimed write), then times one write of ``--rows`` rows of ``--channels`` channels (fp32, CPU, one
thread), ``--repeats`` times on a fresh bank, and reports the median and the spread. At the
capacity itself the write replaces random old rows (feature-wise update: a permutation of the M
slots is drawn, as the bank's rules require); below it, the rows are appended. MAMBA's instance
level writes 75 rows a frame into banks of 20,000; 75, 7,575 and 18,075 rows are the fill after
1, 101 and 241 frames. Prints a markdown table; ``--json OUT`` also writes the rows.
"""
import argparse
import statistics
import sys
import time
from typing import List, Optional

import torch

from mamba_vod.evaluation.functional import write_json
from mamba_vod.models.memory import MemoryBank


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', type=int, default=75, help='rows per timed write')
    parser.add_argument('--channels', type=int, default=1024)
    parser.add_argument('--capacity', type=int, default=20000)
    parser.add_argument('--fill', type=int, nargs='+', default=[75, 7575, 18075, 20000],
                        help='rows in the bank before the timed write (at most the capacity)')
    parser.add_argument('--repeats', type=int, default=11, help='timed writes per fill level (median)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', default=None, metavar='OUT', help='also write the rows to this JSON file')
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.rows < 1 or args.channels < 1:
        parser.error('--repeats, --rows and --channels must be at least 1')
    if any(fill < 0 or fill > args.capacity for fill in args.fill):
        parser.error(f'--fill levels must lie in [0, --capacity={args.capacity}]')
    return args


def time_write(fill: int, args: argparse.Namespace, source: torch.Tensor, rows: torch.Tensor) -> List[float]:
    """Milliseconds of each of ``args.repeats`` writes of ``rows`` into a bank holding ``fill`` rows."""
    times = []
    frame_ids = torch.zeros(rows.shape[0], dtype=torch.long)
    for repeat in range(args.repeats):
        bank = MemoryBank(capacity=args.capacity, key_set_size=2000, seed=args.seed + repeat)
        if fill:
            bank.write(source[:fill])
        start = time.perf_counter()
        bank.write(rows, frame_ids=frame_ids)
        times.append(1000 * (time.perf_counter() - start))
        assert len(bank) == min(args.capacity, fill + rows.shape[0])
    return times


def run_benchmark(args: argparse.Namespace) -> List[dict]:
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    source = torch.randn(max(args.fill), args.channels, generator=gen)
    rows = torch.randn(args.rows, args.channels, generator=gen)
    results = []
    for fill in args.fill:
        times = time_write(fill, args, source, rows)
        results.append(dict(fill=fill, capacity=args.capacity, rows=args.rows, channels=args.channels,
                            median_ms=statistics.median(times), min_ms=min(times), max_ms=max(times),
                            repeats=args.repeats))
        print(f'fill {fill}: {results[-1]}', file=sys.stderr, flush=True)
    return results


def markdown_table(results: List[dict]) -> str:
    lines = ['| fill (rows) | capacity | rows written | C | median ms | min ms | max ms |',
             '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    lines += [f"| {r['fill']} | {r['capacity']} | {r['rows']} | {r['channels']} | {r['median_ms']:.3f} | "
              f"{r['min_ms']:.3f} | {r['max_ms']:.3f} |" for r in results]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    args = parse_args(argv)
    results = run_benchmark(args)
    print(markdown_table(results))
    if args.json:
        write_json(args.json, dict(command=' '.join(sys.argv), torch=torch.__version__, threads=1, rows=results))
    return results


if __name__ == '__main__':
    main()
