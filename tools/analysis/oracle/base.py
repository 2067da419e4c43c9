"""The oracle base: wrappers on a built detector that know the frame being detected and count, per test
frame, the queries restricted; and the key sets its adapters restrict.

Shape shorthand: Nk keys, C channels. A key set is a (Nk, C) tensor or a :class:`ProjectedKeys` (keys projected
once, ``index`` (Nk,) the rows drawn, None for all).
"""
from collections import defaultdict
from typing import Callable, Dict, Mapping, Optional

import torch
from torch import Tensor

from mamba_vod.models.layers import ProjectedKeys

from .frame_truth import KEYS, Frame, FrameTruth


class Oracle:
    """Wrappers on a built detector, the frame being detected and the counts per test frame.

    Args:
        model: the detector (:func:`oracle_bound.oracle_for` picks the adapter).
        truth: the ground truth.
        keys: one of :data:`KEYS`.
    """

    def __init__(self, model, truth: FrameTruth, keys: str) -> None:
        if keys not in KEYS:
            raise ValueError(f'--keys must be one of {KEYS}, got {keys!r}')
        self.model, self.truth, self.keys = model, truth, keys
        self.frame: Optional[Frame] = None
        self.img_id = None
        self.counts: Dict[int, Dict[str, int]] = defaultdict(lambda: dict(queries=0, object_queries=0, restricted=0))
        self._patches = []
        self._hooks = []
        model.reset_memory()  # rows held now would have no identity
        self.patch(model, '_predict_frames', self._predict_frames)
        self.install()

    def install(self) -> None:
        """Wraps the adapter's methods (:meth:`patch`)."""
        raise NotImplementedError

    def patch(self, owner, name: str, wrapper: Callable) -> None:
        """``owner.name(*args)`` becomes ``wrapper(original, *args)`` until :meth:`remove`."""
        original = getattr(owner, name)
        setattr(owner, name, lambda *args, **kwargs: wrapper(original, *args, **kwargs))
        self._patches.append((owner, name))

    def remove(self) -> None:
        for owner, name in reversed(self._patches):
            delattr(owner, name)
        for handle in self._hooks:
            handle.remove()
        self._patches, self._hooks = [], []

    def _predict_frames(self, original, clips, samples, states, rescale):
        if len(samples) != 1:
            raise ValueError('oracle_bound runs one stream, one frame at a time (test_dataloader.batch_size=1)')
        self.set_frame(samples[0].metainfo)
        return original(clips, samples, states, rescale)

    def set_frame(self, meta: dict) -> None:
        """Called before each test frame with its data sample's metainfo."""
        video_changed = self.frame is None or meta.get('video_id') != self.frame.video_id
        self.frame = Frame(meta.get('video_id'), meta.get('frame_id', -1),
                           torch.tensor(meta['scale_factor'], dtype=torch.float64).repeat(2))
        self.img_id = meta.get('img_id')
        self.new_frame(video_changed)

    def new_frame(self, video_changed: bool) -> None:
        """Forgets what belonged to the last frame (and video)."""

    def count(self, query_ids: Tensor, restricted: int) -> None:
        row = self.counts[self.img_id]
        row['queries'] += len(query_ids)
        row['object_queries'] += int((query_ids >= 0).sum())
        row['restricted'] += restricted

    def summary(self, members: Mapping[str, set]) -> Dict[str, Dict[str, int]]:
        """``{subset: {'queries', 'object_queries', 'restricted'}}``, 'all' and ``members``' subsets."""
        table = {}
        for subset, wanted in [('all', None), *sorted(members.items())]:
            rows = [row for img_id, row in self.counts.items() if wanted is None or img_id in wanted]
            table[subset] = {key: sum(row[key] for row in rows) for key in ('queries', 'object_queries', 'restricted')}
        return table


def key_count(key_set) -> int:
    """Nk of a key set: a (Nk, C) tensor or :class:`ProjectedKeys`."""
    if isinstance(key_set, ProjectedKeys):
        return len(key_set.keys) if key_set.index is None else len(key_set.index)
    return len(key_set)


def key_subset(key_set, allowed: Tensor):
    """The keys ``allowed`` (Nk,) bool of a key set, of the same kind."""
    if not isinstance(key_set, ProjectedKeys):
        return key_set[allowed.to(key_set.device)]
    index = key_set.index
    if index is None:
        index = torch.arange(len(key_set.keys), device=key_set.keys.device)
    return ProjectedKeys(key_set.keys, key_set.values, index[allowed.to(index.device)])
