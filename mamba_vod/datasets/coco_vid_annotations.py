"""Reading and checking a COCO-VID json (mmtracking's ImageNet VID / DET annotation format).

Fields read (the converter ``tools/dataset_converters/imagenet_vid.py`` writes all of them):

- ``categories``: ``id``, ``name``;
- ``videos``: ``id``, ``name`` (needed only when the file is read as videos);
- ``images``: ``id``, ``file_name``, ``height``, ``width``; as videos also ``video_id``,
  ``frame_id`` (unique within its video) and, for training, ``is_vid_train_frame``;
- ``annotations``: ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``; optional ``iscrowd``,
  ``instance_id``.

A missing field, an image whose video is not listed, an annotation of an unknown image or
category: :class:`CocoVIDFormatError` naming the file, the entry and the field.
"""
import json
from collections import defaultdict
from typing import Dict, List, Sequence


class CocoVIDFormatError(ValueError):
    """A COCO-VID json lacks a field or has inconsistent references."""


class CocoVIDAnnotations:
    """The images of a COCO-VID json grouped into videos, with their annotations.

    Args:
        ann_file: path of the json.
        load_as_video: group images by ``video_id`` and order them by ``frame_id``;
            otherwise every image is a still picture (ImageNet DET).
        image_fields: image fields required in addition to ``id``, ``file_name``, ``height``,
            ``width`` (and ``video_id``, ``frame_id`` as videos).

    Attributes:
        categories: ``{category id: name}`` in json order.
        clips: list of ``(video, images)``: as videos, the json's videos in json order (``video``
            is the json entry) with their images sorted by ``frame_id``; otherwise one clip per
            image in json order with ``video`` None.
        anns_by_image: ``{image id: [annotation, ...]}`` in json order.
    """

    def __init__(self, ann_file: str, *, load_as_video: bool = True,
                 image_fields: Sequence[str] = ()) -> None:
        self.ann_file = str(ann_file)
        self.load_as_video = load_as_video
        raw = self._read()
        self.categories = self._parse_categories(raw)
        images = self._entries(raw, 'images')
        base_fields = ('id', 'file_name', 'height', 'width')
        video_fields = ('video_id', 'frame_id') if load_as_video else ()
        for i, img in enumerate(images):
            self._require(img, base_fields + video_fields + tuple(image_fields), f'images[{i}]')
        self.clips = self._group_videos(raw, images) if load_as_video else [(None, [i]) for i in images]
        self.anns_by_image = self._parse_annotations(raw, images)

    def _read(self) -> dict:
        try:
            with open(self.ann_file, encoding='utf-8') as f:
                raw = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'annotation file {self.ann_file} does not exist; make it with '
                'tools/dataset_converters/imagenet_vid.py') from None
        except json.JSONDecodeError as err:
            raise CocoVIDFormatError(f'{self.ann_file}: not valid json ({err})') from None
        if not isinstance(raw, dict):
            raise CocoVIDFormatError(f'{self.ann_file}: the top level must be a json object')
        return raw

    def _error(self, where: str, message: str) -> CocoVIDFormatError:
        return CocoVIDFormatError(f'{self.ann_file}: {where}: {message}')

    def _entries(self, raw: dict, key: str) -> List[dict]:
        if key not in raw:
            raise self._error('top level', f'missing field "{key}"')
        entries = raw[key]
        if not isinstance(entries, list):
            raise self._error(key, 'must be a list')
        return entries

    def _require(self, entry, fields: Sequence[str], where: str) -> None:
        if not isinstance(entry, dict):
            raise self._error(where, 'must be a json object')
        for field in fields:
            if field not in entry:
                raise self._error(f'{where} (id {entry.get("id")})', f'missing field "{field}"')

    def _parse_categories(self, raw: dict) -> Dict[int, str]:
        categories = {}
        for i, cat in enumerate(self._entries(raw, 'categories')):
            self._require(cat, ('id', 'name'), f'categories[{i}]')
            categories[cat['id']] = cat['name']
        return categories

    def _group_videos(self, raw: dict, images: List[dict]) -> list:
        videos = self._entries(raw, 'videos')
        frames = {}
        for i, video in enumerate(videos):
            self._require(video, ('id', 'name'), f'videos[{i}]')
            if video['id'] in frames:
                raise self._error(f'videos[{i}]', f'duplicate video id {video["id"]}')
            frames[video['id']] = {}
        for img in images:
            video_frames = frames.get(img['video_id'])
            if video_frames is None:
                raise self._error(f'image {img["id"]} ({img["file_name"]})',
                                  f'field "video_id" names video {img["video_id"]}, which is not in '
                                  '"videos" (an image without a video)')
            if img['frame_id'] in video_frames:
                raise self._error(f'image {img["id"]} ({img["file_name"]})',
                                  f'field "frame_id" {img["frame_id"]} repeats within video '
                                  f'{img["video_id"]}')
            video_frames[img['frame_id']] = img
        return [(video, [frames[video['id']][f] for f in sorted(frames[video['id']])])
                for video in videos]

    def _parse_annotations(self, raw: dict, images: List[dict]) -> Dict[int, List[dict]]:
        image_ids = {img['id'] for img in images}
        anns_by_image = defaultdict(list)
        for i, ann in enumerate(self._entries(raw, 'annotations')):
            self._require(ann, ('image_id', 'category_id', 'bbox'), f'annotations[{i}]')
            where = f'annotations[{i}] (id {ann.get("id")})'
            if ann['image_id'] not in image_ids:
                raise self._error(where, f'field "image_id" names image {ann["image_id"]}, '
                                  'which is not in "images"')
            if ann['category_id'] not in self.categories:
                raise self._error(where, f'field "category_id" {ann["category_id"]} is not in '
                                  f'"categories" (known ids: {sorted(self.categories)})')
            bbox = ann['bbox']
            if not (isinstance(bbox, list) and len(bbox) == 4
                    and all(isinstance(v, (int, float)) for v in bbox)):
                raise self._error(where, f'field "bbox" must be [x, y, w, h] numbers, got {bbox!r}')
            anns_by_image[ann['image_id']].append(ann)
        return anns_by_image
