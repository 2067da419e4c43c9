"""Fidelity: the memory bank against ``Duckduckgod/MAMBA``, ``mamba_core/modeling/mem_bank/memory_bank.py``
(and vfe.pytorch's identical ``mmdet/models/memory/memory_bank.py``), ``MemoryBank.sample`` and
``MemoryBank.update``, restated.

Restated: ``sample`` gives every row while the bank holds fewer than the key-set size, else that
many rows drawn uniformly without replacement; ``update`` appends while the bank is below its
capacity, else keeps a uniformly drawn subset of (M - n) old rows and appends the n new ones.
(Ours caps at the capacity where theirs may overshoot by a write, and at exactly the key-set
size gives every row where theirs gives every row in a random order: the same set.)
"""
import torch

from mamba_vod.models.memory import MemoryBank


def _rows(ids):
    """Rows (n, 2) whose first channel is their id."""
    ids = torch.as_tensor(ids, dtype=torch.float64)
    return torch.stack([ids, -ids], dim=1)


def _ids(rows):
    return rows[:, 0].long().tolist()


def test_appends_in_order_and_samples_everything_below_the_key_set_size():
    bank = MemoryBank(capacity=50, key_set_size=20, seed=0)
    for start in range(0, 20, 5):
        bank.write(_rows(range(start, start + 5)))
    assert _ids(bank.features) == list(range(20))  # appended in order
    assert sorted(_ids(bank.sample())) == list(range(20))  # every row
    bank.write(_rows(range(20, 25)))
    drawn = _ids(bank.sample())
    assert len(drawn) == len(set(drawn)) == 20 and set(drawn) <= set(range(25))  # without replacement


def test_key_sets_are_uniform_draws():
    bank = MemoryBank(capacity=50, key_set_size=10, seed=1)
    bank.write(_rows(range(40)))
    counts = torch.zeros(40)
    for _ in range(2000):
        counts[bank.sample_index()] += 1
    assert counts.min() > 0.25 * 2000 * 0.8 and counts.max() < 0.25 * 2000 * 1.2  # each row: 10 / 40 of the draws


def test_a_full_bank_keeps_a_uniform_subset_of_old_rows_and_all_new_ones():
    survived = torch.zeros(30)
    for trial in range(600):
        bank = MemoryBank(capacity=30, key_set_size=10, seed=trial)
        bank.write(_rows(range(30)))
        bank.write(_rows(range(100, 106)))
        held = _ids(bank.features)
        assert len(held) == 30 and set(range(100, 106)) <= set(held)  # every new row, M - n old ones
        survived[[i for i in held if i < 30]] += 1
    assert survived.sum() == 600 * 24
    assert survived.min() > 600 * 0.8 * 0.85 and survived.max() < 600 * 0.8 * 1.15  # each old row kept 24 / 30
