"""tools/misc/synthetic_data_stage.py: the synthetic data set is made once, reused while the
generator's arguments, code and packages are the same and its files are as made, and made again
(saying why) when they change, when a file was spoilt by hand or when a run did not finish."""
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
        files = (['Lists/VID_val_videos.txt', 'Data/VID/val/v0/000000.JPEG'] if '--out' in args
                 else ['imagenet_vid_val.json', 'imagenet_vid_train.json'])
        for name in files:
            path = osp.join(out, name)
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(f'{name} as made')

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
    parts = module.data_fingerprint(['--seed', '0']).parts
    assert parts == {'arguments': '--seed 0', 'code': 'digest', 'environment': module.environment(device=False)}
    assert 'numpy=' in parts['environment'] and 'opencv=' in parts['environment']
    names = {osp.basename(path) for path in seen}
    assert {'make_synthetic_vid.py', 'synthetic_vid_scene.py', 'synthetic_vid_hard.py', 'dataset_converters'} <= names
    # the quickstart's helpers beside the generator do not make the data: editing them keeps it
    assert not names & {'synthetic_data_stage.py', 'side_by_side_video.py'}


@pytest.mark.parametrize('spoil, reason', [
    (lambda root: open(osp.join(root, 'Data/VID/val/v0/000000.JPEG'), 'w').close(),
     "its output 'Data/VID/val/v0/000000.JPEG' was changed since it ran"),
    (lambda root: open(osp.join(root, 'annotations/imagenet_vid_val.json'), 'w').write('{"images": []}'),
     "its output 'annotations/imagenet_vid_val.json' was changed since it ran"),
    (lambda root: os.remove(osp.join(root, 'annotations/imagenet_vid_train.json')),
     "its output 'annotations/imagenet_vid_train.json' is missing since it ran"),
])
def test_data_spoilt_by_hand_is_made_again(stage, tmp_path, spoil, reason):
    module, calls = stage
    root, said = str(tmp_path / 'synthetic_vid'), []
    module.prepare_synthetic_data(root, ['--seed', '0'], echo=said.append)
    spoil(root)
    module.prepare_synthetic_data(root, ['--seed', '0'], echo=said.append)
    assert said == [f'data: {reason}; redoing it'] and len(calls) == 4
    with open(osp.join(root, 'annotations/imagenet_vid_train.json')) as f:
        assert f.read() == 'imagenet_vid_train.json as made'
    module.prepare_synthetic_data(root, ['--seed', '0'], echo=said.append)
    assert len(calls) == 4 and len(said) == 1  # remade, then reused


def test_an_unfinished_data_stage_is_made_again(stage, tmp_path):
    module, calls = stage
    root, said = tmp_path / 'synthetic_vid', []
    (root / 'Lists').mkdir(parents=True)
    (root / 'Lists' / 'VID_val_videos.txt').write_text('v0 1\n')  # a generator killed part way
    module.data_fingerprint(['--seed', '0']).record(str(root), stage='data', finished=False)
    module.prepare_synthetic_data(str(root), ['--seed', '0'], echo=said.append)
    assert said == ['data: its last run did not finish; redoing it']
    assert calls == ['make_synthetic_vid.py', 'imagenet_vid.py']
