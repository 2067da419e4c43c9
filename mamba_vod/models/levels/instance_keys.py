"""The instance keys of a batch, as the box head receives them.

Shape shorthand: R RoIs of the batch, C channels of the box head's FCs, k_i keys of FC level i.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

# the keys of one image: one (k_i, C) tensor per FC level, or None (that image is not aggregated)
ImageKeys = Optional[Sequence[Tensor]]


class InstanceKeys:
    """Per image of a batch, its instance keys, with the GEOs that read them.

    The box head calls :meth:`enhance` after each shared FC; which GEO, which keys and which
    RoIs belong together is decided here, so the head holds no state about them.

    Args:
        geos: one GEO per FC level (the :class:`InstanceLevel`'s).
        per_image: the keys of each image of the batch, in image order.
    """

    def __init__(self, geos: nn.ModuleList, per_image: Sequence[ImageKeys]) -> None:
        self.geos = geos
        self.per_image = list(per_image)

    def enhance(self, level: int, y: Tensor, roi_img_ids: Optional[Tensor]) -> Tensor:
        """(R, C) features of FC level ``level``, each RoI enhanced by its image's keys.

        Args:
            y: (R, C), RoIs grouped by image in image order (``bbox2roi`` order).
            roi_img_ids: (R,) image index of each RoI (``rois[:, 0]``); may be None with one image.
        """
        geo = self.geos[level]
        if len(self.per_image) == 1:
            keys = self.per_image[0]
            return y if keys is None else geo(y, keys[level])
        if roi_img_ids is None:
            raise ValueError('InstanceKeys of several images need roi_img_ids (rois[:, 0])')
        counts = torch.bincount(roi_img_ids.long(), minlength=len(self.per_image)).tolist()
        if len(counts) != len(self.per_image):
            raise ValueError(f'RoIs of {len(counts)} images but keys of {len(self.per_image)}')
        parts = y.split(counts)
        return torch.cat([
            part if keys is None or part.shape[0] == 0 else geo(part, keys[level])
            for part, keys in zip(parts, self.per_image)
        ])
