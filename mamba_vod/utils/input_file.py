"""Inputs that must be files: an error that says what the path is instead (missing, a folder).

A checkpoint, a config or a json given as a folder is not "missing": the message says it is a
directory, so the user looks inside it rather than at the spelling of its name.
"""
import os
from typing import Type


def check_input_file(path: str, what: str, hint: str, *, missing: Type[OSError] = FileNotFoundError) -> None:
    """Raises an OSError naming ``path`` as ``what`` (e.g. ``"config file"``) and ending with
    ``hint`` (what to do) unless ``path`` (``~`` expanded) is a file.

    Raises:
        missing: nothing is at ``path`` (``FileNotFoundError`` or a subclass).
        IsADirectoryError: ``path`` is a directory.
        OSError: ``path`` is something else (a socket, a device).
    """
    expanded = os.path.expanduser(path)
    if os.path.isfile(expanded):
        return
    if os.path.isdir(expanded):
        raise IsADirectoryError(f"{what} '{path}' is a directory, not a file; {hint}")
    if os.path.exists(expanded):
        raise OSError(f"{what} '{path}' is not a regular file; {hint}")
    raise missing(f"{what} '{path}' does not exist; {hint}")
