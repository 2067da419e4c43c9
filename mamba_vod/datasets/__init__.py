"""Datasets of mamba_vod: ImageNet VID / DET from COCO-VID json, reference-frame sampling,
video transforms and the test-time video sampler (imported so that they register)."""
from .coco_vid_annotations import CocoVIDAnnotations, CocoVIDFormatError
from .coco_vid_dataset import CocoVIDDataset
from .imagenet_vid_dataset import VID_CLASSES, ImagenetVIDDataset
from .ref_frame_sampler import RefFrameSampler
from .samplers import VideoSampler
from .test_protocol import TEST_PROTOCOLS
from .transforms import FrameBroadcaster, PackVideoInputs

__all__ = [
    'CocoVIDAnnotations', 'CocoVIDDataset', 'CocoVIDFormatError', 'ImagenetVIDDataset', 'VID_CLASSES',
    'RefFrameSampler', 'VideoSampler', 'FrameBroadcaster', 'PackVideoInputs', 'TEST_PROTOCOLS'
]
