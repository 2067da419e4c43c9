"""Command-line plumbing shared by ``tools/train.py`` and ``tools/test.py``: arguments, and
user errors turned into one line and exit status 1."""
import argparse
import os
import sys
from contextlib import contextmanager
from typing import Iterator, Tuple, Type

from mmengine.config import DictAction

from mamba_vod.compat import CheckpointError
from .run_config import LAUNCHERS

# What a user can get wrong while a run is set up (config, checkpoint, paths) ...
SETUP_ERRORS = (OSError, ValueError, KeyError, CheckpointError)
# ... and while it runs (a file that vanished, a checkpoint that cannot be read); other errors
# during a run are bugs and keep their traceback.
RUN_ERRORS = (OSError, CheckpointError)
EXIT_USER_ERROR = 1


def add_run_arguments(parser: argparse.ArgumentParser, cfg_options_example: str) -> None:
    """Adds ``--cfg-options``, ``--launcher`` and the launcher's hidden ``--local-rank``."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help=f'override config entries, e.g. {cfg_options_example}')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0, help=argparse.SUPPRESS)


def parse_run_arguments(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parses ``argv``; a ``--local-rank`` from an old-style launcher becomes ``LOCAL_RANK``."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def error_line(error: BaseException) -> str:
    """``error: <message>`` on one line (a KeyError's message without its quotes)."""
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return 'error: ' + ' '.join(str(message).split())


@contextmanager
def user_errors(errors: Tuple[Type[BaseException], ...] = SETUP_ERRORS) -> Iterator[None]:
    """Inside the block, an error of ``errors`` is printed as one line on stderr and ends the
    program with status 1 (``SystemExit``) instead of a traceback."""
    try:
        yield
    except errors as error:
        print(error_line(error), file=sys.stderr, flush=True)
        raise SystemExit(EXIT_USER_ERROR) from None
