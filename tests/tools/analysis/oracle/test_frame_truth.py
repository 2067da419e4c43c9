"""tools/analysis/oracle/frame_truth.py: identities from the ground truth, an attention call restricted by them."""
import json

import pytest
import torch

from mamba_vod.models.layers import GEO, ProjectedKeys, RelationModule, box_geometry_embedding

from tests.models.detectors.test_mamba_pinned import one_thread
from tests.tools.analysis.oracle.oracle_fixtures import oracle

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


# ---------------------------------------------------------------------------------------- restriction
def test_allowed_keys_of_each_rule():
    query_ids = torch.tensor([1, 2, -1, -2, 3])
    key_ids = torch.tensor([1, 1, 2, -1, oracle.UNKNOWN])
    same = oracle.allowed_keys('same-object', query_ids, key_ids)
    other = oracle.allowed_keys('other-objects', query_ids, key_ids)
    assert same.tolist() == [[True, True, False, False, False], [False, False, True, False, False]] + [[False] * 5] * 3
    assert other.tolist() == [[False, False, True, False, False], [True, True, False, False, False]] + [
        [False] * 5] * 2 + [[True, True, True, False, False]]


def _geo_case(projected: bool, value_projection: bool):
    torch.manual_seed(0)
    geo = GEO(16, num_heads=4, value_projection=value_projection).eval()
    query, keys = torch.randn(6, 16), torch.randn(7, 16)
    query_ids = torch.tensor([1, 1, 2, -1, 3, 2])  # object 3 has no key
    key_ids = torch.tensor([1, 2, -1, 1, 2, 2, -2])
    as_keys = (lambda k: ProjectedKeys(*geo.project_keys(k)[:2], torch.arange(len(k)))) if projected else (lambda k: k)
    return geo, query, keys, query_ids, key_ids, as_keys


def _restricted_geo(geo, query, keys, query_ids, key_ids, rule):
    return oracle.restrict(lambda: geo(query, keys),
                           lambda rows, allowed: geo(query[rows], oracle.key_subset(keys, allowed)),
                           query_ids, key_ids, rule)


@pytest.mark.parametrize('projected', [False, True], ids=['rows', 'projected'])
@pytest.mark.parametrize('value_projection', [False, True], ids=['paper', 'selsa'])
def test_same_object_queries_attend_to_their_objects_keys_only(projected, value_projection):
    geo, query, keys, query_ids, key_ids, as_keys = _geo_case(projected, value_projection)
    with torch.no_grad():
        learned = geo(query, as_keys(keys))
        out, restricted = _restricted_geo(geo, query, as_keys(keys), query_ids, key_ids, 'same-object')
        assert restricted == 4  # objects 1 (2 queries) and 2 (2 queries); object 3 has no key, -1 is background
        for q in (1, 2):  # the literal formula over the object's keys alone
            rows = query_ids == q
            assert torch.allclose(out[rows], geo.forward_literal(query[rows], keys[key_ids == q]), atol=1e-5)
        kept = ~torch.isin(query_ids, torch.tensor([1, 2]))
        assert torch.equal(out[kept], learned[kept])
        # zero weight on the other keys: changing them changes only the unrestricted queries
        moved = torch.where((key_ids == 1)[:, None] | (key_ids == 2)[:, None], keys, keys + 5)
        out_moved, _ = _restricted_geo(geo, query, as_keys(moved), query_ids, key_ids, 'same-object')
        assert torch.allclose(out_moved[~kept], out[~kept], atol=1e-6)
        assert not torch.allclose(out_moved[kept], out[kept], atol=1e-3)
        # a query whose keys are all of its own object attends as learned
        own, _ = _restricted_geo(geo, query, as_keys(keys), query_ids, torch.ones(7, dtype=torch.long),
                                 'same-object')
        assert torch.allclose(own, learned, atol=1e-6)


def test_other_object_queries_attend_to_the_other_objects_keys_only():
    geo, query, keys, query_ids, key_ids, _ = _geo_case(False, False)
    with torch.no_grad():
        out, restricted = _restricted_geo(geo, query, keys, query_ids, key_ids, 'other-objects')
        assert restricted == 5  # every object query: object 3 attends to objects 1 and 2
        for q in (1, 2, 3):
            rows = query_ids == q
            others = (key_ids >= 0) & (key_ids != q)
            assert torch.allclose(out[rows], geo.forward_literal(query[rows], keys[others]), atol=1e-5)
        moved = torch.where(((key_ids < 0) | (key_ids == 1))[:, None], keys + 5, keys)  # object 1's and no one's
        out_moved, _ = _restricted_geo(geo, query, moved, query_ids, key_ids, 'other-objects')
        assert torch.allclose(out_moved[query_ids == 1], out[query_ids == 1], atol=1e-6)
        assert not torch.allclose(out_moved[query_ids == 2], out[query_ids == 2], atol=1e-3)
        learned, restricted = _restricted_geo(geo, query, keys, query_ids, key_ids, 'learned')
        assert restricted == 0 and torch.equal(learned, geo(query, keys))


def test_a_relation_with_geometry_is_restricted_with_its_geometry():
    torch.manual_seed(0)
    relation = RelationModule(32, num_groups=4, geometry_dim=16).eval()
    torch.nn.init.normal_(relation.Wg.weight, std=1.0)
    query, keys = torch.randn(4, 32), torch.randn(6, 32)
    boxes = torch.rand(10, 4) * 20
    boxes[:, 2:] += boxes[:, :2] + 5
    query_ids, key_ids = torch.tensor([1, 2, -1, 1]), torch.tensor([1, 1, 2, -1, 2, 1])

    def call(rows=slice(None), allowed=slice(None)):
        geometry = box_geometry_embedding(boxes[:4][rows], boxes[4:][allowed], 16)
        return relation(query[rows], keys[allowed], geometry)

    with torch.no_grad():
        out, restricted = oracle.restrict(call, call, query_ids, key_ids, 'same-object')
        assert restricted == 3
        for q in (1, 2):  # masked softmax by hand: -inf logits on the other keys, same geometry term
            rows, allowed = query_ids == q, key_ids == q
            geometry = relation.geometry_logits(box_geometry_embedding(boxes[:4][rows], boxes[4:], 16))
            q_heads = relation._split_groups(relation.Wq(query[rows]) + relation.u.flatten())
            k_heads = relation._split_groups(relation.Wk(keys))
            logits = q_heads @ k_heads.transpose(-1, -2) / (32 // 4) ** 0.5 + geometry
            weights = logits.masked_fill(~allowed, float('-inf')).softmax(-1)  # (1, G, r, Nk)
            values = relation._split_groups(torch.nn.functional.linear(keys, relation.Wv.weight.flatten(1)))
            merged = (weights @ values)[0].transpose(0, 1).reshape(int(rows.sum()), 32)
            assert torch.allclose(out[rows], query[rows] + merged + relation.Wv.bias, atol=1e-5)
        assert torch.equal(out[2], call()[2])


# -------------------------------------------------------------------------------------- ground truth
def test_identities_come_from_the_json_in_original_pixels(tmp_path):
    coco = dict(categories=[dict(id=1, name='a')], videos=[dict(id=3)],
                images=[dict(id=10, video_id=3, frame_id=0, file_name='v/0.JPEG', height=60, width=80),
                        dict(id=11, video_id=3, frame_id=1, file_name='v/1.JPEG', height=60, width=80)],
                annotations=[dict(id=1, image_id=10, category_id=1, bbox=[10, 10, 20, 20], instance_id=5),
                             dict(id=2, image_id=11, category_id=1, bbox=[40, 10, 20, 20], instance_id=6)])
    path = tmp_path / 'val.json'
    path.write_text(json.dumps(coco))
    truth = oracle.FrameTruth.from_ann_file(str(path))
    frame = oracle.Frame(3, 0, torch.tensor([2.0, 2.0, 2.0, 2.0], dtype=torch.float64))  # an input twice the size
    boxes = torch.tensor([[20., 20., 60., 60.], [80., 20., 120., 60.]])
    assert truth.identities(frame, boxes).tolist() == [5, oracle.frame_truth.BACKGROUND]
    assert truth.identities(frame._replace(frame_id=1), boxes).tolist() == [oracle.frame_truth.BACKGROUND, 6]
    assert truth.identities(frame._replace(frame_id=9), boxes).tolist() == [oracle.UNKNOWN] * 2
    coco['annotations'][0].pop('instance_id')
    path.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match='instance_id'):
        oracle.FrameTruth.from_ann_file(str(path))
