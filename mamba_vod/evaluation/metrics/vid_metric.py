"""VIDMetric: ImageNet VID mAP@0.5 (devkit or VOC rule) with FGFA's motion
breakdown, and on request COCO-style AP, as an MMEngine metric. Any class list:
the classes are the json's categories.

Shape shorthand: N detections, I images, C classes.
"""
import logging
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mamba_vod.registry import METRICS
from ..functional import (FGFA_MOTION_RANGES, FlatDetections, VIDPredictions, check_prediction_values,
                          coco_style_ap, eval_vid_map_flat, format_vid_table, load_coco_ground_truth,
                          load_vid_annotations, read_frame_subset, save_vid_predictions, select_images,
                          stack_predictions)
from ..functional.vid_map import MODES

MOTION_COLUMNS = ('slow', 'medium', 'fast')


def _field(obj, name: str):
    """``obj[name]`` for dicts, ``obj.name`` for data elements."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class VIDMetric(BaseMetric):
    """ImageNet VID evaluation.

    ``process()`` keeps, per image, its json ``img_id`` and ``pred_instances``
    (``bboxes`` (n, 4) x1, y1, x2, y2 in original-image pixels, ``scores``
    (n,), ``labels`` (n,) in 0..C-1); MMEngine gathers them from all ranks, and
    ``compute_metrics()`` evaluates the processed images against ``ann_file``.

    Args:
        ann_file: COCO-VID json of the evaluated split.
        mode: ``'ilsvrc'`` (devkit rule, small objects get a lower IoU
            threshold) or ``'voc'`` (mmdet's ``eval_map`` at IoU 0.5).
        motion_breakdown: also report ``mAP_slow`` / ``mAP_medium`` /
            ``mAP_fast`` (FGFA's ranges; needs ``instance_id`` in the json).
        report_voc: also report ``mAP_voc``.
        coco_ap: also report COCO-style box AP through pycocotools
            (:mod:`..functional.coco_ap`): ``coco_bbox_mAP`` (IoU .5:.95),
            ``coco_bbox_mAP_50``, ``coco_bbox_mAP_75``, ``coco_bbox_mAP_s`` /
            ``_m`` / ``_l`` (by object size), e.g. ``vid/coco_bbox_mAP``.
        frame_subsets: name -> text file listing json ``file_name``s, one per
            line; adds ``mAP_<name>`` over the processed images listed.
        dump_file: write the predictions there (.npz, see
            :mod:`..functional.prediction_io`, with the digest of
            ``ann_file``) for ``tools/analysis/eval_vid.py``.
        prefix: metric name prefix; ``'vid'`` gives ``vid/mAP``.
        collect_device: ``'cpu'`` or ``'gpu'``, for gathering across ranks.

    Values are fractions in [0, 1] (as ``coco/bbox_mAP``); the logged table
    shows percent. Labels 0..C-1 are the json's categories in id order, for any
    class list (the devkit's small-object threshold and the motion breakdown
    depend on the boxes only); a dataset whose ``classes`` put other names at
    those labels is refused when the runner sets :attr:`dataset_meta`.
    Predictions that cannot be scored are refused with a ValueError (see
    :meth:`check_predictions`).
    """
    default_prefix: Optional[str] = 'vid'

    def __init__(self, ann_file: str, *, mode: str = 'ilsvrc', motion_breakdown: bool = True,
                 report_voc: bool = False, coco_ap: bool = False, frame_subsets: Optional[Dict[str, str]] = None,
                 dump_file: Optional[str] = None, prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if mode not in MODES:
            raise ValueError(f'VIDMetric: mode must be one of {MODES}, got {mode!r}')
        self.ann_file = ann_file
        self.mode = mode
        self.motion_breakdown = motion_breakdown
        self.report_voc = report_voc
        self.dump_file = dump_file
        self.annotations = load_vid_annotations(ann_file)
        if motion_breakdown and self.annotations.gts.motion_iou is None:
            raise ValueError(f'VIDMetric: {ann_file} has annotations without "instance_id", which the '
                             'motion breakdown needs; pass motion_breakdown=False')
        self.subset_masks = {name: read_frame_subset(path, self.annotations)
                             for name, path in (frame_subsets or {}).items()}
        self.coco_ground_truth = load_coco_ground_truth(ann_file) if coco_ap else None

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        """Refuses a dataset whose labels 0..C-1 name other classes than the json's categories
        (in id order): its predictions would be scored against the wrong classes."""
        classes = tuple((dataset_meta or {}).get('classes') or ())
        json_classes = self.annotations.classes
        if classes and classes[:len(json_classes)] != json_classes:
            raise ValueError(f"VIDMetric: the dataset's classes {classes} do not begin with the categories of "
                             f'{self.ann_file} in id order {json_classes}; its labels would be scored against '
                             'the wrong classes (list the classes in the json\'s order)')
        self._dataset_meta = dataset_meta

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        for sample in data_samples:
            pred = _field(sample, 'pred_instances')
            self.results.append(dict(
                img_id=int(_field(sample, 'img_id')),
                bboxes=_numpy(_field(pred, 'bboxes')).astype(np.float32).reshape(-1, 4),
                scores=_numpy(_field(pred, 'scores')).astype(np.float32).reshape(-1),
                labels=_numpy(_field(pred, 'labels')).astype(np.int32).reshape(-1)))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        preds = stack_predictions(results)._replace(gt_digest=self.annotations.digest, gt_file=self.ann_file)
        if self.dump_file:
            save_vid_predictions(self.dump_file, preds)
            print_log(f'VIDMetric: wrote {len(preds.img_ids)} images of predictions to '
                      f'{self.dump_file}', logger='current')
        return self.evaluate_predictions(preds, source='the model predictions')

    def check_predictions(self, preds: VIDPredictions, source: str) -> None:
        """Raises a ValueError naming ``source`` for predictions made for another json (by
        their ``gt_digest``), or that cannot be scored (see ``check_prediction_values``);
        predictions without a record (an older dump) are evaluated with a warning."""
        if preds.gt_digest is None:
            print_log(f'VIDMetric: {source} do not record which annotation file they were made for (an older '
                      f'dump); evaluating them against {self.ann_file} unchecked', logger='current',
                      level=logging.WARNING)
        elif preds.gt_digest != self.annotations.digest:
            raise ValueError(
                f"{source} were made for another annotation file ('{preds.gt_file}', digest {preds.gt_digest}) "
                f'than {self.ann_file} (digest {self.annotations.digest}): their image ids and labels would be '
                'matched to the wrong frames and classes; evaluate them against the json they were made for')
        check_prediction_values(preds, len(self.annotations.classes), source)

    def evaluate_predictions(self, preds: VIDPredictions, source: str = 'predictions'
                             ) -> Dict[str, float]:
        """Evaluate flat predictions (e.g. a loaded dump) on the images they
        cover, after :meth:`check_predictions`; logs the per-class table and
        returns the metrics (no prefix)."""
        self.check_predictions(preds, source)
        dets, processed = self._flat_detections(preds, source)
        num_classes = len(self.annotations.classes)
        columns, means = {}, {}
        sub_dets, sub_gts, num_imgs = select_images(dets, self.annotations.gts, processed)
        ranges = FGFA_MOTION_RANGES if self.motion_breakdown else None
        mean, per_class = eval_vid_map_flat(sub_dets, sub_gts, num_imgs, num_classes, mode=self.mode,
                                            motion_ranges=ranges)
        if ranges is None:
            columns['AP'], means['AP'] = per_class, mean
        else:
            columns['AP'], means['AP'] = per_class['all'], mean['all']
            for name in MOTION_COLUMNS:
                columns[f'AP_{name}'], means[f'AP_{name}'] = per_class[name], mean[name]
        if self.report_voc:
            means['AP_voc'], columns['AP_voc'] = eval_vid_map_flat(sub_dets, sub_gts, num_imgs,
                                                                   num_classes, mode='voc')
        for name, mask in self.subset_masks.items():
            means[f'AP_{name}'], columns[f'AP_{name}'] = self._subset_map(dets, processed & mask, name)
        print_log(f'VIDMetric ({self.mode} rule, {num_imgs} images, AP in %):\n'
                  + format_vid_table(self.annotations.classes, columns, means), logger='current')
        metrics = {'m' + key: round(value, 4) for key, value in means.items()}
        if self.coco_ground_truth is not None:
            metrics.update(self._coco_ap(preds))
        return metrics

    def _coco_ap(self, preds: VIDPredictions) -> Dict[str, float]:
        values, summary = coco_style_ap(self.coco_ground_truth, preds)
        print_log(f'VIDMetric: COCO-style box AP (pycocotools) on {len(preds.img_ids)} images:\n{summary}',
                  logger='current')
        return {'coco_' + key: round(value, 4) for key, value in values.items()}

    def _flat_detections(self, preds: VIDPredictions, source: str):
        """Detections indexed by annotation image, and the (I,) mask of
        processed images (each image is predicted once: :meth:`check_predictions`)."""
        img_index = self.annotations.index_of(preds.img_ids, source)
        dets = FlatDetections(np.repeat(img_index, preds.num_dets), preds.bboxes.astype(np.float64),
                              preds.scores.astype(np.float64), preds.labels.astype(np.int64))
        processed = np.zeros(len(self.annotations.img_ids), dtype=bool)
        processed[img_index] = True
        if not processed.all():
            print_log(f'VIDMetric: {source} cover {int(processed.sum())} of {len(processed)} images '
                      f'of {self.ann_file}; evaluating those only', logger='current', level=30)
        return dets, processed

    def _subset_map(self, dets: FlatDetections, keep: np.ndarray, name: str):
        if not keep.any():
            print_log(f'VIDMetric: no processed image is in frame subset "{name}"; its mAP is 0',
                      logger='current', level=30)
        sub_dets, sub_gts, num_imgs = select_images(dets, self.annotations.gts, keep)
        return eval_vid_map_flat(sub_dets, sub_gts, num_imgs, len(self.annotations.classes),
                                 mode=self.mode)
