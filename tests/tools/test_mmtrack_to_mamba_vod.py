"""The mmtracking converter, on state dicts with the names mmtracking's modules give
(/work/notes/peers_facts.md s.1.8, 2.4, 3.1, 4.6: 0.x and 1.x alike) and our models' tensors."""
import os
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mamba_vod.registry import MODELS
from mamba_vod.utils.checkpoint_conversion import check_against

SELSA_R50 = 'configs/selsa/selsa_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'
TRA_R50 = 'configs/temporal_roi_align/selsa-troialign_faster-rcnn_r50-dc5_8xb1-7e_imagenetvid.py'
SYNTHETIC = {method: f'configs/synthetic/{method}_r18-dc5_synthetic.py'
             for method in ('selsa', 'selsa-troialign', 'dff', 'fgfa')}
# SelsaAggregator's layers, by the GEO projection they become (written out here, not the converter's map)
AGGREGATOR_NAMES = {'query_proj': 'fc_embed', 'key_proj': 'ref_fc_embed', 'value_proj': 'ref_fc',
                    'output_proj': 'fc'}


def mmtrack_name(ours: str) -> str:
    """The name mmtracking's video model gives the tensor we call ``ours``."""
    if ours.startswith('instance_level.geos.'):
        level, projection, param = ours.split('.')[2:]
        return f'detector.roi_head.bbox_head.aggregator.{level}.{AGGREGATOR_NAMES[projection]}.{param}'
    if ours.startswith(('motion.', 'aggregator.')):  # DFF / FGFA: beside the detector
        return ours
    return f'detector.{ours}'


def _meta_state(config: str, **backbone) -> dict:
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(backbone)
    with torch.device('meta'):
        return MODELS.build(cfg.model).state_dict()


@pytest.mark.parametrize('config, num_keys', [(SELSA_R50, 350), (TRA_R50, 362)])
def test_the_model_zoo_layouts_convert_to_our_models(load_tool, config, num_keys):
    """R-50 SELSA has 350 tensors in mmtracking (334 Faster R-CNN + 2 x 8 aggregator), TRA 362."""
    converter = load_tool('model_converters/mmtrack_to_mamba_vod.py')
    ours = _meta_state(config)
    theirs = OrderedDict((mmtrack_name(key), value) for key, value in ours.items())
    assert len(theirs) == num_keys
    assert 'detector.roi_head.bbox_head.aggregator.1.ref_fc_embed.weight' in theirs
    converted = converter.convert_state_dict(theirs)
    check_against(converted, ours)
    assert list(converted) == list(ours)
    assert os.path.samefile(converter.config_of(theirs), config)


@pytest.mark.parametrize('method, backbone, expected', [
    ('selsa', dict(depth=101), 'selsa_faster-rcnn_r101'),
    ('troialign', dict(type='ResNeXt', depth=101, groups=64, base_width=4), 'selsa-troialign_faster-rcnn_x101')])
def test_the_config_is_read_from_the_backbone(load_tool, method, backbone, expected):
    converter = load_tool('model_converters/mmtrack_to_mamba_vod.py')
    config = SELSA_R50 if method == 'selsa' else TRA_R50
    theirs = {mmtrack_name(key): value for key, value in _meta_state(config, **backbone).items()}
    assert converter.method_of(theirs) == method
    assert os.path.basename(converter.config_of(theirs)).startswith(expected)


@pytest.mark.parametrize('method', list(SYNTHETIC))
def test_converted_weights_load_strictly_and_are_the_same_tensors(load_tool, tmp_path, method):
    converter = load_tool('model_converters/mmtrack_to_mamba_vod.py')
    cfg = Config.fromfile(SYNTHETIC[method])
    torch.manual_seed(0)
    source = MODELS.build(cfg.model)
    theirs = OrderedDict((mmtrack_name(key), value) for key, value in source.state_dict().items())
    src, dst = tmp_path / 'mmtrack.pth', tmp_path / 'out' / 'ours.pth'
    torch.save(dict(meta=dict(epoch=7), state_dict=theirs, optimizer={}), src)
    converter.main([str(src), str(dst), '--config', SYNTHETIC[method]])
    torch.manual_seed(1)
    target = MODELS.build(cfg.model)
    target.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    assert converter.method_of(theirs) == {'selsa-troialign': 'troialign'}.get(method, method)


def test_dff_and_fgfa_names_keep_their_parts_and_drop_the_detector_prefix(load_tool):
    converter = load_tool('model_converters/mmtrack_to_mamba_vod.py')
    cases = {'motion.conv1.0.conv.weight': 'motion.conv1.0.conv.weight',
             'motion.predict_flow.conv.weight': 'motion.predict_flow.conv.weight',
             'aggregator.embed_convs.0.conv.bias': 'aggregator.embed_convs.0.conv.bias',
             'detector.roi_head.bbox_head.shared_fcs.1.bias': 'roi_head.bbox_head.shared_fcs.1.bias',
             'detector.backbone.layer4.2.bn3.num_batches_tracked': 'backbone.layer4.2.bn3.num_batches_tracked',
             'detector.roi_head.bbox_roi_extractor.embed_network.conv.weight':
                 'roi_head.bbox_roi_extractor.embed_network.conv.weight'}
    assert {key: converter.convert_key(key) for key in cases} == cases
    for unknown in ('backbone.conv1.weight', 'detector.roi_head.mask_head.conv.weight', 'flownet.conv1.weight',
                    'detector.roi_head.bbox_head.aggregator.0.attention.weight'):
        assert converter.convert_key(unknown) is None, unknown


def test_unknown_and_misfitting_keys_are_listed_and_nothing_is_written(load_tool, tmp_path, user_error):
    converter = load_tool('model_converters/mmtrack_to_mamba_vod.py')
    theirs = OrderedDict((mmtrack_name(key), torch.zeros(value.shape)) for key, value in
                         MODELS.build(Config.fromfile(SYNTHETIC['selsa']).model).state_dict().items())
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    torch.save(dict(theirs, **{'detector.roi_head.bbox_head.attention.w': torch.zeros(1)}), src)
    line = user_error(converter.main, [str(src), str(dst), '--config', SYNTHETIC['selsa']])
    assert 'not part of the' in line and 'detector.roi_head.bbox_head.attention.w' in line
    del theirs['detector.roi_head.bbox_head.aggregator.1.fc.bias']
    theirs['detector.roi_head.bbox_head.fc_cls.bias'] = torch.zeros(7)
    torch.save(theirs, src)
    line = user_error(converter.main, [str(src), str(dst), '--config', SYNTHETIC['selsa']])
    assert 'instance_level.geos.1.output_proj.bias' in line and 'fc_cls.bias (7,)' in line
    # without --config the model is read from the keys: an R-18 is no model-zoo backbone
    assert 'pass --config' in user_error(converter.main, [str(src), str(dst)])
    assert sorted(os.listdir(tmp_path)) == ['in.pth']
