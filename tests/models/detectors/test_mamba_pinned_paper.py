"""MAMBA in the paper's form, pinned: the model of ``test_mamba_pinned.py`` (its weights, data
and protocols) with the paper's composition of the instance level and the authors' pixel memory
(enhanced rows, the carried set, references detected as initial frames, keys projected once),
compared exactly with the figures this code gave when the file was written
(``data/mamba_pinned_paper.pt``; the weights are read from ``data/mamba_pinned.pt``).

Regenerate (only when a behaviour change is intended, and say so in the commit):
    python tests/models/detectors/test_mamba_pinned_paper.py
"""
import os.path as osp
import sys

import torch

if __name__ == '__main__':  # run as a script: make `tests` importable
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mamba_vod.registry import MODELS  # noqa: E402
from tests.models.detectors.test_mamba_pinned import (PINNED, VIDEO_LENGTH, _arithmetic, _assert_same,  # noqa: E402
                                                      one_thread, pinned_model_cfg, training_losses,
                                                      video_detections)

PINNED_PAPER = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'mamba_pinned_paper.pt')
__all__ = ['one_thread']  # the fixture, imported for the tests below


def paper_model(state_dict: dict):
    cfg = pinned_model_cfg()
    cfg['pixel_level'].update(memory_rows='enhanced', carried_keys=True, references_fill='detections', cache_keys=True)
    cfg['instance_level'].update(composition='paper', cache_keys=True)
    model = MODELS.build(cfg)
    model.load_state_dict(state_dict, strict=True)
    return model


def compute(state_dict: dict) -> dict:
    """Losses and detections, each from a fresh model (as ``test_mamba_pinned.compute_pinned``)."""
    return {'losses': training_losses(paper_model(state_dict)),
            'detections': {protocol: video_detections(paper_model(state_dict), protocol)
                           for protocol in ('online', 'paper')}}


def _assert_tree_same(actual, expected, exact: bool, where: str = '') -> None:
    """Nested dicts / lists of tensors, compared leaf by leaf (integer tensors always exactly)."""
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            _assert_tree_same(actual[key], expected[key], exact, f'{where} {key}')
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected)):
            _assert_tree_same(a, e, exact, f'{where} {index}')
    else:
        _assert_same(actual, expected, exact or not expected.is_floating_point(), where)


def test_paper_form_losses_and_detections_are_the_pinned_ones(one_thread):
    pinned = torch.load(PINNED_PAPER, weights_only=True)
    actual = compute(torch.load(PINNED, weights_only=True)['state_dict'])
    assert all(len(frames) == VIDEO_LENGTH and all(len(boxes) > 0 for boxes, _, _ in frames)
               for frames in pinned['detections'].values()), 'a pinned frame without detections pins little'
    _assert_tree_same(actual, {key: pinned[key] for key in ('losses', 'detections')}, pinned['meta'] == _arithmetic())


def main() -> None:
    from mmengine.registry import init_default_scope
    init_default_scope('mamba_vod')
    torch.set_num_threads(1)
    pinned = compute(torch.load(PINNED, weights_only=True)['state_dict'])
    pinned['meta'] = _arithmetic()
    torch.save(pinned, PINNED_PAPER)
    print(f'wrote {PINNED_PAPER}: losses {sorted(pinned["losses"])}')


if __name__ == '__main__':
    main()
