import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mamba_vod.models.roi_heads import InstanceKeys
from mamba_vod.registry import MODELS

CHANNELS = 32


def _bbox_head_cfg(**extra):
    return dict(type='InstanceAggregationBBoxHead', in_channels=8, fc_out_channels=CHANNELS, roi_feat_size=7,
                num_classes=5, **extra)


def _geo():
    return dict(type='GEO', channels=CHANNELS, num_heads=16)


def test_without_aggregator_it_is_shared2fc():
    torch.manual_seed(0)
    head = MODELS.build(_bbox_head_cfg())
    plain = MODELS.build(dict(_bbox_head_cfg(), type='Shared2FCBBoxHead'))
    plain.load_state_dict(head.state_dict())
    feats = torch.randn(6, 8, 7, 7)
    cls_score, bbox_pred, pre_relu = head(feats)
    expected_cls, expected_reg = plain(feats)
    assert torch.equal(cls_score, expected_cls) and torch.equal(bbox_pred, expected_reg)
    assert torch.equal(pre_relu[0], head.shared_fcs[0](feats.flatten(1)))


def test_keys_of_each_image_enhance_only_its_rois():
    torch.manual_seed(0)
    head = MODELS.build(_bbox_head_cfg(aggregator=_geo()))
    assert len(head.aggregators) == 2
    feats = torch.randn(7, 8, 7, 7)
    keys = [[torch.randn(5, CHANNELS), torch.randn(5, CHANNELS)], [torch.randn(3, CHANNELS), torch.randn(3, CHANNELS)]]
    img_ids = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    cls_score, _, pre_relu = head(feats, keys=keys, roi_img_ids=img_ids)
    first_cls, _, first_pre = head(feats[:4], keys=keys[:1])
    second_cls, _, _ = head(feats[4:], keys=keys[1:])
    assert torch.allclose(cls_score, torch.cat([first_cls, second_cls]), atol=1e-6)
    # level 0: residual before the ReLU, y_0 = a_0 + Agg_0(a_0, R_0)
    a0 = head.shared_fcs[0](feats[:4].flatten(1))
    assert torch.allclose(first_pre[0], head.aggregators[0](a0, keys[0][0]), atol=1e-6)
    assert not torch.allclose(pre_relu[0][:4], a0)
    # an image without keys is not aggregated
    _, _, no_keys = head(feats, keys=[None, keys[1]], roi_img_ids=img_ids)
    assert torch.allclose(no_keys[0][:4], a0, atol=1e-6)


def test_embed_references_runs_the_fcs_without_aggregation():
    torch.manual_seed(0)
    head = MODELS.build(_bbox_head_cfg(aggregator=_geo()))
    feats = torch.randn(4, 8, 7, 7)
    r0, r1 = head.embed_references(feats)
    assert torch.equal(r0, head.shared_fcs[0](feats.flatten(1)))
    assert torch.equal(r1, head.shared_fcs[1](torch.relu(r0)))


def _roi_head():
    cfg = dict(
        type='MAMBARoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7,
                                                                          sampling_ratio=2),
                                out_channels=8, featmap_strides=[16]),
        bbox_head=_bbox_head_cfg(aggregator=_geo()),
        test_cfg=ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))
    return MODELS.build(cfg)


def test_predict_records_the_enhanced_rows_of_the_first_k_proposals():
    torch.manual_seed(0)
    roi_head = _roi_head()
    x = (torch.randn(1, 8, 6, 8), )
    boxes = torch.tensor([[0., 0., 40., 40.], [10., 20., 90., 60.], [30., 5., 70., 90.], [5., 5., 20., 30.]])
    proposals = InstanceData(bboxes=boxes, scores=torch.tensor([.9, .8, .7, .6]), labels=torch.zeros(4).long())
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.)))
    keys = [torch.randn(6, CHANNELS), torch.randn(6, CHANNELS)]
    context = InstanceKeys([keys], record_rows=2)
    results = roi_head.predict(x, [proposals], [sample], instance_keys=context)
    assert len(results[0].bboxes) > 0
    recorded = context.recorded[0]
    assert [tuple(r.shape) for r in recorded] == [(2, CHANNELS), (2, CHANNELS)]
    feats = roi_head.bbox_roi_extractor(x, torch.cat([torch.zeros(2, 1), boxes[:2]], 1))
    _, _, expected = roi_head.bbox_head(feats, keys=[keys])
    assert torch.allclose(recorded[1], expected[1], atol=1e-5)
    assert roi_head._instance_keys is None  # the keys do not outlive the call
    refs = roi_head.embed_references(x, [boxes[:3]])
    assert [tuple(r.shape) for r in refs[0]] == [(3, CHANNELS), (3, CHANNELS)]


def test_predict_can_record_the_non_enhanced_rows_training_uses_as_keys():
    torch.manual_seed(0)
    roi_head = _roi_head()
    x = (torch.randn(1, 8, 6, 8), )
    boxes = torch.tensor([[0., 0., 40., 40.], [10., 20., 90., 60.], [30., 5., 70., 90.]])
    proposals = InstanceData(bboxes=boxes, scores=torch.tensor([.9, .8, .7]), labels=torch.zeros(3).long())
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.)))
    keys = [torch.randn(6, CHANNELS), torch.randn(6, CHANNELS)]
    raw = InstanceKeys([keys], record_rows=2, record_enhanced=False)
    enhanced = InstanceKeys([keys], record_rows=2)
    roi_head.predict(x, [proposals], [sample], instance_keys=raw)
    roi_head.predict(x, [proposals], [sample], instance_keys=enhanced)
    expected = roi_head.embed_references(x, [boxes[:2]])[0]
    for level in range(2):
        assert torch.allclose(raw.recorded[0][level], expected[level], atol=1e-5)
        assert not torch.allclose(enhanced.recorded[0][level], expected[level], atol=1e-3)


def test_raw_recording_embeds_the_first_k_rows_of_each_image():
    torch.manual_seed(0)
    roi_head = _roi_head()
    x = (torch.randn(2, 8, 6, 8), )
    boxes = [torch.tensor([[0., 0., 40., 40.], [10., 20., 90., 60.], [30., 5., 70., 90.]]),
             torch.tensor([[5., 5., 20., 30.], [50., 10., 120., 80.]])]
    proposals = [InstanceData(bboxes=b, scores=torch.linspace(.9, .5, len(b)), labels=torch.zeros(len(b)).long())
                 for b in boxes]
    samples = [DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.)))
               for _ in boxes]
    keys = [[torch.randn(6, CHANNELS), torch.randn(6, CHANNELS)] for _ in boxes]
    context = InstanceKeys(keys, record_rows=2, record_enhanced=False)
    roi_head.predict(x, proposals, samples, instance_keys=context)
    expected = roi_head.embed_references(x, [b[:2] for b in boxes])
    for image in range(2):
        assert all(torch.allclose(got, want, atol=1e-5) for got, want in zip(context.recorded[image], expected[image]))
