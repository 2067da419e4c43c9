"""Motion IoU of ground-truth boxes, computed from COCO-VID annotations.

Shape shorthand: G ground-truth boxes.

FGFA (Zhu et al., ICCV 2017) measures how fast an object moves by the mean
IoU of its box with the boxes of the same object instance in the frames
within +-10 frames of its own: above 0.9 is slow, 0.7-0.9 medium, below 0.7
fast. FGFA ships the values as a .mat file for VID val; here they are computed
from ``instance_id`` and ``frame_id``, so any COCO-VID json can be broken down.
"""
import numpy as np

from .pair_iou import paired_iou

#: Motion IoU given to a box whose instance has no other box within the
#: window: nothing is seen to move, so it counts as slow.
ISOLATED_MOTION_IOU = 1.0


def motion_iou(video_ids: np.ndarray, instance_ids: np.ndarray, frame_ids: np.ndarray,
               bboxes: np.ndarray, *, window: int = 10) -> np.ndarray:
    """Mean IoU (pixel-inclusive, as the devkit) of each box with the boxes
    of its instance in frames ``frame_id +- window`` (itself excluded).

    Args:
        video_ids, instance_ids, frame_ids: (G,) integers; an instance is a
            (video_id, instance_id) pair.
        bboxes: (G, 4) x1, y1, x2, y2.

    Returns:
        (G,) motion IoU; :data:`ISOLATED_MOTION_IOU` for boxes without
        neighbours.
    """
    video_ids, instance_ids, frame_ids = (np.asarray(a, dtype=np.int64).reshape(-1)
                                          for a in (video_ids, instance_ids, frame_ids))
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    order = np.lexsort((frame_ids, instance_ids, video_ids))
    vid, ins, frm, box = video_ids[order], instance_ids[order], frame_ids[order], bboxes[order]
    same_track = (vid[1:] == vid[:-1]) & (ins[1:] == ins[:-1])
    repeated = np.flatnonzero(same_track & (frm[1:] == frm[:-1]))
    if len(repeated):
        k = repeated[0]
        raise ValueError(f'instance {ins[k]} of video {vid[k]} has two boxes in frame {frm[k]}; '
                         'an instance may have one box per frame')
    total = np.zeros(len(vid))
    count = np.zeros(len(vid))
    # Frames of a track are distinct, so neighbours within +-window frames are
    # at most `window` positions apart in the sorted order.
    for step in range(1, window + 1):
        a = np.arange(len(vid) - step)
        b = a + step
        near = (vid[a] == vid[b]) & (ins[a] == ins[b]) & (frm[b] - frm[a] <= window)
        a, b = a[near], b[near]
        iou = paired_iou(box[a], box[b], plus_one=True)
        total += np.bincount(a, iou, len(vid)) + np.bincount(b, iou, len(vid))
        count += np.bincount(a, minlength=len(vid)) + np.bincount(b, minlength=len(vid))
    sorted_result = np.where(count > 0, total / np.maximum(count, 1), ISOLATED_MOTION_IOU)
    result = np.empty_like(sorted_result)
    result[order] = sorted_result
    return result


def coco_vid_motion_iou(coco: dict, *, window: int = 10) -> np.ndarray:
    """Motion IoU of every entry of ``coco['annotations']`` (same order) of a
    COCO-VID dict (``images`` with ``id``, ``video_id``, ``frame_id``;
    annotations with ``image_id``, ``instance_id``, ``bbox`` [x, y, w, h])."""
    images = {img['id']: img for img in coco['images']}
    anns = coco['annotations']
    fields = np.zeros((len(anns), 3), dtype=np.int64)
    xywh = np.zeros((len(anns), 4))
    for k, ann in enumerate(anns):
        image = images.get(ann['image_id'])
        if image is None:
            raise ValueError(f'annotation {ann.get("id")} refers to image_id {ann["image_id"]}, '
                             'which is not in "images"')
        if 'instance_id' not in ann:
            raise ValueError(f'annotation {ann.get("id")} has no "instance_id"; the motion '
                             'breakdown needs COCO-VID tracks (convert with '
                             'tools/dataset_converters/imagenet_vid.py)')
        fields[k] = (image['video_id'], ann['instance_id'], image['frame_id'])
        xywh[k] = ann['bbox']
    xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    return motion_iou(fields[:, 0], fields[:, 1], fields[:, 2], xyxy, window=window)
