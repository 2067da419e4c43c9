"""Turns Ctrl-C (SIGINT) and SIGTERM into a polite stop request.

The first signal sets :attr:`StopSignals.requested` and calls ``on_request``
(e.g. to stop a source that is waiting for frames); the processing loop checks
it between frames and ends normally, so outputs are finalised by the code that
owns them. A second signal raises ``KeyboardInterrupt`` at once (``with`` blocks
still finalise on the way out).
"""
import signal
import threading
from typing import Callable, Optional

from mmengine.logging import print_log

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager that installs the handlers (main thread only) and restores the old ones."""

    def __init__(self, on_request: Optional[Callable[[], None]] = None) -> None:
        self.requested: Optional[str] = None
        self._on_request = on_request
        self._previous = {}

    def _handle(self, signum: int, _frame) -> None:
        name = signal.Signals(signum).name
        if self.requested is not None:
            raise KeyboardInterrupt(f'second stop signal ({name})')
        self.requested = name
        if self._on_request is not None:
            self._on_request()
        print_log(f'{name} received: stopping after the current frame (send it again to stop now)',
                  logger='current')

    def __enter__(self) -> 'StopSignals':
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
