import pytest
import torch

from mamba_vod.models.memory import MemoryBank, random_permutation
from mamba_vod.registry import MODELS


def _rows(start, num, channels=4):
    """Rows whose first channel is their id, so tests can tell them apart."""
    ids = torch.arange(start, start + num, dtype=torch.float32)
    return ids[:, None].repeat(1, channels), ids


def test_bank_is_bounded_and_full_update_keeps_new_rows():
    bank = MemoryBank(capacity=50, key_set_size=10, seed=0)
    for start in range(0, 400, 30):
        features, ids = _rows(start, 30)
        bank.write(features, scores=ids, frame_ids=ids.long())
        assert len(bank) <= 50
    assert len(bank) == 50
    stored = bank.features[:, 0]
    # the 30 newest rows are all kept, the other 20 are distinct older rows
    assert set(range(390, 420)) <= set(stored.long().tolist())
    assert stored.unique().numel() == 50
    assert torch.equal(bank.frame_ids, stored.long())


def test_append_while_room_then_replace_random_old_rows():
    bank = MemoryBank(capacity=10, key_set_size=10, seed=0)
    source, _ = _rows(0, 6)
    bank.write(source, scores=source[:, 0])
    bank.write(*_rows(6, 3))
    assert bank.features[:, 0].tolist() == list(range(9))
    bank.write(*_rows(9, 4))
    kept = bank.features[:, 0].long().tolist()
    assert len(kept) == 10 and set(range(9, 13)) <= set(kept)
    old = [row for row in kept if row < 9]
    assert len(set(old)) == 6 and bank.scores.long().tolist() == kept  # rows stay whole
    assert source[:, 0].tolist() == list(range(6))  # the caller's tensor is never written


def test_more_rows_than_capacity_keeps_capacity_of_them():
    bank = MemoryBank(capacity=8, key_set_size=4, seed=1)
    bank.write(*_rows(0, 20))
    assert len(bank) == 8 and bank.features[:, 0].unique().numel() == 8


def test_sampling_count_no_duplicates_reproducible():
    bank = MemoryBank(capacity=100, key_set_size=16)
    bank.write(*_rows(0, 60))
    first = bank.sample(torch.Generator().manual_seed(3))
    again = bank.sample(torch.Generator().manual_seed(3))
    other = bank.sample(torch.Generator().manual_seed(4))
    assert first.shape == (16, 4)
    assert first[:, 0].unique().numel() == 16
    assert torch.equal(first, again) and not torch.equal(first, other)
    small = MemoryBank(capacity=100, key_set_size=16)
    small.write(*_rows(0, 5))
    assert torch.equal(small.sample(), _rows(0, 5)[0])


def test_seeded_bank_is_reproducible_after_reset():
    bank = MemoryBank(capacity=100, key_set_size=8, seed=7)
    bank.write(*_rows(0, 40))
    first = bank.sample()
    bank.reset()
    bank.write(*_rows(0, 40))
    assert torch.equal(bank.sample(), first)


def test_score_strategy_keeps_highest_scores():
    bank = MemoryBank(capacity=100, key_set_size=5, strategy='score')
    features, ids = _rows(0, 30)
    bank.write(features, scores=(ids * 7) % 30, frame_ids=ids.long())
    drawn = bank.sample_with_meta()
    assert sorted(drawn.scores.tolist()) == [25., 26., 27., 28., 29.]
    assert torch.equal(drawn.frame_ids, drawn.features[:, 0].long())


def test_zero_write_leaves_bank_unchanged_and_reset_empties():
    bank = MemoryBank(capacity=10, key_set_size=4, seed=0)
    assert len(bank) == 0 and bank.sample() is None
    bank.write(torch.zeros(0, 4))
    assert len(bank) == 0
    bank.write(*_rows(0, 6))
    before = bank.features.clone()
    bank.write(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long))
    assert torch.equal(bank.features, before)
    bank.reset()
    assert len(bank) == 0 and bank.features is None and bank.sample() is None


def test_dtype_follows_written_features_and_rows_are_detached():
    bank = MemoryBank(capacity=10, key_set_size=4)
    features = torch.randn(3, 4, requires_grad=True)
    bank.write(features)
    assert not bank.features.requires_grad
    bank.write(torch.randn(2, 4, dtype=torch.float64))
    assert bank.features.dtype == torch.float64 and len(bank) == 5
    assert bank.frame_ids.tolist() == [-1] * 5


def test_bad_input_and_config_errors():
    bank = MemoryBank(capacity=10, key_set_size=4)
    bank.write(torch.randn(2, 4))
    with pytest.raises(ValueError, match='4-channel'):
        bank.write(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r'\(n, C\)'):
        bank.write(torch.randn(4))
    with pytest.raises(ValueError, match='scores'):
        bank.write(torch.randn(2, 4), scores=torch.ones(3))
    with pytest.raises(ValueError, match='strategy'):
        MemoryBank(strategy='oldest')


def test_registered_and_stateless_in_state_dict():
    bank = MODELS.build(dict(type='MemoryBank', capacity=30, key_set_size=3))
    bank.write(torch.randn(5, 4))
    assert bank.capacity == 30 and bank.state_dict() == {} and not list(bank.parameters())


def test_random_permutation_is_a_permutation_reproducible_from_a_generator():
    first = random_permutation(50, torch.device('cpu'), torch.Generator().manual_seed(3))
    again = random_permutation(50, torch.device('cpu'), torch.Generator().manual_seed(3))
    assert torch.equal(first.sort().values, torch.arange(50)) and torch.equal(first, again)
    assert not torch.equal(first, torch.arange(50))


def test_oldest_replacement_keeps_the_last_rows_written_with_their_extras():
    bank = MemoryBank(capacity=10, key_set_size=10, replacement='oldest')
    for start, num in ((0, 4), (4, 4), (8, 5), (13, 1), (14, 12), (26, 3)):
        features, ids = _rows(start, num)
        bank.write(features, frame_ids=ids.long(), extras=dict(key=features * 2))
        last = set(range(max(0, start + num - 10), start + num))  # a write beyond capacity keeps its last rows
        assert set(bank.frame_ids.tolist()) == last
        assert torch.equal(bank.rows('key')[:, 0], bank.features[:, 0] * 2)  # extras stay with their rows
        assert torch.equal(bank.frame_ids, bank.features[:, 0].long())
        assert len(bank) == min(start + num, 10)
    # one write of more than `capacity` rows into an empty bank, and into a partly filled one
    for first in (0, 3):
        bank = MemoryBank(capacity=10, key_set_size=10, replacement='oldest')
        for start, num in ((0, first), (first, 15), (first + 15, 4)):
            if not num:
                continue
            features, ids = _rows(start, num)
            bank.write(features, frame_ids=ids.long())
            assert set(bank.frame_ids.tolist()) == set(range(max(0, start + num - 10), start + num))
    with pytest.raises(ValueError, match='replacement'):
        MemoryBank(replacement='newest')
