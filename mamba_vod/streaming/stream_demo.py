"""The processing loop shared by ``demo/video_demo.py`` and ``demo/webcam_demo.py``.

source -> (optionally a latest-frame reader thread) -> StreamingDetector.step ->
drawing -> video file / JSON lines / window, with a progress bar, fps, and a
summary. Outputs are finalised however the loop ends: the source ends, is lost,
stops decoding, ``max_frames`` is reached, q/Esc in the window, Ctrl-C/SIGTERM.
"""
import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Optional

import numpy as np
from tqdm import tqdm

from .detection_drawer import DetectionDrawer
from .frame_source import FrameSource
from .json_lines_writer import JsonLinesWriter, detections_record
from .latest_frame_reader import LatestFrameReader
from .preview_window import PreviewWindow
from .stop_signals import StopSignals
from .stream_stats import StreamStats
from .video_file_writer import VideoFileWriter

if TYPE_CHECKING:  # the application builds on the library API, which imports FrameSource from here
    from mamba_vod.apis import StreamingDetector

# Exit status when the source failed mid-stream (lost after retries, or stopped decoding);
# whatever was processed is still written.
EXIT_SOURCE_FAILED = 3
DEFAULT_FPS = 25.0


class StreamDemo:
    """Runs ``detector`` over ``source`` and writes what it is asked to.

    Args:
        detector: the streaming detector (its memory is reset at the start).
        source: an opened or unopened :class:`FrameSource`.
        out: annotated video path (written with the source's fps and frame size).
        json_out: JSON lines path, one line per processed frame.
        score_thr: detections below it are neither drawn nor written.
        show: open a preview window (ignored without a display).
        live: read the source in a thread and process only the newest frame,
            dropping stale ones (a file is then replayed at its own fps).
        max_frames: stop after this many processed frames.
        fps_overlay: draw the current fps on the frames.
    """

    def __init__(self, detector: 'StreamingDetector', source: FrameSource, *, out: Optional[str] = None,
                 json_out: Optional[str] = None, score_thr: float = 0.3, show: bool = False,
                 live: bool = False, max_frames: Optional[int] = None, fps_overlay: bool = False) -> None:
        self.detector = detector
        self.source = source
        self.out = out
        self.json_out = json_out
        self.show = show
        self.live = live
        self.max_frames = max_frames
        self.fps_overlay = fps_overlay
        self.drawer = DetectionDrawer(detector.class_names, score_thr=score_thr)
        self.stats = StreamStats()
        self.reader: Optional[LatestFrameReader] = None
        self.video: Optional[VideoFileWriter] = None
        self.json_lines: Optional[JsonLinesWriter] = None

    def _frames(self, stack: ExitStack):
        if not self.live:
            return self.source
        pace = self.source.fps if not self.source.is_live else None
        self.reader = stack.enter_context(LatestFrameReader(self.source, pace_fps=pace))
        return self.reader

    def _progress(self, stack: ExitStack) -> tqdm:
        total = self.source.frame_count if not self.live else None
        if self.max_frames:
            total = min(total or self.max_frames, self.max_frames)
        return stack.enter_context(tqdm(total=total, unit='frame', dynamic_ncols=True, file=sys.stderr))

    def _frame_index(self) -> int:
        """Index of the current frame: in the source for files read in order, else processed order."""
        if self.live:
            return self.stats.frames
        return self.source.frames_read + self.source.bad_frames - 1

    def _process(self, frame, index: int) -> np.ndarray:
        start = time.perf_counter()
        result = self.detector.step(frame, video_length=None if self.live else self.source.frame_count)
        self.stats.record(time.perf_counter() - start)
        fps = self.stats.current_fps if self.fps_overlay else None
        annotated = self.drawer.draw(frame, result, fps=fps)
        if self.video is not None:
            self.video.write(annotated)
        if self.json_lines is not None:
            self.json_lines.write(detections_record(index, result, self.drawer.class_names, self.drawer.score_thr))
        return annotated

    def _open_outputs(self, stack: ExitStack) -> None:
        if self.out:
            self.video = stack.enter_context(VideoFileWriter(self.out, self.source.fps or DEFAULT_FPS))
        if self.json_out:
            self.json_lines = stack.enter_context(JsonLinesWriter(self.json_out))

    def run(self) -> int:
        """Processes the stream; returns the exit status (0, or EXIT_SOURCE_FAILED)."""
        self.source.open()
        self.detector.reset()
        window = PreviewWindow() if self.show else None
        with StopSignals(on_request=self._stop_reading) as stop, ExitStack() as stack:
            stack.callback(self.source.close)
            self._open_outputs(stack)
            frames = self._frames(stack)
            progress = self._progress(stack)
            self.stats.start()
            for frame in frames:
                annotated = self._process(frame, self._frame_index())
                progress.update(1)
                progress.set_postfix(fps=f'{self.stats.current_fps:.1f}', refresh=False)
                if window is not None and not window.show(annotated):
                    break
                if stop.requested or (self.max_frames and self.stats.frames >= self.max_frames):
                    break
        if window is not None:
            window.close()
        return self._report()

    def _stop_reading(self) -> None:
        """Ends the frame iteration even while it waits for a frame (a stalled or reconnecting source)."""
        if self.reader is not None:
            self.reader.request_stop()
        else:
            self.source.stop()

    def _report(self) -> int:
        counts = dict(dropped=self.reader.dropped if self.reader else 0, bad_frames=self.source.bad_frames,
                      reconnects=self.source.reconnects)
        print(self.stats.format_summary(**counts), flush=True)
        if self.video is not None:
            print(f'wrote {self.video.frames} frames to {self.video.path}' if self.video.frames else
                  f'no frame processed: {self.video.path} not written', flush=True)
        if self.json_lines is not None:
            print(f'wrote {self.json_lines.lines} lines to {self.json_lines.path}', flush=True)
        if self.source.end_reason in ('lost', 'decode_failed'):
            print(f'error: {self.source.name} failed mid-stream ({self.source.end_reason}); the outputs hold '
                  f'the {self.stats.frames} frames processed before', file=sys.stderr, flush=True)
            return EXIT_SOURCE_FAILED
        return 0
