"""MAMBA's behaviour, pinned: one training iteration's losses and the detections of a short
video under both test protocols, compared exactly (``torch.equal``) with the figures that the
code gave when this file was written (``data/mamba_pinned.pt``).

The pinned file also holds the weights (in the parameter names of that code), so the model
here is built from a config and loaded from those weights: construction order and parameter
initialisation do not enter, while loading tests that old checkpoints still map onto the
model. Every random stream is seeded: torch's global generator (the RoI sampler), Python's
``random`` (the training dropouts), the pixel level's and the banks' own generators.

Exactness needs the same arithmetic: one thread, and the torch version and CPU kernels the
file was made with. Elsewhere (another torch, another CPU instruction set) the test compares
within float32 rounding instead and says so.

Regenerate (only when a behaviour change is intended, and say so in the commit):
    python tests/models/detectors/test_mamba_pinned.py
"""
import copy
import os.path as osp
import random
import sys

import pytest
import torch

if __name__ == '__main__':  # run as a script: make `tests` importable
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))

from mamba_vod.registry import MODELS  # noqa: E402
from tests.models.detectors.mamba_fixtures import make_clip, make_sample, preprocess, tiny_model_cfg  # noqa: E402

PINNED = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'mamba_pinned.pt')
VIDEO_LENGTH = 12
HEIGHT, WIDTH = 64, 96
PAPER_REFS = [round(i * (VIDEO_LENGTH - 1) / 13) for i in range(14)]
PAPER_ORDER = [0] + random.Random(10).sample(range(1, VIDEO_LENGTH), VIDEO_LENGTH - 1)


def pinned_model_cfg() -> dict:
    """Both levels at a width whose weights fit a small file (ResNet-18 of base width 8)."""
    # the pixel memory as it was when this was pinned: raw rows, no carried set, references' pixels;
    # keys projected every frame (test_mamba.py compares the key cache with that)
    cfg = tiny_model_cfg(pixel=dict(geo=dict(type='GEO', channels=32, num_heads=16), memory_rows='raw',
                                    carried_keys=False, references_fill='pixels', cache_keys=False),
                         instance=dict(geo=dict(type='GEO', channels=64, num_heads=16), cache_keys=False),
                         train=dict(pixel=dict(level_dropout=0.5)), test=dict(pixel=dict(score_thr=0.0,
                                                                                         pixels_per_detection=3)))
    cfg['backbone'].update(base_channels=8)
    cfg['neck'].update(in_channels=[64], out_channels=32)
    cfg['rpn_head'].update(in_channels=32, feat_channels=32)
    cfg['roi_head']['bbox_roi_extractor']['out_channels'] = 32
    cfg['roi_head']['bbox_head'].update(in_channels=32, fc_out_channels=64)
    return cfg


def build_pinned_model(state_dict=None):
    model = MODELS.build(pinned_model_cfg())
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model


def training_losses(model) -> dict:
    """Losses of one training iteration on two clips (key frame + 2 references)."""
    model.train()
    torch.manual_seed(3)
    random.seed(3)
    clips = [make_clip(3, HEIGHT, WIDTH, seed=seed) for seed in (11, 12)]
    samples = [make_sample(frame_id=5, ref_frame_ids=[2, 9]), make_sample(video_id=1, frame_id=1, ref_frame_ids=[0, 4])]
    inputs, samples = preprocess(model, clips, samples, training=True)
    losses = model.loss(inputs, samples)  # the RPN's are lists (one per feature level)
    return {name: torch.stack(value).detach() if isinstance(value, list) else value.detach()
            for name, value in losses.items()}


def video_detections(model, protocol: str) -> list:
    """(bboxes, scores, labels) of every frame of one video, in frame order, as the data side
    feeds it: 'online' frames in order; 'paper' frame 0 with its 14 references, then the rest
    in a shuffled order."""
    model.eval()
    frames = [make_clip(1, HEIGHT, WIDTH, seed=100 + frame_id)[0] for frame_id in range(VIDEO_LENGTH)]
    order = PAPER_ORDER if protocol == 'paper' else list(range(VIDEO_LENGTH))
    results = {}
    for frame_id in order:
        refs = PAPER_REFS if protocol == 'paper' and frame_id == 0 else []
        clip = torch.stack([frames[frame_id]] + [frames[ref] for ref in refs])
        sample = make_sample(video_id=7, frame_id=frame_id, ref_frame_ids=refs, height=HEIGHT, width=WIDTH)
        sample.set_metainfo(dict(video_length=VIDEO_LENGTH))
        with torch.no_grad():
            pred = model.predict(*preprocess(model, [clip], [sample]))[0].pred_instances
        results[frame_id] = (pred.bboxes.clone(), pred.scores.clone(), pred.labels.clone())
    return [results[frame_id] for frame_id in range(VIDEO_LENGTH)]


def compute_pinned(state_dict: dict) -> dict:
    """Losses and detections of models loaded from ``state_dict``, each from a fresh model
    (a training step moves BN statistics)."""
    out = {'losses': training_losses(build_pinned_model(state_dict)), 'detections': {}}
    for protocol in ('online', 'paper'):
        out['detections'][protocol] = video_detections(build_pinned_model(state_dict), protocol)
    return out


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _same_arithmetic(meta: dict) -> bool:
    return meta == _arithmetic()


def _arithmetic() -> dict:
    return {'torch': str(torch.__version__), 'cpu': torch.backends.cpu.get_cpu_capability()}


def _assert_same(actual: torch.Tensor, expected: torch.Tensor, exact: bool, what: str) -> None:
    if exact:
        assert torch.equal(actual, expected), what
    else:
        assert actual.shape == expected.shape and torch.allclose(actual, expected, rtol=1e-5, atol=1e-5), what


def test_losses_and_detections_are_the_pinned_ones(one_thread):
    pinned = torch.load(PINNED, weights_only=True)
    actual = compute_pinned(pinned['state_dict'])
    exact = _same_arithmetic(pinned['meta'])
    assert actual['losses'].keys() == pinned['losses'].keys()
    for name, value in pinned['losses'].items():
        _assert_same(actual['losses'][name], value, exact, f'loss {name}')
    for protocol, frames in pinned['detections'].items():
        assert len(actual['detections'][protocol]) == len(frames) == VIDEO_LENGTH
        for frame_id, (got, expected) in enumerate(zip(actual['detections'][protocol], frames)):
            assert len(expected[0]) > 0, 'a pinned frame without detections pins little'
            for field, a, e in zip(('bboxes', 'scores', 'labels'), got, expected):
                _assert_same(a, e, exact or field == 'labels', f'{protocol} frame {frame_id} {field}')


def test_the_pinned_parameters_keep_their_order(one_thread):
    """An optimizer's state (resume) is stored by parameter position: the renamed model must list
    its parameters in the order the pinned code did."""
    pinned = torch.load(PINNED, weights_only=True)
    model = build_pinned_model(pinned['state_dict'])
    assert [p.shape for p in model.parameters()] == [torch.Size(s) for s in pinned['parameter_shapes']]


def main() -> None:
    from mmengine.registry import init_default_scope
    init_default_scope('mamba_vod')
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_pinned_model()
    state_dict = copy.deepcopy(model.state_dict())
    pinned = compute_pinned(state_dict)
    pinned.update(state_dict=state_dict, meta=_arithmetic(),
                  parameter_shapes=[list(p.shape) for p in model.parameters()])
    torch.save(pinned, PINNED)
    sizes = {p: [len(f[0]) for f in frames] for p, frames in pinned['detections'].items()}
    print(f'wrote {PINNED}: losses {sorted(pinned["losses"])}, detections per frame {sizes}')


if __name__ == '__main__':
    main()
