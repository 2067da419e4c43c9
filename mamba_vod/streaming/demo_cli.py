"""Command-line plumbing shared by the demo scripts: common arguments, errors -> exit status.

Exit status: 0 done (including a stop by Ctrl-C/SIGTERM, q/Esc or --max-frames);
1 bad input (missing/unreadable/empty video, camera or URL that does not open,
bad config or checkpoint, an output that is the input or another output); 3 the
source (with several sources: one of them) failed mid-stream (outputs hold what was
processed); 130 a second Ctrl-C (outputs still finalised).
"""
import argparse
import os
import sys
import warnings
from typing import Callable, Optional, Sequence, Tuple

from mamba_vod.apis import MultiStreamDetector, StreamingDetector
from mamba_vod.utils import check_output_path

from .frame_source import FrameSource, SourceError
from .multi_stream_demo import MultiStreamDemo, clear_old_outputs, stream_output_paths
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


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """--retries, --retry-delay, --timeout: how a live source (camera, URL) reconnects."""
    parser.add_argument('--retries', type=int, default=5, help='reconnection attempts after a lost connection')
    parser.add_argument('--retry-delay', type=float, default=0.5,
                        help='first back-off delay in seconds (doubles per attempt, at most 8 s)')
    parser.add_argument('--timeout', type=float, default=10.0, help='network open/read timeout in seconds')


def make_source(value: str, args: argparse.Namespace) -> FrameSource:
    """The :class:`FrameSource` of a camera index, URL or file, with the arguments of
    :func:`add_source_arguments`."""
    return FrameSource(value, retries=args.retries, retry_delay_s=args.retry_delay, timeout_s=args.timeout)


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


def check_not_inputs(sources: Sequence[FrameSource], outputs: Sequence[Tuple[str, str]]) -> None:
    """Raises ValueError for an output ``(flag, path)`` that is the file of one of ``sources``."""
    for flag, path in outputs:
        if any(source.kind == 'file' and _same_file(path, source.target) for source in sources):
            raise ValueError(f"{flag} '{path}' is the input video: writing it would destroy the input; "
                             'choose another output path')


def check_outputs(source: FrameSource, out: Optional[str], json_out: Optional[str]) -> None:
    """Raises ValueError for an output whose directory is missing, whose video extension is
    unknown, that is the input file, or that is the other output."""
    outputs = [(flag, path) for flag, path in (('--out', out), ('--json', json_out)) if path]
    for _, path in outputs:
        directory = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
        if not os.path.isdir(directory):
            raise ValueError(f"the directory of the output '{path}' does not exist; create it first")
    check_not_inputs([source], outputs)
    if len(outputs) == 2 and _same_file(out, json_out):
        raise ValueError(f"--out and --json name the same file '{out}': one output would overwrite the "
                         'other; give them different paths')
    if out and os.path.splitext(out)[1].lower() not in FOURCC_BY_EXTENSION:
        raise ValueError(f"cannot write video '{out}': use one of the extensions {sorted(FOURCC_BY_EXTENSION)}")


def check_out_dir(sources: Sequence[FrameSource], out_dir: str) -> None:
    """Raises ValueError (OSError) for an ``--out-dir`` that cannot hold the streams' outputs: a
    file, a folder that cannot be written or created, or one whose outputs would be input files."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"--out-dir '{out_dir}' is a file; give a folder (it is created if missing)")
    check_output_path(os.path.join(out_dir, 'stream_0.mp4'), 'the outputs of --out-dir')
    outputs = [('--out-dir', path) for index in range(len(sources)) for path in stream_output_paths(out_dir, index)]
    check_not_inputs(sources, outputs)


def build_detector(args: argparse.Namespace, detector_class: type = StreamingDetector, **options):
    """``detector_class`` built from the model arguments (see :func:`add_model_arguments`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings('once', message='no checkpoint given')
        return detector_class(args.config, args.checkpoint, device=args.device,
                              cfg_options=parse_cfg_options(args.cfg_options), allow_partial=args.allow_partial,
                              **options)


def run_checked(sources: Sequence[FrameSource], check_and_open: Callable[[], None],
                build: Callable[[], object], run: Callable[[object], int]) -> int:
    """The exit status of a demo: ``check_and_open()`` (outputs, sources), ``build()`` (the
    detector), then ``run(detector)``; a user error is one line and status 1, and the sources
    are closed."""
    try:
        check_and_open()
    except (OSError, SourceError, ValueError) as error:
        for source in sources:
            source.close()
        return fail(str(error))
    try:
        detector = build()
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        for source in sources:
            source.close()
        return fail(f'cannot build the detector: {error}')
    try:
        return run(detector)
    except KeyboardInterrupt:
        print('interrupted; the outputs written so far are finalised', file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


def run_demo(args: argparse.Namespace, source: FrameSource, **demo_options) -> int:
    """Opens ``source``, builds the detector from ``args``, runs :class:`StreamDemo`; the exit status."""

    def check_and_open() -> None:
        check_outputs(source, demo_options.get('out'), demo_options.get('json_out'))
        source.open()

    return run_checked([source], check_and_open, lambda: build_detector(args),
                       lambda detector: StreamDemo(detector, source, score_thr=args.score_thr, **demo_options).run())


def run_multi_demo(args: argparse.Namespace, sources: Sequence[FrameSource], out_dir: str, **demo_options) -> int:
    """Opens every source, builds a :class:`MultiStreamDetector` from ``args`` (``args.max_batch``),
    creates ``out_dir`` and runs :class:`MultiStreamDemo`; the exit status."""
    out_dir = os.path.expanduser(out_dir)

    def check_and_open() -> None:
        check_out_dir(sources, out_dir)
        for source in sources:
            source.open()

    def run(detector) -> int:
        os.makedirs(out_dir, exist_ok=True)
        clear_old_outputs(out_dir, len(sources))
        return MultiStreamDemo(detector, sources, out_dir, score_thr=args.score_thr, **demo_options).run()

    return run_checked(sources, check_and_open,
                       lambda: build_detector(args, MultiStreamDetector, max_batch=args.max_batch), run)
