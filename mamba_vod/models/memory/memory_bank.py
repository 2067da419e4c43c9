"""A bounded memory of feature vectors with their scores and frame ids.

Shape shorthand: M stored slots, n written rows, k rows of a key set, C channels.

The bank holds no parameters or buffers (it adds nothing to a state dict): its
state is the three tensors written to it, on the device and in the dtype of the
features last written.
"""
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from mamba_vod.registry import MODELS

_STRATEGIES = ('random', 'score')


def random_permutation(num: int, device: torch.device, generator: Optional[torch.Generator] = None) -> Tensor:
    """A random permutation of ``num`` (num,) on ``device``: drawn on the CPU from
    ``generator`` when one is given (reproducible), else on ``device`` itself (a
    host-to-device copy of CPU draws would wait for the GPU)."""
    return torch.randperm(num, generator=generator, device=device if generator is None else 'cpu').to(device)


class MemorySample(NamedTuple):
    """A key set drawn from a :class:`MemoryBank`.

    features (k, C), scores (k,), frame_ids (k,) long.
    """
    features: Tensor
    scores: Tensor
    frame_ids: Tensor


@MODELS.register_module()
class MemoryBank(nn.Module):
    """Bounded feature memory with key-set construction and feature-wise update.

    - :meth:`write` appends rows while there is room; once the bank would pass
      ``capacity``, randomly chosen old rows are replaced (in place) by the new
      ones (feature-wise updating), so the bank never holds more than
      ``capacity`` rows however long the video, and a write costs O(n C).
    - :meth:`sample` returns the key set: every row if the bank holds at most
      ``key_set_size`` rows, else ``key_set_size`` rows drawn without replacement
      (``strategy='random'``) or the highest-scored rows (``strategy='score'``).

    Args:
        capacity: the most rows the bank holds (M <= capacity).
        key_set_size: the most rows :meth:`sample` returns.
        strategy: ``'random'`` or ``'score'`` key-set construction.
        seed: seed of the bank's own random generator (used when no generator is
            passed to :meth:`write` / :meth:`sample`); None draws from torch's
            global generator.
    """

    def __init__(self, *, capacity: int = 20000, key_set_size: int = 2000, strategy: str = 'random',
                 seed: Optional[int] = None) -> None:
        super().__init__()
        if capacity < 1 or key_set_size < 1:
            raise ValueError(f'MemoryBank needs capacity >= 1 and key_set_size >= 1, got capacity={capacity}, '
                             f'key_set_size={key_set_size}')
        if strategy not in _STRATEGIES:
            raise ValueError(f"MemoryBank strategy must be one of {_STRATEGIES}, got '{strategy}'")
        self.capacity = capacity
        self.key_set_size = key_set_size
        self.strategy = strategy
        self.seed = seed
        self._generator: Optional[torch.Generator] = None
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Empties the bank (and re-seeds its generator when it has a seed)."""
        self._features: Optional[Tensor] = None
        self._scores: Optional[Tensor] = None
        self._frame_ids: Optional[Tensor] = None
        if self.seed is not None:
            self._generator = torch.Generator().manual_seed(self.seed)

    def __len__(self) -> int:
        return 0 if self._features is None else self._features.shape[0]

    @property
    def features(self) -> Optional[Tensor]:
        """(M, C) stored features, or None when empty."""
        return self._features

    @property
    def scores(self) -> Optional[Tensor]:
        """(M,) scores of the stored features, or None when empty."""
        return self._scores

    @property
    def frame_ids(self) -> Optional[Tensor]:
        """(M,) long frame ids of the stored features, or None when empty."""
        return self._frame_ids

    # ---------------------------------------------------------------- writing
    def write(self, features: Tensor, scores: Optional[Tensor] = None, frame_ids: Optional[Tensor] = None,
              generator: Optional[torch.Generator] = None) -> None:
        """Stores n new rows (detached); n = 0 leaves the bank unchanged.

        Args:
            features: (n, C).
            scores: (n,) or None (then 1 for every row).
            frame_ids: (n,) or None (then -1 for every row).
            generator: CPU generator choosing which old rows are dropped when full.
        """
        features, scores, frame_ids = self._check_rows(features, scores, frame_ids)
        num_new = features.shape[0]
        if num_new == 0:
            return
        if num_new > self.capacity:
            keep_new = self._randperm(num_new, generator, features.device)[:self.capacity]
            features, scores, frame_ids = features[keep_new], scores[keep_new], frame_ids[keep_new]
            num_new = self.capacity
        if self._features is None:  # own copies: later updates write into them in place
            self._features, self._scores, self._frame_ids = features.clone(), scores.clone(), frame_ids.clone()
            return
        self._features = self._features.to(features)
        self._scores, self._frame_ids = self._scores.to(scores), self._frame_ids.to(frame_ids.device)
        overflow = len(self) + num_new - self.capacity
        if overflow > 0:
            # feature-wise update: `overflow` random old rows are replaced by new ones, in place
            slots = self._randperm(len(self), generator, features.device)[:overflow]
            self._features[slots], self._scores[slots], self._frame_ids[slots] = (
                features[:overflow], scores[:overflow], frame_ids[:overflow])
            features, scores, frame_ids = features[overflow:], scores[overflow:], frame_ids[overflow:]
        if features.shape[0]:  # append while there is room
            self._features = torch.cat([self._features, features])
            self._scores = torch.cat([self._scores, scores])
            self._frame_ids = torch.cat([self._frame_ids, frame_ids])

    def _check_rows(self, features: Tensor, scores: Optional[Tensor], frame_ids: Optional[Tensor]):
        if features.dim() != 2:
            raise ValueError(f'MemoryBank.write expects features of shape (n, C), got {tuple(features.shape)}')
        num = features.shape[0]
        if self._features is not None and num and features.shape[1] != self._features.shape[1]:
            raise ValueError(f'MemoryBank holds {self._features.shape[1]}-channel features; cannot write '
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

    # --------------------------------------------------------------- sampling
    def sample(self, generator: Optional[torch.Generator] = None) -> Optional[Tensor]:
        """The key set's features (k, C) with k = min(M, key_set_size), or None when empty.

        With M <= key_set_size this is the bank's own storage: valid until the next write."""
        drawn = self.sample_with_meta(generator)
        return None if drawn is None else drawn.features

    def sample_with_meta(self, generator: Optional[torch.Generator] = None) -> Optional[MemorySample]:
        """The key set with the scores and frame ids of its rows, or None when empty."""
        if self._features is None:
            return None
        num = len(self)
        if num <= self.key_set_size:
            return MemorySample(self._features, self._scores, self._frame_ids)
        if self.strategy == 'score':
            index = torch.topk(self._scores, self.key_set_size).indices
        else:
            index = self._randperm(num, generator, self._features.device)[:self.key_set_size]
        return MemorySample(self._features[index], self._scores[index], self._frame_ids[index])

    def _randperm(self, num: int, generator: Optional[torch.Generator], device: torch.device) -> Tensor:
        """:func:`random_permutation` from the generator given, or the bank's seeded one."""
        return random_permutation(num, device, generator or self._generator)

    def extra_repr(self) -> str:
        return (f'capacity={self.capacity}, key_set_size={self.key_set_size}, strategy={self.strategy!r}, '
                f'stored={len(self)}')
