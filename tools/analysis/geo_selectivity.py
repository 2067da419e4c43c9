"""How selective the GEOs of a trained MAMBA are, on its test split:

    python tools/analysis/geo_selectivity.py CONFIG CHECKPOINT [--data-root DIR]
        [--max-frames N] [--cfg-options KEY=VALUE ...] [--json OUT]

Runs the test split frame by frame, as ``tools/test.py`` does, and looks at what each GEO
adds to each of its queries: ``delta = GEO(query, keys) - query``. Queries of the
pixel-level GEO ('pixel') are the cells of the key frame's map: foreground when the cell's
centre lies in a ground-truth box, background otherwise. Queries of the instance-level
GEOs ('instance0', 'instance1', after each shared FC) are the RoIs: foreground when they
overlap a ground-truth box by IoU >= 0.5, background below 0.3. Per frame subset and GEO:

- ``rel_fg`` / ``rel_bg``: mean ||delta|| over mean ||query|| of a frame's foreground /
  background queries;
- ``cos_fg_bg``: cosine between the mean delta direction of a frame's foreground queries
  and that of its background queries;
- ``cos_bg_bg``: mean cosine between the deltas of two background queries of a frame.

Cosines near 1 mean the GEO is a broadcast: every query of a frame gets the same vector
(a summary of the memory), whatever it shows; attention that picks the keys of the same
object gives foreground and background different deltas. The ground truth is the
test evaluator's ``ann_file``, the subsets its ``frame_subsets`` (``--cfg-options
test_evaluator.frame_subsets.NAME=FILE`` adds one); ``--data-root`` moves every path under the
config's ``data_root`` to DIR.
"""
import argparse
import os.path as osp
import sys
import tempfile
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.runner import Runner
from torch import Tensor

from mamba_vod.engine.experiment import rebase_paths
from mamba_vod.engine.run_config import load_config, test_config
from mamba_vod.evaluation.functional import load_vid_annotations, read_frame_subset, write_json
from mmdet.structures.bbox import bbox_overlaps  # isort: skip  (after mamba_vod)

FG_IOU, BG_IOU = 0.5, 0.3


def delta_statistics(query: Tensor, output: Tensor, overlaps: Tensor) -> Dict[str, float]:
    """Selectivity statistics of one GEO call on one frame.

    Args:
        query: (R, C) queries going in (RoIs or map cells); output: (R, C) coming out.
        overlaps: (R,) each query's overlap with the frame's ground truth (RoIs: best IoU;
            cells: 1 inside a box, 0 outside).
    Returns:
        ``rel_fg``, ``rel_bg``, ``cos_fg_bg``, ``cos_bg_bg`` (see the module docstring),
        or {} when the frame has no foreground query or fewer than two background ones.
    """
    foreground, background = overlaps >= FG_IOU, overlaps < BG_IOU
    if not foreground.any() or background.sum() < 2:
        return {}
    delta = (output - query).double()
    delta_norm, query_norm = delta.norm(dim=1), query.double().norm(dim=1)
    direction = torch.nn.functional.normalize(delta, dim=1)
    bg = direction[background]
    mean_fg = torch.nn.functional.normalize(direction[foreground].mean(0), dim=0)
    mean_bg = torch.nn.functional.normalize(bg.mean(0), dim=0)
    pairs = bg @ bg.t()
    num_bg = len(bg)
    return dict(rel_fg=(delta_norm[foreground].mean() / query_norm[foreground].mean().clamp(min=1e-12)).item(),
                rel_bg=(delta_norm[background].mean() / query_norm[background].mean().clamp(min=1e-12)).item(),
                cos_fg_bg=(mean_fg @ mean_bg).item(),
                cos_bg_bg=((pairs.sum() - pairs.diagonal().sum()) / (num_bg * (num_bg - 1))).item())


class SelectivityProbe:
    """Forward hooks on a MAMBA's GEOs (and its RoI extractor, for the RoIs) that collect
    :func:`delta_statistics` per (subset, GEO) for the frame set by :meth:`set_frame`.

    Args:
        model: a MAMBA with pixel- and/or instance-level aggregation.
        gt_boxes: ``{img_id: (g, 4) x1, y1, x2, y2 tensor}`` in original-image pixels.
        subsets: ``{name: set of img_ids}`` reported apart (besides 'all').
    """

    def __init__(self, model, gt_boxes: Dict[int, Tensor], subsets: Dict[str, set]) -> None:
        self.gt_boxes, self.subsets = gt_boxes, subsets
        self.rows: Dict[tuple, List[dict]] = defaultdict(list)
        self._rois, self._meta, self._pixel_call, self._map_size = None, None, None, None
        self.handles = []
        pixel_level, instance_level = getattr(model, 'pixel_level', None), getattr(model, 'instance_level', None)
        if pixel_level is not None:
            self.stride = pixel_level.stride
            self.handles.append(model.neck.register_forward_hook(self._keep_map_size))
            self.handles.append(pixel_level.geo.register_forward_hook(self._measure_pixels))
        if instance_level is not None:
            self.handles.append(model.roi_head.bbox_roi_extractor.register_forward_hook(self._keep_rois))
            for level, geo in enumerate(instance_level.geos):
                self.handles.append(geo.register_forward_hook(self._measure_rois(f'instance{level}')))
        if not self.handles:
            raise ValueError('the model has no GEO to probe: use a MAMBA config with a pixel_level or an '
                             'instance_level')

    def set_frame(self, meta: dict) -> None:
        """Call before each test frame (``meta``: its data sample's metainfo)."""
        self._flush_pixels()
        self._meta, self._rois = meta, None

    def remove(self) -> None:
        """Measures the last frame and removes the hooks."""
        self._flush_pixels()
        for handle in self.handles:
            handle.remove()

    def _gt(self) -> Optional[Tensor]:
        """The current frame's boxes in the resized image the model sees, or None."""
        gt = self.gt_boxes.get(self._meta['img_id'])
        return None if gt is None else gt.float() * torch.tensor(self._meta['scale_factor']).repeat(2)

    def _add(self, name: str, query: Tensor, output: Tensor, overlaps: Tensor) -> None:
        stats = delta_statistics(query, output, overlaps)
        if stats:
            image_id = self._meta['img_id']
            for subset, members in [('all', None), *self.subsets.items()]:
                if members is None or image_id in members:
                    self.rows[(subset, name)].append(stats)

    def _keep_rois(self, module, inputs, output) -> None:
        self._rois = inputs[1]

    def _measure_rois(self, name: str):
        def hook(module, inputs, output) -> None:
            query = inputs[0].reshape(-1, inputs[0].shape[-1])
            gt = self._gt()
            if gt is None or self._rois is None or len(self._rois) != len(query):
                return  # no ground truth, or not the key frame's RoIs
            overlaps = bbox_overlaps(self._rois[:, 1:].float(), gt.to(self._rois)).max(1).values
            self._add(name, query.detach(), output.reshape(query.shape).detach(), overlaps)
        return hook

    def _keep_map_size(self, module, inputs, output) -> None:
        self._map_size = tuple(output[0].shape[-2:])  # (h, w) of the stride-16 maps of this call

    def _measure_pixels(self, module, inputs, output) -> None:
        """Keeps the call: (h*w, C) pixel queries in and out, pixel (y, x) at y * w + x; the last
        call of a frame is the key frame's (references come first)."""
        self._pixel_call = (inputs[0].detach(), output.detach(), self._map_size)

    def _flush_pixels(self) -> None:
        """Measures the key frame's pixel-level call, if any."""
        call, self._pixel_call = self._pixel_call, None
        gt = None if call is None else self._gt()
        if gt is None:
            return
        queries, output, (height, width) = call
        cy = ((torch.arange(height, dtype=torch.float32) + 0.5) * self.stride)[:, None, None]  # (h, 1, 1)
        cx = ((torch.arange(width, dtype=torch.float32) + 0.5) * self.stride)[None, :, None]  # (1, w, 1)
        inside = ((cx >= gt[:, 0]) & (cx < gt[:, 2]) & (cy >= gt[:, 1]) & (cy < gt[:, 3])).any(-1)  # (h, w)
        self._add('pixel', queries, output, inside.flatten().float().to(queries.device))

    def summary(self) -> Dict[str, Dict[str, float]]:
        """``{'<subset>/<GEO>': {statistic: mean over frames, 'frames': n}}``."""
        table = {}
        for (subset, name), rows in sorted(self.rows.items()):
            means = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
            table[f'{subset}/{name}'] = dict(means, frames=len(rows))
        return table


def probe_arguments(description: str) -> argparse.ArgumentParser:
    """The command line of a tool that runs :func:`run_probe`: config, checkpoint, where the data
    is, how many frames, config overrides, a JSON to write."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', help="the data set's folder, when it is not the config's data_root")
    parser.add_argument('--max-frames', type=int, default=None, help='stop after this many test frames')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parser.add_argument('--json', help='also write the table to this JSON file')
    return parser


def measure_from_arguments(measure, args) -> dict:
    """``measure(config, checkpoint, ...)`` with the arguments of :func:`probe_arguments`; exits with
    a message when the checkpoint is missing."""
    if not osp.isfile(args.checkpoint):
        sys.exit(f"checkpoint '{args.checkpoint}' not found")
    return measure(args.config, args.checkpoint, data_root=args.data_root, max_frames=args.max_frames,
                   cfg_options=args.cfg_options)


def parse_args(argv=None):
    return probe_arguments('How selective the GEOs of a trained MAMBA are.').parse_args(argv)


def run_probe(config: str, checkpoint: str, make_probe, *, data_root=None, max_frames=None, cfg_options=None):
    """Runs the test split of ``config`` with ``checkpoint`` frame by frame (batch 1, in order) under
    ``make_probe(model, evaluator_cfg, annotations, members)``, an object with ``set_frame(meta)``
    and ``remove()`` (``members``: ``{subset: set of img_ids}``); returns the probe."""
    cfg = load_config(config, cfg_options)
    if data_root:
        if not cfg.get('data_root'):
            raise ValueError(f'{config} names no data_root to move to {data_root}')
        cfg = rebase_paths(cfg, cfg.data_root, data_root)
    if cfg.test_dataloader.get('batch_size', 1) != 1:
        raise ValueError(f'{config}: test_dataloader.batch_size must be 1 (frames in order, one at a time)')
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner.from_cfg(test_config(cfg, checkpoint, work_dir=work_dir))
        evaluator = runner.cfg.test_evaluator
        subsets = sorted((evaluator.get('frame_subsets') or {}).items())
        annotations = load_vid_annotations(evaluator['ann_file'])
        members = {name: set(annotations.img_ids[read_frame_subset(path, annotations)].tolist())
                   for name, path in subsets}
        runner.load_checkpoint(checkpoint)
        model = runner.model.eval()
        probe = make_probe(model, evaluator, annotations, members)
        with torch.no_grad():
            for index, data in enumerate(runner.test_dataloader):
                if max_frames is not None and index >= max_frames:
                    break
                probe.set_frame(data['data_samples'][0].metainfo)
                model.test_step(data)
        probe.remove()
    return probe


def _selectivity_probe(model, evaluator, annotations, members) -> SelectivityProbe:
    gts = annotations.gts
    gt_boxes = {int(annotations.img_ids[image]): torch.from_numpy(gts.bboxes[gts.img == image])
                for image in np.unique(gts.img)}
    return SelectivityProbe(model, gt_boxes, members)


def measure(config: str, checkpoint: str, *, data_root=None, max_frames=None, cfg_options=None) -> dict:
    """Runs the test split of ``config`` with ``checkpoint`` and returns :meth:`SelectivityProbe.summary`."""
    return run_probe(config, checkpoint, _selectivity_probe, data_root=data_root, max_frames=max_frames,
                     cfg_options=cfg_options).summary()


def main(argv: Sequence[str] = None) -> None:
    args = parse_args(argv)
    table = measure_from_arguments(measure, args)
    print(f"{'subset/GEO':<22} {'frames':>6} {'rel_fg':>7} {'rel_bg':>7} {'cos_fg_bg':>9} {'cos_bg_bg':>9}")
    for key, row in table.items():
        print(f"{key:<22} {row['frames']:>6} {row['rel_fg']:>7.3f} {row['rel_bg']:>7.3f} {row['cos_fg_bg']:>9.3f} "
              f"{row['cos_bg_bg']:>9.3f}")
    if args.json:
        write_json(args.json, table)


if __name__ == '__main__':
    main()
