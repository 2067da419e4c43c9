"""tools/analysis/oracle_bound.py: instance-level attention with keys restricted by the ground truth."""
import copy
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.engine import rebase_paths
from mamba_vod.evaluation.functional import load_vid_predictions
from mamba_vod.models.layers import GEO, ProjectedKeys, RelationModule, box_geometry_embedding
from mamba_vod.registry import MODELS

from tests.models.detectors.mamba_fixtures import make_clip, make_sample, preprocess
from tests.models.detectors.test_mamba_pinned import one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)

SYNTHETIC = 'configs/synthetic/{}_r18-dc5_synthetic.py'
GT = torch.tensor([[10., 8., 50., 40.], [40., 20., 90., 60.]], dtype=torch.float64)  # make_sample's boxes
# one row per method family and form: config, options (small states, outputs not started at 0)
FAMILIES = {
    'mamba': ('mamba', {'model.instance_level.geo.zero_init_output': False,  # both levels, the paper composition
                        'model.pixel_level.geo.zero_init_output': False,
                        'model.instance_level.memory.capacity': 60, 'model.instance_level.memory.key_set_size': 30}),
    'mamba-enhanced': ('mamba-enhanced', {'model.instance_level.geo.zero_init_output': False,  # release composition
                                          'model.pixel_level': None}),
    'selsa': ('selsa', {'model.past_frames': 2, 'model.instance_level.geo.zero_init_output': False}),
    'troialign': ('selsa-troialign', {'model.past_frames': 2, 'model.instance_level.geo.zero_init_output': False}),
    'mega': ('mega', {'model.relation_level.window_size': 2, 'model.relation_level.memory_size': 2,
                      'model.relation_level.global_size': 2}),
    'rdn': ('rdn', {'model.relation_level.window_size': 3}),
}


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('analysis/oracle_bound.py')


def _truth(tool, video_id=7, frames=range(40)):
    """Every frame shows instance 1 and instance 2 at make_sample's boxes."""
    return tool.FrameTruth({(video_id, frame): (GT, torch.tensor([1, 2])) for frame in frames})


# ---------------------------------------------------------------------------------------- restriction
def test_allowed_keys_of_each_rule(tool):
    query_ids = torch.tensor([1, 2, -1, -2, 3])
    key_ids = torch.tensor([1, 1, 2, -1, tool.UNKNOWN])
    same = tool.allowed_keys('same-object', query_ids, key_ids)
    other = tool.allowed_keys('other-objects', query_ids, key_ids)
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


def _restricted_geo(tool, geo, query, keys, query_ids, key_ids, rule):
    return tool.restrict(lambda: geo(query, keys),
                         lambda rows, allowed: geo(query[rows], tool.key_subset(keys, allowed)),
                         query_ids, key_ids, rule)


@pytest.mark.parametrize('projected', [False, True], ids=['rows', 'projected'])
@pytest.mark.parametrize('value_projection', [False, True], ids=['paper', 'selsa'])
def test_same_object_queries_attend_to_their_objects_keys_only(tool, projected, value_projection):
    geo, query, keys, query_ids, key_ids, as_keys = _geo_case(projected, value_projection)
    with torch.no_grad():
        learned = geo(query, as_keys(keys))
        out, restricted = _restricted_geo(tool, geo, query, as_keys(keys), query_ids, key_ids, 'same-object')
        assert restricted == 4  # objects 1 (2 queries) and 2 (2 queries); object 3 has no key, -1 is background
        for q in (1, 2):  # the literal formula over the object's keys alone
            rows = query_ids == q
            assert torch.allclose(out[rows], geo.forward_literal(query[rows], keys[key_ids == q]), atol=1e-5)
        kept = ~torch.isin(query_ids, torch.tensor([1, 2]))
        assert torch.equal(out[kept], learned[kept])
        # zero weight on the other keys: changing them changes only the unrestricted queries
        moved = torch.where((key_ids == 1)[:, None] | (key_ids == 2)[:, None], keys, keys + 5)
        out_moved, _ = _restricted_geo(tool, geo, query, as_keys(moved), query_ids, key_ids, 'same-object')
        assert torch.allclose(out_moved[~kept], out[~kept], atol=1e-6)
        assert not torch.allclose(out_moved[kept], out[kept], atol=1e-3)
        # a query whose keys are all of its own object attends as learned
        own, _ = _restricted_geo(tool, geo, query, as_keys(keys), query_ids, torch.ones(7, dtype=torch.long),
                                 'same-object')
        assert torch.allclose(own, learned, atol=1e-6)


def test_other_object_queries_attend_to_the_other_objects_keys_only(tool):
    geo, query, keys, query_ids, key_ids, _ = _geo_case(False, False)
    with torch.no_grad():
        out, restricted = _restricted_geo(tool, geo, query, keys, query_ids, key_ids, 'other-objects')
        assert restricted == 5  # every object query: object 3 attends to objects 1 and 2
        for q in (1, 2, 3):
            rows = query_ids == q
            others = (key_ids >= 0) & (key_ids != q)
            assert torch.allclose(out[rows], geo.forward_literal(query[rows], keys[others]), atol=1e-5)
        moved = torch.where(((key_ids < 0) | (key_ids == 1))[:, None], keys + 5, keys)  # object 1's and no one's
        out_moved, _ = _restricted_geo(tool, geo, query, moved, query_ids, key_ids, 'other-objects')
        assert torch.allclose(out_moved[query_ids == 1], out[query_ids == 1], atol=1e-6)
        assert not torch.allclose(out_moved[query_ids == 2], out[query_ids == 2], atol=1e-3)
        learned, restricted = _restricted_geo(tool, geo, query, keys, query_ids, key_ids, 'learned')
        assert restricted == 0 and torch.equal(learned, geo(query, keys))


def test_a_relation_with_geometry_is_restricted_with_its_geometry(tool):
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
        out, restricted = tool.restrict(call, call, query_ids, key_ids, 'same-object')
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
def test_identities_come_from_the_json_in_original_pixels(tool, tmp_path):
    coco = dict(categories=[dict(id=1, name='a')], videos=[dict(id=3)],
                images=[dict(id=10, video_id=3, frame_id=0, file_name='v/0.JPEG', height=60, width=80),
                        dict(id=11, video_id=3, frame_id=1, file_name='v/1.JPEG', height=60, width=80)],
                annotations=[dict(id=1, image_id=10, category_id=1, bbox=[10, 10, 20, 20], instance_id=5),
                             dict(id=2, image_id=11, category_id=1, bbox=[40, 10, 20, 20], instance_id=6)])
    path = tmp_path / 'val.json'
    path.write_text(json.dumps(coco))
    truth = tool.FrameTruth.from_ann_file(str(path))
    frame = tool.Frame(3, 0, torch.tensor([2.0, 2.0, 2.0, 2.0], dtype=torch.float64))  # an input twice the size
    boxes = torch.tensor([[20., 20., 60., 60.], [80., 20., 120., 60.]])
    assert truth.identities(frame, boxes).tolist() == [5, tool.BACKGROUND]
    assert truth.identities(frame._replace(frame_id=1), boxes).tolist() == [tool.BACKGROUND, 6]
    assert truth.identities(frame._replace(frame_id=9), boxes).tolist() == [tool.UNKNOWN] * 2
    coco['annotations'][0].pop('instance_id')
    path.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match='instance_id'):
        tool.FrameTruth.from_ann_file(str(path))


# ------------------------------------------------------------------------------------------ models
def _model(name, **options):
    config, defaults = FAMILIES[name]
    cfg = Config.fromfile(SYNTHETIC.format(config))
    cfg.merge_from_dict({**defaults, **options})
    cfg.model.backbone.init_cfg = None
    init_default_scope('mamba_vod')
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg.model)).eval()


def _run(model, frames=4, refs=(), seed=None):
    """Detections of ``frames`` frames of video 7 (frame 0 with references ``refs``); one image for
    every frame unless ``seed`` (then frame f's image is seed + f)."""
    out = []
    for frame in range(frames):
        references = list(refs) if frame == 0 else []
        clip = make_clip(1 + len(references), 64, 96, seed=0 if seed is None else seed + frame)
        sample = make_sample(video_id=7, frame_id=frame, ref_frame_ids=references)
        with torch.no_grad():
            out.append(model.predict(*preprocess(model, [clip], [sample]))[0].pred_instances)
    return out


def _run_frame(model, frame, seed):
    clip = make_clip(1, 64, 96, seed=seed)
    with torch.no_grad():
        return model.predict(*preprocess(model, [clip], [make_sample(video_id=7, frame_id=frame)]))[0]


def _same(a, b) -> bool:
    return all(torch.equal(x.bboxes, y.bboxes) and torch.equal(x.scores, y.scores) for x, y in zip(a, b))


@pytest.mark.parametrize('name', list(FAMILIES))
def test_each_family_learned_is_the_model_and_restricted_keys_change_it(tool, name):
    model = _model(name)
    plain = _run(model)
    results = {}
    for rule in tool.KEYS:
        model.reset_memory()
        oracle = tool.oracle_for(model, _truth(tool), rule)
        results[rule] = _run(model)
        oracle.remove()
        counts = oracle.summary({})['all']
        assert counts['object_queries'] > 0
        assert (counts['restricted'] > 0) == (rule != 'learned')
    assert _same(results['learned'], plain)
    assert not _same(results['same-object'], plain) and not _same(results['other-objects'], plain)
    model.reset_memory()
    assert _same(_run(model), plain)  # removed: the model as it was


@pytest.mark.parametrize('name, refs', [('mamba', [0, 2, 3]), ('selsa', [0, 2]), ('mega', [0, 0, 1, 5])])
def test_offline_references_are_identified_too(tool, name, refs):
    """MAMBA's initial frames, SELSA's reference rows, MEGA's window and global frames."""
    model = _model(name)
    plain = _run(model, refs=refs)
    for rule in tool.KEYS:
        model.reset_memory()
        oracle = tool.oracle_for(model, _truth(tool), rule)
        out = _run(model, refs=refs)
        oracle.remove()
        assert _same(out, plain) == (rule == 'learned')
        assert (oracle.summary({})['all']['restricted'] > 0) == (rule != 'learned')


@pytest.mark.parametrize('name, options', [
    ('mamba', {'model.instance_level.cache_keys': False, 'model.pixel_level': None}),  # rows of the memory
    ('mamba', {'model.pixel_level': None}),  # projected once, a key set of slots
    ('selsa', {'model.instance_level.proposals_per_frame': 10})])  # projected, own rows after the memory's
def test_memory_keys_carry_the_identity_of_the_proposal_they_were_written_from(tool, name, options):
    """Rows written, replaced and drawn over 6 distinct frames: each key's identity is that of the
    proposal whose row (or row's projection) it is, found by its values among every row the frames
    embedded."""
    model = _model(name, **options)
    truth = _truth(tool)
    oracle = tool.oracle_for(model, truth, 'same-object')
    embedded, checked = {}, []
    embed, geos = model.roi_head.embed_proposals, model.instance_level.geos

    def spy_embed(x, boxes, instance_keys=None):
        per_image = embed(x, boxes, instance_keys)
        ids = truth.identities(oracle.frame, boxes[0]).tolist()
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
            (oracle.key_sets[id(args[1])][1].tolist(), [embedded[tuple(row.tolist())] for row in key_rows(args[1])])))
    _run(model, frames=6, seed=10)
    oracle.remove()
    assert len(checked) == 6 * len(geos) and all(ids == expected for ids, expected in checked)
    bank = model.instance_level.memories[0]
    assert len(bank) == bank.capacity or bank.frame_ids.min() > 0  # rows were replaced
    assert any(i >= 0 for ids, _ in checked for i in ids)


class FrameIds:
    """Ground truth for which every proposal of frame f is object f."""

    def identities(self, frame, boxes):
        return torch.full((len(boxes), ), frame.frame_id, dtype=torch.long, device=boxes.device)


@pytest.mark.parametrize('name', ['mega', 'rdn'])
def test_relation_keys_carry_the_frame_of_the_proposal_they_come_from(tool, name, monkeypatch):
    """Window, distilled, stage-memory rows over 6 distinct frames: each key's (and query's) identity
    is its frame's, checked for every box found in one frame only."""
    model = _model(name)
    oracle = tool.oracle_for(model, FrameIds(), 'same-object')
    frame_of, calls, current = {}, [], [0]
    entries, relate, restrict = model.frame_entries, model.relation_level._relate, tool.restrict

    def spy_entries(maps, sample, proposals=None):
        made = entries(maps, sample, proposals)
        for _, boxes in made:
            for box in boxes.tolist():
                frame_of.setdefault(tuple(box), set()).add(current[0])
        return made

    def spy_relate(index, query, query_boxes, keys, key_boxes):
        calls.append([query_boxes, key_boxes])
        return relate(index, query, query_boxes, keys, key_boxes)

    def spy_restrict(full, subset, query_ids, key_ids, keys):
        if calls and len(calls[-1]) == 2:
            calls[-1] += [query_ids, key_ids]
        return restrict(full, subset, query_ids, key_ids, keys)

    model.frame_entries, model.relation_level._relate = spy_entries, spy_relate
    monkeypatch.setattr(tool, 'restrict', spy_restrict)
    for frame in range(6):
        current[0] = frame
        _run_frame(model, frame, seed=20 + frame)
    oracle.remove()
    checked = 0
    for query_boxes, key_boxes, query_ids, key_ids in calls:
        for boxes, ids in ((query_boxes, query_ids), (key_boxes, key_ids)):
            for box, identity in zip(boxes.tolist(), ids.tolist()):
                frames = frame_of.get(tuple(box), set())
                if len(frames) == 1:
                    assert identity == next(iter(frames))
                    checked += 1
    assert checked > 1000 and len({i for *_, ids in calls for i in ids.tolist()}) == 6


# ------------------------------------------------------------------------------------ command line
@pytest.mark.parametrize('config', ['faster-rcnn', 'dff', 'fgfa', 'mamba-pix'])
def test_methods_without_instance_level_keys_are_refused(tool, user_error, config):
    path = SYNTHETIC.format(config)
    line = user_error(tool.main, [path, 'missing.pth', '--keys', 'same-object'])
    assert path in line and 'no instance-level keys' in line and 'SELSA' in line and 'MEGA' in line
    with torch.device('meta'):
        model = MODELS.build(Config.fromfile(path).model)
    with pytest.raises(ValueError, match='no instance-level keys'):
        tool.oracle_for(model, _truth(tool), 'learned')


def test_command_line_learned_is_tools_test(tool, load_tool, tmp_path, capsys):
    """The whole tool on a tiny generated set (1 val video of 8 frames), an untrained MAMBA."""
    data_root = str(tmp_path / 'data')
    quickstart = load_tool('quickstart.py')
    quickstart.prepare_synthetic_data(data_root, ['--seed', '0'] + quickstart.TINY_DATA)
    cfg = Config.fromfile(SYNTHETIC.format('mamba-ins'))
    cfg = rebase_paths(cfg, cfg.data_root, data_root)
    # every proposal a memory row, so that untrained proposals of the objects reach the memory
    cfg.merge_from_dict({'model.instance_level.geo.zero_init_output': False,
                         'model.instance_level.proposals_per_frame': 100})
    config = str(tmp_path / 'mamba-ins.py')
    cfg.dump(config)
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta={}), checkpoint)
    metrics = load_tool('test.py').main([config, checkpoint, '--work-dir', str(tmp_path / 'test'),
                                         '--out', str(tmp_path / 'test.npz')])
    out = tmp_path / 'oracle.json'
    learned = tool.main([config, checkpoint, '--keys', 'learned', '--json', str(out),
                         '--cfg-options', f'test_evaluator.dump_file={tmp_path}/learned.npz'])
    assert learned['metrics'] == pytest.approx(metrics, rel=0, abs=0, nan_ok=True)
    ours, theirs = (load_vid_predictions(str(tmp_path / name)) for name in ('learned.npz', 'test.npz'))
    assert len(theirs.scores) > 0
    for field in ('img_ids', 'num_dets', 'bboxes', 'scores', 'labels'):
        assert np.array_equal(getattr(ours, field), getattr(theirs, field)), field
    assert json.loads(out.read_text())['subsets']['all']['mAP'] == pytest.approx(100 * metrics['vid/mAP'])
    rows = tool.main([config, checkpoint, '--keys', 'same-object'])['subsets']
    assert set(rows) == {'all', 'degraded', 'clean'} and rows['all']['restricted'] > 0
    assert rows['degraded']['restricted'] + rows['clean']['restricted'] == rows['all']['restricted']
    printed = capsys.readouterr().out
    assert 'keys=same-object' in printed and printed.count('degraded') >= 2
