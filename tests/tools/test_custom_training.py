"""From an annotation tool's export to a trained and evaluated detector, as the README's "Train on
your own videos" does it: convert (split by video), edit data_root and classes in the custom
config, train, test. The model is shrunk to a ResNet-18 on 64x48 frames without the COCO weights
(tests/tools/_custom_config.py), so it runs in seconds on a CPU."""
import os.path as osp

import pytest
import torch

from mamba_vod.engine import evaluate, train
from tests.datasets.converters import synthetic_export as synth
from tests.tools._custom_config import tiny_custom_config


@pytest.fixture(scope='module')
def converted(tmp_path_factory, load_tool):
    """The synthetic MOT export converted by the command-line tool into vid_train / vid_val."""
    root = tmp_path_factory.mktemp('my_videos')
    synth.write_mot(str(root / 'mot'))
    tool = load_tool('dataset_converters/to_coco_vid.py')
    assert tool.main(['--format', 'mot', str(root / 'mot'), '--classes', *synth.CLASSES,
                      '-o', str(root / 'annotations' / 'vid.json'), '--val-fraction', '0.34']) == 0
    return root


@pytest.mark.parametrize('name', ['mamba_r50-dc5', 'faster-rcnn_r50-dc5'])
def test_a_converted_export_trains_and_tests_with_the_custom_config(converted, tmp_path, name):
    torch.manual_seed(0)
    config = tiny_custom_config(name, tmp_path, str(converted) + '/', synth.CLASSES)
    checkpoint = train(config, str(tmp_path / 'work'))
    assert osp.basename(checkpoint) == 'epoch_1.pth'
    saved = torch.load(checkpoint, map_location='cpu', weights_only=False)
    assert saved['meta']['dataset_meta']['classes'] == synth.CLASSES
    assert saved['state_dict']['roi_head.bbox_head.fc_cls.weight'].shape[0] == len(synth.CLASSES) + 1
    metrics = evaluate(config, checkpoint, str(tmp_path / 'test'))
    for key in ('vid/mAP', 'vid/coco_bbox_mAP', 'vid/coco_bbox_mAP_50', 'vid/coco_bbox_mAP_s'):
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
    # the motion breakdown is there; a range without ground truth (the synthetic objects all move
    # fast) is undefined, not 0
    assert {'vid/mAP_slow', 'vid/mAP_medium', 'vid/mAP_fast'} <= set(metrics)
