"""A bounded memory of feature vectors with their scores, frame ids and extra per-row tensors.

Shape shorthand: M stored slots, n written rows, k rows of a key set, C channels.

Storage: on the first write the bank allocates ``capacity`` slots for each tensor it keeps
(features (capacity, C), scores, frame ids, and every extra), in that write's dtype and device,
and from then on writes rows in place: a write costs O(n) however full the bank is. A later write
in another dtype or device moves the stored rows over (a new allocation, as ``Tensor.to`` would).
``reset()`` frees the storage. The bank holds no parameters or buffers (it adds nothing to a
state dict).

Slots: rows are appended in order while there is room; once full, a row replaces a random slot
(feature-wise updating; ``replacement='oldest'``: the slot written longest ago, so the bank holds
the last ``capacity`` rows written), so slot i of every stored tensor always describes the same row. Extras
(e.g. the row's projections through a GEO's key/value projections, computed once when written)
therefore stay aligned with the features, and a key set can be given as slots
(:meth:`MemoryBank.sample_index`) and read by index from :meth:`MemoryBank.rows`.
"""
from typing import Dict, Mapping, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

_STRATEGIES = ('random', 'score')
_REPLACEMENTS = ('random', 'oldest')


def random_permutation(num: int, device: torch.device, generator: Optional[torch.Generator] = None) -> Tensor:
    """A random permutation of ``num`` (num,) on ``device``: drawn on the CPU from
    ``generator`` when one is given (reproducible), else on ``device`` itself (a
    host-to-device copy of CPU draws would wait for the GPU)."""
    return torch.randperm(num, generator=generator, device=device if generator is None else 'cpu').to(device)


class MemorySample(NamedTuple):
    """A key set drawn from a :class:`MemoryBank`: copies, which later writes leave alone.

    features (k, C), scores (k,), frame_ids (k,) long, index (k,) long: the slots the rows
    were read from (valid until the next write).
    """
    features: Tensor
    scores: Tensor
    frame_ids: Tensor
    index: Tensor


@MODELS.register_module()
class MemoryBank(nn.Module):
    """Bounded feature memory with key-set construction and feature-wise update.

    - :meth:`write` appends rows while there is room; once the bank would pass
      ``capacity``, randomly chosen old rows (``replacement='random'``, feature-wise
      updating) or the oldest rows (``'oldest'``: the bank is the last ``capacity``
      rows written) are replaced in place by the new ones, so the bank never holds more than
      ``capacity`` rows however long the video. Storage is allocated once, to
      capacity, and written in place: a write costs O(n C) whatever M is.
    - :meth:`sample` returns the key set: every row if the bank holds at most
      ``key_set_size`` rows, else ``key_set_size`` rows drawn without replacement
      (``strategy='random'``) or the highest-scored rows (``strategy='score'``).
      :meth:`sample_index` gives the same key set as slots, for kernels that read
      :meth:`rows` by index.

    Args:
        capacity: the most rows the bank holds (M <= capacity).
        key_set_size: the most rows :meth:`sample` returns.
        strategy: ``'random'`` or ``'score'`` key-set construction.
        seed: seed of the bank's own random generator (used when no generator is
            passed to :meth:`write` / :meth:`sample`); None draws from torch's
            global generator.
        replacement: ``'random'`` (feature-wise updating) or ``'oldest'`` (first in, first out).
    """

    def __init__(self, *, capacity: int = 20000, key_set_size: int = 2000, strategy: str = 'random',
                 seed: Optional[int] = None, replacement: str = 'random') -> None:
        super().__init__()
        if capacity < 1 or key_set_size < 1:
            raise ValueError(f'MemoryBank needs capacity >= 1 and key_set_size >= 1, got capacity={capacity}, '
                             f'key_set_size={key_set_size}')
        if strategy not in _STRATEGIES:
            raise ValueError(f"MemoryBank strategy must be one of {_STRATEGIES}, got '{strategy}'")
        if replacement not in _REPLACEMENTS:
            raise ValueError(f"MemoryBank replacement must be one of {_REPLACEMENTS}, got '{replacement}'")
        self.replacement = replacement
        self.capacity = capacity
        self.key_set_size = key_set_size
        self.strategy = strategy
        self.seed = seed
        self._generator: Optional[torch.Generator] = None
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Empties the bank, frees its storage (extras included) and re-seeds its generator
        when it has a seed."""
        self._num = 0  # M, the filled slots
        self._oldest = 0  # replacement='oldest': the slot written longest ago once full
        # (capacity, ...) storage of each kept tensor, allocated on the first write; extras
        # under their names, in the order of the first write that stored them
        self._storage: Dict[str, Tensor] = {}
        self._extras: Tuple[str, ...] = ()
        if self.seed is not None:
            self._generator = torch.Generator().manual_seed(self.seed)

    def __len__(self) -> int:
        return self._num

    def rows(self, name: Optional[str] = None) -> Optional[Tensor]:
        """The (M, ...) view of the filled slots of ``features`` (``name`` None) or of the extra
        ``name``; None when the bank is empty.

        A view, not a copy: valid until the next write (which may replace slots in place) or
        reset. Meant for kernels that read a key set by index (:meth:`sample_index`).
        """
        if not self._num:
            return None
        key = 'features' if name is None else name
        if name is not None and name not in self._extras:
            raise KeyError(f'MemoryBank holds no extra {name!r}; it holds {list(self._extras)}')
        return self._storage[key][:self._num]

    @property
    def features(self) -> Optional[Tensor]:
        """(M, C) stored features (a view, valid until the next write), or None when empty."""
        return self.rows()

    @property
    def scores(self) -> Optional[Tensor]:
        """(M,) scores of the stored features (a view), or None when empty."""
        return self._storage['scores'][:self._num] if self._num else None

    @property
    def frame_ids(self) -> Optional[Tensor]:
        """(M,) long frame ids of the stored features (a view), or None when empty."""
        return self._storage['frame_ids'][:self._num] if self._num else None

    @property
    def extras(self) -> Tuple[str, ...]:
        """Names of the extra tensors the bank keeps per row (empty when it holds none)."""
        return self._extras

    @property
    def nbytes(self) -> int:
        """Bytes allocated by the bank (capacity slots of every kept tensor, extras included)."""
        return sum(t.numel() * t.element_size() for t in self._storage.values())

    # ---------------------------------------------------------------- writing
    def write(self, features: Tensor, scores: Optional[Tensor] = None, frame_ids: Optional[Tensor] = None,
              generator: Optional[torch.Generator] = None, *,
              extras: Optional[Mapping[str, Tensor]] = None) -> None:
        """Stores n new rows (detached, copied into the bank's storage); n = 0 leaves the bank
        unchanged.

        Args:
            features: (n, C).
            scores: (n,) or None (then 1 for every row).
            frame_ids: (n,) or None (then -1 for every row).
            generator: CPU generator choosing which old rows are dropped when full.
            extras: ``{name: (n, ...) tensor}`` stored in the same slots as the rows, on the
                features' device (e.g. their key/value projections). A bank that holds rows with
                extras takes only writes with the same names (and trailing shapes), and one that
                holds rows without extras takes none, until :meth:`reset`.
        """
        features, scores, frame_ids = self._check_rows(features, scores, frame_ids)
        new = dict(features=features, scores=scores, frame_ids=frame_ids, **self._check_extras(extras, features))
        num_new = features.shape[0]
        if num_new == 0:
            return
        if num_new > self.capacity:
            # 'oldest': the last `capacity` rows written (first in, first out within the write too)
            keep_new = (torch.arange(num_new - self.capacity, num_new, device=features.device)
                        if self.replacement == 'oldest' else
                        self._randperm(num_new, generator, features.device)[:self.capacity])
            new = {key: t[keep_new] for key, t in new.items()}
            num_new = self.capacity
        if not self._num:
            self._extras = tuple(extras or ())
        self._allocate(new)
        overflow = self._num + num_new - self.capacity
        if overflow > 0 and self.replacement == 'oldest':
            new = self._append(new, num_new - overflow)
            self._replace_oldest(new)
            return
        if overflow > 0:
            # feature-wise update: `overflow` random old rows are replaced by new ones, in place
            slots = self._randperm(self._num, generator, features.device)[:overflow]
            for key, t in new.items():
                self._storage[key][slots] = t[:overflow]
            new = {key: t[overflow:] for key, t in new.items()}
            num_new -= overflow
        self._append(new, num_new)

    def _append(self, new: Dict[str, Tensor], num: int) -> Dict[str, Tensor]:
        """Writes the first ``num`` rows of ``new`` after the filled slots; returns the rest."""
        if num:
            for key, t in new.items():
                self._storage[key][self._num:self._num + num] = t[:num]
            self._num += num
        return {key: t[num:] for key, t in new.items()}

    def _replace_oldest(self, new: Dict[str, Tensor]) -> None:
        """A full bank: the rows of ``new`` replace the slots written longest ago (a ring; slots
        were filled in order 0 .. capacity - 1)."""
        count = next(iter(new.values())).shape[0]
        slots = (self._oldest + torch.arange(count)) % self.capacity
        slots = slots.to(self._storage['features'].device)
        for key, t in new.items():
            self._storage[key][slots] = t
        self._oldest = (self._oldest + count) % self.capacity

    def _allocate(self, new: Dict[str, Tensor]) -> None:
        """Give every kept tensor its (capacity, ...) storage in the dtype and device of ``new``'s:
        allocated when missing, moved over (filled slots copied) when they differ."""
        for key, t in new.items():
            stored = self._storage.get(key)
            if stored is not None and stored.dtype == t.dtype and stored.device == t.device:
                continue
            storage = t.new_empty((self.capacity, ) + tuple(t.shape[1:]))
            if stored is not None and self._num:
                storage[:self._num] = stored[:self._num]
            self._storage[key] = storage

    def _check_rows(self, features: Tensor, scores: Optional[Tensor], frame_ids: Optional[Tensor]):
        if features.dim() != 2:
            raise ValueError(f'MemoryBank.write expects features of shape (n, C), got {tuple(features.shape)}')
        num = features.shape[0]
        if self._num and num and features.shape[1] != self._storage['features'].shape[1]:
            raise ValueError(f"MemoryBank holds {self._storage['features'].shape[1]}-channel features; cannot write "
                             f'{features.shape[1]}-channel ones (reset() it first)')
        if scores is None:
            scores = features.new_ones(num)
        if frame_ids is None:
            frame_ids = torch.full((num, ), -1, dtype=torch.long, device=features.device)
        if scores.shape != (num, ) or frame_ids.shape != (num, ):
            raise ValueError(f'MemoryBank.write: scores {tuple(scores.shape)} and frame_ids '
                             f'{tuple(frame_ids.shape)} must both have shape ({num},) like the features')
        return (features.detach(), scores.detach().to(features), frame_ids.detach().to(
            device=features.device, dtype=torch.long))

    def _check_extras(self, extras: Optional[Mapping[str, Tensor]], features: Tensor) -> Dict[str, Tensor]:
        extras = dict(extras or {})
        for name in extras:
            if name in ('features', 'scores', 'frame_ids') or not isinstance(name, str):
                raise ValueError(f'MemoryBank.write: {name!r} cannot name an extra')
        if self._num and sorted(extras) != sorted(self._extras):
            raise ValueError(f'MemoryBank holds rows with extras {sorted(self._extras)}; a write must give the '
                             f'same names, got {sorted(extras)} (reset() the bank to change them)')
        for name, t in extras.items():
            if not isinstance(t, Tensor) or t.dim() < 1 or t.shape[0] != features.shape[0]:
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f'MemoryBank.write: extra {name!r} must be an (n, ...) tensor with n='
                                 f'{features.shape[0]} like the features, got {got}')
            if t.device != features.device:
                raise ValueError(f'MemoryBank.write: extra {name!r} is on {t.device}, the features on '
                                 f'{features.device}')
            stored = self._storage.get(name)
            if self._num and t.shape[0] and stored.shape[1:] != t.shape[1:]:
                raise ValueError(f'MemoryBank holds extra {name!r} rows of shape {tuple(stored.shape[1:])}; cannot '
                                 f'write {tuple(t.shape[1:])} (reset() it first)')
            extras[name] = t.detach()
        return extras

    # --------------------------------------------------------------- sampling
    def sample(self, generator: Optional[torch.Generator] = None) -> Optional[Tensor]:
        """The key set's features (k, C) with k = min(M, key_set_size), or None when empty.

        Always a copy: later writes (which replace slots in place) leave it unchanged."""
        drawn = self.sample_with_meta(generator)
        return None if drawn is None else drawn.features

    def sample_index(self, generator: Optional[torch.Generator] = None) -> Optional[Tensor]:
        """The slots (k,) long of the key set, or None when empty: ``arange(M)`` when
        M <= key_set_size, else the ``key_set_size`` highest-scored slots (``'score'``) or
        ``key_set_size`` slots drawn without replacement (``'random'``, one permutation from
        ``generator`` or the bank's generator). Valid until the next write."""
        num = self._num
        if not num:
            return None
        device = self._storage['features'].device
        if num <= self.key_set_size:
            return torch.arange(num, device=device)
        if self.strategy == 'score':
            return torch.topk(self._storage['scores'][:num], self.key_set_size).indices
        return self._randperm(num, generator, device)[:self.key_set_size]

    def sample_with_meta(self, generator: Optional[torch.Generator] = None) -> Optional[MemorySample]:
        """The key set (copies) with the scores, frame ids and slots of its rows, or None when empty."""
        index = self.sample_index(generator)
        if index is None:
            return None
        return MemorySample(self.features[index], self.scores[index], self.frame_ids[index], index)

    def _randperm(self, num: int, generator: Optional[torch.Generator], device: torch.device) -> Tensor:
        """:func:`random_permutation` from the generator given, or the bank's seeded one."""
        return random_permutation(num, device, generator or self._generator)

    def extra_repr(self) -> str:
        stored = self._storage.get('features')
        held = '' if stored is None else (f', channels={stored.shape[1]}, dtype={stored.dtype}, '
                                          f'device={stored.device}')
        extras = f', extras={list(self._extras)}' if self._extras else ''
        replacement = '' if self.replacement == 'random' else f', replacement={self.replacement!r}'
        return (f'capacity={self.capacity}, key_set_size={self.key_set_size}, strategy={self.strategy!r}'
                f'{replacement}, '
                f'stored={len(self)}{held}{extras}, allocated={self.nbytes / 2**20:.1f} MiB')
