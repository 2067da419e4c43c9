"""InstanceLevel: reset / keys / update; InstanceKeys carries its GEOs to the box head."""
import pytest
import torch

from mamba_vod.models.levels import InstanceKeys
from mamba_vod.registry import MODELS

C = 32


def _level(**options):
    torch.manual_seed(0)
    return MODELS.build(dict(type='InstanceLevel', geo=dict(type='GEO', channels=C, num_heads=16),
                             memory=dict(type='MemoryBank', capacity=30, key_set_size=12, seed=0),
                             proposals_per_frame=5, **options))


def _frame_rows(num=5):
    return [torch.randn(num, C), torch.randn(num, C)]


def test_keys_come_from_the_frame_until_the_memories_hold_rows_then_from_them():
    level = _level()
    assert level.is_empty and level.needs_frame_rows
    own = _frame_rows()
    keys = level.keys(own)
    assert isinstance(keys, InstanceKeys) and keys.geos is level.geos
    assert all(torch.equal(k, r) for k, r in zip(keys.per_image[0], own))
    for frame_id in range(4):
        rows = _frame_rows()
        level.update(rows, torch.rand(5), torch.full((5, ), frame_id))
    assert len(level.memories[0]) == len(level.memories[1]) == 20
    keys = level.keys(_frame_rows()).per_image[0]
    assert [tuple(k.shape) for k in keys] == [(12, C), (12, C)]  # key sets of 12 from 20 rows
    level.update(_frame_rows(), torch.rand(5), torch.full((5, ), 9), replace=True)
    assert level.memories[0].frame_ids.tolist() == [9] * 5
    level.reset()
    assert level.is_empty


def test_self_keys_join_the_memory_and_enhanced_rows_need_no_frame_rows():
    level = _level(self_keys=True)
    level.update(_frame_rows(), torch.rand(5), torch.zeros(5))
    own = _frame_rows()
    keys = level.keys(own).per_image[0]
    assert all(torch.equal(k[-5:], r) for k, r in zip(keys, own)) and keys[0].shape[0] == 10
    enhanced = _level(memory_features='enhanced')
    enhanced.update(_frame_rows(), torch.rand(5), torch.zeros(5))
    assert not enhanced.needs_frame_rows and enhanced.keys(None).per_image[0][0].shape == (5, C)


def test_key_dropout_draws_in_training_only():
    level = _level(train_cfg=dict(key_dropout=1.0))
    assert level.drops_clip_keys()
    level.eval()
    assert not level.drops_clip_keys()


def test_the_paper_composition_keeps_one_memory_whose_projections_are_derived_once_per_row():
    level = _level(composition='paper')
    level.eval()
    assert len(level.memories) == 1 and level.needs_frame_rows
    for frame_id in range(4):
        level.update(_frame_rows(), torch.rand(5), torch.full((5, ), frame_id))
    memory = level.memories[0]
    assert len(memory) == 20 and sorted(memory.extras) == ['key', 'key.1', 'value', 'value.1']
    calls = []
    for geo in level.geos:
        geo.project_keys = lambda rows, calls=calls: calls.append(rows)
    keys = level.keys(_frame_rows()).per_image[0]
    assert calls == []  # a frame projects no memory row
    assert keys[0].index is keys[1].index and len(keys[0].index) == 12  # one key set, both levels
    assert level.keys_from_rows([None]).composition == 'paper'


def test_the_paper_composition_refuses_enhanced_rows_and_unknown_compositions():
    with pytest.raises(ValueError, match="release composition's"):
        _level(composition='paper', memory_features='enhanced')
    with pytest.raises(ValueError, match='composition must be one of'):
        _level(composition='vfe')


def test_batch_keys_take_each_frames_own_keys_in_frame_order():
    level = _level()
    frames = [_frame_rows(), None, _frame_rows(3)]
    batch = level.batch_keys([level.keys_from_rows([rows]) for rows in frames])
    assert isinstance(batch, InstanceKeys) and batch.geos is level.geos and batch.composition == level.composition
    assert batch.per_image[1] is None and all(a is b for a, b in zip(batch.per_image[2], frames[2]))
    with pytest.raises(ValueError, match='of one image'):
        level.batch_keys([level.without_keys(2)])


def test_frame_rows_ids_give_each_row_its_frames_id_or_minus_one():
    scores = torch.rand(4, dtype=torch.float64)
    ids = type(_level()).frame_rows_ids(scores, 7)
    assert ids.dtype == torch.long and ids.tolist() == [7] * 4
    assert _level().frame_rows_ids(scores, None).tolist() == [-1] * 4
    assert _level().frame_rows_ids(scores[:0], 3).shape == (0, )
