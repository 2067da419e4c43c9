"""Import the scripts under ``tools/`` as modules (they are not a package)."""
import importlib.util
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


def _load(relative: str):
    """The module of ``tools/<relative>``, registered under its file stem.

    Registering it in ``sys.modules`` lets worker processes unpickle its
    functions; the scripts put their own folder on ``sys.path`` for their
    helper modules.
    """
    path = TOOLS / relative
    name = path.stem
    module = sys.modules.get(name)
    if module is not None and Path(module.__file__) == path:
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool('misc/make_synthetic_vid.py')`` -> the script's module."""
    return _load


@pytest.fixture
def user_error(capsys):
    """``user_error(tool.main, argv)`` runs a tool, asserts that it ends with exit status 1 and an
    ``error:`` line on stderr (no traceback), and returns that line."""

    def run(main, argv) -> str:
        with pytest.raises(SystemExit) as exit_status:
            main(argv)
        assert exit_status.value.code == 1
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert err and err[-1].startswith('error: ') and not any('Traceback' in line for line in err)
        return err[-1]

    return run
