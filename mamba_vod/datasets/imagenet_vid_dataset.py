"""ImageNet VID (and the 30-class ImageNet DET subset) from mmtracking's COCO-VID json.

Shape shorthand: T frames per sample = 1 key frame + N reference frames.

Training (``test_mode=False``) samples are the key frames: the ``is_vid_train_frame`` frames of
the VID json (``load_as_video=True``) or every image of the DET json (``load_as_video=False``),
minus what ``filter_cfg`` removes (mmdet's ``filter_empty_gt`` / ``min_size``). Test samples are
every frame, video after video, each video in ``frame_id`` order; ``video_frame_indices`` gives
the order the test protocol (``test_protocol``) tests them in.

Without references an item is one frame's data info (mmdet's single-image pipelines run
unchanged). With them (training: ``ref_img_sampler``; test: the 'paper' protocol's frame 0), an
item is a dict of lists of length T (key frame first, then the N references of the same video,
:class:`RefFrameSampler`), the input of mmcv's
``TransformBroadcaster`` and :class:`PackVideoInputs`. A DET image's references are copies of it.

Labels 0..C-1 follow ``metainfo['classes']`` (:attr:`METAINFO`: the 30 VID classes, unless the
config's ``metainfo=dict(classes=...)`` names others), matched by category name as mmtracking
does; annotations of any other category (category 31 "other" of the DET json) are dropped, and
the number dropped is logged. :class:`CocoVIDDataset` takes the classes from the json. Boxes
with no area inside the image are skipped and counted too.
"""
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.logging import print_log

from mamba_vod.registry import DATASETS
from .coco_vid_annotations import CocoVIDAnnotations
from .ref_frame_sampler import RefFrameSampler
from .test_protocol import TestProtocol, build_protocol

VID_CLASSES = ('airplane', 'antelope', 'bear', 'bicycle', 'bird', 'bus', 'car', 'cattle', 'dog',
               'domestic_cat', 'elephant', 'fox', 'giant_panda', 'hamster', 'horse', 'lion',
               'lizard', 'monkey', 'motorcycle', 'rabbit', 'red_panda', 'sheep', 'snake',
               'squirrel', 'tiger', 'train', 'turtle', 'watercraft', 'whale', 'zebra')


@DATASETS.register_module()
class ImagenetVIDDataset(BaseDataset):
    """ImageNet VID / DET frames with optional reference frames.

    Args:
        load_as_video: read the json as videos (VID) or as still images (DET).
        ref_img_sampler: training: kwargs of :class:`RefFrameSampler` (``num_ref_imgs``,
            ``frame_range``, ``filter_key_img``, ``method``), or None for single-frame items.
        test_protocol: test (``test_mode=True``): the frame order and each frame's references,
            a name ('online', the default: single frames in frame order; 'mamba_offline' /
            'paper': frame 0 with 14 references, the rest shuffled; ...), a protocol config dict
            or object; see :mod:`mamba_vod.datasets.test_protocol`.
        **kwargs: mmengine ``BaseDataset`` arguments (``ann_file``, ``data_root``,
            ``data_prefix=dict(img_path=...)``, ``filter_cfg``, ``pipeline``, ``test_mode``,
            ``serialize_data``, ``lazy_init``, ``max_refetch``). ``indices`` is not supported.

    Data info of a frame: ``img_id``, ``img_path``, ``height``, ``width``, ``video_id``
    (-1 for DET), ``frame_id`` (0 for DET), ``video_length`` (1 for DET), ``frame_position``
    (index in its video, = ``frame_id`` for the converter's json), ``is_vid_train_frame``,
    ``instances`` (``bbox`` xyxy, ``bbox_label``, ``ignore_flag``, ``instance_id`` when present).
    """

    METAINFO = dict(classes=VID_CLASSES)

    def __init__(self, *, load_as_video: bool = True, ref_img_sampler: Optional[dict] = None,
                 test_protocol: Union[str, dict, TestProtocol, None] = None, **kwargs) -> None:
        if kwargs.get('indices') is not None:
            raise ValueError('ImagenetVIDDataset does not support `indices`; select videos in the json')
        self.load_as_video = load_as_video
        test_mode = kwargs.get('test_mode', False)
        self.ref_img_sampler = self._reference_sampler(ref_img_sampler, test_protocol, test_mode)
        self.test_protocol = build_protocol(test_protocol) if test_mode else None
        self._valid = np.zeros(0, dtype=np.int64)  # dataset index -> index of the frame in data_list
        self._video_start = np.zeros(0, dtype=np.int64)  # frame index -> index of its video's frame 0
        super().__init__(**kwargs)

    @staticmethod
    def _reference_sampler(ref_img_sampler: Optional[dict], test_protocol: Union[str, dict, TestProtocol, None],
                           test_mode: bool) -> Optional[RefFrameSampler]:
        """Training: the ``ref_img_sampler`` of the config; test: none (the protocol gives the references)."""
        if not test_mode:
            if test_protocol is not None:
                raise ValueError(f'test_protocol={test_protocol!r} is for test datasets (test_mode=True); '
                                 'training references come from ref_img_sampler')
            sampler = None if ref_img_sampler is None else RefFrameSampler(**ref_img_sampler)
            if sampler is not None and sampler.is_test_method:
                raise ValueError(f'ref_img_sampler method {sampler.method!r} does not fit test_mode=False')
            return sampler
        if ref_img_sampler is not None:
            raise ValueError('a test dataset takes its references from its test protocol, not ref_img_sampler: set '
                             "test_protocol='mamba_offline' (frame 0 with 14 references) or 'online' (none), or use "
                             '`tools/test.py --protocol`')
        return None

    # ------------------------------------------------------------------ loading
    def full_init(self) -> None:
        """Load every frame (reference frames may be any frame), then choose the samples."""
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        self._video_start = np.array(
            [i - info['frame_position'] for i, info in enumerate(self.data_list)], dtype=np.int64)
        self._valid = np.array(self._select_samples(), dtype=np.int64)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    def load_data_list(self) -> List[dict]:
        fields = ('is_vid_train_frame', ) if self.load_as_video and not self.test_mode else ()
        coco = CocoVIDAnnotations(self.ann_file, load_as_video=self.load_as_video, image_fields=fields)
        classes = self._classes(coco)
        cat2label = {cid: classes.index(name) for cid, name in coco.categories.items() if name in classes}
        self._skipped = Counter()
        data_list = []
        for video, images in coco.clips:
            for position, img in enumerate(images):
                info = self._frame_info(img, video, position, len(images))
                info['instances'] = self._instances(coco.anns_by_image.get(img['id'], []), img,
                                                    cat2label, coco.categories)
                data_list.append(info)
        for reason, count in sorted(self._skipped.items()):
            print_log(f'{self.ann_file}: skipped {count} annotations ({reason})', logger='current')
        return data_list

    def _classes(self, coco: CocoVIDAnnotations) -> tuple:
        """The class names labels 0..C-1 stand for: ``metainfo['classes']`` (ImageNet VID's by
        default); a subclass whose METAINFO has none takes them from the json."""
        return tuple(self._metainfo['classes'])

    def _frame_info(self, img: dict, video: Optional[dict], position: int, length: int) -> dict:
        prefix = self.data_prefix.get('img_path', '')
        return dict(
            img_id=img['id'],
            img_path=osp.join(prefix, img['file_name']) if prefix else img['file_name'],
            height=img['height'],
            width=img['width'],
            video_id=video['id'] if video is not None else -1,
            frame_id=img['frame_id'] if video is not None else 0,
            video_length=length,
            frame_position=position,
            is_vid_train_frame=bool(img.get('is_vid_train_frame', video is None)))

    def _instances(self, anns: List[dict], img: dict, cat2label: Dict[int, int],
                   categories: Dict[int, str]) -> List[dict]:
        instances = []
        for ann in anns:
            x, y, w, h = ann['bbox']
            if ann['category_id'] not in cat2label:
                self._skipped[f'category {ann["category_id"]} '
                              f'"{categories[ann["category_id"]]}" is not one of the classes'] += 1
                continue
            inter_w = min(x + w, img['width']) - max(x, 0)
            inter_h = min(y + h, img['height']) - max(y, 0)
            if w < 1 or h < 1 or inter_w <= 0 or inter_h <= 0:
                self._skipped['box narrower than 1 pixel or outside its image'] += 1
                continue
            instance = dict(bbox=[x, y, x + w, y + h], bbox_label=cat2label[ann['category_id']],
                            ignore_flag=int(bool(ann.get('iscrowd', 0))))
            if 'instance_id' in ann:
                instance['instance_id'] = ann['instance_id']
            instances.append(instance)
        return instances

    def _select_samples(self) -> List[int]:
        """Indices of ``data_list`` that are samples (see the module docstring)."""
        if self.test_mode:
            return list(range(len(self.data_list)))
        filter_cfg = self.filter_cfg or {}
        min_size = filter_cfg.get('min_size', 0)
        keep = []
        for i, info in enumerate(self.data_list):
            if self.load_as_video and not info['is_vid_train_frame']:
                continue
            if filter_cfg.get('filter_empty_gt', False) and not info['instances']:
                continue
            if min(info['width'], info['height']) >= min_size:
                keep.append(i)
        return keep

    # ------------------------------------------------------------------ access
    @force_full_init
    def __len__(self) -> int:
        return len(self._valid)

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Data info of sample ``idx`` (the key frame), with ``sample_idx``."""
        info = self._frame(int(self._valid[idx]))
        info['sample_idx'] = idx if idx >= 0 else len(self) + idx
        return info

    def _frame(self, frame_index: int) -> dict:
        info = super().get_data_info(frame_index)
        info.pop('sample_idx', None)
        return info

    @force_full_init
    def video_frame_indices(self) -> List[List[int]]:
        """Sample indices grouped by video (video order), each group in frame order, or, for a
        test dataset, in the order of its test protocol."""
        groups: List[List[int]] = []
        last_start = None
        for idx, frame_index in enumerate(self._valid):
            start = self._video_start[frame_index]
            if start != last_start:
                groups.append([])
                last_start = start
            groups[-1].append(idx)
        return groups if self.test_protocol is None else self.test_protocol.frame_order(groups)

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """Labels of the key frame's boxes (for mmengine's ``ClassBalancedDataset``)."""
        return [instance['bbox_label'] for instance in self.get_data_info(idx)['instances']]

    def get_subset_(self, indices) -> None:
        raise NotImplementedError('ImagenetVIDDataset cannot be subset by index; select videos in the json')

    def get_subset(self, indices) -> 'ImagenetVIDDataset':
        raise NotImplementedError('ImagenetVIDDataset cannot be subset by index; select videos in the json')

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx``: one frame, or a dict of lists of T frames."""
        key = self.get_data_info(idx)
        if self.ref_img_sampler is None and not (self.test_protocol and self.test_protocol.gives_references):
            return self.pipeline(key)
        frames = [key] + self._references(key)
        return self.pipeline({name: [f.get(name) for f in frames] for name in key})

    def reference_infos(self, idx: int) -> List[dict]:
        """Data infos of the N reference frames of sample ``idx`` (copies of it for DET)."""
        return self._references(self.get_data_info(idx))

    def _references(self, key: dict) -> List[dict]:
        if not self.load_as_video:
            return [dict(key) for _ in range(self.ref_img_sampler.num_ref_imgs)]
        start = int(self._video_start[self._valid[key['sample_idx']]])
        chooser = self.ref_img_sampler.sample if self.ref_img_sampler else self.test_protocol.references
        positions = chooser(key['frame_position'], key['video_length'])
        refs = [self._frame(start + p) for p in positions]
        for ref in refs:
            ref['sample_idx'] = key['sample_idx']
        return refs
