"""Shared test setup: mamba_vod is imported (which prepares mmcv/mmdet) and the
default registry scope is ``mamba_vod``, as in every config."""
import pytest
from mmengine.registry import init_default_scope

import mamba_vod  # noqa: F401


@pytest.fixture(autouse=True)
def _mamba_vod_scope():
    init_default_scope('mamba_vod')
    yield
