"""Pair IoU conventions and the devkit threshold."""
import numpy as np
import pytest
from mmdet.evaluation.functional import bbox_overlaps

from mamba_vod.evaluation.functional import devkit_iou_thresholds, paired_iou


def test_devkit_convention_counts_pixels():
    a = np.array([[0, 0, 9, 9], [0, 0, 9, 9], [0, 0, 9, 9]], dtype=float)
    b = np.array([[5, 0, 14, 9], [9, 9, 20, 20], [10, 0, 19, 9]], dtype=float)
    # 5x10 shared of 100 + 100; one shared pixel of 100 + 144; touching edges share nothing.
    np.testing.assert_allclose(paired_iou(a, b, plus_one=True), [50 / 150, 1 / 243, 0.0])


def test_continuous_convention_equals_mmdet_bitwise():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (200, 2))
    a = np.concatenate([xy, xy + rng.uniform(0, 30, (200, 2))], axis=1)
    xy = rng.uniform(0, 50, (200, 2))
    b = np.concatenate([xy, xy + rng.uniform(0, 30, (200, 2))], axis=1)
    expected = np.diag(bbox_overlaps(a, b))
    assert np.array_equal(paired_iou(a, b, plus_one=False), expected)


def test_devkit_thresholds():
    gts = np.array([[0, 0, 9, 9], [0, 0, 199, 99]], dtype=float)
    np.testing.assert_allclose(devkit_iou_thresholds(gts), [100 / 400, 0.5])
    assert devkit_iou_thresholds(gts, 0.3)[0] == pytest.approx(0.25)
