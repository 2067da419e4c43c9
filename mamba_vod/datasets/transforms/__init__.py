"""Data transforms of mamba_vod. Multi-frame pipelines wrap mmdet's transforms in
:class:`FrameBroadcaster` (mmcv's ``TransformBroadcaster`` that also takes one frame) with
``share_random_params=True`` and end with :class:`PackVideoInputs`."""
from .frame_broadcaster import FrameBroadcaster
from .pack_video_inputs import VIDEO_META_KEYS, PackVideoInputs

__all__ = ['FrameBroadcaster', 'PackVideoInputs', 'VIDEO_META_KEYS']
