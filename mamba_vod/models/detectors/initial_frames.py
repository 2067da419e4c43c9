"""The authors' start of the offline protocol: explicit references are initial frames that fill
both memories before the key frame reads them (``pixel_level.references_fill='detections'``).

Shape shorthand: T frames of the clip (the key frame, then N = T - 1 references), C channels
of the map, h x w the map.

Each reference writes the instance memories with the raw rows of its top-K proposals; then
each is detected on its raw map (no pixel GEO, the instance level reading those memories) and
writes the pixel memory and carried set as a frame of raw rows does. The initial frames'
detections are not output, and the key frame is not one of them: it is then detected as any
frame is, through the memories they filled, and writes its own rows and enhanced pixels after
(``Duckduckgod/MAMBA``, ``GeneralizedRCNNMAMBA._init_memory`` then ``_forward_test``: 25
shuffled frames there, the data's 14 references here).
"""
import torch
from mmdet.structures import DetDataSample
from torch import Tensor

from .reference_keys import proposal_rows
from .stage_records import reference_frame_ids
from .video_frame import VideoFrame


def start_from_references(detector, references: Tensor, data_sample: DetDataSample) -> None:
    """Empties ``detector``'s memories and fills them from the references (not the key frame).

    Args:
        detector: a :class:`MAMBA` with a pixel level, its memories those of the key frame's stream.
        references: (N, C, h, w) the references' maps.
        data_sample: the key frame's (``ref_frame_ids`` name the references).
    """
    meta = data_sample.metainfo
    frame_ids = reference_frame_ids(meta, len(references)).tolist()[:len(references)]  # the key frame's id dropped
    detector.pixel_level.reset()
    if detector.instance_level is not None:
        rows, proposals = proposal_rows(detector, references, meta)
        image_frame_ids = torch.tensor(frame_ids, device=proposals.image.device)[proposals.image]
        detector.instance_level.update(rows, proposals.scores, image_frame_ids, replace=True)
    for feat, frame_id in zip(references, frame_ids):
        frame = VideoFrame(data_sample, image=None, rescale=False, x=(feat[None], ))
        detector.detect_frames([frame], [detector.memories.current])
        detector.pixel_level.write_detections(feat, frame.detections.bboxes, frame.detections.scores, frame_id)
