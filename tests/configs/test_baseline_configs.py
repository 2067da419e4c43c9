"""The single-frame baseline configs: they load, build their model, and (synthetic) their
data pipelines run on a tiny data set in the converter's layout and feed a training step."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mamba_vod.registry import DATASETS, MODELS
from tests.datasets.tiny_vid import write_det, write_vid

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
R50 = osp.join(CONFIGS, 'faster_rcnn', 'faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py')
R101 = osp.join(CONFIGS, 'faster_rcnn', 'faster-rcnn_r101-dc5_8xb1-7e_imagenetvid.py')
SYNTHETIC = osp.join(CONFIGS, 'synthetic', 'faster-rcnn_r18-dc5_synthetic.py')
VIDEO_BASES = [osp.join(CONFIGS, '_base_', 'datasets', name)
               for name in ('imagenet_vid_mamba_style.py', 'synthetic_vid_mamba_style.py')]


@pytest.mark.parametrize('path, depth', [(R50, 50), (R101, 101)])
def test_imagenet_vid_baselines_use_the_real_data_and_build(path, depth):
    cfg = Config.fromfile(path)
    assert cfg.model.backbone.depth == depth
    assert cfg.model.backbone.init_cfg.checkpoint == f'torchvision://resnet{depth}'  # cached by torch hub
    train = cfg.train_dataloader.dataset
    assert train.type == 'ConcatDataset'
    assert [(d.ann_file, d.load_as_video) for d in train.datasets] == [
        ('annotations/imagenet_vid_train.json', True), ('annotations/imagenet_det_30plus1cls.json', False)]
    assert all(d.data_root == 'data/ILSVRC/' for d in train.datasets)
    assert cfg.test_dataloader.sampler.type == 'VideoSampler'
    assert cfg.test_evaluator == dict(type='VIDMetric', ann_file='data/ILSVRC/annotations/imagenet_vid_val.json')
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1e-3 * 8 / 4)  # 8 GPUs x 1 image
    assert cfg.train_cfg.max_epochs == 7
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.roi_head.bbox_head.num_classes == 30
    assert len(model.backbone.res_layers) == 4


def point_at(datasets, root, ann_file, img_dir='Data'):
    for dataset in datasets:
        dataset.update(data_root=str(root), ann_file=ann_file, data_prefix=dict(img_path=img_dir))


def test_synthetic_baseline_trains_a_step_on_synthetic_layout(tmp_path):
    cfg = Config.fromfile(SYNTHETIC)
    assert cfg.model.backbone.depth == 18 and cfg.model.backbone.init_cfg is None
    assert cfg.model.neck.in_channels == [cfg.model.backbone.base_channels * 8]  # C5 of the ResNet
    assert cfg.model.roi_head.bbox_head.num_classes == 30
    assert cfg.test_evaluator.frame_subsets == dict(
        degraded='data/synthetic_vid/Lists/VID_val_degraded_frames.txt',
        clean='data/synthetic_vid/Lists/VID_val_clean_frames.txt')
    vid, det = cfg.train_dataloader.dataset.datasets
    point_at([vid], tmp_path, write_vid(tmp_path, [4, 3]))
    point_at([det], tmp_path, write_det(tmp_path, 2))
    point_at([cfg.val_dataloader.dataset], tmp_path, 'vid.json')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) == 9 and len(val) == 7
    assert val[6]['data_samples'].metainfo['frame_id'] == 2
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    batch = model.data_preprocessor(pseudo_collate([train[0], train[8]]), training=True)
    losses = model(**batch, mode='loss')
    assert all(torch.isfinite(v).all() for v in losses.values() if isinstance(v, torch.Tensor))
    assert losses['loss_cls'].item() > 0


@pytest.mark.parametrize('path', VIDEO_BASES)
def test_video_dataset_bases_give_key_and_two_references(tmp_path, path):
    cfg = Config.fromfile(path)
    vid, det = cfg.train_dataloader.dataset.datasets
    # the authors' whole-video references: one before the key frame, one after it
    assert vid.ref_img_sampler == dict(num_ref_imgs=2, frame_range=1000, filter_key_img=True,
                                       method='bilateral_uniform')
    point_at([vid], tmp_path, write_vid(tmp_path, [5]))
    point_at([det], tmp_path, write_det(tmp_path, 1))
    point_at([cfg.val_dataloader.dataset], tmp_path, 'vid.json')
    for dataset in (vid, det):  # the tiny frames are 48x32
        dataset.pipeline[0].transforms[2].scale = (96, 64)
    cfg.val_dataloader.dataset.pipeline[0].transforms[1].scale = (96, 64)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert [train[i]['inputs'].shape for i in (0, 5)] == [(3, 3, 64, 96)] * 2
    online = DATASETS.build(cfg.val_dataloader.dataset)
    assert online[0]['inputs'].shape == (1, 3, 64, 96)
    paper = DATASETS.build(dict(cfg.val_dataloader.dataset, test_protocol='paper'))
    assert paper[0]['inputs'].shape == (15, 3, 64, 96) and paper[1]['inputs'].shape == (1, 3, 64, 96)
