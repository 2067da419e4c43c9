"""The loop of ``demo/multi_stream_demo.py``: several sources through one MultiStreamDetector.

sources -> a latest-frame reader thread each -> MultiStreamDetector.step on the frames that are
ready -> per stream: drawing -> annotated video and JSON lines -> (optionally) a tiled preview
window; a console line of per-stream fps every few seconds, a summary at the end.

A step never waits for a slow source: it takes the newest frame of every stream that has one and
waits (briefly, for any of them) only when none has. A live source that stops giving frames
reconnects with back-off in its own thread (:class:`FrameSource`) while the others run on; a
source that ends, is lost or raises closes its stream (its outputs are finalised at once, its
memory freed) and the others go on. The loop ends when every stream has ended (or reached
``max_frames``), on q/Esc in the window, or on Ctrl-C/SIGTERM; every output is finalised
however it ends (written under a temporary name and renamed: whole files only). Before a run,
the outputs an earlier run left in the folder that this run would not replace (more streams,
temporary files of a killed run) are removed, with one line that names them.
"""
import logging
import os
import re
import sys
import threading
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy as np
from mmdet.structures import DetDataSample
from mmengine.logging import print_log

from .detection_drawer import DetectionDrawer
from .frame_source import FrameSource
from .json_lines_writer import JsonLinesWriter, detections_record
from .latest_frame_reader import LatestFrameReader
from .preview_window import PreviewWindow, tile_frames
from .stop_signals import StopSignals
from .stream_demo import DEFAULT_FPS, EXIT_SOURCE_FAILED
from .stream_stats import StreamStats
from .video_file_writer import VideoFileWriter

if TYPE_CHECKING:  # the application builds on the library API, which imports FrameSource from here
    from mamba_vod.apis import MultiStreamDetector

# how a stream's source ended when it counts as a failure (the exit status is then EXIT_SOURCE_FAILED)
FAILED_ENDS = ('lost', 'decode_failed', 'error')


def stream_output_paths(out_dir: str, index: int) -> tuple:
    """``(out_dir/stream_<index>.mp4, out_dir/stream_<index>.jsonl)``: the outputs of stream ``index``."""
    return tuple(os.path.join(out_dir, f'stream_{index}{extension}') for extension in ('.mp4', '.jsonl'))


def clear_old_outputs(out_dir: str, streams: int) -> List[str]:
    """Removes from ``out_dir`` what an earlier run left that a run of ``streams`` streams would
    not replace: the outputs of streams ``streams`` and above, and the temporary files of a run
    that was killed (``.stream_<i>.*.partial*``, see :class:`~mamba_vod.utils.AtomicOutput`);
    says so in one line. Returns the names removed."""
    stale = re.compile(r'stream_(\d+)\.(mp4|jsonl)$')
    partial = re.compile(r'\.stream_\d+\..+\.partial(\.\w+)?$')
    removed = []
    for name in sorted(os.listdir(out_dir)):
        found = stale.fullmatch(name)
        if (found and int(found[1]) >= streams) or partial.fullmatch(name):
            os.remove(os.path.join(out_dir, name))
            removed.append(name)
    if removed:
        print(f"removed {len(removed)} file(s) an earlier run left in '{out_dir}': {', '.join(removed)}", flush=True)
    return removed


class DemoStream:
    """One source of the multi-stream demo: its reader thread, outputs, statistics and end.

    Args:
        index: the stream id (the source's position on the command line).
        source: an opened or unopened :class:`FrameSource`.
        out_dir: the folder of its outputs (see :func:`stream_output_paths`).
        every_frame: hand out every frame of a file, unpaced (live sources always drop stale frames);
            else a file is replayed at its own fps, like a camera.
        ready: the event its reader sets when a frame arrives or the source ends.
    """

    def __init__(self, index: int, source: FrameSource, out_dir: str, *, every_frame: bool,
                 ready: threading.Event) -> None:
        self.index = index
        self.source = source
        self.paths = stream_output_paths(out_dir, index)
        whole_file = every_frame and not source.is_live
        pace = None if whole_file or source.is_live else source.fps
        self.reader = LatestFrameReader(source, pace_fps=pace, drop=not whole_file, ready=ready)
        self.video_length = source.frame_count if whole_file else None
        self.stats = StreamStats()
        self.video: Optional[VideoFileWriter] = None
        self.json_lines: Optional[JsonLinesWriter] = None
        self.end_reason: Optional[str] = None
        self.error: Optional[str] = None
        self.last_annotated: Optional[np.ndarray] = None

    @property
    def name(self) -> str:
        return f'stream {self.index} ({self.source.name})'

    def start(self, stack: ExitStack) -> None:
        """Opens the outputs and starts the reader; ``stack`` finalises them whatever happens."""
        self.source.open()
        stack.callback(self.source.close)  # after the reader thread has ended (the stack unwinds in reverse)
        self.video = stack.enter_context(VideoFileWriter(self.paths[0], self.source.fps or DEFAULT_FPS))
        self.json_lines = stack.enter_context(JsonLinesWriter(self.paths[1]))
        stack.enter_context(self.reader)
        self.stats.start()

    def take(self) -> Optional[np.ndarray]:
        """The newest untaken frame, or None (none ready yet, or the stream ended now or before)."""
        if self.end_reason is not None:
            return None
        try:
            frame = self.reader.get(timeout=0)
        except Exception as error:  # the source raised in the reader thread: only this stream ends
            self.error = f'{type(error).__name__}: {error}'
            print_log(f'{self.name} raised {self.error}; it is closed, the other streams go on', logger='current',
                      level=logging.WARNING)
            self.finish('error')
            return None
        if frame is None and self.reader.finished:
            self.finish(self.source.end_reason or 'end')
        return frame

    def record(self, frame: np.ndarray, result: DetDataSample, latency_s: float, drawer: DetectionDrawer) -> None:
        """Counts the frame, draws it, writes it to the video and a line to the JSON lines."""
        self.stats.record(latency_s)
        self.last_annotated = drawer.draw(frame, result, fps=self.stats.current_fps)
        self.video.write(self.last_annotated)
        self.json_lines.write(detections_record(self.reader.last_index, result, drawer.class_names,
                                                drawer.score_thr))

    def finish(self, reason: str) -> None:
        """Ends the stream: the reader is asked to stop and the outputs are finalised now."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        self.reader.request_stop()
        for output in (self.video, self.json_lines):
            if output is not None:
                output.close()

    @property
    def failed(self) -> bool:
        return self.end_reason in FAILED_ENDS

    def summary(self) -> str:
        """The stream's figures, what it wrote and how it ended."""
        counts = dict(dropped=self.reader.dropped, bad_frames=self.source.bad_frames,
                      reconnects=self.source.reconnects)
        wrote = (f'wrote {self.video.frames} frames to {self.video.path}' if self.video.frames else
                 f'no frame processed: {self.video.path} not written')
        return (f'{self.name}: {self.stats.format_summary(**counts)}  ended: {self.end_reason}\n  {wrote}; '
                f'{self.json_lines.lines} lines to {self.json_lines.path}')


class MultiStreamDemo:
    """Runs ``detector`` over ``sources``, one stream (memory, outputs) per source.

    Args:
        detector: the :class:`~mamba_vod.apis.MultiStreamDetector` (stream ids are the sources'
            indices; each stream is closed when its source ends).
        sources: opened or unopened :class:`FrameSource` objects.
        out_dir: an existing folder; stream i writes ``stream_<i>.mp4`` and ``stream_<i>.jsonl``.
        score_thr: detections below it are neither drawn nor written.
        show: a preview window with the annotated frames tiled in a grid (ignored without a display).
        max_frames: each stream ends after this many processed frames.
        every_frame: process every frame of file sources (see :class:`DemoStream`).
        report_every_s: seconds between the console lines of per-stream fps.
        wait_s: the longest wait for a frame when no stream has one ready.
    """

    def __init__(self, detector: 'MultiStreamDetector', sources: Sequence[FrameSource], out_dir: str, *,
                 score_thr: float = 0.3, show: bool = False, max_frames: Optional[int] = None,
                 every_frame: bool = False, report_every_s: float = 5.0, wait_s: float = 0.1) -> None:
        self.detector = detector
        self.drawer = DetectionDrawer(detector.class_names, score_thr=score_thr)
        self._ready = threading.Event()
        self.streams = [DemoStream(index, source, out_dir, every_frame=every_frame, ready=self._ready)
                        for index, source in enumerate(sources)]
        self.show = show
        self.max_frames = max_frames
        self.report_every_s = report_every_s
        self.wait_s = wait_s
        self.steps = 0
        self._start = self._last_report = 0.0
        self._reported_frames: Dict[int, int] = {}

    @property
    def running(self) -> List[DemoStream]:
        return [stream for stream in self.streams if stream.end_reason is None]

    def run(self) -> int:
        """Processes the streams until they end or a stop; returns the exit status (0, or
        EXIT_SOURCE_FAILED when a source was lost, stopped decoding or raised)."""
        window = PreviewWindow(f'mamba_vod: {len(self.streams)} streams') if self.show else None
        with StopSignals(on_request=self._stop_reading) as stop, ExitStack() as stack:
            for stream in self.streams:
                stream.start(stack)
            self._start = self._last_report = time.perf_counter()
            while self.running and not stop.requested:
                frames = self._ready_frames()
                if frames:
                    self._step(frames)
                    self._report_fps()
                self._forget_ended()
                if frames and window is not None and window.enabled and not window.show(self._grid()):
                    break  # q or Esc in the window
            for stream in self.streams:
                stream.finish('stopped')
        if window is not None:
            window.close()
        return self._report()

    def _stop_reading(self) -> None:
        """Wakes every reader (a stalled or reconnecting source too) and the wait for frames."""
        for stream in self.streams:
            stream.reader.request_stop()
        self._ready.set()

    def _ready_frames(self) -> Dict[int, np.ndarray]:
        """``{index: frame}`` of the streams with a frame ready; waits up to ``wait_s`` for any
        when none has one (then returns what is ready, perhaps nothing)."""
        self._ready.clear()  # before looking, so that a frame arriving after the look ends the wait
        frames = {stream.index: frame for stream in self.running if (frame := stream.take()) is not None}
        if not frames and self.running:
            self._ready.wait(self.wait_s)
        return frames

    def _step(self, frames: Dict[int, np.ndarray]) -> None:
        """One detector step over ``frames``; each stream records its result."""
        lengths = {index: self.streams[index].video_length for index in frames}
        start = time.perf_counter()
        results = self.detector.step(frames, lengths)
        latency = time.perf_counter() - start
        self.steps += 1
        for index, result in results.items():
            stream = self.streams[index]
            stream.record(frames[index], result, latency, self.drawer)
            if self.max_frames and stream.stats.frames >= self.max_frames:
                stream.finish('max_frames')

    def _forget_ended(self) -> None:
        """Closes the detector's streams whose sources ended (their memories are freed)."""
        for stream in self.streams:
            if stream.end_reason is not None and stream.index in self.detector.streams:
                self.detector.close(stream.index)

    def _grid(self) -> np.ndarray:
        """The last annotated frame of every stream that has one, tiled."""
        frames = [stream.last_annotated for stream in self.streams if stream.last_annotated is not None]
        return tile_frames(frames)

    def _report_fps(self) -> None:
        """Every ``report_every_s``: a line with each stream's fps since the last line, and all of them."""
        now = time.perf_counter()
        if now - self._last_report < self.report_every_s:
            return
        span = max(now - self._last_report, 1e-9)
        parts, total = [], 0
        for stream in self.streams:
            new = stream.stats.frames - self._reported_frames.get(stream.index, 0)
            self._reported_frames[stream.index] = stream.stats.frames
            total += new
            parts.append(f'{stream.index}: {new / span:.1f}' + ('' if stream.end_reason is None else ' (ended)'))
        print(f"fps  {'  '.join(parts)}  all: {total / span:.1f}", flush=True)
        self._last_report = now

    def _report(self) -> int:
        frames = sum(stream.stats.frames for stream in self.streams)
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        for stream in self.streams:
            print(stream.summary(), flush=True)
        print(f'all streams: frames: {frames}  steps: {self.steps}  mean fps: {frames / elapsed:.2f}  '
              f'frames per step: {frames / max(self.steps, 1):.2f}', flush=True)
        failed = [stream for stream in self.streams if stream.failed]
        for stream in failed:
            detail = f': {stream.error}' if stream.error else ''
            print(f'error: {stream.name} failed mid-stream ({stream.end_reason}{detail}); its outputs hold the '
                  f'{stream.stats.frames} frames processed before', file=sys.stderr, flush=True)
        return EXIT_SOURCE_FAILED if failed else 0
