"""An output file that appears only when complete: written under a temporary name, then renamed.

Readers of ``path`` never see a half-written file: data goes to a hidden sibling
(same directory, so the final :func:`os.replace` is atomic) until :meth:`commit`.
:meth:`discard` removes the temporary file instead.
"""
import os
import tempfile


class AtomicOutput:
    """Temporary sibling of ``path``, keeping its extension (video writers pick the container by it).

    Raises:
        FileNotFoundError: the directory of ``path`` does not exist.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        directory, name = os.path.split(self.path)
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"output directory '{directory}' does not exist; create it first")
        stem, ext = os.path.splitext(name)
        handle, self.temp_path = tempfile.mkstemp(prefix=f'.{stem}.', suffix=f'.partial{ext}', dir=directory)
        os.close(handle)
        self.committed = False

    def commit(self) -> str:
        """Moves the temporary file to ``path`` (replacing it); returns ``path``."""
        # mkstemp creates the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.temp_path, 0o666 & ~umask)
        os.replace(self.temp_path, self.path)
        self.committed = True
        return self.path

    def discard(self) -> None:
        if not self.committed and os.path.exists(self.temp_path):
            os.remove(self.temp_path)
