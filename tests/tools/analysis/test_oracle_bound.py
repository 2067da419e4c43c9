"""tools/analysis/oracle_bound.py: instance-level attention with keys restricted by the ground truth."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mamba_vod.engine import rebase_paths
from mamba_vod.evaluation.functional import load_vid_predictions
from mamba_vod.registry import MODELS

from tests.models.detectors.test_mamba_pinned import one_thread
from tests.tools.analysis.oracle.oracle_fixtures import FAMILIES, SYNTHETIC, build_model, make_truth, run_video

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('analysis/oracle_bound.py')


# ------------------------------------------------------------------ each family's adapter
def _same(a, b) -> bool:
    return all(torch.equal(x.bboxes, y.bboxes) and torch.equal(x.scores, y.scores) for x, y in zip(a, b))


@pytest.mark.parametrize('name', list(FAMILIES))
def test_each_family_learned_is_the_model_and_restricted_keys_change_it(tool, name):
    model = build_model(name)
    plain = run_video(model)
    results = {}
    for rule in tool.KEYS:
        model.reset_memory()
        oracle = tool.oracle_for(model, make_truth(), rule)
        results[rule] = run_video(model)
        oracle.remove()
        counts = oracle.summary({})['all']
        assert counts['object_queries'] > 0
        assert (counts['restricted'] > 0) == (rule != 'learned')
    assert _same(results['learned'], plain)
    assert not _same(results['same-object'], plain) and not _same(results['other-objects'], plain)
    model.reset_memory()
    assert _same(run_video(model), plain)  # removed: the model as it was


@pytest.mark.parametrize('name, refs', [('mamba', [0, 2, 3]), ('selsa', [0, 2]), ('mega', [0, 0, 1, 5])])
def test_offline_references_are_identified_too(tool, name, refs):
    """MAMBA's initial frames, SELSA's reference rows, MEGA's window and global frames."""
    model = build_model(name)
    plain = run_video(model, refs=refs)
    for rule in tool.KEYS:
        model.reset_memory()
        oracle = tool.oracle_for(model, make_truth(), rule)
        out = run_video(model, refs=refs)
        oracle.remove()
        assert _same(out, plain) == (rule == 'learned')
        assert (oracle.summary({})['all']['restricted'] > 0) == (rule != 'learned')


# ------------------------------------------------------------------------------------ command line
@pytest.mark.parametrize('config', ['faster-rcnn', 'dff', 'fgfa', 'mamba-pix'])
def test_methods_without_instance_level_keys_are_refused(tool, user_error, config):
    path = SYNTHETIC.format(config)
    line = user_error(tool.main, [path, 'missing.pth', '--keys', 'same-object'])
    assert path in line and 'no instance-level keys' in line and 'SELSA' in line and 'MEGA' in line
    with torch.device('meta'):
        model = MODELS.build(Config.fromfile(path).model)
    with pytest.raises(ValueError, match='no instance-level keys'):
        tool.oracle_for(model, make_truth(), 'learned')


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
