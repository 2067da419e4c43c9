"""A tiny COCO-VID json (3 classes, 2 videos) for evaluation tests, and
perfect predictions for it."""
import json
import os.path as osp

import numpy as np

CLASSES = ('airplane', 'antelope', 'bear')
# (video id, frames, [(instance id, category id, x0, y0, size, pixels moved per frame)])
VIDEOS = [(1, 6, [(1, 1, 10, 10, 40, 0), (2, 2, 100, 20, 30, 12)]),
          (2, 4, [(3, 3, 50, 50, 60, 5)])]


def tiny_vid_coco() -> dict:
    images, annotations = [], []
    for video_id, num_frames, tracks in VIDEOS:
        for frame in range(num_frames):
            img_id = video_id * 100 + frame
            images.append(dict(id=img_id, video_id=video_id, frame_id=frame, height=240, width=320,
                               file_name=f'val/vid{video_id}/{frame:06d}.JPEG',
                               is_vid_train_frame=False))
            for instance_id, category_id, x0, y0, size, step in tracks:
                if video_id == 2 and frame == 3:
                    continue  # a frame without ground truth
                annotations.append(dict(id=len(annotations) + 1, video_id=video_id, image_id=img_id,
                                        category_id=category_id, instance_id=instance_id,
                                        bbox=[x0 + step * frame, y0, size, size], area=size * size,
                                        iscrowd=False, occluded=False, generated=False))
    return dict(categories=[dict(id=k + 1, name=n, encode_name=f'n{k}') for k, n in enumerate(CLASSES)],
                videos=[dict(id=v, name=f'vid{v}', vid_train_frames=[]) for v, _, _ in VIDEOS],
                images=images, annotations=annotations)


def write_tiny_vid_json(folder: str) -> str:
    path = osp.join(folder, 'tiny_vid_val.json')
    with open(path, 'w') as f:
        json.dump(tiny_vid_coco(), f)
    return path


def perfect_predictions(coco: dict) -> dict:
    """img_id -> (bboxes (n, 4) xyxy, scores (n,), labels (n,)): every ground
    truth found with score 0.9, plus one stray box at score 0.5 per image."""
    preds = {img['id']: ([[280.0, 200.0, 300.0, 220.0]], [0.5], [0]) for img in coco['images']}
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        boxes, scores, labels = preds[ann['image_id']]
        boxes.append([x, y, x + w, y + h])
        scores.append(0.9)
        labels.append(ann['category_id'] - 1)
    return {k: (np.array(b, np.float32), np.array(s, np.float32), np.array(l, np.int64))
            for k, (b, s, l) in preds.items()}
