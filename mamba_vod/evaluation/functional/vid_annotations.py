"""Ground truth of a COCO-VID json as flat arrays for :func:`eval_vid_map_flat`.

Shape shorthand: I images, G ground-truth boxes.
"""
import hashlib
import json
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .flat_boxes import FlatGroundTruth
from .motion_iou import coco_vid_motion_iou


class VIDAnnotations(NamedTuple):
    """``img_ids`` (I,) json image ids, ``file_names`` (I,), ``classes`` (C,)
    names in label order (category ids ascending), ``gts`` with ``img`` an index
    into ``img_ids`` and ``motion_iou`` None when the json has no
    ``instance_id``; ``digest``: :func:`annotation_digest` of the json."""
    img_ids: np.ndarray
    file_names: List[str]
    classes: Tuple[str, ...]
    gts: FlatGroundTruth
    digest: Optional[str] = None

    def index_of(self, img_ids: Sequence[int], source: str) -> np.ndarray:
        """Map json image ids to indices 0..I-1; unknown ids raise an error
        that names ``source`` (where the ids came from)."""
        lookup: Dict[int, int] = dict(zip(self.img_ids.tolist(), range(len(self.img_ids))))
        index = np.fromiter((lookup.get(int(i), -1) for i in img_ids), dtype=np.int64,
                            count=len(img_ids))
        missing = np.flatnonzero(index < 0)
        if len(missing):
            raise ValueError(f'{len(missing)} image id(s) from {source} are not in the annotation '
                             f'file (first: {int(img_ids[missing[0]])}); evaluate against the json '
                             'the predictions were made on')
        return index


def annotation_digest(coco: dict) -> str:
    """A fingerprint (16 hex digits) of what predictions refer to in a COCO-VID json: its
    images (id, file_name, height, width) and categories (id, name), in file order. Two
    jsons share it only if they number the same frames and classes alike."""
    images = [[img['id'], img['file_name'], img.get('height'), img.get('width')] for img in coco['images']]
    categories = [[category['id'], category['name']] for category in coco['categories']]
    text = json.dumps([images, categories], separators=(',', ':'))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def load_vid_annotations(ann_file: str) -> VIDAnnotations:
    """Read a COCO-VID json (mmtracking's fields): labels 0..C-1 follow the
    category ids in ascending order, boxes become x1, y1, x2, y2."""
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    for key in ('categories', 'images', 'annotations'):
        if key not in coco:
            raise ValueError(f'{ann_file}: no "{key}" list; expected a COCO-VID json')
    categories = sorted(coco['categories'], key=lambda c: c['id'])
    label_of = {c['id']: k for k, c in enumerate(categories)}
    img_ids = np.array([img['id'] for img in coco['images']], dtype=np.int64)
    index_of = dict(zip(img_ids.tolist(), range(len(img_ids))))
    anns = coco['annotations']
    ann_img = np.empty(len(anns), dtype=np.int64)
    labels = np.empty(len(anns), dtype=np.int64)
    xywh = np.zeros((len(anns), 4))
    for k, ann in enumerate(anns):
        if ann['image_id'] not in index_of or ann['category_id'] not in label_of:
            raise ValueError(f'{ann_file}: annotation {ann.get("id")} has image_id '
                             f'{ann["image_id"]} / category_id {ann["category_id"]}, not both in '
                             '"images" / "categories"')
        ann_img[k] = index_of[ann['image_id']]
        labels[k] = label_of[ann['category_id']]
        xywh[k] = ann['bbox']
    motion: Optional[np.ndarray] = None
    if all('instance_id' in ann for ann in anns):
        motion = coco_vid_motion_iou(coco)
    bboxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    return VIDAnnotations(img_ids=img_ids, file_names=[img['file_name'] for img in coco['images']],
                          classes=tuple(c['name'] for c in categories),
                          gts=FlatGroundTruth(ann_img, bboxes, labels, motion), digest=annotation_digest(coco))


def read_frame_subset(list_file: str, annotations: VIDAnnotations) -> np.ndarray:
    """(I,) bool mask of the images a list file names (one json ``file_name``
    per line, the first whitespace-separated token; blank lines skipped)."""
    index_of = dict(zip(annotations.file_names, range(len(annotations.file_names))))
    mask = np.zeros(len(annotations.file_names), dtype=bool)
    with open(list_file, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            tokens = line.split()
            if not tokens:
                continue
            if tokens[0] not in index_of:
                raise ValueError(f'{list_file}:{line_no}: "{tokens[0]}" is not a file_name of the '
                                 'annotation file; list json file_names such as '
                                 f'"{annotations.file_names[0] if annotations.file_names else "val/..."}"')
            mask[index_of[tokens[0]]] = True
    return mask
