import copy

import pytest
import torch
from mmengine.config import ConfigDict

from mamba_vod.registry import MODELS

from .mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess, tiny_model_cfg


def _spy_samples(bank, seen):
    """Records the frame ids of every key set the detector draws from ``bank``."""
    original = bank.sample_with_meta

    def sample_with_meta(generator=None):
        drawn = original(generator)
        seen.append(drawn.frame_ids.clone())
        return drawn

    bank.sample_with_meta = sample_with_meta


def test_training_step_gives_finite_losses_and_geo_gradients_at_both_levels():
    model = build_tiny_mamba()
    model.train()
    clips = [make_clip(3, seed=seed) for seed in range(2)]  # key frame + 2 references, B = 2
    samples = [make_sample(frame_id=5, ref_frame_ids=[2, 9]) for _ in range(2)]
    inputs, samples = preprocess(model, clips, samples, training=True)
    assert inputs.shape[:2] == (2, 3)
    loss, log_vars = model.parse_losses(model.loss(inputs, samples))
    assert torch.isfinite(loss) and {'loss_rpn_cls', 'loss_cls', 'loss_bbox'} <= set(log_vars)
    loss.backward()
    geos = {'pixel': model.pixel_aggregator.geo, 'instance0': model.roi_head.bbox_head.aggregators[0],
            'instance1': model.roi_head.bbox_head.aggregators[1]}
    for name, geo in geos.items():
        grads = [p.grad for p in geo.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert sum(g.abs().sum() for g in grads) > 0, name
    # training never leaves state in the memories
    assert len(model.pixel_memory) == 0 and len(model.instance_memory[0]) == 0
    with pytest.raises(ValueError, match='reference frames'):
        model.loss(inputs[:, :1], samples)
    with torch.no_grad():  # tensor mode: raw head outputs of the key frames (<= 30 proposals each)
        cls_score, bbox_pred = model._forward(inputs, samples)[0]
    assert 0 < cls_score.shape[0] == bbox_pred.shape[0] <= 60
    assert cls_score.shape[1] == 31 and bbox_pred.shape[1] == 120


def test_with_both_levels_instance_keys_come_from_pixel_enhanced_references():
    """As at test time, where every frame's map is pixel-enhanced before its
    proposals go to the instance memory: each reference is enhanced by the pixels
    of the other reference before its keys are taken."""
    model = build_tiny_mamba()
    model.eval()  # BN on running statistics: the maps below are the ones the method sees
    inputs, samples = preprocess(model, [make_clip(3, seed=4)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])])
    seen = []
    original = model._reference_keys
    model._reference_keys = lambda references, meta: seen.append(references) or original(references, meta)
    with torch.no_grad():
        model._aggregate_with_references(inputs, samples)
        raw = model.extract_feat(inputs[0])[0]  # (3, C, h, w): key, ref 0, ref 1
        pixels_of = [ref.flatten(1).t() for ref in raw[1:]]  # every pixel (fewer than the key-set size)
        expected = torch.stack([model.pixel_aggregator(raw[1], pixels_of[1]),
                                model.pixel_aggregator(raw[2], pixels_of[0])])
    assert len(seen) == 1 and torch.allclose(seen[0], expected, atol=1e-5)
    assert not torch.allclose(seen[0], raw[1:], atol=1e-3)


@pytest.mark.parametrize('self_keys', [True, False])
def test_instance_keys_hold_the_key_frames_own_top_proposals_with_self_keys(self_keys):
    """Training: the key frame's top-K proposals are keys beside the references'.
    Online test: beside the memory sample, the frame's own top-K proposals (the
    rows it then writes to the memory)."""
    model = build_tiny_mamba(pixel_level=False, instance_self_keys=self_keys)
    model.eval()
    head = model.roi_head.bbox_head
    seen = []
    original = head.forward
    head.forward = lambda x, keys=None, roi_img_ids=None: (seen.append(keys), original(x, keys, roi_img_ids))[1]
    k = model.num_instance_writes
    with torch.no_grad():
        inputs, samples = preprocess(model, [make_clip(3, seed=4)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])])
        model._forward(inputs, samples)
        assert seen[-1][0][0].shape[0] == (3 if self_keys else 2) * k
        memory_rows = []
        for frame_id in range(2):
            memory_rows.append(min(len(model.instance_memory[0]), model.instance_memory[0].key_set_size))
            inputs, samples = preprocess(model, [make_clip(1, seed=frame_id)], [make_sample(frame_id=frame_id)])
            model.predict(inputs, samples)
        written = [bank.features[bank.frame_ids == 1] for bank in model.instance_memory]
    keys = seen[-1][0]  # frame 1, its only image: one (rows, C) tensor per level
    assert memory_rows == [0, k]  # frame 0 is its own reference; frame 1 samples the memory
    assert keys[0].shape[0] == k + (k if self_keys else 0)
    if self_keys:  # the last K rows are the frame's own, the ones it wrote
        assert all(torch.allclose(level[-k:], rows, atol=1e-6) for level, rows in zip(keys, written))


def test_instance_key_dropout_one_trains_the_box_head_without_keys():
    model = build_tiny_mamba(pixel_level=False, instance_key_dropout=1.0)
    model.train()
    inputs, samples = preprocess(model, [make_clip(3, seed=1)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])],
                                 training=True)
    loss, _ = model.parse_losses(model.loss(inputs, samples))
    loss.backward()
    assert all(p.grad is None for p in model.roi_head.bbox_head.aggregators.parameters())
    assert model.roi_head.bbox_head.shared_fcs[0].weight.grad.abs().sum() > 0


def test_pixel_level_dropout_one_trains_as_the_instance_only_model_but_tests_with_both():
    model = build_tiny_mamba(pixel_level_dropout=1.0)
    model.train()
    inputs, samples = preprocess(model, [make_clip(3, seed=1)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])],
                                 training=True)
    pixel_calls, reference_maps = [], []
    original_aggregate, original_keys = model.pixel_aggregator.forward, model._reference_keys
    model.pixel_aggregator.forward = lambda *args: pixel_calls.append(1) or original_aggregate(*args)
    model._reference_keys = lambda references, meta: reference_maps.append(references) or original_keys(references,
                                                                                                      meta)
    loss, _ = model.parse_losses(model.loss(inputs, samples))
    loss.backward()
    assert not pixel_calls and all(p.grad is None for p in model.pixel_aggregator.parameters())
    assert all(p.grad.abs().sum() > 0 for p in model.roi_head.bbox_head.aggregators[0].parameters())
    plain = model.extract_feat(inputs.flatten(0, 1))[0][1:]  # the references' maps, not pixel-enhanced
    assert torch.allclose(reference_maps[0], plain, atol=1e-5)
    model.eval()  # a training-time regulariser only: every test frame goes through the pixel GEO
    with torch.no_grad():
        model.predict(*preprocess(model, [make_clip(1, seed=2)], [make_sample(frame_id=0)]))
    assert pixel_calls


def test_without_aggregation_it_is_single_frame_faster_rcnn():
    model = build_tiny_mamba(pixel_level=False, instance_level=False)
    assert not hasattr(model, 'pixel_aggregator') and model.roi_head.bbox_head.aggregators is None
    cfg = ConfigDict(tiny_model_cfg())
    for key in ('pixel_aggregator', 'instance_aggregator', 'pixel_memory', 'instance_memory', 'num_instance_writes',
                'num_train_pixel_keys', 'seed'):
        cfg.pop(key)
    cfg.update(type='FasterRCNN', data_preprocessor=dict(cfg.data_preprocessor, type='DetDataPreprocessor'))
    cfg.roi_head.type = 'StandardRoIHead'
    cfg.roi_head.bbox_head.type = 'Shared2FCBBoxHead'
    baseline = MODELS.build(cfg)
    baseline.load_state_dict(model.state_dict(), strict=True)
    clip = make_clip(2)
    inputs, samples = preprocess(model, [clip], [make_sample(ref_frame_ids=[3])], training=True)
    torch.manual_seed(1)
    losses = model.parse_losses(model.loss(inputs, copy.deepcopy(samples)))[1]
    torch.manual_seed(1)
    expected = baseline.parse_losses(baseline.loss(inputs[:, 0], copy.deepcopy(samples)))[1]
    assert losses == expected
    model.eval()
    baseline.eval()
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(samples))[0].pred_instances
        theirs = baseline.predict(inputs[:, 0], copy.deepcopy(samples))[0].pred_instances
    assert len(ours) > 0 and torch.equal(ours.bboxes, theirs.bboxes) and torch.equal(ours.scores, theirs.scores)


@torch.no_grad()
def test_online_inference_uses_only_past_frames_and_resets_between_videos():
    model = build_tiny_mamba(pixel_score_thr=0.0, pixels_per_detection=2,
                             instance_memory=dict(type='MemoryBank', capacity=100, key_set_size=40, seed=0))
    model.eval()
    drawn = {'pixel': [], 'instance': []}
    _spy_samples(model.pixel_memory, drawn['pixel'])
    _spy_samples(model.instance_memory[0], drawn['instance'])
    for frame_id in range(30):
        for seen in drawn.values():
            seen.clear()
        inputs, samples = preprocess(model, [make_clip(1, height=48, width=64, seed=frame_id)],
                                     [make_sample(frame_id=frame_id, height=48, width=64)])
        result = model.predict(inputs, samples)[0]
        assert len(result.pred_instances) > 0
        for level, seen in drawn.items():
            if frame_id == 0:  # empty memory: the frame attends to itself
                assert not seen, level
            else:
                assert seen and all(ids.max() < frame_id for ids in seen), level
        for bank in (model.pixel_memory, *model.instance_memory):
            assert bank.frame_ids.max() == frame_id and len(bank) <= bank.capacity
    assert len(model.instance_memory[0]) == 100  # full: old rows were replaced
    assert set(model.pixel_memory.frame_ids.tolist()) > {28, 29}
    # a frame of another video starts from empty memories (its own frame only)
    inputs, samples = preprocess(model, [make_clip(1, seed=99)], [make_sample(video_id=1, frame_id=7)])
    model.predict(inputs, samples)
    assert model.instance_memory[0].frame_ids.unique().tolist() == [7]
    assert model.pixel_memory.frame_ids.unique().tolist() == [7]
    model.reset_memory(pixel=False)
    assert len(model.instance_memory[1]) == 0 and len(model.pixel_memory) > 0


@torch.no_grad()
@pytest.mark.parametrize('writes', ['detections', 'frame'])
def test_pixel_memory_writes_detection_pixels_or_pixels_of_the_whole_frame(writes):
    # no detection reaches the score threshold: only 'frame' writes anything
    model = build_tiny_mamba(pixel_memory_writes=writes, pixel_score_thr=1.1, pixels_per_frame=7)
    model.eval()
    for frame_id in range(3):
        inputs, samples = preprocess(model, [make_clip(1, height=48, width=64, seed=frame_id)],
                                     [make_sample(frame_id=frame_id, height=48, width=64)])
        model.predict(inputs, samples)
    if writes == 'detections':
        assert len(model.pixel_memory) == 0
    else:
        assert model.pixel_memory.frame_ids.tolist() == [0] * 7 + [1] * 7 + [2] * 7
        # the rows are cells of the frame's (pre-GEO) map
        feat = model.extract_feat(inputs[:, 0])[0][0].flatten(1).t()  # (C, h, w) -> (h*w, C)
        last = model.pixel_memory.features[-7:]
        assert torch.cdist(last, feat).min(dim=1).values.max() < 1e-4


@torch.no_grad()
def test_paper_mode_returns_frames_in_order_with_memory_from_spread_references():
    model = build_tiny_mamba(test_mode='paper')
    model.eval()
    num = 8
    frames = [make_clip(1, seed=frame_id) for frame_id in range(num)]
    inputs, samples = preprocess(model, frames, [make_sample(video_id=3, frame_id=i) for i in range(num)])
    processed = []
    original = model._predict_clip

    def recording(clip, data_sample, rescale):
        processed.append((data_sample.frame_id, clip.shape[0],
                          set(model.instance_memory[0].frame_ids.tolist()) if len(model.instance_memory[0]) else set()))
        return original(clip, data_sample, rescale)

    model._predict_clip = recording
    results = model.predict_video(inputs[:, 0], samples)
    assert [r.frame_id for r in results] == list(range(num))
    assert all(len(r.pred_instances) > 0 for r in results)
    order = [frame_id for frame_id, _, _ in processed]
    assert order[0] == 0 and sorted(order) == list(range(num)) and order != list(range(num))
    assert processed[0][1] == 15 and all(length == 1 for _, length, _ in processed[1:])
    spread = {round(i * (num - 1) / 13) for i in range(14)}
    assert processed[1][2] == spread  # after frame 0 the memory holds the 14 references' proposals
    assert results[0].ref_frame_ids == [round(i * (num - 1) / 13) for i in range(14)]


def test_bad_configs_and_inputs_are_refused():
    with pytest.raises(ValueError, match='test_mode'):
        build_tiny_mamba(test_mode='offline')
    with pytest.raises(ValueError, match='pixel_memory_writes'):
        build_tiny_mamba(pixel_memory_writes='boxes')
    with pytest.raises(ValueError, match='pixels_per_frame'):
        build_tiny_mamba(pixel_memory_writes='frame', pixels_per_frame=0)
    with pytest.raises(ValueError, match='instance_key_dropout'):
        build_tiny_mamba(instance_key_dropout=1.5)
    with pytest.raises(ValueError, match='pixel_level_dropout'):
        build_tiny_mamba(pixel_level_dropout=-0.1)
    cfg = tiny_model_cfg()
    cfg['roi_head']['type'] = 'StandardRoIHead'
    with pytest.raises(TypeError, match='MAMBARoIHead'):
        MODELS.build(cfg)
    model = build_tiny_mamba()
    with pytest.raises(ValueError, match=r'\(B, T, 3, H, W\)'):
        model.predict(torch.zeros(3, 64, 96), [make_sample()])
