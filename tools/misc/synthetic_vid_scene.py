"""One synthetic video: moving, scaling objects over a panning background.

A :class:`VideoScene` is drawn from a random generator once (class, objects,
trajectories, background, degradation bursts) and then renders its frames
in order. In :func:`make_scene` all objects of a video share one class, as
in most ImageNet VID snippets, so the video as a whole says what a degraded
frame shows; ``synthetic_vid_hard.py`` draws scenes where it does not. A
track is labelled (annotated with its class) or an unlabelled look-alike,
which is drawn, and hides what is behind it, but never annotated.

Degraded frames come in bursts (2-5 frames, at least 2 clean frames
between bursts): a burst applies one or two degradations of
``synthetic_vid_degrade`` or a partial occlusion plus a blur, so each burst
is surrounded by clear frames of the same objects.
"""
from dataclasses import dataclass, field
from typing import List, Tuple

import cv2
import numpy as np

from synthetic_vid_appearance import (CLASS_STYLES, ClassStyle, background,
                                      object_texture, silhouette)
from synthetic_vid_degrade import KINDS, degrade, pick_kinds

PAN_MARGIN = 24  # background canvas is this much larger on each axis
ASPECTS = {'body': (1.35, 1.75), 'round': (0.95, 1.2)}  # width / height


@dataclass
class FrameObject:
    """An annotated object of a frame; box [x1, y1, x2, y2], x2 exclusive.

    ``name`` is its class (a VID class name); ``trackid`` numbers the labelled
    tracks of the video in order.
    """
    trackid: int
    box: List[int]
    occluded: bool
    name: str


@dataclass
class Track:
    """Trajectory and look of one object; sizes in pixels.

    ``style`` gives its silhouette (and, when ``labelled``, its class); an
    unlabelled track is a look-alike: drawn, never annotated.
    """
    style: ClassStyle
    texture: np.ndarray
    aspect: float
    heights: np.ndarray  # (T,)
    centres: np.ndarray  # (T, 2) x, y
    facing_left: np.ndarray  # (T,) bool
    labelled: bool = True


@dataclass
class Burst:
    """Degradation of one burst of frames."""
    kinds: Tuple[str, ...]
    strength: float
    occlusion: bool


@dataclass
class VideoScene:
    """A whole synthetic video (``frames`` frames of ``height`` x ``width``).

    Attributes:
        tracks: in drawing order (later ones in front).
        canvas: background (H + 2 * PAN_MARGIN, W + 2 * PAN_MARGIN, 3).
        bursts: frame index -> :class:`Burst` for each degraded frame.
    """
    height: int
    width: int
    frames: int
    tracks: List[Track]
    canvas: np.ndarray
    pan: np.ndarray  # (T, 2) top-left of the crop
    bursts: dict = field(default_factory=dict)

    def is_degraded(self, t: int) -> bool:
        return t in self.bursts


def trajectory(rng, frames: int, height: int, width: int, aspect: float,
               max_size: float, min_size: float = 0.3, spread: float = 1.0):
    """Heights (T,), centres (T, 2) and facing (T,) of a bouncing object.

    Heights go from one size to another (``min_size`` to ``max_size`` of the
    shorter frame side, and the box fits the frame) with a small wobble; the
    centre starts in the middle 40% x 30% of the frame (times ``spread``),
    moves at 1-3.5 px/frame and bounces off the frame borders.
    """
    side = min(height, width)
    lo, hi = min_size * side, min(max_size * side, 0.9 * width / aspect)
    h0, h1 = rng.uniform(lo, hi, 2)
    t = np.arange(frames) / max(frames - 1, 1)
    heights = h0 + (h1 - h0) * t
    heights *= 1 + 0.06 * np.sin(2 * np.pi * (t * rng.uniform(0.5, 1.5)
                                              + rng.uniform()))
    heights = np.clip(heights, lo, hi)
    speed = rng.uniform(1.0, 3.5) * rng.choice([-1, 1], 2)
    pos = np.array([rng.uniform(0.5 - 0.2 * spread, 0.5 + 0.2 * spread),
                    rng.uniform(0.5 - 0.15 * spread, 0.5 + 0.15 * spread)]
                   ) * (width, height)
    centres, facing = np.zeros((frames, 2)), np.zeros(frames, bool)
    for i in range(frames):
        half = np.array([heights[i] * aspect / 2, heights[i] / 2])
        limit = np.array([width, height]) - half
        for axis in range(2):
            if not half[axis] <= pos[axis] <= limit[axis]:
                speed[axis] = -speed[axis]
            pos[axis] = np.clip(pos[axis], half[axis], limit[axis])
        centres[i], facing[i] = pos, speed[0] < 0
        pos = pos + speed
    return heights, centres, facing


def _bursts(rng, frames: int, fraction: float, strength: float) -> dict:
    """Frame index -> Burst, covering about ``fraction`` of the frames."""
    bursts, remaining = {}, int(round(fraction * frames))
    gap_hi = 2 + max(1, int(3 * (1 - fraction) / max(fraction, 0.05)))
    t = int(rng.integers(0, 4))
    while remaining > 0 and t < frames:
        length = min(int(rng.integers(2, 6)), remaining, frames - t)
        occlusion = rng.random() < 0.25
        kinds = (str(rng.choice(KINDS[:3])),) if occlusion else \
            pick_kinds(rng)
        burst = Burst(kinds=kinds, occlusion=occlusion,
                      strength=strength * rng.uniform(0.8, 1.2))
        for i in range(t, t + length):
            bursts[i] = burst
        remaining -= length
        t += length + int(rng.integers(2, gap_hi + 1))
    return bursts


def make_track(rng, style: ClassStyle, *, frames: int, height: int,
               width: int, max_size: float, min_size: float = 0.3,
               spread: float = 1.0, labelled: bool = True) -> Track:
    """An object of ``style`` moving as :func:`trajectory` draws it."""
    aspect = rng.uniform(*ASPECTS[style.silhouette])
    heights, centres, facing = trajectory(rng, frames, height, width, aspect,
                                          max_size, min_size, spread)
    return Track(style, object_texture(style, rng), aspect, heights, centres,
                 facing, labelled)


def finish_scene(rng, tracks: List[Track], *, height: int, width: int,
                 frames: int, degraded_fraction: float,
                 strength: float) -> VideoScene:
    """The scene of ``tracks``: draws its background, camera pan and bursts."""
    canvas = background(rng, height + 2 * PAN_MARGIN, width + 2 * PAN_MARGIN)
    start = rng.uniform(0, 2 * PAN_MARGIN, 2)
    step = rng.uniform(-1.0, 1.0, 2)
    pan = np.clip(start + np.arange(frames)[:, None] * step, 0,
                  2 * PAN_MARGIN).astype(int)
    scene = VideoScene(height, width, frames, tracks, canvas, pan)
    if strength > 0:
        scene.bursts = _bursts(rng, frames, degraded_fraction, strength)
    return scene


def make_scene(rng: np.random.Generator, *, height: int, width: int,
               frames: int, num_classes: int, degraded_fraction: float,
               strength: float, class_index: int = None) -> VideoScene:
    """Draw a video: one class, 1 object (75%) or 2, bursts of degradation.

    Args:
        class_index: the class (0..num_classes-1); drawn when None.
    """
    if class_index is None:
        class_index = int(rng.integers(0, num_classes))
    style = CLASS_STYLES[class_index]
    count = 1 if rng.random() < 0.75 else 2
    tracks = [make_track(rng, style, frames=frames, height=height,
                         width=width, max_size=0.6 if count == 1 else 0.45)
              for _ in range(count)]
    return finish_scene(rng, tracks, height=height, width=width,
                        frames=frames, degraded_fraction=degraded_fraction,
                        strength=strength)


def _place(track: Track, t: int, height: int, width: int):
    """Top-left corner and size (x1, y1, w, h) of a track in frame t."""
    h = int(round(track.heights[t]))
    w = min(int(round(h * track.aspect)), width)
    cx, cy = track.centres[t]
    x1 = int(np.clip(round(cx - w / 2), 0, width - w))
    y1 = int(np.clip(round(cy - h / 2), 0, height - h))
    return x1, y1, w, h


def _occluder(rng, box: Tuple[int, int, int, int], shape) -> np.ndarray:
    """Mask (H, W) of a pole or bush hiding 45-75% of ``box``."""
    x1, y1, w, h = box
    mask = np.zeros(shape, np.float32)
    cover = rng.uniform(0.45, 0.75)
    if rng.random() < 0.5:  # a vertical pole across the frame
        band = int(cover * w)
        left = x1 + int(rng.uniform(0, w - band + 1))
        mask[:, left:left + band] = 1
    else:  # a bush rising from the bottom of the box
        top = y1 + int((1 - cover) * h)
        mask[top:, max(x1 - w // 4, 0):x1 + w + w // 4] = 1
    return mask


def render_frame(scene: VideoScene, t: int, rng: np.random.Generator
                 ) -> Tuple[np.ndarray, List[FrameObject]]:
    """Frame t of the scene (H, W, 3) uint8 BGR, and its labelled objects.

    Boxes are the full extent of each silhouette (also where it is hidden),
    as in ImageNet VID; ``occluded`` is set when under 70% of it is visible
    (look-alikes in front hide objects too).
    """
    H, W = scene.height, scene.width
    px, py = scene.pan[t]
    img = scene.canvas[py:py + H, px:px + W].astype(np.float32)
    masks, boxes, places = [], [], []
    for track in scene.tracks:
        x1, y1, w, h = _place(track, t, H, W)
        m = silhouette(track.style.silhouette, w, h, track.facing_left[t])
        tex = cv2.resize(track.texture, (w, h),
                         interpolation=cv2.INTER_LINEAR).astype(np.float32)
        region = img[y1:y1 + h, x1:x1 + w]
        region[:] = m[..., None] * tex + (1 - m[..., None]) * region
        full = np.zeros((H, W), np.float32)
        full[y1:y1 + h, x1:x1 + w] = m
        ys, xs = np.nonzero(full > 0.5)
        masks.append(full)
        places.append((x1, y1, w, h))
        boxes.append([int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                      int(ys.max()) + 1])
    visible = [m * np.prod([1 - o for o in masks[k + 1:]], axis=0)
               for k, m in enumerate(masks)]
    burst = scene.bursts.get(t)
    if burst is not None and burst.occlusion:
        occ = _occluder(rng, places[int(rng.integers(len(places)))], (H, W))
        cover = scene.canvas[::-1, ::-1][py:py + H, px:px + W]
        img = occ[..., None] * cover + (1 - occ[..., None]) * img
        visible = [v * (1 - occ) for v in visible]
    frame = img.clip(0, 255).astype(np.uint8)
    if burst is None:
        frame = degrade(frame, ('noise',), 0.06, rng)  # sensor noise
    else:
        dx, dy = np.diff(scene.tracks[0].centres[max(t - 1, 0):t + 2],
                         axis=0).mean(axis=0) if scene.frames > 1 else (1, 0)
        frame = degrade(frame, burst.kinds, burst.strength, rng,
                        motion_angle=float(np.arctan2(dy, dx)))
    labelled = [k for k, track in enumerate(scene.tracks) if track.labelled]
    objects = [FrameObject(i, boxes[k],
                           bool(visible[k].sum() < 0.7 * masks[k].sum()),
                           scene.tracks[k].style.name)
               for i, k in enumerate(labelled)]
    return frame, objects
