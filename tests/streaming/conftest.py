"""Fixtures of the streaming application tests: the synthetic-video helpers of tests/apis."""
import pytest

from tests.apis import stream_test_utils


@pytest.fixture(scope='session')
def utils():
    return stream_test_utils
