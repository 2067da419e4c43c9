"""The torchvision-backed ``mmcv._ext``: nms and RoIAlign equal torchvision's,
values and gradients; every other op raises an error that names it."""
import pytest
import torch
import torchvision
from mmcv.ops import RoIAlign, nms

from mamba_vod.compat import MissingMmcvOpError, real_mmcv_ext_available
from mamba_vod.compat.mmcv_ext import TorchvisionExtModule

pytestmark = pytest.mark.skipif(real_mmcv_ext_available(),
                                reason='a compiled mmcv._ext is installed and used instead of the provider')


def _random_boxes(n, generator, size=50.0):
    xy = torch.rand(n, 2, generator=generator) * size
    wh = torch.rand(n, 2, generator=generator) * size / 2 + 1
    return torch.cat([xy, xy + wh], dim=1)


def test_provider_is_installed():
    import mmcv
    assert isinstance(mmcv._ext, TorchvisionExtModule)


@pytest.mark.parametrize('iou_threshold', [0.3, 0.5, 0.7])
def test_nms_equals_torchvision(iou_threshold):
    generator = torch.Generator().manual_seed(0)
    boxes = _random_boxes(200, generator)
    scores = torch.rand(200, generator=generator)
    dets, keep = nms(boxes, scores, iou_threshold)
    expected = torchvision.ops.nms(boxes, scores, iou_threshold)
    assert torch.equal(keep, expected)
    assert torch.equal(dets[:, :4], boxes[expected])
    assert torch.allclose(dets[:, 4], scores[expected])


def test_nms_offset_one_uses_plus_one_box_sizes():
    # boxes touching at x=1: IoU 0 with plain sizes; with +1 sizes both are 2x2 and
    # share a 1x2 column, IoU 2 / (4 + 4 - 2) = 1/3
    boxes = torch.tensor([[0., 0., 1., 1.], [1., 0., 2., 1.]])
    scores = torch.tensor([0.9, 0.8])
    assert len(nms(boxes, scores, 0.3, offset=0)[1]) == 2
    assert len(nms(boxes, scores, 0.3, offset=1)[1]) == 1


def test_nms_empty_input():
    dets, keep = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert dets.shape == (0, 5) and keep.numel() == 0


def _feature_and_rois(dtype):
    generator = torch.Generator().manual_seed(1)
    feature = torch.rand(2, 3, 10, 12, generator=generator, dtype=dtype)
    boxes = _random_boxes(5, generator, size=60.0).to(dtype)
    batch_index = torch.tensor([0, 1, 0, 1, 1], dtype=dtype)[:, None]
    return feature, torch.cat([batch_index, boxes], dim=1)


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_forward_equals_torchvision(aligned, sampling_ratio):
    feature, rois = _feature_and_rois(torch.float32)
    layer = RoIAlign((3, 4), spatial_scale=0.2, sampling_ratio=sampling_ratio, aligned=aligned)
    expected = torchvision.ops.roi_align(feature, rois, (3, 4), 0.2, sampling_ratio, aligned)
    assert torch.allclose(layer(feature, rois), expected, atol=1e-6)


def test_roi_align_gradient_equals_torchvision_and_passes_gradcheck():
    feature, rois = _feature_and_rois(torch.float64)
    feature.requires_grad_(True)
    layer = RoIAlign((2, 2), spatial_scale=0.2, sampling_ratio=2, aligned=True)
    assert torch.autograd.gradcheck(lambda f: layer(f, rois), (feature, ), eps=1e-6, atol=1e-5)

    grad_output = torch.rand(5, 3, 2, 2, dtype=torch.float64)
    ours, = torch.autograd.grad(layer(feature, rois), feature, grad_output)
    theirs, = torch.autograd.grad(torchvision.ops.roi_align(feature, rois, (2, 2), 0.2, 2, True), feature,
                                  grad_output)
    assert torch.allclose(ours, theirs)


def test_roi_align_max_pool_is_refused_by_name():
    feature, rois = _feature_and_rois(torch.float32)
    with pytest.raises(MissingMmcvOpError, match="pool_mode='max'"):
        RoIAlign((2, 2), pool_mode='max', aligned=False)(feature, rois)


def test_unprovided_op_raises_error_naming_it():
    from mmcv.ops import batched_nms, soft_nms  # noqa: F401  (imports must work)
    boxes = torch.tensor([[0., 0., 10., 10.]])
    with pytest.raises(MissingMmcvOpError, match="'softnms'.*mmcv built with ops"):
        soft_nms(boxes, torch.tensor([0.9]), 0.5)


def test_dunder_lookups_stay_attribute_errors():
    import mmcv
    assert not hasattr(mmcv._ext, '__path__')
