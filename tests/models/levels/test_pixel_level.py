"""PixelLevel: reset / keys / enhance / update, through its public surface."""
import pytest
import torch

from mamba_vod.models.layers import ProjectedKeys
from mamba_vod.models.levels import PixelReferences
from mamba_vod.registry import MODELS

C = 32


def _level(**options):
    torch.manual_seed(0)
    return MODELS.build(dict(type='PixelLevel', geo=dict(type='GEO', channels=C, num_heads=16), seed=0,
                             memory=dict(type='MemoryBank', capacity=50, key_set_size=20, seed=0), **options))


def _rows_are_cells_of(rows, feat):
    cells = feat.flatten(1).t()  # (C, h, w) -> (h*w, C)
    return torch.cdist(rows, cells).min(dim=1).values.max() < 1e-5


def test_an_empty_memory_gives_the_frames_own_pixels_and_update_writes_pixels_inside_detections():
    level = _level(memory_rows='raw', carried_keys=False, cache_keys=False,
                   test_cfg=dict(score_thr=0.8, pixels_per_detection=3))
    level.eval()
    feat = torch.randn(C, 4, 6)  # stride 16: a 64 x 96 image
    keys = level.keys(feat)  # every pixel, though the key set is 20 (the authors' code)
    assert torch.equal(keys, feat.flatten(1).t())
    boxes = torch.tensor([[0., 0., 31., 31.], [40., 40., 90., 60.], [0., 0., 90., 60.]])
    level.update(feat, -feat, boxes, torch.tensor([0.9, 0.7, 0.95]), frame_id=4)
    memory = level.memory
    assert len(memory) == 6 and memory.frame_ids.tolist() == [4] * 6  # the 2 detections >= 0.8
    first_box_cells = feat[:, :2, :2].flatten(1).t()
    assert torch.cdist(memory.features[:3], first_box_cells).min(dim=1).values.max() < 1e-5
    assert memory.scores.tolist() == pytest.approx([0.9] * 3 + [0.95] * 3)
    sampled = level.keys(feat)  # the memory now: its 6 rows
    assert torch.equal(sampled, memory.features)
    level.reset()
    assert len(level.memory) == 0


def test_references_refill_the_memory_before_the_frame_writes():
    level = _level(memory_writes='frame', test_cfg=dict(pixels_per_frame=4))
    references = torch.randn(3, C, 4, 6)
    rows, index = level.keys_from_references(references, 10)
    assert rows.shape == (10, C) and index.max() <= 2
    nothing = (torch.zeros(0, 4), torch.zeros(0))
    level.update(torch.randn(C, 4, 6), torch.randn(C, 4, 6), *nothing, frame_id=9)  # something from before
    level.update(torch.randn(C, 4, 6), torch.randn(C, 4, 6), *nothing, frame_id=0,
                 references=PixelReferences(rows, torch.tensor([3, 6, 0])[index]))
    assert level.memory.frame_ids.tolist() == torch.tensor([3, 6, 0])[index].tolist() + [0] * 4


def test_the_authors_memory_stores_enhanced_pixels_and_carries_medium_and_salient_ones_to_the_next_frame():
    level = _level(cache_keys=False,
                   test_cfg=dict(score_thr=0.8, carried_score_thr=0.5, pixels_per_detection=2, salient_pixels=3))
    level.eval()
    raw, enhanced = torch.randn(C, 4, 6), torch.randn(C, 4, 6)
    enhanced[:, 3, 5] *= 100  # one strongly salient pixel among ordinary ones
    boxes = torch.tensor([[0., 0., 31., 31.], [48., 32., 95., 63.], [0., 0., 10., 10.]])
    level.update(raw, enhanced, boxes, torch.tensor([0.9, 0.6, 0.3]), frame_id=1)
    assert len(level.memory) == 2 and _rows_are_cells_of(level.memory.features, enhanced)
    medium_cells = enhanced[:, 2:4, 3:6].flatten(1).t()  # the 0.6 detection; 0.3 is below 0.5
    carried = level.carried
    assert 3 <= len(carried) <= 2 + 3 and torch.cdist(carried[:2], medium_cells).min(dim=1).values.max() < 1e-5
    assert any(torch.equal(row, enhanced[:, 3, 5]) for row in carried[2:])  # the salient pixel
    keys = level.keys(raw)  # the memory's key set, then the carried set
    assert torch.equal(keys[:2], level.memory.features) and torch.equal(keys[2:], carried)
    level.update(raw, torch.randn(C, 4, 6), boxes, torch.tensor([0.7, 0.6, 0.3]), frame_id=2)
    assert len(level.memory) == 2 and torch.equal(level.carried, carried)  # no confident detection: nothing changes
    level.reset()
    assert len(level.memory) == 0 and level.carried is None


def test_at_inference_the_memory_keeps_projections_and_keys_read_them_with_the_same_result():
    cached, plain = _level(test_cfg=dict(score_thr=0.5)), _level(cache_keys=False, test_cfg=dict(score_thr=0.5))
    plain.load_state_dict(cached.state_dict())
    boxes, scores = torch.tensor([[0., 0., 31., 31.], [40., 30., 90., 60.]]), torch.tensor([0.9, 0.6])
    feat = torch.randn(C, 4, 6)
    training = _level(test_cfg=dict(score_thr=0.5))
    training.update(feat, feat, boxes, scores, frame_id=0)  # training mode: rows only
    assert training.memory.extras == () and len(training.memory) > 0
    for level in (cached, plain):
        level.eval()
        for frame_id in range(3):
            level.update(feat + frame_id, feat - frame_id, boxes, scores, frame_id)
    assert cached.memory.extras == ('key', 'value') and plain.memory.extras == ()
    keys, rows = cached.keys(feat), plain.keys(feat)  # the same draws: the same key set
    assert isinstance(keys, ProjectedKeys) and len(keys.keys) == len(rows) > 20  # memory + carried rows
    assert torch.allclose(cached.enhance(feat, keys), plain.enhance(feat, rows), atol=1e-5)
    cached.carried = None  # memory only: the key set is slots of the projections, nothing copied
    keys = cached.keys(feat)
    assert keys.index is not None and keys.keys.data_ptr() == cached.memory.rows('key').data_ptr()
    cached.reset()
    assert len(cached.memory) == 0 and cached.memory.nbytes == 0


def test_enhance_runs_the_geo_over_every_pixel_and_references_exclude_their_own_keys():
    level = _level()
    feat, keys = torch.randn(C, 3, 5), torch.randn(7, C)
    out = level.enhance(feat, keys)
    assert out.shape == feat.shape
    assert torch.allclose(out[:, 2, 4], level.geo(feat.flatten(1).t(), keys)[2 * 5 + 4], atol=1e-6)
    references = torch.randn(2, C, 3, 5)
    index = torch.tensor([0, 0, 1, 1, 1, 0, 1])
    enhanced = level.enhance_references(references, keys, index)
    assert torch.allclose(enhanced[0], level.enhance(references[0], keys[index != 0]), atol=1e-6)


def test_level_dropout_draws_only_in_training():
    level = _level(train_cfg=dict(level_dropout=1.0))
    assert level.skips_clip() is True  # a fresh module trains
    level.eval()
    assert level.skips_clip() is False
    assert _level().skips_clip() is False
