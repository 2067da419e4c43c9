"""The box head and RoI head take instance keys as an argument (no state kept between calls)."""
import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mamba_vod.models.levels import InstanceKeys
from mamba_vod.registry import MODELS

CHANNELS = 32


def _bbox_head_cfg(**extra):
    return dict(type='InstanceAggregationBBoxHead', in_channels=8, fc_out_channels=CHANNELS, roi_feat_size=7,
                num_classes=5, **extra)


def _geos():
    return torch.nn.ModuleList(MODELS.build(dict(type='GEO', channels=CHANNELS, num_heads=16)) for _ in range(2))


def _keys(num):
    return [torch.randn(num, CHANNELS), torch.randn(num, CHANNELS)]


def test_without_keys_it_is_shared2fc_with_the_same_parameters():
    torch.manual_seed(0)
    head = MODELS.build(_bbox_head_cfg())
    plain = MODELS.build(dict(_bbox_head_cfg(), type='Shared2FCBBoxHead'))
    plain.load_state_dict(head.state_dict(), strict=True)
    feats = torch.randn(6, 8, 7, 7)
    cls_score, bbox_pred = head(feats)
    expected_cls, expected_reg = plain(feats)
    assert torch.equal(cls_score, expected_cls) and torch.equal(bbox_pred, expected_reg)
    r0, r1 = head.embed(feats)
    assert torch.equal(r0, head.shared_fcs[0](feats.flatten(1)))
    assert torch.equal(r1, head.shared_fcs[1](torch.relu(r0)))


def test_keys_of_each_image_enhance_only_its_rois():
    torch.manual_seed(0)
    head, geos = MODELS.build(_bbox_head_cfg()), _geos()
    feats = torch.randn(7, 8, 7, 7)
    keys = [_keys(5), _keys(3)]
    img_ids = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    cls_score, _ = head(feats, InstanceKeys(geos, keys), img_ids)
    first_cls, _ = head(feats[:4], InstanceKeys(geos, keys[:1]))
    second_cls, _ = head(feats[4:], InstanceKeys(geos, keys[1:]))
    assert torch.allclose(cls_score, torch.cat([first_cls, second_cls]), atol=1e-6)
    # level 0: residual before the ReLU, y_0 = a_0 + GEO_0(a_0, R_0)
    a0 = head.shared_fcs[0](feats[:4].flatten(1))
    y = head.embed(feats[:4], InstanceKeys(geos, keys[:1]))
    assert torch.allclose(y[0], geos[0](a0, keys[0][0]), atol=1e-6) and not torch.allclose(y[0], a0)
    # an image without keys is not aggregated
    no_keys = head.embed(feats, InstanceKeys(geos, [None, keys[1]]), img_ids)
    assert torch.allclose(no_keys[0][:4], a0, atol=1e-6)


def _roi_head():
    cfg = dict(
        type='MAMBARoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7,
                                                                          sampling_ratio=2),
                                out_channels=8, featmap_strides=[16]),
        bbox_head=_bbox_head_cfg(),
        test_cfg=ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))
    return MODELS.build(cfg)


def _boxes_and_samples(num_images=1):
    boxes = [torch.tensor([[0., 0., 40., 40.], [10., 20., 90., 60.], [30., 5., 70., 90.]]),
             torch.tensor([[5., 5., 20., 30.], [50., 10., 120., 80.]])][:num_images]
    proposals = [InstanceData(bboxes=b, scores=torch.linspace(.9, .5, len(b)), labels=torch.zeros(len(b)).long())
                 for b in boxes]
    samples = [DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.)))
               for _ in boxes]
    return boxes, proposals, samples


def test_predict_with_keys_is_the_box_head_with_those_keys_and_keeps_no_state():
    torch.manual_seed(0)
    roi_head, geos = _roi_head(), _geos()
    x = (torch.randn(1, 8, 6, 8), )
    boxes, proposals, samples = _boxes_and_samples()
    keys = InstanceKeys(geos, [_keys(6)])
    with_keys = roi_head.predict(x, proposals, samples, instance_keys=keys)[0]
    without = roi_head.predict(x, proposals, samples)[0]
    assert len(with_keys) > 0 and not torch.allclose(with_keys.scores, without.scores[:len(with_keys)])
    feats = roi_head.bbox_roi_extractor(x, torch.cat([torch.zeros(3, 1), boxes[0]], 1))
    cls_score, _ = roi_head.bbox_head(feats, keys)
    assert torch.allclose(roi_head.forward(x, proposals, samples, instance_keys=keys)[0], cls_score)
    assert not any(isinstance(value, InstanceKeys) for value in vars(roi_head).values())


def test_embed_proposals_gives_raw_or_enhanced_rows_of_each_image():
    torch.manual_seed(0)
    roi_head, geos = _roi_head(), _geos()
    x = (torch.randn(2, 8, 6, 8), )
    boxes, _, _ = _boxes_and_samples(2)
    raw = roi_head.embed_proposals(x, boxes)
    assert [[tuple(r.shape) for r in image] for image in raw] == [[(3, CHANNELS)] * 2, [(2, CHANNELS)] * 2]
    rois = torch.cat([torch.cat([torch.full((len(b), 1), float(i)), b], 1) for i, b in enumerate(boxes)])
    feats = roi_head.bbox_roi_extractor(x, rois)
    expected = roi_head.bbox_head.embed(feats)
    assert torch.allclose(torch.cat([raw[0][1], raw[1][1]]), expected[1], atol=1e-6)
    keys = InstanceKeys(geos, [_keys(4), _keys(5)])
    enhanced = roi_head.embed_proposals(x, boxes, keys)
    assert torch.allclose(torch.cat([enhanced[0][0], enhanced[1][0]]), roi_head.bbox_head.embed(feats, keys,
                                                                                                rois[:, 0])[0])
    assert not torch.allclose(enhanced[0][0], raw[0][0], atol=1e-3)
