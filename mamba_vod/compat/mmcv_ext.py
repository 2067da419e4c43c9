"""A stand-in for mmcv's compiled extension ``mmcv._ext``, built on torchvision.

mmcv-lite ships no compiled ops, yet ``import mmdet.models`` imports ``mmcv.ops``,
which loads ``mmcv._ext`` and checks that every op it names exists. When no real
``mmcv._ext`` can be imported, :func:`install_mmcv_ext` registers this module in
its place:

- ``nms`` and RoIAlign forward/backward (average pooling) run on torchvision's
  kernels, on CPU and CUDA tensors alike;
- every other op exists as a name (so ``mmcv.ops`` imports) but raises
  :class:`MissingMmcvOpError` when called, naming the op.

A real, importable ``mmcv._ext`` is always used unchanged.

Shapes: boxes (N, 4) xyxy; rois (R, 5) as (batch_index, x1, y1, x2, y2);
features (B, C, H, W); pooled RoI features (R, C, PH, PW).
"""
import importlib
import importlib.machinery
import sys
import types
import warnings

import torch
import torchvision

EXT_NAME = 'mmcv._ext'


class MissingMmcvOpError(RuntimeError):
    """Raised when code calls an mmcv op that needs mmcv's compiled extension."""


def _missing_op(name: str):

    def op(*args, **kwargs):
        raise MissingMmcvOpError(
            f"mmcv op '{name}' is not available: this environment has mmcv-lite, "
            f'and mamba_vod provides only nms and roi_align (avg) through torchvision. '
            f"Install mmcv built with ops (mmcv>=2.0,<2.2 compiled for your torch) to use '{name}'.")

    op.__name__ = name
    return op


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, offset: int = 0) -> torch.Tensor:
    """Indices (K,) of the boxes (N, 4) kept by NMS, by descending score.

    ``offset=1`` is mmcv's legacy "+1 pixel" box size, which equals plain NMS on
    boxes whose x2/y2 are shifted by one.
    """
    if offset:
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:] + offset], dim=1)
    return torchvision.ops.nms(boxes, scores.to(boxes.dtype), float(iou_threshold))


def _check_avg_pool(pool_mode: int) -> None:
    if pool_mode != 1:
        _missing_op("roi_align with pool_mode='max'")()


def roi_align_forward(input, rois, output, argmax_y, argmax_x, *, aligned_height, aligned_width,
                      spatial_scale, sampling_ratio, pool_mode, aligned):
    """Writes RoIAlign of ``input`` (B, C, H, W) over ``rois`` (R, 5) into ``output`` (R, C, PH, PW)."""
    _check_avg_pool(pool_mode)
    pooled = torchvision.ops.roi_align(input, rois.to(input.dtype), (aligned_height, aligned_width),
                                       spatial_scale, sampling_ratio, aligned)
    output.copy_(pooled)


def roi_align_backward(grad_output, rois, argmax_y, argmax_x, grad_input, *, aligned_height,
                       aligned_width, spatial_scale, sampling_ratio, pool_mode, aligned):
    """Writes the gradient w.r.t. the features (B, C, H, W) into ``grad_input``."""
    _check_avg_pool(pool_mode)
    batch, channels, height, width = grad_input.shape
    grad = torch.ops.torchvision._roi_align_backward(
        grad_output, rois.to(grad_output.dtype), spatial_scale, aligned_height, aligned_width, batch,
        channels, height, width, sampling_ratio, aligned)
    grad_input.copy_(grad)


class TorchvisionExtModule(types.ModuleType):
    """Module object standing for ``mmcv._ext``: provided ops, and named errors for the rest."""

    provided_ops = ('nms', 'roi_align_forward', 'roi_align_backward')

    def __init__(self):
        super().__init__(EXT_NAME, __doc__)
        # a spec without a loader: importlib/pkgutil see the module, and mmengine's
        # mmcv_full_available() still (rightly) answers False
        self.__spec__ = importlib.machinery.ModuleSpec(EXT_NAME, None)
        self.nms = nms
        self.roi_align_forward = roi_align_forward
        self.roi_align_backward = roi_align_backward

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        return _missing_op(name)


def real_mmcv_ext_available() -> bool:
    """True when a compiled ``mmcv._ext`` imports (ours does not count)."""
    module = sys.modules.get(EXT_NAME)
    if isinstance(module, TorchvisionExtModule):
        return False
    if module is not None:
        return True
    try:
        importlib.import_module(EXT_NAME)
    except ImportError as error:
        if 'No module named' not in str(error):
            warnings.warn(f'mmcv._ext exists but does not import ({error}); '
                          'mamba_vod uses its torchvision ops instead.')
        return False
    return True


def install_mmcv_ext() -> bool:
    """Provides ``mmcv._ext`` when no real one imports. Returns True if ours was installed."""
    if real_mmcv_ext_available():
        return False
    import mmcv
    module = sys.modules.get(EXT_NAME)
    if not isinstance(module, TorchvisionExtModule):
        module = TorchvisionExtModule()
        sys.modules[EXT_NAME] = module
    mmcv._ext = module
    return True
