"""The instance keys of a batch, as the box head receives them, and how the head composes its
FCs with the GEOs that read them.

Shape shorthand: R RoIs of the batch, C channels of the box head's FCs, k_i keys of FC level i.

Two compositions of FC level i (fc_i = ``shared_fcs[i]``, x_0 the flattened RoI feature):

- ``'paper'`` (the first author's code, ``Duckduckgod/MAMBA``, MAMBA box feature extractor):
  ``x_{i+1} = GEO_i(ReLU(fc_i(x_i)), R_i)``; the last x goes to the classifier and regressor with
  no ReLU after it. The keys of level i+1 are those of level i through the same FC,
  ``R_{i+1} = ReLU(fc_{i+1}(R_i))``: one key set per frame feeds both levels.
- ``'release'`` (the released checkpoint, vfe.pytorch's ``MambaBBoxHead``):
  ``y_i = GEO_i(fc_i(x_i), R_i)``, ``x_{i+1} = ReLU(y_i)``; each level has keys of its own.

Without a GEO (no keys) both are ``x_{i+1} = ReLU(fc_i(x_i))``: Faster R-CNN's head.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

# the keys of one image: one (k_i, C) tensor per FC level, or None (that image is not aggregated)
ImageKeys = Optional[Sequence[Tensor]]

#: how the box head composes its FCs with the GEOs (see the module docstring)
COMPOSITIONS = ('paper', 'release')


class InstanceKeys:
    """Per image of a batch, its instance keys, with the GEOs that read them.

    The box head calls :meth:`enhance` after each shared FC; which GEO, which keys and which
    RoIs belong together is decided here, so the head holds no state about them.

    Args:
        geos: one GEO per FC level (the :class:`InstanceLevel`'s).
        per_image: the keys of each image of the batch, in image order.
        composition: 'paper' or 'release' (see the module docstring).
    """

    def __init__(self, geos: nn.ModuleList, per_image: Sequence[ImageKeys], composition: str = 'release') -> None:
        if composition not in COMPOSITIONS:
            raise ValueError(f'composition must be one of {COMPOSITIONS}, got {composition!r}')
        self.geos = geos
        self.per_image = list(per_image)
        self.composition = composition

    @property
    def relu_first(self) -> bool:
        """Whether each FC's ReLU comes before its GEO (the paper's composition)."""
        return self.composition == 'paper'

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
