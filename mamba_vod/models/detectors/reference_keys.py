"""Keys from explicit reference maps, one function (:func:`aggregate_with_references`) for
training clips and for frame 0 of the paper protocol with ``pixel_level.references_fill='pixels'``.

Shape shorthand: B clips, T frames of a clip (the key frame, then its references), N reference
maps, C channels of the map, h x w the map, k pixel keys, K the top proposals of a map that
become its rows, C' channels of the box head's FCs.
"""
from typing import List, Optional, Tuple

import torch
from mmdet.structures import SampleList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..levels import InstanceKeys
from .stage_records import References


def aggregate_clips(detector: nn.Module, clips: Tensor,
                    data_samples: SampleList) -> Tuple[Tuple[Tensor], Optional[InstanceKeys]]:
    """Training (and tensor mode): key-frame maps ((B, C, h, w),) of clips (B, T, 3, H, W)
    enhanced by their references, and the instance keys of each clip (a one-frame clip is its
    own reference)."""
    feats = detector.extract_feat(clips.flatten(0, 1))[0].unflatten(0, clips.shape[:2])  # (B, T, C, h, w)
    pixel_level, instance_level = detector.pixel_level, detector.instance_level
    num_keys = pixel_level.train_cfg['num_keys'] if pixel_level is not None else 0
    self_keys = instance_level is not None and instance_level.self_keys
    maps, rows = [], []
    for clip_feats, data_sample in zip(feats, data_samples):
        references = clip_feats[1:] if len(clip_feats) > 1 else clip_feats[:1]
        key_map, refs = aggregate_with_references(detector, clip_feats[0], references, data_sample.metainfo,
                                                  num_pixel_keys=num_keys, self_keys=self_keys)
        maps.append(key_map)
        rows.append(refs.instance_rows)
    return (torch.stack(maps), ), None if instance_level is None else instance_level.keys_from_rows(rows)


def aggregate_with_references(detector: nn.Module, key_map: Tensor, references: Tensor, meta: dict, *,
                              num_pixel_keys: int, self_keys: bool) -> Tuple[Tensor, References]:
    """The (C, h, w) key map enhanced by pixels of the (N, C, h, w) references, and the keys
    they give; with both levels the references are pixel-enhanced too (each by the other
    references' pixels) before their top-K proposals become instance rows, as every frame's
    map is before it writes the instance memory. ``self_keys`` adds the key frame's rows."""
    pixel_rows = pixel_index = None
    if detector.pixel_level is not None and not detector.pixel_level.skips_clip():
        pixel_rows, pixel_index = detector.pixel_level.keys_from_references(references, num_pixel_keys)
        key_map = detector.pixel_level.enhance(key_map, pixel_rows)
        if detector.instance_level is not None:
            references = detector.pixel_level.enhance_references(references, pixel_rows, pixel_index)
    instance_rows = proposals = None
    if detector.instance_level is not None and not detector.instance_level.drops_clip_keys():
        sources = torch.cat([references, key_map[None]]) if self_keys else references
        instance_rows, proposals = proposal_rows(detector, sources, meta)
    return key_map, References(pixel_rows, pixel_index, instance_rows, proposals)


def proposal_rows(detector: nn.Module, maps: Tensor, meta: dict) -> Tuple[List[Tensor], InstanceData]:
    """Raw instance rows of the top-K proposals of N maps (N, C, h, w): per FC level
    (N*K', C'), the box head's FCs alone as the instance level composes them, and those
    proposals (bboxes, scores, ``image`` index)."""
    with torch.no_grad():  # boxes only: the rows' gradients flow through the RoI features
        outs = detector.rpn_head((maps, ))
    proposals = detector.rpn_head.predict_by_feat(*outs, batch_img_metas=[meta] * len(maps),
                                                  cfg=detector.test_cfg.rpn, rescale=False)
    proposals = [p[:detector.instance_level.proposals_per_frame] for p in proposals]
    per_image = detector.roi_head.embed_proposals((maps, ), [p.bboxes.detach() for p in proposals],
                                                  detector.instance_level.without_keys(len(maps)))
    for index, p in enumerate(proposals):
        p.image = torch.full_like(p.labels, index)
    return [torch.cat(level) for level in zip(*per_image)], InstanceData.cat(proposals)
