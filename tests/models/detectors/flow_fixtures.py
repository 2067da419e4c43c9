"""The synthetic DFF / FGFA detectors (random weights) and what their tests record."""
import copy
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import MODELS

from .mamba_fixtures import make_clip, make_sample, preprocess

CONFIGS = {'dff': 'configs/synthetic/dff_r18-dc5_synthetic.py', 'fgfa': 'configs/synthetic/fgfa_r18-dc5_synthetic.py'}
#: the synthetic configs warp on the exact grid (zero flow the identity); this option puts mmtracking's back
MMTRACKING_GRID = {'model.motion.pixel_exact_warp': False}
#: the detector's parts that make it mmdet's Faster R-CNN
FASTER_RCNN_KEYS = ('backbone', 'neck', 'rpn_head', 'roi_head', 'train_cfg', 'test_cfg')


def build(method: str, options: Optional[dict] = None, seed: int = 0):
    """The synthetic config's detector of ``method`` (with ``options`` merged), random weights, in eval mode."""
    cfg = Config.fromfile(CONFIGS[method])
    cfg.merge_from_dict(copy.deepcopy(options or {}))
    init_default_scope('mamba_vod')
    torch.manual_seed(seed)
    return MODELS.build(cfg.model).eval()


def faster_rcnn_of(method: str, model):
    """mmdet's Faster R-CNN with the detector weights of ``model`` (every one of its tensors used)."""
    cfg = Config.fromfile(CONFIGS[method]).model
    faster_rcnn = dict({key: cfg[key] for key in FASTER_RCNN_KEYS}, type='FasterRCNN',
                       data_preprocessor=dict(cfg.data_preprocessor, type='DetDataPreprocessor'))
    faster_rcnn = MODELS.build(faster_rcnn).eval()
    missing, unexpected = faster_rcnn.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(key.split('.')[0] in ('motion', 'aggregator') for key in unexpected)
    return faster_rcnn


def frames(count: int, seed: int = 0, height: int = 64, width: int = 96) -> List[torch.Tensor]:
    """``count`` different (3, H, W) uint8 frames."""
    return [make_clip(1, height, width, seed=seed + index)[0] for index in range(count)]


def detect(model, frame: torch.Tensor, *, video_id: int = 0, frame_id: int = 0,
           references: Sequence[torch.Tensor] = (), ref_frame_ids: Sequence[int] = ()):
    """(bboxes, scores, labels) of ``frame`` (3, H, W) (with its references, a clip) through ``model``'s state."""
    height, width = frame.shape[-2:]
    sample = make_sample(video_id=video_id, frame_id=frame_id, ref_frame_ids=ref_frame_ids, height=height, width=width)
    is_video_detector = hasattr(model, 'memories')
    inputs = [torch.stack([frame, *references])] if is_video_detector else [frame]
    with torch.no_grad():
        pred = model.predict(*preprocess(model, inputs, [sample]))[0].pred_instances
    return pred.bboxes, pred.scores, pred.labels


def assert_same(got, expected, where: str = '') -> None:
    for name, a, e in zip(('bboxes', 'scores', 'labels'), got, expected):
        assert torch.equal(a, e), f'{where} {name}'


def zero_flow(model) -> None:
    """FlowNetSimple's last layer (no bias) at zero: every flow is 0."""
    with torch.no_grad():
        model.motion.predict_flow.conv.weight.zero_()


def record(module, name: str) -> list:
    """Wraps ``module.name`` to append each call's (args, result) to the returned list."""
    calls, original = [], getattr(module, name)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append((args, result))
        return result

    setattr(module, name, wrapped)
    return calls


def train_maps(model, clip: torch.Tensor, *, video_id: int = 0):
    """The maps training reads for one clip (T, 3, H, W) (tensor mode: no losses, eval-mode BN)."""
    sample = make_sample(video_id=video_id, frame_id=4, ref_frame_ids=list(range(len(clip) - 1)))
    inputs, samples = preprocess(model, [clip], [sample], training=True)
    with torch.no_grad():
        return model.train_features(inputs, samples)[0]
