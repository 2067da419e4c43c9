"""Tiny COCO-VID data sets written into ``tmp_path`` for the dataset tests.

Every frame is a PNG of ``HEIGHT`` x ``WIDTH`` whose pixels say what it is: channel 0 rises
from left to right (a flip reverses it), channel 1 is ``frame_value(video, frame)`` and
channel 2 is ``video * 30`` everywhere.
"""
import json

import cv2
import numpy as np

HEIGHT, WIDTH = 32, 48


def frame_value(video_id: int, frame_id: int) -> int:
    return 9 * frame_id + video_id  # unique for video ids < 9, < 256 up to frame 27


def frame_image(video_id: int, frame_id: int) -> np.ndarray:
    img = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, WIDTH, dtype=np.float32).round().astype(np.uint8)[None, :]
    img[..., 1] = frame_value(video_id, frame_id)
    img[..., 2] = video_id * 30
    return img


def categories(with_other: bool = False) -> list:
    cats = [dict(id=1, name='airplane', encode_name='n02691156'),
            dict(id=2, name='antelope', encode_name='n02419796'),
            dict(id=3, name='bear', encode_name='n02131653')]
    if with_other:
        cats.append(dict(id=31, name='other_categeries', encode_name='other_categeries'))
    return cats


def write_vid(root, lengths, *, train_every: int = 1, empty_frames=()) -> str:
    """A VID json with one video per entry of ``lengths`` (video ids 1, 2, ...); frame f of a
    video is a train frame when ``f % train_every == 0``; each frame has one box of class
    ``video_id % 3`` (label) except the (video, frame) pairs in ``empty_frames``."""
    videos, images, anns = [], [], []
    for vid, length in enumerate(lengths, start=1):
        name = f'val/vid_{vid:02d}'
        videos.append(dict(id=vid, name=name, vid_train_frames=[]))
        (root / 'Data' / name).mkdir(parents=True, exist_ok=True)
        for fid in range(length):
            file_name = f'{name}/{fid:06d}.png'
            cv2.imwrite(str(root / 'Data' / file_name), frame_image(vid, fid))
            img_id = len(images) + 1
            images.append(dict(file_name=file_name, height=HEIGHT, width=WIDTH, id=img_id, frame_id=fid,
                               video_id=vid, is_vid_train_frame=fid % train_every == 0))
            if (vid, fid) in empty_frames:
                continue
            anns.append(dict(id=len(anns) + 1, video_id=vid, image_id=img_id, category_id=vid % 3 + 1,
                             instance_id=vid, bbox=[4 + fid, 6, 20, 12], area=240, iscrowd=False,
                             occluded=False, generated=False))
    return dump(root / 'vid.json', dict(categories=categories(), videos=videos, images=images,
                                        annotations=anns))


def write_det(root, count: int) -> str:
    """A DET json of ``count`` still images (image i looks like frame i of video 7); each has a
    VID-class box and an 'other' (category 31) box."""
    images, anns = [], []
    (root / 'Data' / 'det').mkdir(parents=True, exist_ok=True)
    for i in range(count):
        file_name = f'det/{i:06d}.png'
        cv2.imwrite(str(root / 'Data' / file_name), frame_image(7, i))
        images.append(dict(file_name=file_name, height=HEIGHT, width=WIDTH, id=i + 1, frame_id=-1,
                           video_id=-1, is_vid_train_frame=True))
        for cat in (2, 31):
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=cat, bbox=[2, 3, 10, 8],
                             area=80, iscrowd=False))
    return dump(root / 'det.json', dict(categories=categories(with_other=True), images=images,
                                        annotations=anns))


def dump(path, content: dict) -> str:
    path.write_text(json.dumps(content))
    return str(path)
