"""Hard synthetic videos: several classes per video, unlabelled look-alikes.

A :func:`~synthetic_vid_scene.make_scene` video holds one class, so a
summary of the whole video (which classes it shows) labels every degraded
frame right, and a benchmark on it cannot tell a memory that picks the keys
of the same object from one that averages the video. A
:func:`make_hard_scene` video holds:

* 2 or 3 labelled objects of *different* classes, so a video-level summary
  is wrong for some of them: in a degraded frame, where pattern and colours
  blur to the same grey for every class (``synthetic_vid_appearance``), an
  object is a grey blob with its silhouette, and when two of the video's
  classes share that silhouette (always with 3 objects; there are two
  silhouettes) only clear frames of the *same* object say which it is;
* 1 or 2 unlabelled **look-alikes** (never annotated, drawn like objects and
  hiding what is behind them). A look-alike wears the pattern of one class
  in the colours of another, a combination that no class of the data set
  wears, on the silhouette of one of the video's objects. In a clear frame
  the pattern-colour pair tells it apart, as it tells classes apart; in a
  degraded frame it is the same grey blob as that object. A memory that
  summarises the video labels it as the object of its silhouette (a false
  detection); one that finds the clear frames of the same blob rejects it.

Why not look-alikes of another shape: degradations keep outlines, so such a
look-alike is told apart in every frame by a single-frame detector and
tests nothing about the memory.

Objects are smaller than in ``make_scene`` videos (25-42% of the shorter
side instead of 30-60%) and start further apart, so that 3-4 of them fit a
160 x 128 frame; they cross and hide each other (``occluded`` is set as
usual).
"""
from dataclasses import replace
from typing import List

import numpy as np

from synthetic_vid_appearance import CLASS_STYLES, ClassStyle
from synthetic_vid_scene import VideoScene, finish_scene, make_track

LOOKALIKE = 'look-alike'  # the name of a look-alike's style; never written
# sizes of the shorter frame side; starts spread over 70% x 52% of the frame
PLACES = dict(min_size=0.25, max_size=0.42, spread=1.75)
MIN_CLASSES = 3  # with 2 classes every pattern-colour pair is a class


def lookalike_styles(num_classes: int) -> List[ClassStyle]:
    """Pattern x colour pairs of the first ``num_classes`` classes that none
    of them wears, e.g. stripes in green/magenta for 5 classes (zebra's
    pattern, lizard's colours); silhouettes are set per video.

    Raises:
        ValueError: every pair is a class (fewer than 3 classes).
    """
    classes = CLASS_STYLES[:num_classes]
    worn = {(style.pattern, style.colours) for style in classes}
    patterns = list(dict.fromkeys(style.pattern for style in classes))
    colours = list(dict.fromkeys(style.colours for style in classes))
    styles = [ClassStyle(LOOKALIKE, pattern, pair, 'body')
              for pattern in patterns for pair in colours
              if (pattern, pair) not in worn]
    if not styles:
        raise ValueError(f'hard videos need at least {MIN_CLASSES} classes '
                         f'(a look-alike wears a pattern-colour pair that no '
                         f'class wears), got {num_classes}')
    return styles


def make_hard_scene(rng: np.random.Generator, *, height: int, width: int,
                    frames: int, num_classes: int, degraded_fraction: float,
                    strength: float, class_index: int = None) -> VideoScene:
    """Draw a video of 2-3 classes, 1-2 look-alikes, bursts of degradation.

    Args:
        class_index: the first object's class (0..num_classes-1), drawn
            when None; the other objects' classes are drawn, all distinct.

    Returns:
        a scene whose tracks are in a random drawing order; labelled tracks
        (``track.labelled``) number 2 or 3, look-alikes 1 (with 3 objects)
        or 2 (half of the 2-object videos).
    """
    looks = lookalike_styles(num_classes)
    if class_index is None:
        class_index = int(rng.integers(0, num_classes))
    count = 2 if rng.random() < 0.5 else 3
    others = [c for c in range(num_classes) if c != class_index]
    picked = [class_index] + [int(c) for c in
                              rng.permutation(others)[:count - 1]]
    styles = [CLASS_STYLES[c] for c in picked]
    decoys = 1 if count == 3 or rng.random() < 0.5 else 2
    decoy_styles = [replace(looks[int(rng.integers(len(looks)))],
                            silhouette=styles[int(rng.integers(count))]
                            .silhouette) for _ in range(decoys)]
    size = dict(frames=frames, height=height, width=width, **PLACES)
    tracks = [make_track(rng, style, **size) for style in styles]
    tracks += [make_track(rng, style, labelled=False, **size)
               for style in decoy_styles]
    tracks = [tracks[i] for i in rng.permutation(len(tracks))]
    return finish_scene(rng, tracks, height=height, width=width,
                        frames=frames, degraded_fraction=degraded_fraction,
                        strength=strength)
