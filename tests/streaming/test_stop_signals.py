import os
import signal

import pytest

from mamba_vod.streaming import StopSignals


def test_first_signal_requests_a_stop_second_interrupts_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    calls = []
    with StopSignals(on_request=lambda: calls.append('stop')) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested == 'SIGTERM' and calls == ['stop']
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
