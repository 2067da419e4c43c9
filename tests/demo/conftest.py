"""Fixtures of the demo tests (the helpers live in tests/apis/stream_test_utils.py)."""
import importlib.util
import os

import pytest

# The fixtures and helpers of tests/apis (a tiny config, synthetic videos, the MJPEG server).
_spec = importlib.util.spec_from_file_location(
    'apis_conftest', os.path.join(os.path.dirname(__file__), '..', 'apis', 'conftest.py'))
_apis_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_apis_conftest)
stream_test_utils = _apis_conftest.stream_test_utils
utils = _apis_conftest.utils
tiny_config = _apis_conftest.tiny_config
_one_torch_thread = _apis_conftest._one_torch_thread


def load_demo(name: str):
    """Imports demo/<name>.py by path (the demos are scripts, not a package)."""
    path = os.path.join(stream_test_utils.REPO, 'demo', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'demo_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def video_demo():
    return load_demo('video_demo')


@pytest.fixture(scope='session')
def webcam_demo():
    return load_demo('webcam_demo')


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    """The tests run headless whatever the machine has."""
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
