"""Draws detections (box, class name, score) and an fps counter on a BGR frame with OpenCV.

A label is a filled tag with the class name and score. It sits just above its box when there is
room, else just below it, else inside the box under its top edge; it is moved left to stay inside
the frame. So it never covers the box's own outline and is never cut by the frame's border,
whatever the font's metrics (they changed between OpenCV releases).
"""
import colorsys
from typing import NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmdet.structures import DetDataSample

FONT, FONT_SCALE, FONT_THICKNESS = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1
BOX_THICKNESS = 2


def class_color(label: int) -> Tuple[int, int, int]:
    """A stable, well-separated BGR color per class (golden-ratio hue steps)."""
    hue = (label * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(blue * 255), int(green * 255), int(red * 255)


class TagRect(NamedTuple):
    """A label tag's rectangle in pixels, corners inclusive: x1, y1 (top left), x2, y2."""
    x1: int
    y1: int
    x2: int
    y2: int


def tag_size(text: str) -> Tuple[int, int]:
    """The (width, height) in pixels of the filled tag that holds ``text``, baseline included."""
    (width, height), baseline = cv2.getTextSize(text, FONT, FONT_SCALE, FONT_THICKNESS)
    return width + 2, height + baseline + 2


def label_rect(box: Tuple[int, int, int, int], text: str, frame_size: Tuple[int, int]) -> TagRect:
    """Where the tag of ``box`` (x1, y1, x2, y2) goes in a frame of (height, width).

    Above the box's outline if it fits there, else below it, else inside the box under its top
    left corner; shifted left (never past x=0) to end inside the frame.
    """
    x1, y1, x2, y2 = box
    frame_h, frame_w = frame_size
    width, height = tag_size(text)
    half = BOX_THICKNESS // 2 + 1  # the outline's pixels beyond the box's coordinates
    left = x1 - half
    if y1 - half - height >= 0:
        top = y1 - half - height
    elif y2 + half + height <= frame_h - 1:
        top = y2 + half + 1
    else:  # inside, clear of the top and left edges' outline
        top = min(max(y1, 0) + half + 1, max(frame_h - height, 0))
        left = max(x1, 0) + half + 1
    left = max(min(left, frame_w - width), 0)
    return TagRect(left, top, left + width - 1, top + height - 1)


def put_tag(image: np.ndarray, text: str, rect: TagRect, color: Tuple[int, int, int]) -> None:
    """Fills ``rect`` with ``color`` and writes ``text`` on it in black."""
    cv2.rectangle(image, (rect.x1, rect.y1), (rect.x2, rect.y2), color, cv2.FILLED)
    _, baseline = cv2.getTextSize(text, FONT, FONT_SCALE, FONT_THICKNESS)
    cv2.putText(image, text, (rect.x1 + 1, rect.y2 - baseline), FONT, FONT_SCALE, (0, 0, 0),
                FONT_THICKNESS, cv2.LINE_AA)


class DetectionDrawer:
    """Annotates a copy of a frame; the frame passed in is left untouched.

    Args:
        class_names: name per label.
        score_thr: detections below it are not drawn.
    """

    def __init__(self, class_names: Sequence[str], *, score_thr: float = 0.3) -> None:
        self.class_names = tuple(class_names)
        self.score_thr = score_thr

    def _label_text(self, label: int, score: float) -> str:
        name = self.class_names[label] if label < len(self.class_names) else str(label)
        return f'{name} {score:.2f}'

    def draw(self, frame_bgr: np.ndarray, result: DetDataSample, fps: Optional[float] = None) -> np.ndarray:
        """A copy of ``frame_bgr`` (H, W, 3) with the boxes of ``result`` above the threshold.

        All outlines are drawn before any tag, so a tag may cover another box's outline but a
        box's outline never runs through a tag's text.
        """
        image = frame_bgr.copy()
        instances = result.pred_instances
        keep = instances.scores >= self.score_thr
        boxes = [tuple(box) for box in instances.bboxes[keep].cpu().numpy().round().astype(int).tolist()]
        scores = instances.scores[keep].cpu().tolist()
        labels = instances.labels[keep].cpu().tolist()
        for box, label in zip(boxes, labels):
            cv2.rectangle(image, box[:2], box[2:], class_color(label), BOX_THICKNESS)
        for box, score, label in zip(boxes, scores, labels):
            text = self._label_text(label, score)
            put_tag(image, text, label_rect(box, text, image.shape[:2]), class_color(label))
        if fps is not None:
            text = f'{fps:.1f} fps'
            width, height = tag_size(text)
            put_tag(image, text, TagRect(0, 0, width - 1, height - 1), (255, 255, 255))
        return image
