"""tools/analysis/instance_geo_selectivity.py: what the instance-level GEOs add to foreground and
background RoIs."""
import json

import pytest
import torch
from mmengine.config import Config

from mamba_vod.registry import MODELS

from tests.models.detectors.mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess


def test_a_broadcast_gives_cosines_of_one_and_exact_relative_norms(load_tool):
    tool = load_tool('analysis/instance_geo_selectivity.py')
    query = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    shift = torch.randn(8, generator=torch.Generator().manual_seed(1))
    overlaps = torch.tensor([0.9, 0.6, 0.1, 0.0, 0.2, 0.4])  # 2 foreground, 3 background, 1 neither
    stats = tool.delta_statistics(query, query + shift, overlaps)
    assert stats['cos_fg_bg'] == pytest.approx(1.0) and stats['cos_bg_bg'] == pytest.approx(1.0)
    relative = shift.norm() / query.norm(dim=1)
    assert stats['rel_fg'] == pytest.approx(relative[:2].mean().item(), rel=1e-6)
    assert stats['rel_bg'] == pytest.approx(relative[2:5].mean().item(), rel=1e-6)


def test_a_selective_aggregation_gives_foreground_and_background_other_directions(load_tool):
    tool = load_tool('analysis/instance_geo_selectivity.py')
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


def test_the_probe_measures_each_level_of_a_mamba_on_its_key_frames(load_tool):
    tool = load_tool('analysis/instance_geo_selectivity.py')
    model = build_tiny_mamba(pixel_level=False, instance_level=True).eval()
    shifts = []
    for geo in model.roi_head.bbox_head.aggregators:  # each GEO adds one fixed vector to every RoI
        torch.nn.init.zeros_(geo.group_conv.weight)
        shifts.append(torch.randn(geo.channels, generator=torch.Generator().manual_seed(len(shifts))))
        geo.group_conv.bias.data.copy_(shifts[-1])
    gt = make_sample().gt_instances.bboxes  # the boxes every frame shows (64 x 96 frames)
    probe = tool.SelectivityProbe(model, {frame: gt for frame in range(4)}, {'late': {2, 3}})  # img_id = frame
    with torch.no_grad():
        for frame in range(4):
            inputs, samples = preprocess(model, [make_clip(1, seed=frame)], [make_sample(frame_id=frame)])
            probe.set_frame(samples[0].metainfo)
            model.predict(inputs, samples)
    probe.remove()
    table = probe.summary()
    assert set(table) == {f'{subset}/level{level}' for subset in ('all', 'late') for level in (0, 1)}
    assert table['all/level0']['frames'] == 4 and table['late/level1']['frames'] == 2
    for row in table.values():  # a broadcast, by construction
        assert row['cos_fg_bg'] == pytest.approx(1.0, abs=1e-5) and row['cos_bg_bg'] == pytest.approx(1.0, abs=1e-5)
        assert row['rel_fg'] > 0 and row['rel_bg'] > 0
    assert not model.roi_head.bbox_roi_extractor._forward_hooks  # removed


def test_a_model_without_instance_level_is_refused(load_tool):
    tool = load_tool('analysis/instance_geo_selectivity.py')
    with pytest.raises(ValueError, match='instance_level=True'):
        tool.SelectivityProbe(build_tiny_mamba(pixel_level=True, instance_level=False), {}, {})


def test_command_line_on_a_tiny_synthetic_set(load_tool, tmp_path):
    """The whole tool: config, checkpoint, the data moved by --data-root, the evaluator's subsets."""
    tool = load_tool('analysis/instance_geo_selectivity.py')
    data_root = str(tmp_path / 'data')
    load_tool('quickstart.py').make_data(data_root, force=False, tiny=True)  # 1 val video of 8 frames
    config = 'configs/synthetic/mamba-ins_r18-dc5_synthetic.py'
    model = MODELS.build(Config.fromfile(config).model)
    for geo in model.roi_head.bbox_head.aggregators:  # a broadcast
        geo.group_conv.bias.data.fill_(1.0)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    out = tmp_path / 'selectivity.json'
    tool.main([config, checkpoint, '--data-root', data_root, '--max-frames', '5', '--json', str(out),
               '--cfg-options', 'model.test_cfg.rpn.max_per_img=300'])
    table = json.loads(out.read_text())
    assert {'all/level0', 'all/level1'} <= set(table) <= {f'{subset}/level{level}' for level in (0, 1)
                                                         for subset in ('all', 'degraded', 'clean')}
    assert 0 < table['all/level0']['frames'] <= 5
    assert sum(table.get(f'{subset}/level0', {}).get('frames', 0) for subset in ('degraded', 'clean')) == \
        table['all/level0']['frames']
    for row in table.values():
        assert row['cos_fg_bg'] == pytest.approx(1.0, abs=1e-5) and row['rel_fg'] > 0
