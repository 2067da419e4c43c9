"""A loopback HTTP server for checkpoint tests, and a checkpoint whose pickle would run code.

The server listens on 127.0.0.1 only, on a free port, serves the files of one folder, and is
stopped when its ``with`` block ends; nothing leaves the machine.
"""
import functools
import http.server
import os
import threading
from contextlib import contextmanager
from typing import Iterator

import torch


class RunsCodeWhenUnpickled:
    """Unpickling this creates the folder ``marker``: proof that the pickle ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker, ))


def write_payload_checkpoint(path: str, marker: str) -> str:
    """A torch.save file that looks like a checkpoint and carries the payload."""
    torch.save({'state_dict': {}, 'payload': RunsCodeWhenUnpickled(marker)}, path)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(folder: str) -> Iterator[str]:
    """Serves ``folder`` at ``http://127.0.0.1:PORT``; yields that base URL."""
    handler = functools.partial(_QuietHandler, directory=folder)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
