"""tools/analysis/oracle/instance_level.py: memory-bank keys and RoI queries identified, for MAMBA and SELSA."""
import pytest

from mamba_vod.models.layers import ProjectedKeys

from tests.models.detectors.test_mamba_pinned import one_thread
from tests.tools.analysis.oracle.oracle_fixtures import build_model, make_truth, oracle, run_video

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


@pytest.mark.parametrize('name, options', [
    ('mamba', {'model.instance_level.cache_keys': False, 'model.pixel_level': None}),  # rows of the memory
    ('mamba', {'model.pixel_level': None}),  # projected once, a key set of slots
    ('selsa', {'model.instance_level.proposals_per_frame': 10})])  # projected, own rows after the memory's
def test_memory_keys_carry_the_identity_of_the_proposal_they_were_written_from(name, options):
    """Rows written, replaced and drawn over 6 distinct frames: each key's identity is that of the
    proposal whose row (or row's projection) it is, found by its values among every row the frames
    embedded."""
    model = build_model(name, **options)
    truth = make_truth()
    adapter = oracle.InstanceLevelOracle(model, truth, 'same-object')
    embedded, checked = {}, []
    embed, geos = model.roi_head.embed_proposals, model.instance_level.geos

    def spy_embed(x, boxes, instance_keys=None):
        per_image = embed(x, boxes, instance_keys)
        ids = truth.identities(adapter.frame, boxes[0]).tolist()
        for geo, rows in zip(geos, per_image[0]):
            for form in (rows, geo.project_keys(rows).keys):
                embedded.update({tuple(row.tolist()): i for row, i in zip(form, ids)})
        return per_image

    def key_rows(keys):
        if isinstance(keys, ProjectedKeys):
            return keys.keys if keys.index is None else keys.keys[keys.index]
        return keys

    model.roi_head.embed_proposals = spy_embed
    for geo in geos:
        geo.register_forward_pre_hook(lambda module, args: checked.append(
            (adapter.key_sets[id(args[1])][1].tolist(), [embedded[tuple(row.tolist())] for row in key_rows(args[1])])))
    run_video(model, frames=6, seed=10)
    adapter.remove()
    assert len(checked) == 6 * len(geos) and all(ids == expected for ids, expected in checked)
    bank = model.instance_level.memories[0]
    assert len(bank) == bank.capacity or bank.frame_ids.min() > 0  # rows were replaced
    assert any(i >= 0 for ids, _ in checked for i in ids)
