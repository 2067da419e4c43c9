"""The two ways a video detector is tested, switched on a config in one place.

- ``'online'``: the frames of each video in order, each through the memory of the frames
  before it (what a camera allows; MAMBA's ``test_mode='online'``).
- ``'paper'``: MAMBA's offline protocol, the one behind the paper's figures: frame 0 comes
  with 14 references spread over the whole video (``'test_with_adaptive_stride'``), which
  fill the memories; the other frames follow in a shuffled order (``VideoSampler`` with
  ``shuffle_frames=True``, seed 10), so the memory holds frames from before and after.

A protocol sets three things that must agree: the model's ``test_mode``, the test
dataset's ``ref_img_sampler`` and the test sampler's ``shuffle_frames``.
"""
import inspect

from mmengine.config import Config

from mamba_vod.registry import MODELS

TEST_PROTOCOLS = ('online', 'paper')
PAPER_NUM_REF_FRAMES = 14


def apply_test_protocol(cfg: Config, protocol: str) -> Config:
    """Sets ``cfg`` (in place, and returned) to test with ``protocol``.

    Raises:
        ValueError: an unknown protocol; a model without ``test_mode`` (a single-frame
            detector scores the same under both); a test dataloader without a ``VideoSampler``.
    """
    if protocol not in TEST_PROTOCOLS:
        raise ValueError(f'test protocol must be one of {TEST_PROTOCOLS}, got {protocol!r}')
    model_type = cfg.model.get('type')
    model_class = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    if model_class is None or 'test_mode' not in inspect.signature(model_class).parameters:
        raise ValueError(f"the test protocol applies to video detectors with a test_mode (MAMBA); this config's "
                         f'model is {model_type!r}, which tests every frame on its own: leave the protocol out')
    loader = cfg.test_dataloader
    if loader.get('sampler', {}).get('type') not in ('VideoSampler', 'mamba_vod.VideoSampler'):
        raise ValueError('the test protocol needs test_dataloader.sampler=dict(type=\'VideoSampler\'), got '
                         f"{loader.get('sampler')}")
    cfg.model.test_mode = protocol
    loader.sampler.shuffle_frames = protocol == 'paper'
    loader.dataset.ref_img_sampler = (dict(num_ref_imgs=PAPER_NUM_REF_FRAMES, method='test_with_adaptive_stride')
                                      if protocol == 'paper' else None)
    return cfg
