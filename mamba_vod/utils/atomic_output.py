"""Outputs that appear whole or not at all: written under a temporary name, then renamed.

This module is the one owner of that rule; every tool and writer of mamba_vod calls it.

- :class:`AtomicOutput`: a hidden temporary sibling of ``path`` (same folder, so the final
  :func:`os.replace` is atomic) that becomes ``path`` on :meth:`~AtomicOutput.commit` or
  disappears on :meth:`~AtomicOutput.discard`; a file, or a folder (``directory=True``). As a
  ``with`` block it commits when the block ends normally and discards when it raises (Ctrl-C
  included). Readers of ``path`` see the old content or the new one, never a part.
- :func:`atomic_open`: a file object on such a temporary file, for a ``with`` block.
- :func:`atomic_write`: ``write(binary_file)`` into ``path``, atomically.
- :func:`commit_together`: several outputs appear together or not at all; when a rename fails
  part way, the ones already renamed are rolled back (the files they replaced are restored).
- :func:`write_together`: several files, each written by a callable, through :func:`commit_together`.
- :func:`check_output_path`: refuses, before any work, an output whose folder cannot be written.
"""
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from typing import BinaryIO, Callable, Dict, Iterator, Optional, Sequence


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sibling(path: str, tag: str) -> str:
    """An unused hidden name in the folder of ``path``."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f'.{name}.{uuid.uuid4().hex[:8]}.{tag}')


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def _replace_folder(temp_path: str, path: str) -> None:
    """Moves the folder ``temp_path`` to ``path``; an existing folder there is replaced
    (kept under a backup name until the new one is in place, and restored if that fails)."""
    if not os.path.lexists(path):
        os.replace(temp_path, path)
        return
    backup = _sibling(path, 'old')
    os.replace(path, backup)
    try:
        os.replace(temp_path, path)
    except BaseException:
        os.replace(backup, path)
        raise
    _remove(backup)


class AtomicOutput:
    """A temporary sibling of ``path`` that becomes ``path`` on :meth:`commit`.

    A file keeps the extension of ``path`` (video writers pick the container by it).

    Args:
        path: the output file or folder.
        directory: the output is a folder (``temp_path`` is an empty folder).
        make_dirs: create missing parent folders; else a missing folder is an error.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist (and ``make_dirs`` is False).
    """

    def __init__(self, path: str, *, directory: bool = False, make_dirs: bool = False) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        self.directory = directory
        folder, name = os.path.split(self.path)
        if make_dirs:
            os.makedirs(folder, exist_ok=True)
        elif not os.path.isdir(folder):
            raise FileNotFoundError(f"output directory '{folder}' does not exist; create it first")
        stem, ext = os.path.splitext(name)
        if directory:
            self.temp_path = tempfile.mkdtemp(prefix=f'.{name}.', suffix='.partial', dir=folder)
        else:
            handle, self.temp_path = tempfile.mkstemp(prefix=f'.{stem}.', suffix=f'.partial{ext}', dir=folder)
            os.close(handle)
        self.committed = False

    def commit(self) -> str:
        """Moves the temporary file or folder to ``path`` (replacing it); returns ``path``."""
        # mkstemp/mkdtemp create private entries (0600/0700); give them what open()/mkdir() would.
        os.chmod(self.temp_path, (0o777 if self.directory else 0o666) & ~_umask())
        if self.directory:
            _replace_folder(self.temp_path, self.path)
        else:
            os.replace(self.temp_path, self.path)
        self.committed = True
        return self.path

    def discard(self) -> None:
        """Removes the temporary file or folder (nothing happens after :meth:`commit`)."""
        if not self.committed:
            _remove(self.temp_path)

    def __enter__(self) -> 'AtomicOutput':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


@contextmanager
def atomic_open(path: str, mode: str = 'w', *, encoding: Optional[str] = None,
                make_dirs: bool = True) -> Iterator:
    """``with atomic_open(path, 'w') as f:`` writes ``path`` atomically ('w' text or 'wb' binary).

    Missing parent folders are created (as the tools' ``--out`` options expect); the file
    appears when the block ends normally, and nothing is left when it raises.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    if mode == 'w' and encoding is None:
        encoding = 'utf-8'
    with AtomicOutput(path, make_dirs=make_dirs) as output:
        with open(output.temp_path, mode, encoding=encoding) as file:
            yield file


def atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Calls ``write(file)`` on a binary file that becomes ``path`` when it returns."""
    with atomic_open(path, 'wb') as file:
        write(file)


def _backup(path: str) -> Optional[str]:
    """A copy of the file at ``path`` under a hidden sibling name (a hard link where the file
    system allows one), or None when there is no file there."""
    if not os.path.isfile(path):
        return None
    backup = _sibling(path, 'old')
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)
    return backup


def _roll_back(output: AtomicOutput, backup: Optional[str]) -> None:
    """Undoes ``output.commit()``: restores the file it replaced, or removes the new one."""
    if output.committed:
        if backup is not None:
            os.replace(backup, output.path)
            return
        os.remove(output.path)
    if backup is not None:
        os.remove(backup)


def commit_together(outputs: Sequence[AtomicOutput]) -> None:
    """Commits every output or none.

    Each file an output replaces is kept under a backup name until every rename succeeded.
    If one fails (or Ctrl-C comes in between), the outputs already committed are rolled back,
    every temporary file is removed, and the error is raised.
    """
    done = []
    try:
        for output in outputs:
            done.append((output, _backup(output.path)))
            output.commit()
    except BaseException:
        for output, backup in reversed(done):
            _roll_back(output, backup)
        for output in outputs:
            output.discard()
        raise
    for _, backup in done:
        if backup is not None:
            os.remove(backup)


def write_together(writers: Dict[str, Callable[[BinaryIO], None]], *, make_dirs: bool = True) -> None:
    """Calls ``write(binary_file)`` for each ``path: write`` of ``writers``; the files appear
    together when every write returned (:func:`commit_together`), or none of them."""
    outputs = []
    try:
        for path, write in writers.items():
            outputs.append(AtomicOutput(path, make_dirs=make_dirs))
            with open(outputs[-1].temp_path, 'wb') as file:
                write(file)
    except BaseException:
        for output in outputs:
            output.discard()
        raise
    commit_together(outputs)


def check_output_path(path: str, what: str = 'output') -> None:
    """Raises an OSError naming ``path`` when it cannot be written: it is a folder, or the
    nearest existing folder above it is a file or is not writable. Missing folders are fine
    (the writers create them)."""
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what} '{path}' is a folder; give a file name")
    existing = os.path.dirname(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(f"cannot write {what} '{path}': '{existing}' is a file, not a folder; "
                                 'choose another path')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {what} '{path}': the folder '{existing}' is not writable; "
                              'choose another path')
