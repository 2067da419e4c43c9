"""tools/analysis/instance_retrieval.py: do a detector's RoI features find the same object elsewhere?"""
import json

import pytest
import torch
from mmengine.config import Config

from mamba_vod.models.layers import GEO
from mamba_vod.registry import MODELS


def test_rois_take_the_instance_of_the_box_they_overlap(load_tool):
    tool = load_tool('analysis/instance_retrieval.py')
    gt = torch.tensor([[0., 0., 10., 10.], [20., 20., 40., 40.]])
    rois = torch.tensor([[0., 0., 10., 9.],     # IoU 0.9 with instance 7
                         [20., 20., 30., 40.],  # IoU 0.5 with instance 3
                         [0., 0., 10., 25.],    # IoU 0.4: neither
                         [50., 50., 60., 60.]])  # background
    identity = tool.roi_identities(rois, gt, torch.tensor([7, 3]))
    assert identity.tolist() == [7, 3, tool.AMBIGUOUS, tool.BACKGROUND]
    assert tool.roi_identities(rois, torch.zeros(0, 4), torch.zeros(0)).tolist() == [tool.BACKGROUND] * 4


def _video(features_of, frames=3):
    """Two objects (ids 0 and 1, classes 5 and 6) and one background RoI in each frame; the features
    of an object are ``features_of[id]`` plus a little noise, background random."""
    gen = torch.Generator().manual_seed(0)
    rows, identity, classes, frame = [], [], [], []
    for t in range(frames):
        for instance in (0, 1, -1):
            base = features_of[instance] if instance >= 0 else torch.randn(16, generator=gen)
            rows.append(base + 0.05 * torch.randn(16, generator=gen))
            identity.append(instance)
            classes.append(5 + instance if instance >= 0 else -1)
            frame.append(t)
    return torch.stack(rows), torch.tensor(identity), torch.tensor(classes), torch.tensor(frame)


def test_statistics_of_distinct_objects(load_tool):
    tool = load_tool('analysis/instance_retrieval.py')
    gen = torch.Generator().manual_seed(1)
    video = _video({0: torch.randn(16, generator=gen), 1: torch.randn(16, generator=gen)})
    torch.manual_seed(0)
    selective = GEO(16, num_heads=2, similarity='cosine', cosine_scale=100.0, query_key_init='identity')
    broadcast = GEO(16, num_heads=2)
    with torch.no_grad():
        broadcast.query_proj.weight.zero_()  # every query 0, every logit 0: uniform attention
        broadcast.query_proj.bias.zero_()
        stats = tool.retrieval_statistics(*video, torch.tensor([0, 2]), selective)
        uniform = tool.retrieval_statistics(*video, torch.tensor([0, 2]), broadcast)
    assert len(stats['top1_same_object']) == 4  # 2 objects in each of 2 query frames
    # the pool: the 6 RoIs of the 2 other frames, 2 of them of the query's object
    assert stats['share_same_object'] == pytest.approx([1 / 3] * 4)
    assert stats['top1_same_object'] == stats['top1_same_class'] == [1.0] * 4
    assert min(stats['attention_same_object']) > 0.99
    assert uniform['attention_same_object'] == pytest.approx([1 / 3] * 4)


def test_objects_that_look_alike_are_not_told_apart(load_tool):
    tool = load_tool('analysis/instance_retrieval.py')
    look = torch.randn(16, generator=torch.Generator().manual_seed(2))
    stats = tool.retrieval_statistics(*_video({0: look, 1: look}, frames=9), torch.arange(9))
    assert 0.2 < sum(stats['top1_same_object']) / len(stats['top1_same_object']) < 0.8
    assert 'attention_same_object' not in stats


def test_command_line_on_a_tiny_synthetic_set(load_tool, tmp_path, monkeypatch):
    """The whole tool, an untrained instance-level MAMBA: every proposal of a frame is kept (the
    prediction's, not the memory's top 25), the subsets split the queries."""
    tool = load_tool('analysis/instance_retrieval.py')
    data_root = str(tmp_path / 'data')
    quickstart = load_tool('quickstart.py')
    quickstart.prepare_synthetic_data(data_root, ['--seed', '0'] + quickstart.TINY_DATA)  # 1 val video of 8 frames
    torch.manual_seed(0)
    config = 'configs/synthetic/mamba-ins_r18-dc5_synthetic.py'
    model = MODELS.build(Config.fromfile(config).model)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    out = tmp_path / 'retrieval.json'
    sizes = []
    summarise = tool.summarise

    def spy(probe, *args):
        sizes.extend(len(frame['features']) for frame in probe.frames)
        return summarise(probe, *args)

    monkeypatch.setattr(tool, 'summarise', spy)
    tool.main([config, checkpoint, '--data-root', data_root, '--max-frames', '6', '--json', str(out),
               '--cfg-options', 'model.test_cfg.rpn.max_per_img=300'])
    assert len(sizes) == 6 and min(sizes) > 25  # not the 25 memory rows of a frame
    table = json.loads(out.read_text())
    assert table['all']['queries'] > 0
    assert sum(table[subset]['queries'] for subset in table if subset != 'all') == table['all']['queries']
    for row in table.values():
        if row['queries']:
            assert 0 < row['share_same_object'] < 1 and 0 <= row['top1_same_object'] <= 1
            assert 0 < row['attention_same_object'] < 1
