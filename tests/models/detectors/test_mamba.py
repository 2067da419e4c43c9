import copy

import pytest
import torch
from mmengine.config import ConfigDict

from mamba_vod.registry import MODELS

from .mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess, tiny_model_cfg


def _spy_samples(bank, seen):
    """Records the frame ids of every key set the detector draws from ``bank`` (its slots)."""
    original = bank.sample_index

    def sample_index(generator=None):
        index = original(generator)
        seen.append(bank.frame_ids[index].clone())
        return index

    bank.sample_index = sample_index


def _record_calls(module, seen):
    """Records the positional inputs of every call of ``module`` (a forward pre-hook)."""
    return module.register_forward_pre_hook(lambda _, args, kwargs: seen.append((args, kwargs)), with_kwargs=True)


def _record_embedded_maps(model, seen):
    """Records the maps whose proposals become instance rows (``roi_head.embed_proposals``)."""
    original = model.roi_head.embed_proposals

    def embed_proposals(x, boxes, instance_keys=None):
        seen.append(x[0])
        return original(x, boxes, instance_keys)

    model.roi_head.embed_proposals = embed_proposals


def _training_batch(model, num_clips=1, seed=1):
    clips = [make_clip(3, seed=seed + index) for index in range(num_clips)]
    samples = [make_sample(frame_id=5, ref_frame_ids=[2, 9]) for _ in range(num_clips)]
    return preprocess(model, clips, samples, training=True)


def test_training_step_gives_finite_losses_and_geo_gradients_at_both_levels():
    model = build_tiny_mamba()
    model.train()
    inputs, samples = _training_batch(model, num_clips=2, seed=0)
    assert inputs.shape[:2] == (2, 3)
    loss, log_vars = model.parse_losses(model.loss(inputs, samples))
    assert torch.isfinite(loss) and {'loss_rpn_cls', 'loss_cls', 'loss_bbox'} <= set(log_vars)
    loss.backward()
    geos = {'pixel': model.pixel_level.geo, 'instance0': model.instance_level.geos[0],
            'instance1': model.instance_level.geos[1]}
    for name, geo in geos.items():
        grads = [p.grad for p in geo.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert sum(g.abs().sum() for g in grads) > 0, name
    # training never leaves state in the memories
    assert len(model.pixel_level.memory) == 0 and model.instance_level.is_empty
    with pytest.raises(ValueError, match='reference frames'):
        model.loss(inputs[:, :1], samples)
    with torch.no_grad():  # tensor mode: raw head outputs of the key frames (<= 30 proposals each)
        cls_score, bbox_pred = model(inputs, samples, mode='tensor')[0]
    assert 0 < cls_score.shape[0] == bbox_pred.shape[0] <= 60
    assert cls_score.shape[1] == 31 and bbox_pred.shape[1] == 120


def test_with_both_levels_instance_keys_come_from_pixel_enhanced_references():
    """As at test time, where every frame's map is pixel-enhanced before its proposals go to the
    instance memory: each reference is enhanced by the pixels of the other reference before its
    rows are taken."""
    model = build_tiny_mamba()
    model.eval()  # BN on running statistics: the maps below are the ones the method sees
    inputs, samples = preprocess(model, [make_clip(3, seed=4)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])])
    seen = []
    _record_embedded_maps(model, seen)
    with torch.no_grad():
        model(inputs, samples, mode='tensor')
        raw = model.extract_feat(inputs[0])[0]  # (3, C, h, w): key, ref 0, ref 1
        pixels_of = [ref.flatten(1).t() for ref in raw[1:]]  # every pixel (fewer than the key-set size)
        expected = torch.stack([model.pixel_level.enhance(raw[1], pixels_of[1]),
                                model.pixel_level.enhance(raw[2], pixels_of[0])])
    assert len(seen) == 1 and torch.allclose(seen[0], expected, atol=1e-5)
    assert not torch.allclose(seen[0], raw[1:], atol=1e-3)


@pytest.mark.parametrize('self_keys', [True, False])
def test_instance_keys_hold_the_key_frames_own_top_proposals_with_self_keys(self_keys):
    """Training: the key frame's top-K proposals are keys beside the references'. Online test:
    beside the memory sample, the frame's own top-K proposals (the rows it then writes)."""
    model = build_tiny_mamba(pixel_level=False, instance=dict(self_keys=self_keys, cache_keys=False))  # rows as keys
    model.eval()
    calls = []
    _record_calls(model.roi_head.bbox_head, calls)
    k = model.instance_level.proposals_per_frame
    with torch.no_grad():
        inputs, samples = preprocess(model, [make_clip(3, seed=4)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])])
        model(inputs, samples, mode='tensor')
        assert calls[-1][0][1].per_image[0][0].shape[0] == (3 if self_keys else 2) * k
        memory = model.instance_level.memories[0]
        memory_rows = []
        for frame_id in range(2):
            memory_rows.append(min(len(memory), memory.key_set_size))
            inputs, samples = preprocess(model, [make_clip(1, seed=frame_id)], [make_sample(frame_id=frame_id)])
            model.predict(inputs, samples)
        written = [bank.features[bank.frame_ids == 1] for bank in model.instance_level.memories]
    keys = calls[-1][0][1].per_image[0]  # frame 1, its only image: one (rows, C) tensor per level
    assert memory_rows == [0, k]  # frame 0 is its own reference; frame 1 samples the memory
    assert keys[0].shape[0] == k + (k if self_keys else 0)
    if self_keys:  # the last K rows are the frame's own, the ones it wrote
        assert all(torch.allclose(level[-k:], rows, atol=1e-6) for level, rows in zip(keys, written))


def test_instance_key_dropout_one_trains_the_box_head_without_keys():
    model = build_tiny_mamba(pixel_level=False, train=dict(instance=dict(key_dropout=1.0)))
    model.train()
    loss, _ = model.parse_losses(model.loss(*_training_batch(model)))
    loss.backward()
    assert all(p.grad is None for p in model.instance_level.geos.parameters())
    assert model.roi_head.bbox_head.shared_fcs[0].weight.grad.abs().sum() > 0


def test_pixel_level_dropout_one_trains_as_the_instance_only_model_but_tests_with_both():
    model = build_tiny_mamba(train=dict(pixel=dict(level_dropout=1.0)))
    model.train()
    inputs, samples = _training_batch(model)
    pixel_calls, reference_maps = [], []
    _record_calls(model.pixel_level.geo, pixel_calls)
    _record_embedded_maps(model, reference_maps)
    loss, _ = model.parse_losses(model.loss(inputs, samples))
    loss.backward()
    assert not pixel_calls and all(p.grad is None for p in model.pixel_level.parameters())
    assert all(p.grad.abs().sum() > 0 for p in model.instance_level.geos[0].parameters())
    plain = model.extract_feat(inputs.flatten(0, 1))[0][1:]  # the references' maps, not pixel-enhanced
    assert torch.allclose(reference_maps[0], plain, atol=1e-5)
    model.eval()  # a training-time regulariser only: every test frame goes through the pixel GEO
    with torch.no_grad():
        model.predict(*preprocess(model, [make_clip(1, seed=2)], [make_sample(frame_id=0)]))
    assert pixel_calls


def test_without_levels_it_is_single_frame_faster_rcnn():
    model = build_tiny_mamba(pixel_level=False, instance_level=False)
    assert model.pixel_level is None and model.instance_level is None
    cfg = ConfigDict(tiny_model_cfg())
    for key in ('pixel_level', 'instance_level'):
        cfg.pop(key)
    cfg.train_cfg.pop('pixel')
    cfg.update(type='FasterRCNN', data_preprocessor=dict(cfg.data_preprocessor, type='DetDataPreprocessor'))
    cfg.roi_head.type = 'StandardRoIHead'
    cfg.roi_head.bbox_head.type = 'Shared2FCBBoxHead'
    baseline = MODELS.build(cfg)
    baseline.load_state_dict(model.state_dict(), strict=True)
    inputs, samples = preprocess(model, [make_clip(2)], [make_sample(ref_frame_ids=[3])], training=True)
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


def _predict(model, frame_id, video_id=0, refs=(), height=48, width=64, seed=None):
    clip = make_clip(1 + len(refs), height=height, width=width, seed=frame_id if seed is None else seed)
    sample = make_sample(video_id=video_id, frame_id=frame_id, ref_frame_ids=list(refs), height=height, width=width)
    return model.predict(*preprocess(model, [clip], [sample]))[0]


@torch.no_grad()
def test_online_inference_uses_only_past_frames_and_resets_between_videos():
    model = build_tiny_mamba(test=dict(pixel=dict(score_thr=0.0, pixels_per_detection=2)),
                             instance=dict(memory=dict(type='MemoryBank', capacity=100, key_set_size=40, seed=0)))
    model.eval()
    drawn = {'pixel': [], 'instance': []}
    _spy_samples(model.pixel_level.memory, drawn['pixel'])
    _spy_samples(model.instance_level.memories[0], drawn['instance'])
    banks = (model.pixel_level.memory, *model.instance_level.memories)
    for frame_id in range(30):
        for seen in drawn.values():
            seen.clear()
        assert len(_predict(model, frame_id).pred_instances) > 0
        for level, seen in drawn.items():
            if frame_id == 0:  # empty memory: the frame attends to itself
                assert not seen, level
            else:
                assert seen and all(ids.max() < frame_id for ids in seen), level
        for bank in banks:
            assert bank.frame_ids.max() == frame_id and len(bank) <= bank.capacity
    assert len(model.instance_level.memories[0]) == 100  # full: old rows were replaced
    assert set(model.pixel_level.memory.frame_ids.tolist()) > {28, 29}
    # a frame of another video starts from empty memories (its own frame only)
    _predict(model, 7, video_id=1, seed=99)
    assert model.instance_level.memories[0].frame_ids.unique().tolist() == [7]
    assert model.pixel_level.memory.frame_ids.unique().tolist() == [7]
    model.reset_memory(['instance_level'])
    assert model.instance_level.is_empty and len(model.pixel_level.memory) > 0
    model.train()  # rows written with other weights are stale
    assert len(model.pixel_level.memory) == 0


@torch.no_grad()
@pytest.mark.parametrize('writes', ['detections', 'frame'])
def test_pixel_memory_writes_detection_pixels_or_pixels_of_the_whole_frame(writes):
    # no detection reaches the score threshold: only 'frame' writes anything
    model = build_tiny_mamba(pixel=dict(memory_writes=writes), test=dict(pixel=dict(score_thr=1.1, pixels_per_frame=7)))
    model.eval()
    for frame_id in range(3):
        _predict(model, frame_id)
    if writes == 'detections':
        assert len(model.pixel_level.memory) == 0
    else:
        assert model.pixel_level.memory.frame_ids.tolist() == [0] * 7 + [1] * 7 + [2] * 7
        # the rows are cells of the frame's (pre-GEO) map
        inputs, _ = preprocess(model, [make_clip(1, height=48, width=64, seed=2)], [make_sample(height=48, width=64)])
        feat = model.extract_feat(inputs[:, 0])[0][0].flatten(1).t()  # (C, h, w) -> (h*w, C)
        last = model.pixel_level.memory.features[-7:]
        assert torch.cdist(last, feat).min(dim=1).values.max() < 1e-4


@torch.no_grad()
@pytest.mark.parametrize('fill', ['pixels', 'detections'])
def test_a_clip_with_references_refills_the_memories_which_later_frames_then_read(fill):
    """Frame 0 of the paper protocol: the data gives it 14 references; the model keeps no copy of
    the protocol, it reads the clip. 'pixels': random reference pixels are the key frame's keys;
    'detections' (the authors'): each reference is detected and writes as a frame does."""
    model = build_tiny_mamba(pixel=dict(references_fill=fill), test=dict(pixel=dict(score_thr=0.0)))
    model.eval()
    _predict(model, 20, video_id=2)  # something from before, of the same video
    refs = [round(i * 7 / 13) for i in range(14)]
    result = _predict(model, 0, video_id=2, refs=refs)
    assert len(result.pred_instances) > 0
    spread = set(refs) | {0}  # the key frame is the last reference
    assert set(model.instance_level.memories[1].frame_ids.tolist()) == spread
    pixel_ids = set(model.pixel_level.memory.frame_ids.tolist())
    assert pixel_ids <= spread and (fill == 'pixels' or pixel_ids == spread)  # every initial frame detected
    assert model.pixel_level.carried is not None and len(result.pred_instances) <= 10  # one frame's detections
    drawn = []
    _spy_samples(model.instance_level.memories[0], drawn)
    _predict(model, 9, video_id=2)  # the same video: no reset, the references are read
    assert set(drawn[0].tolist()) <= spread and set(model.instance_level.memories[0].frame_ids.tolist()) > spread


def test_bad_configs_and_inputs_are_refused():
    with pytest.raises(ValueError, match='memory_writes'):
        build_tiny_mamba(pixel=dict(memory_writes='boxes'))
    with pytest.raises(ValueError, match='pixels_per_frame'):
        build_tiny_mamba(test=dict(pixel=dict(pixels_per_frame=0)))
    with pytest.raises(ValueError, match='key_dropout'):
        build_tiny_mamba(train=dict(instance=dict(key_dropout=1.5)))
    with pytest.raises(ValueError, match='level_dropout'):
        build_tiny_mamba(train=dict(pixel=dict(level_dropout=-0.1)))
    with pytest.raises(ValueError, match=r"model.train_cfg.pixel: unknown option\(s\) \['num_key'\]"):
        build_tiny_mamba(train=dict(pixel=dict(num_key=5)))
    with pytest.raises(ValueError, match='memory_features'):
        build_tiny_mamba(instance=dict(memory_features='both'))
    cfg = tiny_model_cfg()
    cfg['roi_head']['type'] = 'StandardRoIHead'
    with pytest.raises(TypeError, match='MAMBARoIHead'):
        MODELS.build(cfg)
    model = build_tiny_mamba()
    with pytest.raises(ValueError, match=r'\(B, T, 3, H, W\)'):
        model.predict(torch.zeros(3, 64, 96), [make_sample()])
