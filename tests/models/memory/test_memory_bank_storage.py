"""The memory bank's storage: allocated once to capacity, written in place, the same rows and key
sets as the appending bank it replaced, and extra per-row tensors kept in the rows' slots.

Shape shorthand: M stored slots, n written rows, k rows of a key set, C channels.
"""
import random

import pytest
import torch

from mamba_vod.models.memory import MemoryBank, random_permutation


class AppendingBank:
    """The bank's rules as they were written before in-place storage (``torch.cat`` appends),
    reduced to what decides the rows and key sets: the same generator calls in the same order."""

    def __init__(self, capacity, key_set_size, strategy, seed):
        self.capacity, self.key_set_size, self.strategy = capacity, key_set_size, strategy
        self.generator = torch.Generator().manual_seed(seed)
        self.rows = None  # (features, scores, frame_ids)

    def randperm(self, num, generator):
        return random_permutation(num, torch.device('cpu'), generator or self.generator)

    def write(self, features, scores, frame_ids, generator=None):
        new = [features, scores, frame_ids]
        if features.shape[0] == 0:
            return
        if features.shape[0] > self.capacity:
            keep = self.randperm(features.shape[0], generator)[:self.capacity]
            new = [t[keep] for t in new]
        if self.rows is None:
            self.rows = [t.clone() for t in new]
            return
        overflow = len(self.rows[0]) + len(new[0]) - self.capacity
        if overflow > 0:
            slots = self.randperm(len(self.rows[0]), generator)[:overflow]
            for stored, t in zip(self.rows, new):
                stored[slots] = t[:overflow]
            new = [t[overflow:] for t in new]
        self.rows = [torch.cat([stored, t]) for stored, t in zip(self.rows, new)]

    def sample(self, generator=None):
        if self.rows is None:
            return None
        num = len(self.rows[0])
        if num <= self.key_set_size:
            return list(self.rows)
        if self.strategy == 'score':
            index = torch.topk(self.rows[1], self.key_set_size).indices
        else:
            index = self.randperm(num, generator)[:self.key_set_size]
        return [t[index] for t in self.rows]


@pytest.mark.parametrize('strategy', ['random', 'score'])
def test_same_rows_and_key_sets_as_the_appending_bank(strategy):
    # a long stream of writes of every kind (empty, small, overflowing, larger than the bank),
    # with the bank's own generator and with generators passed in, samples in between
    bank = MemoryBank(capacity=40, key_set_size=12, strategy=strategy, seed=5)
    old = AppendingBank(40, 12, strategy, seed=5)
    plan = random.Random(0)
    next_id = 0
    for step in range(60):
        num = plan.choice([0, 1, 3, 7, 15, 29, 55])
        ids = torch.arange(next_id, next_id + num)
        next_id += num
        features = ids[:, None].float().repeat(1, 3)
        scores = torch.rand(num, generator=torch.Generator().manual_seed(step))
        passed = plan.random() < 0.3
        bank.write(features, scores, ids, torch.Generator().manual_seed(step) if passed else None)
        old.write(features, scores, ids, torch.Generator().manual_seed(step) if passed else None)
        assert torch.equal(bank.features, old.rows[0]) and torch.equal(bank.scores, old.rows[1])
        assert torch.equal(bank.frame_ids, old.rows[2])
        if plan.random() < 0.5:
            passed = plan.random() < 0.5
            drawn = bank.sample_with_meta(torch.Generator().manual_seed(100 + step) if passed else None)
            expected = old.sample(torch.Generator().manual_seed(100 + step) if passed else None)
            assert all(torch.equal(a, b) for a, b in zip(drawn[:3], expected)), step
    assert torch.equal(bank._generator.get_state(), old.generator.get_state())


def test_storage_is_allocated_once_and_written_in_place():
    bank = MemoryBank(capacity=100, key_set_size=10, seed=0)
    bank.write(torch.randn(30, 8))
    pointer = bank.features.data_ptr()
    assert bank.nbytes == 100 * (8 * 4 + 4 + 8)  # fp32 features and scores, int64 frame ids
    for _ in range(10):  # appends, then replacements
        bank.write(torch.randn(30, 8))
        assert bank.features.data_ptr() == pointer and bank.nbytes == 100 * 44
    assert len(bank) == 100
    bank.reset()
    assert bank.nbytes == 0 and bank.features is None


def test_another_dtype_moves_the_rows_over():
    bank = MemoryBank(capacity=10, key_set_size=4)
    first = torch.randn(3, 4)
    bank.write(first, extras=dict(key=first * 2))
    bank.write(torch.randn(2, 4, dtype=torch.float64), extras=dict(key=torch.randn(2, 4, dtype=torch.float64)))
    assert bank.features.dtype == bank.scores.dtype == bank.rows('key').dtype == torch.float64
    assert torch.equal(bank.features[:3], first.double()) and torch.equal(bank.rows('key')[:3], 2 * first.double())
    assert bank.nbytes == 10 * (4 * 8 + 8 + 8 + 4 * 8)


def test_sample_is_a_copy_that_later_writes_leave_alone():
    bank = MemoryBank(capacity=6, key_set_size=10, seed=0)
    bank.write(torch.arange(6.)[:, None])
    drawn = bank.sample_with_meta()
    keys = drawn.features.clone()
    bank.write(torch.full((6, 1), 99.))  # full: replaces every slot in place
    assert torch.equal(drawn.features, keys) and torch.equal(drawn.index, torch.arange(6))
    assert bank.features.eq(99).all()


def test_extras_stay_in_the_slots_of_their_rows():
    bank = MemoryBank(capacity=50, key_set_size=20, seed=3)
    for start in range(0, 300, 23):
        features = torch.arange(start, start + 23.)[:, None].repeat(1, 4)
        bank.write(features, extras=dict(key=features[:, :2] * 2, value=-features))
    assert bank.extras == ('key', 'value')
    assert torch.equal(bank.rows('key'), bank.features[:, :2] * 2)
    assert torch.equal(bank.rows('value'), -bank.features)
    index = bank.sample_index(torch.Generator().manual_seed(1))
    drawn = bank.sample_with_meta(torch.Generator().manual_seed(1))
    assert torch.equal(drawn.index, index) and torch.equal(bank.rows()[index], drawn.features)
    assert torch.equal(bank.rows('key')[index], drawn.features[:, :2] * 2)


def test_sample_index():
    bank = MemoryBank(capacity=100, key_set_size=5, strategy='score')
    assert bank.sample_index() is None
    bank.write(torch.randn(4, 2), scores=torch.tensor([3., 4, 5, 6]))
    assert torch.equal(bank.sample_index(), torch.arange(4))
    bank.write(torch.randn(6, 2), scores=torch.tensor([0., 9, 1, 8, 2, 7]))
    assert sorted(bank.sample_index().tolist()) == [2, 3, 5, 7, 9]  # scores 5, 6, 9, 8, 7
    randomly = MemoryBank(capacity=100, key_set_size=5)
    randomly.write(torch.randn(30, 2))
    index = randomly.sample_index(torch.Generator().manual_seed(0))
    assert index.dtype == torch.long and index.unique().numel() == 5 and index.max() < 30
    assert torch.equal(index, random_permutation(30, torch.device('cpu'), torch.Generator().manual_seed(0))[:5])


@pytest.mark.parametrize('first, then, message', [
    (dict(key=torch.zeros(2, 3)), None, r"extras \['key'\]"),
    (dict(key=torch.zeros(2, 3)), dict(value=torch.zeros(2, 3)), 'same names'),
    (dict(key=torch.zeros(2, 3)), dict(key=torch.zeros(2, 3), value=torch.zeros(2, 3)), 'same names'),
    (None, dict(key=torch.zeros(2, 3)), r'extras \[\]'),
    (dict(key=torch.zeros(2, 3)), dict(key=torch.zeros(2, 5)), 'shape'),
    (dict(key=torch.zeros(2, 3)), dict(key=torch.zeros(3, 3)), 'n=2'),
    (None, dict(scores=torch.zeros(2)), 'cannot name'),
])
def test_extras_errors(first, then, message):
    bank = MemoryBank(capacity=10, key_set_size=4)
    bank.write(torch.zeros(2, 4), extras=first)
    with pytest.raises(ValueError, match=message):
        bank.write(torch.zeros(2, 4), extras=then)
    assert len(bank) == 2  # a refused write stores nothing
    bank.reset()  # forgets the names
    bank.write(torch.zeros(2, 4), extras=dict(other=torch.zeros(2, 1)))
    assert len(bank) == 2 and bank.extras == ('other', )


def test_rows_and_repr():
    bank = MemoryBank(capacity=20, key_set_size=4)
    assert bank.rows() is None and 'stored=0' in repr(bank)
    bank.write(torch.zeros(3, 4), extras=dict(key=torch.ones(3, 2)))
    assert bank.rows('key').shape == (3, 2) and bank.rows().shape == (3, 4)
    with pytest.raises(KeyError, match='no extra'):
        bank.rows('value')
    text = repr(bank)
    assert "stored=3, channels=4, dtype=torch.float32" in text and "extras=['key']" in text and 'MiB' in text
