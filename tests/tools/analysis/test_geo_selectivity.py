"""tools/analysis/geo_selectivity.py: what the GEOs add to foreground and background queries."""
import json

import pytest
import torch
from mmengine.config import Config

from mamba_vod.registry import MODELS

from tests.models.detectors.mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess


def test_a_broadcast_gives_cosines_of_one_and_exact_relative_norms(load_tool):
    tool = load_tool('analysis/geo_selectivity.py')
    query = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    shift = torch.randn(8, generator=torch.Generator().manual_seed(1))
    overlaps = torch.tensor([0.9, 0.6, 0.1, 0.0, 0.2, 0.4])  # 2 foreground, 3 background, 1 neither
    stats = tool.delta_statistics(query, query + shift, overlaps)
    assert stats['cos_fg_bg'] == pytest.approx(1.0) and stats['cos_bg_bg'] == pytest.approx(1.0)
    norms = query.norm(dim=1)
    assert stats['rel_fg'] == pytest.approx((shift.norm() / norms[:2].mean()).item(), rel=1e-6)
    assert stats['rel_bg'] == pytest.approx((shift.norm() / norms[2:5].mean()).item(), rel=1e-6)


def test_a_selective_aggregation_gives_foreground_and_background_other_directions(load_tool):
    tool = load_tool('analysis/geo_selectivity.py')
    query = torch.zeros(5, 4) + 1.0
    delta = torch.tensor([[1., 0, 0, 0], [2., 0, 0, 0], [0, 1., 0, 0], [0, 0, 1., 0], [0, -1., 0, 0]])
    stats = tool.delta_statistics(query, query + delta, torch.tensor([0.7, 0.5, 0.0, 0.1, 0.29]))
    # foreground deltas point along x; the background ones average to z/3
    assert stats['cos_fg_bg'] == pytest.approx(0.0, abs=1e-12)
    # background pairs: (0,1,0,0)(0,0,1,0) -> 0, (0,1,0,0)(0,-1,0,0) -> -1, (0,0,1,0)(0,-1,0,0) -> 0
    assert stats['cos_bg_bg'] == pytest.approx(-1 / 3)
    # too few foreground or background RoIs: nothing to say
    assert tool.delta_statistics(query, query + delta, torch.tensor([0.1, 0.1, 0.0, 0.1, 0.2])) == {}
    assert tool.delta_statistics(query, query + delta, torch.tensor([0.9, 0.9, 0.9, 0.9, 0.2])) == {}


def _broadcasting(geo, seed):
    """Makes ``geo`` add one fixed vector to every query."""
    torch.nn.init.zeros_(geo.group_conv.weight)
    geo.group_conv.bias.data.copy_(torch.randn(geo.channels, generator=torch.Generator().manual_seed(seed)))


def test_the_probe_measures_every_geo_of_a_mamba_on_its_key_frames(load_tool):
    tool = load_tool('analysis/geo_selectivity.py')
    model = build_tiny_mamba().eval()  # both levels
    _broadcasting(model.pixel_level.geo, 0)
    for level, geo in enumerate(model.instance_level.geos):
        _broadcasting(geo, level + 1)
    gt = make_sample().gt_instances.bboxes  # the boxes every frame shows (64 x 96 frames)
    probe = tool.SelectivityProbe(model, {frame: gt for frame in range(4)}, {'late': {2, 3}})  # img_id = frame
    with torch.no_grad():
        for frame in range(4):
            inputs, samples = preprocess(model, [make_clip(1, seed=frame)], [make_sample(frame_id=frame)])
            probe.set_frame(samples[0].metainfo)
            model.predict(inputs, samples)
    probe.remove()
    table = probe.summary()
    geos = ('pixel', 'instance0', 'instance1')
    assert set(table) == {f'{subset}/{geo}' for subset in ('all', 'late') for geo in geos}
    assert table['all/pixel']['frames'] == 4 and table['late/pixel']['frames'] == 2
    for geo in geos[1:]:  # frames without a foreground RoI among the proposals are left out
        assert 1 <= table[f'late/{geo}']['frames'] <= 2 and table[f'all/{geo}']['frames'] <= 4
    for row in table.values():  # a broadcast, by construction
        assert row['cos_fg_bg'] == pytest.approx(1.0, abs=1e-5) and row['cos_bg_bg'] == pytest.approx(1.0, abs=1e-5)
        assert row['rel_fg'] > 0 and row['rel_bg'] > 0
    assert not model.roi_head.bbox_roi_extractor._forward_hooks and not model.pixel_level.geo._forward_hooks


def test_pixels_are_foreground_when_their_cell_centre_is_in_a_box(load_tool):
    tool = load_tool('analysis/geo_selectivity.py')
    model = build_tiny_mamba(instance_level=False).eval()
    feat = torch.ones(64, 4, 6)
    shift = torch.zeros(64, 4, 6)
    shift[0, :2, 1:3] = 1.0  # the 4 cells whose centres (24 or 40, 8 or 24) lie in the box
    shift[1] = 1.0 - shift[0]  # every other cell
    queries = feat.flatten(1).t()  # (h*w, C), as the pixel level hands them to its GEO
    model.pixel_level.geo.register_forward_hook(lambda module, inputs, output: queries + shift.flatten(1).t())
    probe = tool.SelectivityProbe(model, {0: torch.tensor([[16., 0., 48., 32.]])}, {})  # 4 x 6 cells of 16
    probe.set_frame(dict(img_id=0, scale_factor=(1.0, 1.0)))
    model.neck((torch.ones(1, 512, 4, 6), ))  # the map size of the frame
    model.pixel_level.enhance(feat, torch.ones(3, 64))
    probe.remove()
    row = probe.summary()['all/pixel']
    assert row['cos_fg_bg'] == pytest.approx(0.0) and row['cos_bg_bg'] == pytest.approx(1.0)
    assert row['rel_fg'] == pytest.approx(1 / 8) and row['rel_bg'] == pytest.approx(1 / 8)  # |shift| / |ones(64)|


def test_a_model_without_geos_is_refused(load_tool):
    tool = load_tool('analysis/geo_selectivity.py')
    with pytest.raises(ValueError, match='no GEO to probe'):
        tool.SelectivityProbe(build_tiny_mamba(pixel_level=False, instance_level=False), {}, {})


def test_command_line_on_a_tiny_synthetic_set(load_tool, tmp_path):
    """The whole tool: config, checkpoint, the data moved by --data-root, the evaluator's subsets."""
    tool = load_tool('analysis/geo_selectivity.py')
    data_root = str(tmp_path / 'data')
    quickstart = load_tool('quickstart.py')
    quickstart.prepare_synthetic_data(data_root, ['--seed', '0'] + quickstart.TINY_DATA)  # 1 val video of 8 frames
    config = 'configs/synthetic/mamba-ins_r18-dc5_synthetic.py'
    model = MODELS.build(Config.fromfile(config).model)
    for geo in model.instance_level.geos:  # a broadcast
        geo.group_conv.bias.data.fill_(1.0)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    out = tmp_path / 'selectivity.json'
    tool.main([config, checkpoint, '--data-root', data_root, '--max-frames', '5', '--json', str(out),
               '--cfg-options', 'model.test_cfg.rpn.max_per_img=300'])
    table = json.loads(out.read_text())
    assert {'all/instance0', 'all/instance1'} <= set(table) <= {
        f'{subset}/instance{level}' for level in (0, 1) for subset in ('all', 'degraded', 'clean')}
    assert 0 < table['all/instance0']['frames'] <= 5
    assert sum(table.get(f'{subset}/instance0', {}).get('frames', 0) for subset in ('degraded', 'clean')) == \
        table['all/instance0']['frames']
    for row in table.values():
        assert row['cos_fg_bg'] == pytest.approx(1.0, abs=1e-5) and row['rel_fg'] > 0
