"""Detectors side by side on one video, scaled up so that a person can watch it.

:func:`render_side_by_side` runs each detector online over the frames of one video
(:class:`mamba_vod.apis.StreamingDetector`: a new video, memory of past frames only, as on a
camera), draws its detections (:class:`mamba_vod.streaming.DetectionDrawer`) on the frame scaled
up ``scale`` times and lays the panels side by side, each under a title bar with the detector's
name and the frame number. A degraded frame gets a red ``DEGRADED`` label and a red border, a
clean one a grey ``clean`` label. ``tools/quickstart.py`` renders baseline | MAMBA on a val video
with degraded bursts (:func:`degraded_val_video`).

Shapes: frames are (H, W, 3) uint8 BGR; a panel is (TITLE_PX + scale * H, scale * W, 3); the
video is (TITLE_PX + scale * H, n * scale * W + (n - 1) * GAP_PX, 3) for n detectors.
"""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmdet.structures import DetDataSample

from mamba_vod.apis import StreamingDetector
from mamba_vod.streaming import DetectionDrawer, VideoFileWriter

TITLE_PX = 28
GAP_PX = 6
RED, GREY, WHITE = (40, 40, 230), (150, 150, 150), (255, 255, 255)


def degraded_val_video(data_root: str) -> Tuple[List[str], List[bool]]:
    """Frame paths and degraded flags of the first val video of the synthetic set in
    ``data_root`` that has degraded frames (``Lists/VID_val_degraded_frames.txt``)."""
    with open(osp.join(data_root, 'Lists', 'VID_val_degraded_frames.txt')) as f:
        degraded = set(f.read().split())
    if not degraded:
        raise ValueError(f'{data_root}: no degraded val frame')
    video = osp.dirname(min(degraded))  # e.g. val/ILSVRC2015_val_00000000
    frames = sorted(osp.basename(path) for path in glob.glob(osp.join(data_root, 'Data', 'VID', video, '*.JPEG')))
    paths = [osp.join(data_root, 'Data', 'VID', video, name) for name in frames]
    return paths, [f'{video}/{name}' in degraded for name in frames]


def _scaled(result: DetDataSample, factor: float) -> DetDataSample:
    """A copy of ``result`` with its boxes (n, 4) multiplied by ``factor``."""
    result = result.clone()
    result.pred_instances.bboxes = result.pred_instances.bboxes * factor
    return result


def _label(image: np.ndarray, text: str, x: int, colour: Tuple[int, int, int]) -> int:
    """Writes ``text`` on a ``colour`` box in the title bar from ``x``; returns where it ends."""
    font, size, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1
    (width, height), _ = cv2.getTextSize(text, font, size, thickness)
    top = (TITLE_PX - height) // 2 - 3
    cv2.rectangle(image, (x, top), (x + width + 8, top + height + 7), colour, cv2.FILLED)
    cv2.putText(image, text, (x + 4, top + height + 2), font, size, WHITE, thickness, cv2.LINE_AA)
    return x + width + 14


def panel(frame: np.ndarray, result: DetDataSample, drawer: DetectionDrawer, *, name: str, index: int,
          total: int, degraded: bool, scale: int) -> np.ndarray:
    """One detector's view of one frame: (TITLE_PX + scale * H, scale * W, 3)."""
    big = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    image = drawer.draw(big, _scaled(result, scale))
    if degraded:
        cv2.rectangle(image, (0, 0), (image.shape[1] - 1, image.shape[0] - 1), RED, 4)
    title = np.full((TITLE_PX, image.shape[1], 3), 32, np.uint8)
    x = _label(title, name, 4, (90, 90, 90))
    x = _label(title, f'frame {index + 1}/{total}', x, (60, 60, 60))
    _label(title, 'DEGRADED' if degraded else 'clean', x, RED if degraded else GREY)
    return np.vstack([title, image])


def detect_video(detector: StreamingDetector, frames: Sequence[np.ndarray]) -> List[DetDataSample]:
    """The detector's results on ``frames``, one new video, in order (online)."""
    detector.reset()
    return [detector.step(frame, video_length=len(frames)) for frame in frames]


def render_side_by_side(models: Dict[str, Tuple[str, Optional[str]]], frame_paths: Sequence[str],
                        degraded: Sequence[bool], out: str, *, scale: int = 3, fps: float = 4.0,
                        score_thr: float = 0.3, device: str = 'cpu') -> str:
    """Writes the video ``out`` (.mp4) of ``models`` side by side on the frames; returns ``out``.

    Args:
        models: panel name -> (config, checkpoint), left to right.
        frame_paths: the frames of one video, in order.
        degraded: per frame, whether it is degraded.
        fps: 4 by default: slow enough to follow a degraded burst of 2-5 frames.
    """
    if len(degraded) != len(frame_paths) or not frame_paths:
        raise ValueError(f'{len(frame_paths)} frames and {len(degraded)} degraded flags: one flag per frame')
    frames = [cv2.imread(path) for path in frame_paths]
    columns = []
    for name, (config, checkpoint) in models.items():
        detector = StreamingDetector(config, checkpoint, device=device)
        drawer = DetectionDrawer(detector.class_names, score_thr=score_thr)
        columns.append([panel(frame, result, drawer, name=name, index=t, total=len(frames), degraded=bad,
                              scale=scale)
                        for t, (frame, result, bad) in enumerate(zip(frames, detect_video(detector, frames),
                                                                     degraded))])
    gap = np.full((columns[0][0].shape[0], GAP_PX, 3), 255, np.uint8)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with VideoFileWriter(out, fps) as writer:
        for panels in zip(*columns):
            row = [panels[0]]
            for view in panels[1:]:
                row += [gap, view]
            writer.write(np.hstack(row))
    return out
