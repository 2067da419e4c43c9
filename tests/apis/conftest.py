"""Fixtures of the streaming API tests: a tiny Faster R-CNN config and synthetic frames/videos."""
import importlib.util
import os

import pytest
from mmengine.logging import MMLogger

_spec = importlib.util.spec_from_file_location(
    'stream_test_utils', os.path.join(os.path.dirname(__file__), 'stream_test_utils.py'))
stream_test_utils = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stream_test_utils)

# mmengine's 'current' logger keeps the stdout it was created with; create it now, outside any
# test's capsys, so log lines never go to a capture that a finished test has closed.
MMLogger.get_current_instance()


@pytest.fixture(scope='session')
def utils():
    return stream_test_utils


@pytest.fixture(scope='session')
def tiny_config(tmp_path_factory) -> str:
    return stream_test_utils.write_tiny_config(str(tmp_path_factory.mktemp('config')))


@pytest.fixture(scope='module')
def tiny_detector(tiny_config):
    """One tiny random-weight Faster R-CNN StreamingDetector per test module (tests call reset())."""
    import torch
    from mmengine.registry import init_default_scope

    from mamba_vod.apis import StreamingDetector
    init_default_scope('mamba_vod')
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='random weights'):
        return StreamingDetector(tiny_config)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread, and the suite may share the CPU with other work."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
