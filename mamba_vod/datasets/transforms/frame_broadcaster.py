"""mmcv's ``TransformBroadcaster`` that also takes a single frame.

``ImagenetVIDDataset`` gives a dict of per-frame lists when it samples reference frames and a
plain single-frame dict when it does not (``ref_img_sampler=None``, e.g. the 'online' test
protocol). mmcv's broadcaster needs lists; this one turns a single frame into lists of length 1
first, so one video pipeline serves both. With ``share_random_params=True`` the random choices
of the wrapped mmdet transforms (``RandomFlip`` direction, ``RandomResize`` scale, ...) are
drawn once per sample and applied to all its T frames.
"""
from mmcv.transforms import TransformBroadcaster

from mamba_vod.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FrameBroadcaster(TransformBroadcaster):
    """Applies ``transforms`` to each of the T frames of a sample (T = 1 for a single frame).

    Args: as mmcv's ``TransformBroadcaster`` (``transforms``, ``share_random_params``, ...).
    The output is always lists of T per-frame values, the input of ``PackVideoInputs``.
    """

    def transform(self, results: dict) -> dict:
        if not isinstance(results.get('img_path'), (list, tuple)):
            results = {name: [value] for name, value in results.items()}
        return super().transform(results)
