"""``tools/test.py --protocol online|paper``: the protocol goes to the one config key the data
side reads, ``test_dataloader.dataset.test_protocol`` (:mod:`mamba_vod.datasets.test_protocol`
defines both protocols).
"""
from mmengine.config import Config

from mamba_vod.datasets.test_protocol import TEST_PROTOCOLS, check_protocol

__all__ = ['TEST_PROTOCOLS', 'apply_test_protocol']


def _transform_names(pipeline) -> list:
    names = []
    for transform in pipeline or []:
        kind = transform.get('type', '')
        names.append(kind if isinstance(kind, str) else kind.__name__)
        names += _transform_names(transform.get('transforms'))
    return names


def apply_test_protocol(cfg: Config, protocol: str) -> Config:
    """Sets ``cfg`` (in place, and returned) to test with ``protocol``.

    Raises:
        ValueError: an unknown protocol; a test pipeline that packs single frames (a
            single-frame detector scores the same under both); a test dataloader without a
            ``VideoSampler`` (which keeps videos whole, in the protocol's order).
    """
    check_protocol(protocol)
    loader = cfg.test_dataloader
    if not any(name.endswith('PackVideoInputs') for name in _transform_names(loader.dataset.get('pipeline'))):
        raise ValueError('the test protocol applies to video detectors (a test pipeline with PackVideoInputs); '
                         f"this config's model {cfg.model.get('type')!r} tests every frame on its own: leave the "
                         'protocol out')
    if loader.get('sampler', {}).get('type') not in ('VideoSampler', 'mamba_vod.VideoSampler'):
        raise ValueError('the test protocol needs test_dataloader.sampler=dict(type=\'VideoSampler\'), got '
                         f"{loader.get('sampler')}")
    loader.dataset.test_protocol = protocol
    return cfg
