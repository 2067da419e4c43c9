"""Fidelity: the pixel level's memory rules against ``Duckduckgod/MAMBA``,
``mamba_core/modeling/mem_bank/memory_bank_pix.py`` (``MemoryBankPix.write_test``,
``box_to_inds_list``, ``get_obj_irr_pixels``, ``get_mem``, ``forward``) and
``mamba_core/modeling/detector/generalized_rcnn_mamba.py`` (``GeneralizedRCNNMAMBA._init_memory``
and ``_forward_test``), restated in float64 (:func:`tests.fidelity.restated.box_cells`,
:func:`~tests.fidelity.restated.salient_cells`).

Restated: after a test frame, the cells of each detection scoring >= 0.8 (x1 // 16 .. x2 // 16
inclusive, y likewise) of the ENHANCED map go to the memory; if there was one, the frame's
carried set becomes the cells of the detections scoring in [0.5, 0.8), then the salient cells;
with none, nothing changes. A frame's keys are the memory's key set then the carried set, or
every cell of the frame while both are empty. Under the offline protocol each initial frame
(not the key frame) is detected on its raw map and writes its raw cells; the key frame then
goes through the memory and writes its enhanced cells.
"""
from collections import Counter

import torch

from mamba_vod.registry import MODELS
from tests.models.detectors.mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess

from .restated import box_cells, salient_cells

C, HEIGHT, WIDTH, STRIDE = 16, 5, 7, 16
BOXES = torch.tensor([[16., 16., 48., 32.],  # corners on cell edges: 3 x 2 cells
                      [0., 0., 20., 10.],  # 2 x 1
                      [40., 30., 100., 79.],  # 5 x 4
                      [70., 5., 90., 40.]])  # 2 x 3
SCORES = torch.tensor([0.9, 0.6, 0.85, 0.55])


def _level():
    return MODELS.build(dict(type='PixelLevel', geo=dict(type='GEO', channels=C, num_heads=4), stride=STRIDE,
                             cache_keys=False,
                             memory=dict(type='MemoryBank', capacity=500, key_set_size=400),
                             test_cfg=dict(pixels_per_detection=1000, salient_pixels=1000))).double().eval()


def _cells_of(rows, flat):
    """The cell index of each row (n, C) in the (h*w, C) map ``flat`` (exact match; -1 if none)."""
    match = (rows[:, None, :] == flat[None]).all(-1)
    return [int(m.nonzero()[0]) if m.any() else -1 for m in match]


def test_what_a_frame_writes_and_carries():
    level = _level()
    raw = torch.randn(C, HEIGHT, WIDTH, dtype=torch.float64)
    enhanced = torch.randn(C, HEIGHT, WIDTH, dtype=torch.float64)
    flat = enhanced.flatten(1).t()
    assert torch.equal(level.keys(raw), raw.flatten(1).t())  # empty: every cell of the frame
    level.update(raw, enhanced, BOXES, SCORES, frame_id=3)
    boxes = BOXES.tolist()
    confident = [cell for box, s in zip(boxes, SCORES) if s >= 0.8 for cell in box_cells(box, STRIDE, WIDTH)]
    medium = [cell for box, s in zip(boxes, SCORES) if 0.5 <= s < 0.8 for cell in box_cells(box, STRIDE, WIDTH)]
    assert Counter(_cells_of(level.memory.features, flat)) == Counter(confident)
    carried = _cells_of(level.carried, flat)
    assert Counter(carried[:len(medium)]) == Counter(medium)
    assert sorted(carried[len(medium):]) == salient_cells(flat) and len(salient_cells(flat)) > 0
    keys = level.keys(raw)
    # the key set (every row: fewer than 400), then the carried set
    assert torch.equal(keys, torch.cat([level.memory.features, level.carried]))
    before = (level.memory.features.clone(), level.carried.clone())
    level.update(raw, -enhanced, BOXES, SCORES * 0.7, frame_id=4)  # nothing >= 0.8: nothing changes
    assert torch.equal(level.memory.features, before[0]) and torch.equal(level.carried, before[1])


@torch.no_grad()
def test_initial_frames_fill_the_memory_and_the_key_frame_is_not_one_of_them():
    model = build_tiny_mamba(test=dict(pixel=dict(score_thr=0.0, pixels_per_detection=1)))
    model.eval()
    writes = []
    original = model.pixel_level.write_detections

    def write_detections(feat, boxes, scores, frame_id):
        writes.append((feat.clone(), frame_id))
        original(feat, boxes, scores, frame_id)

    model.pixel_level.write_detections = write_detections
    refs = [0, 2, 4, 6, 7]
    clip, sample = make_clip(1 + len(refs), height=48, width=64, seed=1), make_sample(
        video_id=1, frame_id=3, ref_frame_ids=refs, height=48, width=64)
    inputs, samples = preprocess(model, [clip], [sample])
    raw = model.extract_feat(inputs[0])[0]  # (T, C, h, w): the key frame, then the references
    model.predict(inputs, samples)
    assert [frame_id for _, frame_id in writes] == refs + [3]
    for (feat, _), ref_map in zip(writes, raw[1:]):
        assert torch.equal(feat, ref_map)  # initial frames write their raw maps
    assert not torch.allclose(writes[-1][0], raw[0])  # the key frame writes its enhanced map, once
    instance_ids = Counter(model.instance_level.memories[0].frame_ids.tolist())
    assert instance_ids[3] == model.instance_level.proposals_per_frame  # its instance rows, once
    assert set(instance_ids) == set(refs) | {3}
