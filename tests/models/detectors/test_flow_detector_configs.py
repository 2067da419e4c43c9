"""The DFF and FGFA configs: they build, with mmtracking 1.x's settings (FlowNetSimple's
pretrained weights by URL on ImageNet VID, from scratch on the synthetic data), and the synthetic
ones keep the single-frame baseline's data and budget."""
import glob

import pytest
import torch
from mmengine.config import Config

from mamba_vod.models.layers import EmbedAggregator
from mamba_vod.models.motion import FLOWNET_SIMPLE_URL, FlowNetSimple
from mamba_vod.registry import MODELS

from .flow_fixtures import build, frames, train_maps

IMAGENET = sorted(glob.glob('configs/dff/*.py') + glob.glob('configs/fgfa/*.py'))
SYNTHETIC = sorted(glob.glob('configs/synthetic/dff_*.py') + glob.glob('configs/synthetic/fgfa_*.py'))
SYNTHETIC_BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'
# mmtracking's training references and proposals: (sampler, DET copies, RPN proposals, RoIs) on ImageNet VID
TRAINING = {'dff': (dict(num_ref_imgs=1, frame_range=9, filter_key_img=True, method='uniform'), 1, 1000, 512),
            'fgfa': (dict(num_ref_imgs=2, frame_range=9, filter_key_img=True, method='bilateral_uniform'), 2, 600, 256)}
BACKBONES = {'r50': ('ResNet', 50), 'r101': ('ResNet', 101), 'x101': ('ResNeXt', 101)}


def _method(path: str) -> str:
    return path.rsplit('/', 1)[1].split('_')[0]


def test_every_method_and_backbone_has_its_config():
    names = {path.rsplit('/', 1)[1] for path in IMAGENET}
    assert names == {f'{method}_faster-rcnn_{backbone}-dc5_8xb1-7e_imagenetvid.py'
                     for method in TRAINING for backbone in BACKBONES}
    assert {path.rsplit('/', 1)[1] for path in SYNTHETIC} == {
        f'{method}_r18-dc5_synthetic{hard}.py' for method in TRAINING for hard in ('', '_hard')}


@pytest.mark.parametrize('path', IMAGENET + SYNTHETIC)
def test_config_builds_the_method_with_its_flow_network(path):
    cfg = Config.fromfile(path)
    method = _method(path)
    with torch.device('meta'):  # names and shapes only
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == method.upper()
    assert isinstance(model.motion, FlowNetSimple) and model.motion.img_scale_factor == 0.5
    if method == 'fgfa':
        assert isinstance(model.aggregator, EmbedAggregator)
        assert model.aggregator.embed_convs[0].conv.in_channels == cfg.model.neck.out_channels
    sampler, det_copies = TRAINING[method][:2]
    vid, det = cfg.train_dataloader.dataset.datasets
    assert vid.ref_img_sampler == sampler and det.ref_img_sampler.num_ref_imgs == det_copies  # DET: copies
    assert vid.pipeline[-1].type == 'PackVideoInputs'
    assert method not in model.test_protocols or cfg.test_dataloader.dataset.get('test_protocol', 'online') in \
        model.test_protocols


@pytest.mark.parametrize('path', IMAGENET)
def test_imagenet_configs_have_mmtrackings_settings(path):
    cfg = Config.fromfile(path)
    method = _method(path)
    assert cfg.model.motion.init_cfg == dict(type='Pretrained', checkpoint=FLOWNET_SIMPLE_URL)
    backbone = path.rsplit('/', 1)[1].split('_')[2].split('-')[0]
    assert (cfg.model.backbone.type, cfg.model.backbone.depth) == BACKBONES[backbone]
    proposals, rois = TRAINING[method][2:]
    assert cfg.model.train_cfg.rpn_proposal.max_per_img == proposals and cfg.model.train_cfg.rcnn.sampler.num == rois
    assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.auto_scale_lr.base_batch_size == 8
    assert cfg.train_cfg.max_epochs == 7 and cfg.param_scheduler[1].milestones == [2, 5]
    assert cfg.test_dataloader.dataset.get('test_protocol') == {'dff': None, 'fgfa': 'fgfa_offline'}[method]


@pytest.mark.parametrize('path', SYNTHETIC)
def test_synthetic_configs_train_from_scratch_on_the_baselines_data_and_budget(path):
    cfg, baseline = Config.fromfile(path), Config.fromfile(SYNTHETIC_BASELINE)
    assert cfg.model.motion.get('init_cfg') is None and cfg.model.backbone.init_cfg is None
    assert cfg.model.motion.zero_init_flow and cfg.model.motion.pixel_exact_warp  # every warp starts as the identity
    for key in ('param_scheduler', 'train_cfg', 'auto_scale_lr'):
        assert cfg[key] == baseline[key], key
    added = {'dff': ['motion'], 'fgfa': ['motion', 'aggregator']}[_method(path)]  # what it adds to Faster R-CNN
    optimizer = cfg.optim_wrapper.to_dict()
    assert optimizer.pop('paramwise_cfg') == dict(custom_keys={name: dict(lr_mult=0.1) for name in added})
    assert optimizer == baseline.optim_wrapper.to_dict()
    hard = path.endswith('_hard.py')
    roots = {dataset.data_root for dataset in cfg.train_dataloader.dataset.datasets} | {
        cfg.val_dataloader.dataset.get('data_root', cfg.data_root)}
    assert roots == {'data/synthetic_vid_hard/' if hard else 'data/synthetic_vid/'}
    assert cfg.val_evaluator.ann_file.startswith(next(iter(roots)))


@pytest.mark.parametrize('method', ['dff', 'fgfa'])
def test_synthetic_models_start_with_every_warp_the_identity(method):
    """Initialised as training starts them, the references' maps reach the heads unmoved: DFF's
    training maps are the reference's own, FGFA's the same three identical frames give."""
    model = build(method)
    model.init_weights()
    current, reference = frames(2, seed=70)
    warped = train_maps(model, torch.stack([current] + [reference] * (1 if method == 'dff' else 2)))
    own = train_maps(model, torch.stack([reference] * (2 if method == 'dff' else 3)), video_id=-1)
    for got, expected in zip(warped, own):
        torch.testing.assert_close(got, expected)
    assert torch.count_nonzero(model.motion.predict_flow.conv.weight) == 0
