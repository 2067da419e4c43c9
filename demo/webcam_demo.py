"""Detect objects live from a camera, an RTSP/HTTP stream or a file.

    python demo/webcam_demo.py CONFIG [--checkpoint C] --source 0|URL|FILE [--out OUT.mp4]
        [--no-show] [--max-frames N] [--retries N] [--allow-partial]

Frames are processed as they arrive; when the model is slower than the source,
stale frames are dropped (and counted) so the output stays current (a file
source is replayed at its own fps, like a camera). A lost connection is retried
with exponential back-off --retries times, then the demo ends with the recording
finalised (it holds the processed frames at the source's fps, so it plays faster than
real time where frames were dropped). --max-frames, q/Esc in the window, Ctrl-C and SIGTERM stop it
cleanly. Exit status: see mamba_vod/streaming/demo_cli.py (0 ok, 1 bad input,
3 source lost).
"""
import argparse
import sys

from mamba_vod.streaming.demo_cli import add_model_arguments, add_source_arguments, make_source, run_demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_model_arguments(parser)
    parser.add_argument('--source', default='0', help='camera index, rtsp:// or http:// URL, or video file')
    parser.add_argument('--out', help='record the annotated stream to this video file')
    parser.add_argument('--no-show', action='store_true', help='headless: no window')
    parser.add_argument('--max-frames', type=int, default=None, help='stop after this many processed frames')
    add_source_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        print('error: --max-frames must be at least 1', file=sys.stderr)
        return 1
    source = make_source(args.source, args)
    return run_demo(args, source, out=args.out, show=not args.no_show, live=True,
                    max_frames=args.max_frames, fps_overlay=True)


if __name__ == '__main__':
    sys.exit(main())
