"""Rows and bytes of MAMBA's memory banks after N frames of streaming.

    python tools/analysis/memory_bank_size.py [CONFIG] [--frames 100 2000]
        [--detections-per-frame 5] [--json OUT]

Replays the model's write pattern into the banks of the model the config builds
(no frame is run, no weights are read): per frame, the instance level's
``proposals_per_frame`` rows into each instance bank (one per FC level), and the
pixel level's ``pixels_per_detection`` rows for each of ``--detections-per-frame``
confident detections into the pixel bank (with ``memory_writes='frame'``:
``pixels_per_frame`` rows, which assumes a map of at least that many cells). fp32 rows, C channels of the
level's GEO; a bank allocates its capacity when first written, and keeps beside each row its
projections through each GEO that reads it (the key cache), so its bytes are capacity x 3C x 4 plus
bookkeeping (x 5C for the paper composition's one instance memory, read by both FC levels' GEOs).
"""
import argparse
import json
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.evaluation.functional import write_json
from mamba_vod.registry import MODELS


def bank_sizes(model_cfg, frame_counts: List[int], detections_per_frame: int) -> Dict[str, dict]:
    """``{'<level>_after_<n>': {'rows': M, 'MiB': allocated}}`` for level pixel / instance (its
    first bank), and ``stream_after_<n>``: the MiB one stream's state holds (every bank, with the
    cached key/value projections of its rows, and the carried set; :attr:`MemoryState.nbytes`).

    Args:
        model_cfg: a MAMBA model config; the model is built (no weights are read), in eval mode,
            so that its own levels, defaults included, take the writes as at inference.
    """
    init_default_scope('mamba_vod')
    model = MODELS.build(model_cfg).eval()
    pixel, instance = model.pixel_level, model.instance_level
    pixel_rows = (pixel.test_cfg['pixels_per_frame'] if pixel.memory_writes == 'frame' else
                  detections_per_frame * pixel.test_cfg['pixels_per_detection'])
    figures, done = {}, 0
    with torch.no_grad():
        for count in sorted(frame_counts):
            for frame_id in range(done, count):
                pixel._write(torch.zeros(pixel_rows, pixel.geo.channels),
                             frame_ids=torch.full((pixel_rows, ), frame_id))
                rows = [torch.zeros(instance.proposals_per_frame, geo.channels) for geo in instance.geos]
                instance.update(rows, torch.ones(len(rows[0])), torch.full((len(rows[0]), ), frame_id))
            done = count
            for level, bank in (('pixel', pixel.memory), ('instance', instance.memories[0])):
                figures[f'{level}_after_{count}'] = dict(rows=len(bank), MiB=round(bank.nbytes / 2**20, 1))
            figures[f'stream_after_{count}'] = dict(MiB=round(model.memories.current.nbytes / 2**20, 1))
    return figures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Size of MAMBA's memory banks after N frames.")
    parser.add_argument('config', nargs='?', default='configs/mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py')
    parser.add_argument('--frames', type=int, nargs='+', default=[100, 2000])
    parser.add_argument('--detections-per-frame', type=int, default=5,
                        help='confident detections per frame assumed for the pixel bank')
    parser.add_argument('--json', help='also write the figures here')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    figures = bank_sizes(Config.fromfile(args.config).model, args.frames, args.detections_per_frame)
    print(json.dumps(figures, indent=2))
    if args.json:
        write_json(args.json, figures)
    return figures


if __name__ == '__main__':
    main()
