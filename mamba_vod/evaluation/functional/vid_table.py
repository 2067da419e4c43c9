"""Per-class table of VID results (AP in percent)."""
import math
from typing import Dict, List, Sequence

from terminaltables import AsciiTable


def _percent(value: float) -> str:
    return '-' if math.isnan(value) else f'{100 * value:.1f}'


def format_vid_table(classes: Sequence[str], columns: Dict[str, List[dict]],
                     mean_aps: Dict[str, float]) -> str:
    """An ASCII table: one row per class with ground-truth count, detection
    count and final recall (from the first column), then the AP of every
    column (e.g. ``AP``, ``AP_slow``, ``AP_voc``); the last row holds the mAPs.

    Args:
        classes: C class names.
        columns: column name -> C per-class dicts as returned by
            :func:`eval_vid_map` (``num_gts``, ``num_dets``, ``recall``, ``ap``).
        mean_aps: column name -> mAP.
    """
    names = list(columns)
    first = columns[names[0]]
    rows = [['class', 'gts', 'dets', 'recall'] + names]
    for c, name in enumerate(classes):
        rows.append([name, first[c]['num_gts'], first[c]['num_dets'], _percent(first[c]['recall'])]
                    + [_percent(columns[col][c]['ap']) for col in names])
    rows.append(['mAP', '', '', ''] + [_percent(mean_aps[col]) for col in names])
    table = AsciiTable(rows)
    table.inner_footing_row_border = True
    return table.table
