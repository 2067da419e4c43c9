"""SELSA and Temporal RoI Align: configs, what a stream's state holds under each protocol, frames
without proposals. (Training, protocols, streaming and Faster R-CNN equality: the contract test.)"""
import copy
import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import MODELS

from .mamba_fixtures import make_clip, make_sample, preprocess
from .test_mamba_pinned import one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)

SYNTHETIC = {'selsa': 'configs/synthetic/selsa_r18-dc5_synthetic.py',
             'troialign': 'configs/synthetic/selsa-troialign_r18-dc5_synthetic.py'}
IMAGENET = sorted(glob.glob('configs/selsa/*.py') + glob.glob('configs/temporal_roi_align/*.py'))
# mmtracking's VID methods, all trained on its VID schedule
MMTRACK_SCHEDULE = 'configs/_base_/schedules/mmtrack_vid_7e.py'
MMTRACK_METHODS = IMAGENET + sorted(glob.glob('configs/dff/*.py') + glob.glob('configs/fgfa/*.py'))
PAST, K = 3, 10  # the tests' past_frames and rows per frame (a 64x96 frame has fewer than the RPN's 100)


@pytest.mark.parametrize('path', IMAGENET + sorted(glob.glob('configs/synthetic/selsa*.py')))
def test_every_config_builds_selsa_with_its_extractor_and_aggregators(path):
    cfg = Config.fromfile(path)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    temporal = 'troialign' in path
    assert type(model).__name__ == 'SELSA'
    assert type(model.roi_head.bbox_roi_extractor).__name__ == ('TemporalRoIAlign' if temporal else
                                                                'SingleRoIExtractor')
    assert model.roi_head.bbox_head.num_shared_fcs == len(model.instance_level.geos) == (3 if temporal else 2)
    assert (model.reference_maps is not None) == temporal
    assert all(geo.value_projection for geo in model.instance_level.geos)
    vid = cfg.train_dataloader.dataset.datasets[0].ref_img_sampler
    assert (vid.num_ref_imgs, vid.frame_range, vid.method) == (2, 9, 'bilateral_uniform')  # mmtracking's


@pytest.mark.parametrize('path', IMAGENET)
def test_imagenet_configs_have_mmtrackings_settings(path):
    cfg = Config.fromfile(path)
    assert cfg.model.train_cfg.rpn_proposal.max_per_img == 600 and cfg.model.test_cfg.rpn.max_per_img == 300
    assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.train_cfg.max_epochs == 7
    assert cfg.param_scheduler[1].milestones == [2, 5]
    assert cfg.test_dataloader.dataset.test_protocol == 'selsa_offline'
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert model.instance_level.proposals_per_frame == 300 and model.instance_level.memories[0].capacity == 14 * 300


@pytest.mark.parametrize('path', MMTRACK_METHODS)
def test_mmtrackings_vid_methods_share_its_schedule(path):
    """SELSA, Temporal RoI Align, DFF and FGFA on ImageNet VID: the shared base's schedule, as it is."""
    schedule, cfg = Config.fromfile(MMTRACK_SCHEDULE), Config.fromfile(path)
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'auto_scale_lr'):
        assert cfg[key] == schedule[key], key
    assert len(MMTRACK_METHODS) == 12  # 4 methods x


def test_synthetic_configs_keep_the_baselines_model_and_budget():
    baseline = Config.fromfile('configs/synthetic/faster-rcnn_r18-dc5_synthetic.py')
    for path in SYNTHETIC.values():
        cfg = Config.fromfile(path)
        for key in ('backbone', 'neck', 'rpn_head', 'train_cfg', 'test_cfg'):
            assert cfg.model[key] == baseline.model[key], key
        for key in ('train_cfg', 'param_scheduler', 'data_root', 'val_evaluator'):
            assert cfg[key] == baseline[key], key
        assert cfg.model.instance_level.geo.channels // cfg.model.instance_level.geo.num_heads == 32


def _total(losses: dict) -> torch.Tensor:
    return sum(sum(value) if isinstance(value, list) else value for key, value in losses.items() if 'loss' in key)


def _model(name: str, **options):
    cfg = Config.fromfile(SYNTHETIC[name])
    cfg.merge_from_dict({'model.past_frames': PAST, 'model.instance_level.proposals_per_frame': K,
                         'model.instance_level.geo.zero_init_output': False, **options})
    cfg.model.backbone.init_cfg = None
    init_default_scope('mamba_vod')
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(cfg.model)).eval()


def _detect(model, frame_id, refs=(), seed=None):
    clip = make_clip(1 + len(refs), 64, 96, seed=100 + frame_id if seed is None else seed)
    sample = make_sample(video_id=7, frame_id=frame_id, ref_frame_ids=list(refs))
    with torch.no_grad():
        return model.predict(*preprocess(model, [clip], [sample]))[0].pred_instances


@pytest.mark.parametrize('name', list(SYNTHETIC))
def test_offline_references_are_kept_for_the_whole_video(name):
    model = _model(name)
    refs = [0, 4, 9]
    _detect(model, 0, refs)
    bank = model.instance_level.memories[0]
    held = bank.features.clone()
    assert model.instance_level.state.from_references and len(bank) == len(refs) * K
    assert sorted(bank.frame_ids.unique().tolist()) == refs
    for frame_id in (1, 2, 3):
        assert len(_detect(model, frame_id).bboxes) > 0
    assert torch.equal(model.instance_level.memories[0].features, held)
    if model.reference_maps is not None:  # the references' maps, nothing of later frames
        assert list(model.reference_maps.state.frames) == [0, 1, 2]


@pytest.mark.parametrize('name', list(SYNTHETIC))
def test_online_the_state_holds_the_last_frames_rows_and_maps(name):
    model = _model(name)
    for frame_id in range(PAST + 2):
        _detect(model, frame_id)
    bank = model.instance_level.memories[0]
    assert not model.instance_level.state.from_references
    assert set(bank.frame_ids.tolist()) == set(range(2, PAST + 2)) and len(bank) == PAST * K
    if model.reference_maps is not None:
        assert list(model.reference_maps.state.frames) == list(range(2, PAST + 2))
    model.memories.follow(dict(video_id=7, ori_shape=(32, 48)))  # a new frame size: maps go, rows stay
    assert len(bank) == PAST * K
    assert model.reference_maps is None or len(model.reference_maps.state) == 0


@pytest.mark.parametrize('name', list(SYNTHETIC))
def test_online_a_stream_without_frame_ids_keeps_its_last_frames_apart(name):
    """Frames without a frame_id: the state still holds the last P frames' rows and (TRA) P distinct maps."""
    model = _model(name)
    for frame_id in range(PAST + 2):
        clip = make_clip(1, 64, 96, seed=100 + frame_id)
        sample = make_sample(video_id=7, frame_id=frame_id)
        del sample.frame_id
        with torch.no_grad():
            model.predict(*preprocess(model, [clip], [sample]))
    assert len(model.instance_level.memories[0]) == PAST * K
    if model.reference_maps is not None:
        maps = model.reference_maps.state.values()
        assert len(maps) == PAST
        assert all(not torch.equal(a.maps[0], b.maps[0]) for i, a in enumerate(maps) for b in maps[i + 1:])


@pytest.mark.parametrize('name', list(SYNTHETIC))
def test_frames_without_proposals_do_not_crash(name):
    """No proposal passes the test RPN's size filter: no rows, no detections, in every mode."""
    model = _model(name, **{'model.test_cfg.rpn.min_bbox_size': 1e5})
    assert len(_detect(model, 0)) == 0 and len(_detect(model, 1)) == 0  # online, then with a state
    assert len(_detect(model, 0, refs=[0, 3])) == 0 and len(model.instance_level.memories[0]) == 0  # offline
    model.train()
    clips = [make_clip(3, 64, 96, seed=1)]
    losses = model.loss(*preprocess(model, clips, [make_sample(frame_id=4, ref_frame_ids=[1, 8])], training=True))
    assert torch.isfinite(_total(losses))  # the references had no proposals, the key frame its training ones


def test_temporal_roi_align_learns_from_the_reference_maps():
    model = _model('troialign').train()
    clips = [make_clip(3, 64, 96, seed=seed) for seed in (1, 2)]
    samples = [make_sample(frame_id=4, ref_frame_ids=[1, 8]), make_sample(video_id=1, frame_id=2, ref_frame_ids=[0, 5])]
    losses = model.loss(*preprocess(model, clips, samples, training=True))
    _total(losses).backward()
    grad = model.roi_head.bbox_roi_extractor.embed_network.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
