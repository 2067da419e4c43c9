"""Detect objects in several cameras, streams or files at once with one model.

    python demo/multi_stream_demo.py SRC [SRC ...] CONFIG [--checkpoint C] --out-dir D
        [--max-batch N] [--score-thr T] [--device D] [--show] [--max-frames N] [--every-frame]
        [--retries N] [--allow-partial]

Each SRC is a camera index, an rtsp:// or http:// URL or a video file; source i gets its own
stream (its own memory) and writes D/stream_<i>.mp4 (annotated) and D/stream_<i>.jsonl (one
line per processed frame; "frame" is the frame's number in its source). Every step detects, as
one batch, the newest frame of each source that has one ready: a slow source is never waited for
and its stale frames are dropped (a file is replayed at its own fps, like a camera; --every-frame
processes every frame of a file instead). A lost connection is retried with back-off while the
other streams run on; a source that ends or fails closes its stream (its outputs are finalised)
and the others go on. The demo ends when every source has ended, when every stream has processed
--max-frames frames, on q/Esc in the --show window (the streams tiled), or on Ctrl-C / SIGTERM;
every output is then a complete file. A line of per-stream fps is printed every few seconds.
Exit status: see mamba_vod/streaming/demo_cli.py (0 ok, 1 bad input, 3 a source failed mid-stream).
"""
import argparse
import sys

from mamba_vod.streaming.demo_cli import (add_model_arguments, add_source_arguments, fail, make_source,
                                          run_multi_demo)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('sources', nargs='+', metavar='SRC', help='camera index, rtsp:// or http:// URL, or file')
    add_model_arguments(parser)
    parser.add_argument('--out-dir', required=True, help='folder of stream_<i>.mp4 and stream_<i>.jsonl (created)')
    parser.add_argument('--max-batch', type=int, default=None, help='the most frames in one forward pass')
    parser.add_argument('--show', action='store_true', help='show the streams tiled in a window (needs a display)')
    parser.add_argument('--max-frames', type=int, default=None, help='stop each stream after this many frames')
    parser.add_argument('--every-frame', action='store_true',
                        help='process every frame of file sources, unpaced (live sources still drop stale frames)')
    parser.add_argument('--report-every', type=float, default=5.0, help='seconds between the fps lines')
    add_source_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for flag, value in (('--max-frames', args.max_frames), ('--max-batch', args.max_batch)):
        if value is not None and value < 1:
            return fail(f'{flag} must be at least 1, got {value}')
    sources = [make_source(value, args) for value in args.sources]
    return run_multi_demo(args, sources, args.out_dir, show=args.show, max_frames=args.max_frames,
                          every_frame=args.every_frame, report_every_s=args.report_every)


if __name__ == '__main__':
    sys.exit(main())
