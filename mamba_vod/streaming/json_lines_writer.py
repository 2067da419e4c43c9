"""Per-frame detections as JSON lines, written atomically.

One line per frame: ``{"frame": i, "boxes": [[x1, y1, x2, y2], ...], "scores": [...],
"labels": [...], "classes": [...]}`` with boxes in the input frame's pixels.
"""
import json
from typing import Optional, Sequence

from mmdet.structures import DetDataSample

from mamba_vod.utils import AtomicOutput


def detections_record(frame_index: int, result: DetDataSample, class_names: Sequence[str],
                      score_thr: float) -> dict:
    """The JSON-ready detections of one frame with score >= ``score_thr``."""
    instances = result.pred_instances
    keep = instances.scores >= score_thr
    boxes = instances.bboxes[keep].cpu().tolist()
    labels = instances.labels[keep].cpu().tolist()
    return dict(
        frame=frame_index,
        boxes=[[round(value, 2) for value in box] for box in boxes],
        scores=[round(score, 5) for score in instances.scores[keep].cpu().tolist()],
        labels=labels,
        classes=[class_names[label] if label < len(class_names) else str(label) for label in labels])


class JsonLinesWriter:
    """Appends one JSON object per line; the file appears at ``path`` on :meth:`close`."""

    def __init__(self, path: str) -> None:
        self._output = AtomicOutput(path)
        self._file: Optional[object] = open(self._output.temp_path, 'w', encoding='utf-8')
        self.lines = 0

    @property
    def path(self) -> str:
        return self._output.path

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record) + '\n')
        self.lines += 1

    def close(self) -> None:
        """Finalises the file (also after an interruption: what was written is kept)."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        self._output.commit()

    def __enter__(self) -> 'JsonLinesWriter':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
