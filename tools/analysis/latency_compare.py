"""Per-frame latency of MAMBA vs the single-frame Faster R-CNN, in one run, and the memory
banks' size while streaming.

    python tools/analysis/latency_compare.py [--mamba-config C] [--baseline-config C]
        [--height 600 --width 1000] [--frames 10] [--warmup 2] [--device cpu]
        [--bank-frames 100 2000] [--json OUT]

Both models get random weights (no checkpoint is read: latency does not depend on the
values) and the same frames; frames alternate between the two models so that load on the
machine affects both alike. MAMBA runs online: its memories fill from frame 0 on. The bank
figures replay MAMBA's write pattern (K proposal rows per frame per instance level, P pixels
per confident detection) into the configured MemoryBanks for the given numbers of frames.
"""
import argparse
import json
import statistics
import sys
import time

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import MODELS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Per-frame latency of MAMBA vs Faster R-CNN.')
    parser.add_argument('--mamba-config', default='configs/mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py')
    parser.add_argument('--baseline-config', default='configs/faster_rcnn/faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py')
    parser.add_argument('--height', type=int, default=600)
    parser.add_argument('--width', type=int, default=1000)
    parser.add_argument('--frames', type=int, default=10, help='timed frames per model')
    parser.add_argument('--warmup', type=int, default=2, help='untimed frames per model first')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--detections-per-frame', type=int, default=5,
                        help='confident detections per frame assumed by the bank replay')
    parser.add_argument('--bank-frames', type=int, nargs='*', default=[100, 2000])
    parser.add_argument('--json', help='write the figures here')
    return parser.parse_args(argv)


def build(config: str, device: str):
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mamba_vod'))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    return MODELS.build(cfg.model).to(device).eval(), cfg


def sample(frame_id: int, height: int, width: int, batch_shape) -> DetDataSample:
    return DetDataSample(metainfo=dict(
        img_id=frame_id, video_id=0, frame_id=frame_id, ori_shape=(height, width), img_shape=(height, width),
        scale_factor=(1.0, 1.0), batch_input_shape=batch_shape, pad_shape=batch_shape, ref_frame_ids=[]))


@torch.no_grad()
def time_frame(model, frame: torch.Tensor, data_sample: DetDataSample, video: bool) -> float:
    inputs = frame[None, None] if video else frame[None]
    if frame.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.predict(inputs, [data_sample])
    if frame.is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000


def measure_latency(args) -> dict:
    mamba, _ = build(args.mamba_config, args.device)
    baseline, _ = build(args.baseline_config, args.device)
    pad_h, pad_w = (-(-args.height // 16) * 16, -(-args.width // 16) * 16)
    generator = torch.Generator().manual_seed(0)
    times = {'mamba': [], 'baseline': []}
    for index in range(args.warmup + args.frames):
        frame = torch.randn(3, pad_h, pad_w, generator=generator).to(args.device)
        for name, model in (('mamba', mamba), ('baseline', baseline)):
            elapsed = time_frame(model, frame, sample(index, args.height, args.width, (pad_h, pad_w)),
                                 video=name == 'mamba')
            if index >= args.warmup:
                times[name].append(elapsed)
            print(f'frame {index} {name}: {elapsed:.0f} ms', file=sys.stderr, flush=True)
    result = {name: dict(median_ms=statistics.median(values), mean_ms=statistics.fmean(values))
              for name, values in times.items()}
    result['ratio_median'] = result['mamba']['median_ms'] / result['baseline']['median_ms']
    result['mamba_memory_rows'] = dict(
        pixel=len(mamba.pixel_memory) if mamba.pixel_level else None,
        instance=[len(b) for b in mamba.instance_memory] if mamba.instance_level else None)
    return result


def bank_replay(args) -> dict:
    """Rows and bytes of the banks after N frames of MAMBA's write pattern."""
    cfg = Config.fromfile(args.mamba_config).model
    init_default_scope('mamba_vod')
    channels = dict(pixel=cfg.pixel_aggregator.geo.channels, instance=cfg.instance_aggregator.channels)
    writes = dict(pixel=args.detections_per_frame * cfg.pixels_per_detection, instance=cfg.num_instance_writes)
    figures = {}
    for level, bank_cfg in (('pixel', cfg.pixel_memory), ('instance', cfg.instance_memory)):
        bank = MODELS.build(bank_cfg)
        done = 0
        for frames in sorted(args.bank_frames):
            for frame_id in range(done, frames):
                rows = torch.zeros(writes[level], channels[level])
                bank.write(rows, frame_ids=torch.full((len(rows), ), frame_id))
            done = frames
            megabytes = len(bank) * channels[level] * 4 / 2**20
            figures[f'{level}_after_{frames}'] = dict(rows=len(bank), MiB=round(megabytes, 1))
    return figures


def main(argv=None):
    import mamba_vod  # noqa: F401
    args = parse_args(argv)
    figures = dict(device=args.device, size=[args.height, args.width], threads=torch.get_num_threads(),
                   latency=measure_latency(args) if args.frames else None, banks=bank_replay(args))
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(figures, handle, indent=2)


if __name__ == '__main__':
    main()
