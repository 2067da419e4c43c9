"""Data samplers of mamba_vod."""
from .video_sampler import VideoSampler, split_videos

__all__ = ['VideoSampler', 'split_videos']
