"""Array-level ImageNet VID evaluation (no MMEngine state)."""
# atomic_write belongs to mamba_vod.utils; re-exported here, where the tools have always found it
from mamba_vod.utils import atomic_write

from .average_precision import area_under_pr, class_average_precisions, rank_by_class
from .coco_ap import COCO_AP_KEYS, coco_style_ap, load_coco_ground_truth
from .flat_boxes import (FlatDetections, FlatGroundTruth, flatten_annotations, flatten_detections,
                         select_images)
from .motion_iou import ISOLATED_MOTION_IOU, coco_vid_motion_iou, motion_iou
from .pair_iou import devkit_iou_thresholds, paired_iou
from .prediction_io import (VIDPredictions, check_prediction_values, check_predictions, load_vid_predictions,
                            save_vid_predictions, stack_predictions, write_json)
from .vid_annotations import VIDAnnotations, annotation_digest, load_vid_annotations, read_frame_subset
from .vid_map import FGFA_MOTION_RANGES, eval_vid_map, eval_vid_map_flat
from .vid_matching import match_detections
from .vid_table import format_vid_table

__all__ = [
    'COCO_AP_KEYS', 'FGFA_MOTION_RANGES', 'ISOLATED_MOTION_IOU', 'FlatDetections', 'FlatGroundTruth', 'VIDAnnotations',
    'VIDPredictions', 'annotation_digest', 'area_under_pr', 'atomic_write', 'check_prediction_values',
    'check_predictions', 'class_average_precisions', 'coco_style_ap', 'load_coco_ground_truth',
    'coco_vid_motion_iou', 'devkit_iou_thresholds', 'eval_vid_map', 'eval_vid_map_flat',
    'flatten_annotations', 'flatten_detections', 'format_vid_table', 'load_vid_annotations',
    'load_vid_predictions', 'match_detections', 'motion_iou', 'paired_iou', 'rank_by_class',
    'read_frame_subset', 'save_vid_predictions', 'select_images', 'stack_predictions', 'write_json'
]
