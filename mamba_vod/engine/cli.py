"""Command-line arguments shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os

from mmengine.config import DictAction

from .run_config import LAUNCHERS


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
