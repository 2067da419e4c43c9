"""Shared by the oracle bound's tests: the ``oracle`` package (found as ``oracle_bound.py`` finds it), the
synthetic configs of each method family, a ground truth and a model run over video 7."""
import copy
import sys
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import MODELS

from tests.models.detectors.mamba_fixtures import make_clip, make_sample, preprocess

# as oracle_bound.py does: tools/analysis on sys.path, for the oracle package and instance_retrieval beside it
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / 'tools' / 'analysis'))
import oracle  # noqa: E402

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


def make_truth(video_id=7, frames=range(40)) -> oracle.FrameTruth:
    """Every frame shows instance 1 and instance 2 at make_sample's boxes."""
    return oracle.FrameTruth({(video_id, frame): (GT, torch.tensor([1, 2])) for frame in frames})


def build_model(name, **options):
    """The synthetic config of family ``name`` (:data:`FAMILIES`) with ``options``, built in eval mode."""
    config, defaults = FAMILIES[name]
    cfg = Config.fromfile(SYNTHETIC.format(config))
    cfg.merge_from_dict({**defaults, **options})
    cfg.model.backbone.init_cfg = None
    init_default_scope('mamba_vod')
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg.model)).eval()


def run_video(model, frames=4, refs=(), seed=None):
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
