"""``tools/test.py --protocol NAME``: the protocol goes to the one config key the data side reads,
``test_dataloader.dataset.test_protocol`` (:mod:`mamba_vod.datasets.test_protocol` defines the
protocols), after checking that the config's detector accepts it (its ``test_protocols``).
"""
from typing import Tuple

from mmengine.config import Config

from mamba_vod.datasets.test_protocol import ALIASES, TEST_PROTOCOLS, protocol_name
from mamba_vod.registry import MODELS

__all__ = ['TEST_PROTOCOLS', 'apply_test_protocol', 'accepted_protocols']

#: what a video detector without its own ``test_protocols`` accepts (the video detector base's)
DEFAULT_PROTOCOLS = ('online', )


def accepted_protocols(cfg: Config) -> Tuple[str, ...]:
    """The protocols the detector of ``cfg`` declares (its class's ``test_protocols``)."""
    kind = cfg.model.get('type')
    detector = MODELS.get(kind) if isinstance(kind, str) else kind
    return tuple(getattr(detector, 'test_protocols', DEFAULT_PROTOCOLS))


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
        ValueError: an unknown protocol, or one the detector does not accept
            (:func:`accepted_protocols`); a test pipeline that packs single frames (a
            single-frame detector scores the same under every protocol); a test dataloader without a
            ``VideoSampler`` (which keeps videos whole, in the protocol's order).
    """
    name = protocol_name(protocol)
    loader = cfg.test_dataloader
    if not any(kind.endswith('PackVideoInputs') for kind in _transform_names(loader.dataset.get('pipeline'))):
        raise ValueError('the test protocol applies to video detectors (a test pipeline with PackVideoInputs); '
                         f"this config's model {cfg.model.get('type')!r} tests every frame on its own: leave the "
                         'protocol out')
    if loader.get('sampler', {}).get('type') not in ('VideoSampler', 'mamba_vod.VideoSampler'):
        raise ValueError('the test protocol needs test_dataloader.sampler=dict(type=\'VideoSampler\'), got '
                         f"{loader.get('sampler')}")
    accepted = accepted_protocols(cfg)
    if name not in accepted:
        aliases = {alias: target for alias, target in ALIASES.items() if target in accepted}
        raise ValueError(f"{cfg.model.get('type')} is not tested with protocol {protocol!r}: it accepts "
                         + ', '.join(repr(n) for n in accepted)
                         + ''.join(f' ({alias!r} = {target!r})' for alias, target in aliases.items()))
    loader.dataset.test_protocol = name
    return cfg
