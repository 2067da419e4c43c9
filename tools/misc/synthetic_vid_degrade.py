"""Frame degradations of the synthetic videos (numpy + OpenCV, BGR uint8).

A degraded frame gets one or two of: ``motion_blur`` (a line kernel along
the camera/object motion), ``defocus`` (a disk kernel), ``noise``
(Gaussian), ``low_contrast`` (contrast squeezed towards a dark or bright
level, plus some noise). At strength 1 each of them wipes out the object
patterns (periods of 5-15 px at the default sizes) but keeps the blob and
its silhouette. Partial occlusion is done by the scene (it changes the
annotation's ``occluded`` flag), not here.

Strength ``s`` scales every parameter; ``s = 0`` returns the frame as is.
"""
from typing import Sequence

import cv2
import numpy as np

KINDS = ('motion_blur', 'defocus', 'noise', 'low_contrast')


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    size = length | 1  # odd
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.cos(angle) * c, np.sin(angle) * c
    cv2.line(kernel, (int(round(c - dx)), int(round(c - dy))),
             (int(round(c + dx)), int(round(c + dy))), 1.0, 1, cv2.LINE_AA)
    return kernel / kernel.sum()


def _disk_kernel(radius: int) -> np.ndarray:
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float32)
    cv2.circle(kernel, (radius, radius), radius, 1.0, -1, cv2.LINE_AA)
    return kernel / kernel.sum()


def _add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator):
    noise = rng.normal(0, sigma, img.shape).astype(np.float32)
    return img + noise


def degrade(frame: np.ndarray, kinds: Sequence[str], strength: float,
            rng: np.random.Generator, motion_angle: float = 0.0
            ) -> np.ndarray:
    """Apply ``kinds`` to ``frame`` (H, W, 3) uint8; returns a new frame.

    Args:
        frame: the clean frame.
        kinds: names from :data:`KINDS`, applied in that order.
        strength: 0 = no change, 1 = the default (hard) level.
        rng: random source (parameters are drawn from it).
        motion_angle: direction (radians) of the motion blur.
    """
    if strength <= 0 or not kinds:
        return frame.copy()
    side = min(frame.shape[:2])
    img = frame.astype(np.float32)
    for kind in kinds:
        if kind == 'motion_blur':
            length = int(strength * rng.uniform(0.09, 0.14) * side) + 1
            img = cv2.filter2D(img, -1, _motion_kernel(length, motion_angle))
        elif kind == 'defocus':
            radius = max(1, int(strength * rng.uniform(0.033, 0.05) * side))
            img = cv2.filter2D(img, -1, _disk_kernel(radius))
        elif kind == 'noise':
            # Low light: the sensor smooths a little, then adds heavy noise.
            img = cv2.GaussianBlur(img, (0, 0), 0.3 + 0.8 * strength)
            img = _add_noise(img, strength * rng.uniform(40, 55), rng)
        elif kind == 'low_contrast':
            factor = 1 / (1 + strength * rng.uniform(3, 5))
            level = rng.choice([40.0, 215.0])
            img = level + (img - img.mean()) * factor
            img = _add_noise(img, strength * rng.uniform(8, 12), rng)
        else:
            raise ValueError(f'unknown degradation {kind!r}')
    return np.clip(img, 0, 255).astype(np.uint8)


def pick_kinds(rng: np.random.Generator) -> tuple:
    """One or two distinct degradations for a burst."""
    count = 1 if rng.random() < 0.6 else 2
    picked = rng.choice(len(KINDS), size=count, replace=False)
    return tuple(KINDS[i] for i in sorted(picked))
