"""Command-line plumbing shared by the demo scripts: common arguments, errors -> exit status.

Exit status: 0 done (including a stop by Ctrl-C/SIGTERM, q/Esc or --max-frames);
1 bad input (missing/unreadable/empty video, camera or URL that does not open,
bad config or checkpoint, an output that is the input or another output); 3 the
source failed mid-stream (outputs hold what was processed); 130 a second Ctrl-C
(outputs still finalised).
"""
import argparse
import os
import sys
import warnings
from typing import Optional

from mamba_vod.apis import StreamingDetector

from .frame_source import FrameSource, SourceError
from .stream_demo import StreamDemo
from .video_file_writer import FOURCC_BY_EXTENSION

EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 130


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG, --checkpoint, --device, --score-thr, --cfg-options, --allow-partial."""
    parser.add_argument('config', help='config file, e.g. configs/synthetic/mamba_r18-dc5_synthetic.py')
    parser.add_argument('--checkpoint', help='weights; without it the model has random weights (a warning)')
    parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--score-thr', type=float, default=0.3, help='lowest score drawn and written')
    parser.add_argument('--cfg-options', nargs='+', default=None, metavar='KEY=VALUE',
                        help='config overrides, e.g. model.test_cfg.rcnn.max_per_img=50')
    parser.add_argument('--allow-partial', action='store_true',
                        help='use a checkpoint that leaves parts of the model untrained (refused by default)')


def parse_cfg_options(pairs: Optional[list]) -> Optional[dict]:
    if not pairs:
        return None
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, pairs)
    return namespace.cfg_options


def fail(message: str) -> int:
    print(f'error: {message}', file=sys.stderr, flush=True)
    return EXIT_BAD_INPUT


def _same_file(first: str, second: str) -> bool:
    """Whether two paths name one file (after ~, links and relative parts are resolved)."""
    first, second = (os.path.realpath(os.path.expanduser(path)) for path in (first, second))
    if first == second:
        return True
    return os.path.exists(first) and os.path.exists(second) and os.path.samefile(first, second)


def check_outputs(source: FrameSource, out: Optional[str], json_out: Optional[str]) -> None:
    """Raises ValueError for an output whose directory is missing, whose video extension is
    unknown, that is the input file, or that is the other output."""
    outputs = [(flag, path) for flag, path in (('--out', out), ('--json', json_out)) if path]
    for flag, path in outputs:
        directory = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
        if not os.path.isdir(directory):
            raise ValueError(f"the directory of the output '{path}' does not exist; create it first")
        if source.kind == 'file' and _same_file(path, source.target):
            raise ValueError(f"{flag} '{path}' is the input video: writing it would destroy the input; "
                             'choose another output path')
    if len(outputs) == 2 and _same_file(out, json_out):
        raise ValueError(f"--out and --json name the same file '{out}': one output would overwrite the "
                         'other; give them different paths')
    if out and os.path.splitext(out)[1].lower() not in FOURCC_BY_EXTENSION:
        raise ValueError(f"cannot write video '{out}': use one of the extensions {sorted(FOURCC_BY_EXTENSION)}")


def run_demo(args: argparse.Namespace, source: FrameSource, **demo_options) -> int:
    """Opens ``source``, builds the detector from ``args``, runs :class:`StreamDemo`; the exit status."""
    try:
        check_outputs(source, demo_options.get('out'), demo_options.get('json_out'))
        source.open()
    except (OSError, SourceError, ValueError) as error:
        return fail(str(error))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings('once', message='no checkpoint given')
            detector = StreamingDetector(args.config, args.checkpoint, device=args.device,
                                         cfg_options=parse_cfg_options(args.cfg_options),
                                         allow_partial=args.allow_partial)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        source.close()
        return fail(f'cannot build the detector: {error}')
    try:
        return StreamDemo(detector, source, score_thr=args.score_thr, **demo_options).run()
    except KeyboardInterrupt:
        print('interrupted; the outputs written so far are finalised', file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
