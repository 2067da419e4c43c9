"""Draws detections (box, class name, score) and an fps counter on a BGR frame with OpenCV."""
import colorsys
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmdet.structures import DetDataSample


def class_color(label: int) -> Tuple[int, int, int]:
    """A stable, well-separated BGR color per class (golden-ratio hue steps)."""
    hue = (label * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(blue * 255), int(green * 255), int(red * 255)


class DetectionDrawer:
    """Annotates frames in place-safe fashion (returns a copy).

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

    @staticmethod
    def _put_text(image: np.ndarray, text: str, origin: Tuple[int, int], color: Tuple[int, int, int]) -> None:
        font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1
        (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
        x, y = origin
        y = max(y, height + baseline)
        cv2.rectangle(image, (x, y - height - baseline), (x + width, y), color, cv2.FILLED)
        cv2.putText(image, text, (x, y - baseline), font, scale, (0, 0, 0), thickness, cv2.LINE_AA)

    def draw(self, frame_bgr: np.ndarray, result: DetDataSample, fps: Optional[float] = None) -> np.ndarray:
        """A copy of ``frame_bgr`` (H, W, 3) with the boxes of ``result`` above the threshold."""
        image = frame_bgr.copy()
        instances = result.pred_instances
        keep = instances.scores >= self.score_thr
        boxes = instances.bboxes[keep].cpu().numpy().round().astype(int)
        scores = instances.scores[keep].cpu().tolist()
        labels = instances.labels[keep].cpu().tolist()
        for (x1, y1, x2, y2), score, label in zip(boxes, scores, labels):
            color = class_color(label)
            cv2.rectangle(image, (x1, y1), (x2, y2), color, 2)
            self._put_text(image, self._label_text(label, score), (x1, y1), color)
        if fps is not None:
            self._put_text(image, f'{fps:.1f} fps', (0, 0), (255, 255, 255))
        return image
