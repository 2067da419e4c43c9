"""How far the flow network of a trained DFF or FGFA moves the maps it warps:

    python tools/analysis/flow_magnitude.py CONFIG CHECKPOINT SOURCE [--frames N] [--json OUT]

SOURCE is a video file or a folder of frames (read in name order, e.g. one video of the
ILSVRC2015 layout: ``Data/VID/val/ILSVRC2015_val_00000000``). Its frames stream through the
model as one video (:class:`~mamba_vod.apis.StreamingDetector`, the config's online protocol),
and every flow the model computes is measured where the detectors use it
(``FlowInput.image_flow``: (B, 2, H', W') displacements in input pixels, one row per frame
pair): per pair, the mean and the largest length sqrt(fx^2 + fy^2) over its pixels.

Prints and writes (``--json``) the number of pairs, the image size the flow is in, and the
median, 95th percentile and largest of the pairs' mean lengths, and the largest length of all.
Objects between video frames move a few pixels; a flow network that trained into a runaway
(from scratch at the full learning rate: issue 28) gives lengths far beyond the image's size, and
every warp then reads the map's border.
"""
import argparse
import glob
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from mamba_vod.apis import StreamingDetector
from mamba_vod.engine.cli import user_errors
from mamba_vod.evaluation.functional import write_json

IMAGE_SUFFIXES = ('.jpeg', '.jpg', '.png', '.bmp')


def folder_frames(folder: str, limit: Optional[int] = None) -> Iterator[np.ndarray]:
    """The (H, W, 3) BGR frames of ``folder``'s images, in name order (at most ``limit``)."""
    paths = sorted(p for p in glob.glob(osp.join(folder, '*')) if p.lower().endswith(IMAGE_SUFFIXES))
    if not paths:
        raise ValueError(f'{folder}: no image files ({", ".join(IMAGE_SUFFIXES)}) to stream')
    for path in paths[:limit]:
        frame = cv2.imread(path)
        if frame is None:
            raise ValueError(f'{path}: not a readable image')
        yield frame


def pair_lengths(flow: Tensor) -> List[Dict[str, float]]:
    """Per pair of ``flow`` (B, 2, H', W'): the mean and the largest displacement length (pixels)."""
    lengths = flow.detach().float().norm(dim=1).flatten(1)  # (B, H' * W')
    return [dict(mean=float(row.mean()), max=float(row.max())) for row in lengths]


class FlowRecorder:
    """Wraps ``detector``'s ``flow_input.image_flow`` to keep :func:`pair_lengths` of every flow."""

    def __init__(self, model) -> None:
        if getattr(model, 'motion', None) is None or not hasattr(model, 'flow_input'):
            raise ValueError(f'{type(model).__name__} has no flow network (model.motion): flow_magnitude is '
                             'for DFF and FGFA configs')
        self.pairs: List[Dict[str, float]] = []
        self.size: Optional[Sequence[int]] = None
        self._flow_input, self._original = model.flow_input, model.flow_input.image_flow
        self._flow_input.image_flow = self._record

    def _record(self, *args, **kwargs) -> Tensor:
        flow = self._original(*args, **kwargs)
        self.pairs += pair_lengths(flow)
        self.size = list(flow.shape[-2:])
        return flow

    def remove(self) -> None:
        self._flow_input.image_flow = self._original

    def summary(self) -> dict:
        means = np.array([pair['mean'] for pair in self.pairs])
        if not len(means):
            return dict(pairs=0)
        return dict(pairs=len(means), flow_size=self.size, median_mean_px=round(float(np.median(means)), 3),
                    p95_mean_px=round(float(np.percentile(means, 95)), 3),
                    max_mean_px=round(float(means.max()), 3),
                    max_px=round(max(pair['max'] for pair in self.pairs), 3))


def measure(config: str, checkpoint: str, source: str, *, frames: Optional[int] = None,
            device: str = 'cpu') -> dict:
    """The flows of ``config`` + ``checkpoint`` over the frames of ``source`` (see the module docstring)."""
    detector = StreamingDetector(config, checkpoint, device=device)
    recorder = FlowRecorder(detector.model)
    try:
        with torch.no_grad():
            if osp.isdir(source):
                for frame in folder_frames(source, frames):
                    detector.step(frame)
            else:
                for index, _ in enumerate(detector.run(source)):
                    if frames is not None and index + 1 >= frames:
                        break
    finally:
        recorder.remove()
    return dict(config=config, checkpoint=checkpoint, source=source, **recorder.summary())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description='Displacement lengths of the flows a DFF/FGFA model computes.')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('source', help='a video file or a folder of frames (name order)')
    parser.add_argument('--frames', type=int, help='stream at most this many frames')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='write the figures here')
    args = parser.parse_args(argv)
    with user_errors():  # a bad config, checkpoint or source: one line, status 1
        result = measure(args.config, args.checkpoint, args.source, frames=args.frames, device=args.device)
    print(f"{result['pairs']} frame pairs, flow at {result.get('flow_size')} pixels: mean length median "
          f"{result.get('median_mean_px')}, p95 {result.get('p95_mean_px')}, largest {result.get('max_mean_px')}; "
          f"largest single displacement {result.get('max_px')}")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
