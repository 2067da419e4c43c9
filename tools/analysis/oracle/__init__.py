"""The pieces of the oracle bound (``oracle_bound.py`` is its command): the ground truth per frame and the
restriction it drives, the oracle base, and one adapter per method family.

Imported as ``oracle`` with ``tools/analysis`` on ``sys.path``, which ``oracle_bound.py`` puts there (the
tests likewise), so that its modules import ``instance_retrieval`` beside it.
"""
from .base import Oracle, key_count, key_subset
from .frame_truth import KEYS, UNKNOWN, Frame, FrameTruth, allowed_keys, restrict
from .instance_level import IDENTITY, InstanceLevelOracle
from .relation import RelationOracle

__all__ = ['KEYS', 'UNKNOWN', 'IDENTITY', 'Frame', 'FrameTruth', 'allowed_keys', 'restrict', 'Oracle', 'key_count',
           'key_subset', 'InstanceLevelOracle', 'RelationOracle']
