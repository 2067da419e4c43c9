"""PixelLevel: reset / keys / enhance / update, through its public surface."""
import pytest
import torch

from mamba_vod.models.levels import PixelLevel, PixelReferences
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
    level = _level(test_cfg=dict(score_thr=0.8, pixels_per_detection=3))
    level.eval()
    feat = torch.randn(C, 4, 6)  # stride 16: a 64 x 96 image
    keys = level.keys(feat)
    assert keys.shape == (20, C) and _rows_are_cells_of(keys, feat)
    boxes = torch.tensor([[0., 0., 31., 31.], [40., 40., 90., 60.], [0., 0., 90., 60.]])
    level.update(feat, boxes, torch.tensor([0.9, 0.7, 0.95]), frame_id=4)
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
    level.update(torch.randn(C, 4, 6), torch.zeros(0, 4), torch.zeros(0), frame_id=9)  # something from before
    level.update(torch.randn(C, 4, 6), torch.zeros(0, 4), torch.zeros(0), frame_id=0,
                 references=PixelReferences(rows, torch.tensor([3, 6, 0])[index]))
    assert level.memory.frame_ids.tolist() == torch.tensor([3, 6, 0])[index].tolist() + [0] * 4


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
