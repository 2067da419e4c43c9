"""How synthetic objects and backgrounds look (numpy + OpenCV, BGR uint8).

A class is a *pattern* (stripes, blotches, checks, dots) painted in a
*colour pair*, on a *silhouette* (body, round). Every colour pair is a
colour and its complement, so every class averages to the same mid grey:
once blur, defocus or noise wipes out the pattern, an object is a grey blob
whose silhouette is shared by several classes. Classes sharing a pattern
differ in colours and classes sharing colours differ in pattern, so a clear
frame needs both cues, and a degraded one has neither. Backgrounds are
clutter of patterned and plain shapes in muted colours.

Shapes: textures are (S, S, 3) uint8, masks (h, w) float32 in [0, 1].
"""
from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

BLACK_WHITE = ((20, 20, 20), (235, 235, 235))
ORANGE_AZURE = ((30, 140, 250), (225, 115, 5))
GREEN_MAGENTA = ((40, 200, 60), (215, 55, 195))


@dataclass(frozen=True)
class ClassStyle:
    """Appearance of one synthetic class (``name`` is a VID class name)."""
    name: str
    pattern: str  # 'stripes' | 'blotches' | 'checks' | 'dots'
    colours: Tuple[Tuple[int, int, int], Tuple[int, int, int]]  # BGR pair
    silhouette: str  # 'body' | 'round'


#: Styles in the order ``--classes K`` takes them.
CLASS_STYLES = (
    ClassStyle('zebra', 'stripes', BLACK_WHITE, 'body'),
    ClassStyle('tiger', 'stripes', ORANGE_AZURE, 'round'),
    ClassStyle('giant_panda', 'blotches', BLACK_WHITE, 'round'),
    ClassStyle('red_panda', 'blotches', ORANGE_AZURE, 'body'),
    ClassStyle('lizard', 'checks', GREEN_MAGENTA, 'body'),
    ClassStyle('turtle', 'dots', GREEN_MAGENTA, 'round'),
    ClassStyle('sheep', 'dots', BLACK_WHITE, 'body'),
    ClassStyle('fox', 'checks', ORANGE_AZURE, 'round'),
)
TEXTURE_SIZE = 96


def _grid(size: int, angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (size, size) rotated by ``angle`` radians."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    c, s = np.cos(angle), np.sin(angle)
    return x * c + y * s, -x * s + y * c


def _smooth_noise(rng: np.random.Generator, size: int, cells: int):
    """Zero-mean, unit-std low-frequency noise (size, size)."""
    small = rng.standard_normal((cells, cells)).astype(np.float32)
    big = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return (big - big.mean()) / (big.std() + 1e-6)


def pattern_mask(pattern: str, rng: np.random.Generator,
                 size: int = TEXTURE_SIZE) -> np.ndarray:
    """Binary-ish pattern (size, size) float32 in [0, 1]; 1 = first colour.

    Period, phase, angle and a wobble are drawn per object, so two objects
    of a class share the pattern kind, not the exact picture.
    """
    period = rng.uniform(0.13, 0.19) * size
    u, v = _grid(size, rng.uniform(-0.5, 0.5) + rng.choice([0, np.pi / 2]))
    wobble = 0.2 * period * _smooth_noise(rng, size, 4)
    phase = rng.uniform(0, period)
    if pattern == 'stripes':
        value = np.sin(2 * np.pi * (u + wobble + phase) / period)
    elif pattern == 'blotches':
        value = _smooth_noise(rng, size, int(size / period) + 1)
    elif pattern == 'checks':
        value = (np.sin(np.pi * (u + wobble + phase) / period * 1.4)
                 * np.sin(np.pi * (v + wobble) / period * 1.4))
    elif pattern == 'dots':
        cell = period * 1.1
        du = (u + wobble + phase) % cell - cell / 2
        dv = (v + phase) % cell - cell / 2
        value = 0.32 * cell - np.sqrt(du ** 2 + dv ** 2)
    else:
        raise ValueError(f'unknown pattern {pattern!r}')
    # Split at the median: each colour covers half of every pattern, so all
    # classes blur to the same mean colour.
    value = value - np.median(value)
    return np.clip(value / (np.abs(value).mean() + 1e-6) * 2 + 0.5, 0,
                   1).astype(np.float32)


def object_texture(style: ClassStyle, rng: np.random.Generator,
                   size: int = TEXTURE_SIZE) -> np.ndarray:
    """Texture (size, size, 3) uint8 of one object of class ``style``."""
    mask = pattern_mask(style.pattern, rng, size)[..., None]
    first, second = (np.array(c, np.float32) for c in style.colours)
    jitter = rng.uniform(-12, 12, 3).astype(np.float32)
    tex = mask * (first + jitter) + (1 - mask) * (second - jitter)
    # A soft highlight gives the object some volume.
    u, v = _grid(size, rng.uniform(0, 2 * np.pi))
    tex *= (0.85 + 0.3 * (u / size))[..., None].clip(0.7, 1.15)
    return np.clip(tex, 0, 255).astype(np.uint8)


def silhouette(kind: str, w: int, h: int, facing_left: bool) -> np.ndarray:
    """Soft mask (h, w) of a silhouette that fills its w x h box."""
    scale = 4  # draw large, then shrink: cheap anti-aliasing
    W, H = w * scale, h * scale
    canvas = np.zeros((H, W), np.uint8)
    if kind == 'body':
        head_r = int(0.26 * H)
        cv2.ellipse(canvas, (int(0.45 * W), int(0.55 * H)),
                    (int(0.36 * W), int(0.38 * H)), 0, 0, 360, 255, -1)
        cv2.circle(canvas, (W - head_r - 1, head_r + 1), head_r, 255, -1)
        cv2.rectangle(canvas, (int(0.12 * W), int(0.7 * H)),
                      (int(0.24 * W), H - 1), 255, -1)
        cv2.rectangle(canvas, (int(0.62 * W), int(0.7 * H)),
                      (int(0.74 * W), H - 1), 255, -1)
        cv2.ellipse(canvas, (int(0.06 * W), int(0.45 * H)),
                    (int(0.06 * W), int(0.1 * H)), 0, 0, 360, 255, -1)
    elif kind == 'round':
        cv2.ellipse(canvas, (W // 2, int(0.58 * H)),
                    (int(0.49 * W), int(0.41 * H)), 0, 0, 360, 255, -1)
        ear = int(0.15 * min(W, H))
        for x in (0.25, 0.75):
            cv2.circle(canvas, (int(x * W), ear + 1), ear, 255, -1)
    else:
        raise ValueError(f'unknown silhouette {kind!r}')
    if facing_left:
        canvas = canvas[:, ::-1]
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255


def _muted_colour(rng: np.random.Generator) -> Tuple[int, int, int]:
    grey = rng.uniform(60, 200)
    return tuple(int(np.clip(grey + rng.uniform(-45, 45), 0, 255))
                 for _ in range(3))


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Cluttered background (h, w, 3) uint8: gradients plus 30-60 shapes.

    A quarter of the shapes carry object-like patterns in muted colours, so
    texture alone does not say "object".
    """
    base = np.stack([_smooth_noise(rng, max(h, w), 3)[:h, :w] * 30 + c
                     for c in _muted_colour(rng)], axis=-1)
    img = np.clip(base, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(30, 60))):
        _clutter_shape(img, rng)
    return cv2.GaussianBlur(img, (3, 3), 0)


def _clutter_shape(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    size = int(rng.uniform(0.04, 0.16) * min(h, w)) + 2
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    shape = np.zeros((h, w), np.uint8)
    kind = rng.integers(0, 3)
    if kind == 0:
        cv2.circle(shape, (x, y), size, 255, -1)
    elif kind == 1:
        cv2.rectangle(shape, (x, y), (x + 2 * size, y + size), 255, -1)
    else:
        end = (x + int(rng.integers(-3, 4) * size),
               y + int(rng.integers(-3, 4) * size))
        cv2.line(shape, (x, y), end, 255, max(1, size // 3))
    sel = shape > 0
    if rng.random() < 0.25:
        pattern = str(rng.choice(['stripes', 'blotches', 'checks', 'dots']))
        m = cv2.resize(pattern_mask(pattern, rng, 48), (w, h))[..., None]
        a, b = (np.array(_muted_colour(rng), np.float32) for _ in range(2))
        fill = (m * a + (1 - m) * b).astype(np.uint8)
        img[sel] = fill[sel]
    else:
        img[sel] = _muted_colour(rng)
