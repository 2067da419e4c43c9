"""Draw the synthetic ablation as one PNG that a reader takes in at a glance:

    python tools/analysis/plot_ablation.py ABLATION.json --out docs/ablation.png [--title TEXT]

``ABLATION.json`` is what ``tools/analysis/synthetic_ablation.py`` writes: its ``results`` are
records ``{'set', 'protocol', 'variant', 'seed', 'all', 'degraded', 'clean'}`` (mAP@0.5 in
percent). One panel per data set (rows) and test protocol (columns); in each, the variants along
x and, per variant, the degraded frames (the headline: dark red, first, its mean written above),
the clean frames and all frames: the mean over seeds with an error bar of one standard error
(stdev / sqrt(n); none with a single seed) and each seed as a small dot. The dashed line is the
baseline's mean on degraded frames, the level a video model has to beat.

The image is ``PANEL_PX`` per panel (wider with many variants, ``VARIANT_PX`` each), plus
``LEGEND_ROW_PX`` of height per row of the legend below them; the legend takes as many columns (3,
2 or 1) as fit the figure's width with the font at hand, so it is never cut at the edges.
``plot_results`` is also what ``tools/quickstart.py`` draws its report with.
"""
import argparse
import json
import math
import statistics
import sys
from typing import List, Optional, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mamba_vod.utils import atomic_write

#: (record key, legend, colour): degraded first, it is the headline
METRICS = (('degraded', 'degraded frames', '#b2182b'), ('clean', 'clean frames', '#2166ac'),
           ('all', 'all frames', '#7f7f7f'))
HEADLINE = METRICS[0][0]
FIELDS = ('set', 'protocol', 'variant', 'seed') + tuple(key for key, _, _ in METRICS)
DPI = 100
PANEL_PX = (480, 360)  # width, height of one panel (at least: a panel widens with its variants)
VARIANT_PX = 64  # width of one variant in a panel, so that the comparison's nine labels do not overlap
LEGEND_ROW_PX = 24  # one row of legend entries
LEGEND_MARGIN_PX = 16  # space the legend leaves free at the figure's left and right edges


def load_results(path: str) -> List[dict]:
    """The ``results`` records of an ablation JSON, checked.

    Raises:
        ValueError: with a message naming ``path`` and what is wrong.
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: not a readable JSON file ({err})') from err
    records = data.get('results') if isinstance(data, dict) else None
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: expected an object with a non-empty 'results' list, as "
                         'tools/analysis/synthetic_ablation.py writes')
    for index, record in enumerate(records):
        missing = [key for key in FIELDS if not isinstance(record, dict) or key not in record]
        if missing:
            raise ValueError(f'{path}: results[{index}] lacks {missing}; every record needs {list(FIELDS)}')
        bad = [key for key, _, _ in METRICS
               if not isinstance(record[key], (int, float)) or not 0 <= record[key] <= 100]
        if bad:
            raise ValueError(f'{path}: results[{index}] has {bad} outside 0..100 (mAP in percent)')
    return records


def figure_size(rows: int, columns: int, legend_rows: int = 2, variants: int = 0) -> Tuple[int, int]:
    """Width and height in pixels of a figure of ``rows`` x ``columns`` panels of ``variants``
    variants each and a legend of ``legend_rows`` rows."""
    panel_width = max(PANEL_PX[0], VARIANT_PX * variants)
    return panel_width * columns, PANEL_PX[1] * rows + LEGEND_ROW_PX * legend_rows


def _ordered(records: Sequence[dict], key: str) -> list:
    return list(dict.fromkeys(record[key] for record in records))


def mean_and_error(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and standard error, stdev / sqrt(n) (0 for one value: no error known)."""
    error = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return statistics.mean(values), error


def _panel(axes, records: Sequence[dict], variants: list, title: str) -> None:
    width = 0.26
    for offset, (key, _, colour) in zip((-width, 0.0, width), METRICS):
        for x, variant in enumerate(variants):
            values = [r[key] for r in records if r['variant'] == variant and r[key] == r[key]]  # NaN: not scored
            if not values:
                continue
            mean, error = mean_and_error(values)
            axes.errorbar(x + offset, mean, yerr=error or None, fmt='o', color=colour, capsize=4,
                          markersize=8 if key == HEADLINE else 6, zorder=3)
            axes.scatter([x + offset] * len(values), values, s=10, color=colour, alpha=0.45, zorder=2)
            if key == HEADLINE:
                axes.annotate(f'{mean:.1f}', (x + offset, mean + error), textcoords='offset points',
                              xytext=(0, 6), ha='center', fontsize=8, color=colour)
    baseline = [r[HEADLINE] for r in records if r['variant'] == 'baseline' and r[HEADLINE] == r[HEADLINE]]
    if baseline:
        axes.axhline(statistics.mean(baseline), color=METRICS[0][2], linestyle='--', linewidth=1, alpha=0.6)
    axes.set_xticks(range(len(variants)))
    axes.set_xticklabels([variant.replace('-', '-\n') for variant in variants], fontsize=9)  # one word a line
    axes.set_xlim(-0.6, len(variants) - 0.4)
    axes.set_ylim(0, 105)
    axes.set_title(title, fontsize=10)
    axes.grid(axis='y', alpha=0.3)


def _legend_handles() -> List[Line2D]:
    handles = [Line2D([], [], marker='o', linestyle='', color=colour, label=f'{label}, mean ± s.e.')
               for _, label, colour in METRICS]
    return handles + [Line2D([], [], marker='.', linestyle='', color='#7f7f7f', alpha=0.6, label='one seed'),
                      Line2D([], [], linestyle='--', color=METRICS[0][2], label='baseline, degraded')]


def _add_legend(figure: Figure, width_px: int) -> int:
    """Puts the legend below the panels in the most columns (3, 2, 1) whose text fits ``width_px``
    (measured with the renderer's font); returns its number of rows."""
    handles = _legend_handles()
    renderer = figure.canvas.get_renderer()
    for columns in (3, 2, 1):
        legend = figure.legend(handles=handles, loc='outside lower center', ncols=columns, fontsize=9,
                               frameon=False)
        if columns == 1 or legend.get_window_extent(renderer).width <= width_px - 2 * LEGEND_MARGIN_PX:
            return math.ceil(len(handles) / columns)
        legend.remove()
    raise AssertionError('unreachable: one column is always kept')


def seeds_label(records: Sequence[dict]) -> str:
    """How many seeds a panel's variants have: '3 seeds', or '1 to 3 seeds a method' when they differ
    (a grid still running)."""
    counts = [len({r['seed'] for r in records if r['variant'] == variant}) for variant in _ordered(records, 'variant')]
    low, high = min(counts), max(counts)
    return f'{high} seed{"s" if high != 1 else ""}' if low == high else f'{low} to {high} seeds a method'


def build_figure(records: Sequence[dict], title: Optional[str] = None) -> Figure:
    """The figure of ``records`` (see the module docstring): one panel per set and protocol, the
    legend below them, at ``figure_size`` pixels."""
    sets, protocols, variants = (_ordered(records, key) for key in ('set', 'protocol', 'variant'))
    width, height = figure_size(len(sets), len(protocols), variants=len(variants))
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout='constrained')
    FigureCanvasAgg(figure)
    grid = figure.subplots(len(sets), len(protocols), squeeze=False, sharey=True)
    for row, data_set in enumerate(sets):
        for column, protocol in enumerate(protocols):
            chosen = [r for r in records if r['set'] == data_set and r['protocol'] == protocol]
            _panel(grid[row][column], chosen, variants, f'{data_set} set, {protocol} protocol ({seeds_label(chosen)})')
        grid[row][0].set_ylabel('mAP@0.5 (%)')
    if title:
        figure.suptitle(title, fontsize=11)
    legend_rows = _add_legend(figure, width)
    width, height = figure_size(len(sets), len(protocols), legend_rows, len(variants))
    figure.set_size_inches(width / DPI, height / DPI)
    return figure


def plot_results(records: Sequence[dict], out: str, title: Optional[str] = None) -> str:
    """Draws ``records`` (see the module docstring) to the PNG ``out`` (written atomically); returns ``out``."""
    figure = build_figure(records, title)
    atomic_write(out, lambda f: figure.savefig(f, format='png', dpi=DPI))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Draw the synthetic ablation JSON as a PNG (mean ± standard '
                                     'error over seeds, per set and protocol).')
    parser.add_argument('ablation', help='the JSON written by tools/analysis/synthetic_ablation.py')
    parser.add_argument('--out', required=True, help='PNG file to write, e.g. docs/ablation.png')
    parser.add_argument('--title', help='a title above the panels')
    args = parser.parse_args(argv)
    try:
        records = load_results(args.ablation)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {plot_results(records, args.out, args.title)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
