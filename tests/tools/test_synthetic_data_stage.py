"""tools/misc/synthetic_data_stage.py: the synthetic data set is made once, reused while the
generator's arguments and code are the same, and made again (saying why) when they change."""
import os
import os.path as osp

import pytest


@pytest.fixture
def stage(load_tool, monkeypatch):
    module = load_tool('misc/synthetic_data_stage.py')
    calls = []

    def run_tool(args):  # stands for the generator and the converter: writes what they would
        calls.append(osp.basename(args[0]))
        out = args[args.index('--out') + 1] if '--out' in args else args[args.index('-o') + 1]
        marker = 'Lists/VID_val_videos.txt' if '--out' in args else 'imagenet_vid_val.json'
        path = osp.join(out, marker)
        os.makedirs(osp.dirname(path), exist_ok=True)
        open(path, 'w').close()

    monkeypatch.setattr(module, '_run_tool', run_tool)
    return module, calls


def test_made_once_reused_then_remade_for_other_arguments(stage, tmp_path):
    module, calls = stage
    root, said = str(tmp_path / 'synthetic_vid'), []
    first = module.prepare_synthetic_data(root, ['--seed', '0'], echo=said.append)
    assert calls == ['make_synthetic_vid.py', 'imagenet_vid.py'] and said == []
    assert module.prepare_synthetic_data(root, ['--seed', '0'], echo=said.append) == first
    assert len(calls) == 2 and said == []  # reused
    other = module.prepare_synthetic_data(root, ['--preset', 'hard', '--seed', '0'], echo=said.append)
    assert other != first and calls[2:] == ['make_synthetic_vid.py', 'imagenet_vid.py']
    assert said == ['data: its arguments changed since it ran; redoing it']
    module.prepare_synthetic_data(root, ['--preset', 'hard', '--seed', '0'], force=True, echo=said.append)
    assert len(calls) == 6 and len(said) == 1


def test_the_code_is_the_generators_and_the_converters(stage, monkeypatch):
    module, _ = stage
    seen = []
    monkeypatch.setattr(module, 'source_digest', lambda *paths: seen.extend(paths) or 'digest')
    assert module.data_fingerprint(['--seed', '0']).parts == {'arguments': '--seed 0', 'code': 'digest'}
    names = {osp.basename(path) for path in seen}
    assert {'make_synthetic_vid.py', 'synthetic_vid_scene.py', 'synthetic_vid_hard.py', 'dataset_converters'} <= names
    # the quickstart's helpers beside the generator do not make the data: editing them keeps it
    assert not names & {'synthetic_data_stage.py', 'side_by_side_video.py'}
