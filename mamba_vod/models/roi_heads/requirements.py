"""What a detector requires of its RoI head, checked where it is built."""
from torch import nn


def require_roi_head(roi_head: nn.Module, roi_head_type: type, bbox_head_type: type, needed_by: str) -> None:
    """Raises TypeError unless ``roi_head`` is a ``roi_head_type`` whose ``bbox_head`` is a
    ``bbox_head_type``; ``needed_by`` says what needs them (e.g. ``'MAMBA with an instance level'``)."""
    bbox_head = getattr(roi_head, 'bbox_head', None)
    if not (isinstance(roi_head, roi_head_type) and isinstance(bbox_head, bbox_head_type)):
        raise TypeError(f"{needed_by} needs roi_head=dict(type='{roi_head_type.__name__}', bbox_head=dict("
                        f"type='{bbox_head_type.__name__}', ...)), got {type(roi_head).__name__} / "
                        f'{type(bbox_head).__name__}')
