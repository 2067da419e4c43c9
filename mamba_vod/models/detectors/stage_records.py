"""What MAMBA's hooks keep on a :class:`~.video_frame.VideoFrame`: the keys of its explicit
references (``frame.references``) and its instance keys (``frame.keys``).

Shape shorthand: B clips, T frames of a clip (index 0 the key frame, 1.. its references),
N reference maps, k pixel keys, C channels of the map, K proposals per reference, C' channels
of the box head's FCs.
"""
from typing import List, NamedTuple, Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from ..levels import InstanceKeys


class References(NamedTuple):
    """Keys taken from N explicit reference maps (fields None where a level is off or skipped)."""
    pixel_rows: Optional[Tensor]  # (k, C) reference pixels
    pixel_index: Optional[Tensor]  # (k,) the reference of each
    instance_rows: Optional[List[Tensor]]  # per FC level (N*K, C'), raw rows r_i
    proposals: Optional[InstanceData]  # their proposals: scores, ``image`` (the reference of each)
    frame_ids: Optional[Tensor] = None  # (N,) frame id of each reference (test time)
    key_map: Optional[Tensor] = None  # (C, h, w) the key frame's map enhanced by them (test time)


class FrameKeys(NamedTuple):
    """A test frame's instance keys (:meth:`MAMBA.frame_keys`), and what its update writes from."""
    top: InstanceData  # the top-K proposals
    rows: Optional[List[Tensor]]  # their raw rows per FC level (K, C'), when the instance level reads them
    instance_keys: Optional[InstanceKeys]


def reference_frame_ids(meta: dict, num_refs: int) -> Tensor:
    """(num_refs + 1,) frame ids of the explicit references and, last, of the key frame
    (-1 where the sample's ``ref_frame_ids`` do not match the references)."""
    ref_ids = list(meta.get('ref_frame_ids') or [])
    if len(ref_ids) != num_refs:
        ref_ids = [-1] * num_refs
    return torch.tensor(ref_ids + [meta.get('frame_id', -1)], dtype=torch.long)
