"""Detect objects in a video file and write the annotated video (and optionally JSON lines).

    python demo/video_demo.py INPUT CONFIG [--checkpoint C] --out OUT.mp4 [--json OUT.jsonl]
        [--score-thr T] [--device D] [--show] [--allow-partial]

The video is processed frame by frame in order, with the detector's memory
carried from frame to frame (the online protocol). The output has the input's
fps and frame size. A frame that fails to decode is skipped with a warning; if
decoding stops for good, or on Ctrl-C / SIGTERM, the outputs hold the frames
processed so far and are still complete files. Exit status: see
mamba_vod/streaming/demo_cli.py (0 ok, 1 bad input, 3 decoding failed mid-video).
"""
import argparse
import sys

from mamba_vod.streaming import FrameSource
from mamba_vod.streaming.demo_cli import add_model_arguments, run_demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', help='input video file')
    add_model_arguments(parser)
    parser.add_argument('--out', required=True, help='annotated video to write (.mp4, .avi, ...)')
    parser.add_argument('--json', help='JSON lines file: one line per frame with boxes, scores, labels')
    parser.add_argument('--show', action='store_true', help='show the frames in a window (needs a display)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_demo(args, FrameSource(args.input, retries=0), out=args.out, json_out=args.json, show=args.show)


if __name__ == '__main__':
    sys.exit(main())
