"""tools/model_converters/mega_to_mamba_vod.py on state dicts named as mega.pytorch's modules name
them (peers_facts.md s.7.7 / s.8.3: maskrcnn-benchmark's R-C4 body, RPN, res5 head, MEGA / RDN
extractors, predictor), not as our converter maps them: every key is used, the result fits the
C4 configs' models exactly, and the values that change move as they should."""
import os

import pytest
import torch

from mamba_vod.utils.checkpoint_conversion import ConversionError, check_against, model_state_dict


REPO = os.path.join(os.path.dirname(__file__), '..', '..')
MEGA_R101 = os.path.join(REPO, 'configs', 'mega', 'mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py')
MEGA_R50 = os.path.join(REPO, 'configs', 'mega', 'mega_faster-rcnn_r50-c4_4xb1-120k_imagenetvid.py')
RDN_R101 = os.path.join(REPO, 'configs', 'rdn', 'rdn_faster-rcnn_r101-c4_4xb1-60k_imagenetvid.py')
BN = ('weight', 'bias', 'running_mean', 'running_var')


def released_names(blocks, *, reduce: bool, form: str, num_global: int = 0):
    """The keys a mega.pytorch R-C4 MEGA / RDN model has (DDP's ``module.`` included)."""
    names = ['backbone.body.stem.conv1.weight'] + [f'backbone.body.stem.bn1.{p}' for p in BN]
    for layer, count in enumerate(blocks, start=1):
        for b in range(count):
            names += _bottleneck(f'backbone.body.layer{layer}.{b}', b == 0)
    names += [f'rpn.head.{m}.{p}' for m in ('conv', 'cls_logits', 'bbox_pred') for p in ('weight', 'bias')]
    names.append('rpn.anchor_generator.cell_anchors.0')
    ext = 'roi_heads.box.feature_extractor.'
    for b in range(3):
        names += _bottleneck(f'{ext}head.layer4.{b}', b == 0)
    if reduce:
        names += [f'{ext}conv.weight', f'{ext}conv.bias']
    prefix, stages = ('l_', 3) if form == 'mega' else ('', 4)
    names += [f'{ext}{prefix}fcs.{i}.{p}' for i in range(3) for p in ('weight', 'bias')]
    names += [f'{ext}{prefix}{m}.{i}.{p}' for i in range(stages) for m in ('Wgs', 'Wqs', 'Wks', 'Wvs')
              for p in ('weight', 'bias')]
    if form == 'mega':
        names += [f'{ext}l_us.{i}' for i in range(3)]
        names += [f'{ext}g_{m}.{j}.{p}' for j in range(num_global) for m in ('Wqs', 'Wks', 'Wvs')
                  for p in ('weight', 'bias')]
        names += [f'{ext}g_us.{j}' for j in range(num_global)]
    names += [f'roi_heads.box.predictor.{m}.{p}' for m in ('cls_score', 'bbox_pred') for p in ('weight', 'bias')]
    return ['module.' + name for name in names]


def _bottleneck(prefix, first):
    names = [f'{prefix}.conv{i}.weight' for i in (1, 2, 3)] + [f'{prefix}.bn{i}.{p}' for i in (1, 2, 3) for p in BN]
    if first:
        names += [f'{prefix}.downsample.0.weight'] + [f'{prefix}.downsample.1.{p}' for p in BN]
    return names


def _released(names, reference, converter):
    """Random tensors under the released names, each shaped as the model wants it (the
    regressor with the background's 4 more rows; 31 classifier rows both sides)."""
    state = {}
    for name in names:
        if name.endswith('cell_anchors.0'):
            state[name] = torch.zeros(12, 4)
            continue
        ours = reference[converter.convert_key(converter._advanced_fc_name(name[len('module.'):], reference))]
        shape = list(ours.shape)
        if 'predictor.bbox_pred' in name:
            shape[0] += 4
        state[name] = torch.randn(shape)
    return state


@pytest.mark.parametrize('config, blocks, reduce, form, num_global', [
    (MEGA_R101, (3, 4, 23), False, 'mega', 2), (MEGA_R50, (3, 4, 6), True, 'mega', 1),
    (RDN_R101, (3, 4, 23), False, 'rdn', 0)], ids=['mega-r101', 'mega-r50', 'rdn-r101'])
def test_every_released_tensor_maps_onto_the_c4_model(load_tool, config, blocks, reduce, form, num_global):
    converter = load_tool('model_converters/mega_to_mamba_vod.py')
    names = released_names(blocks, reduce=reduce, form=form, num_global=num_global)
    body = [n for n in names if n.startswith('module.backbone.body.')]
    assert len(body) == (470 if blocks[2] == 23 else 215)  # the notes' key counts
    reference = model_state_dict(config)
    state = _released(names, reference, converter)
    converted = converter.convert_state_dict(state, reference)
    check_against(converted, reference)  # names and shapes, nothing left over
    cls = state['module.roi_heads.box.predictor.cls_score.weight']
    assert torch.equal(converted['roi_head.bbox_head.fc_cls.weight'], torch.cat([cls[1:], cls[:1]]))
    reg = state['module.roi_heads.box.predictor.bbox_pred.bias']
    assert torch.equal(converted['roi_head.bbox_head.fc_reg.bias'], reg[4:])
    ext = 'module.roi_heads.box.feature_extractor.'
    if form == 'mega':
        assert torch.equal(converted['relation_level.local_relations.2.u'], state[ext + 'l_us.2'])
        assert torch.equal(converted['relation_level.global_relations.0.Wv.weight'], state[ext + 'g_Wvs.0.weight'])
    else:
        assert torch.equal(converted['relation_level.advanced_fc.weight'], state[ext + 'fcs.2.weight'])
        assert torch.equal(converted['relation_level.local_relations.3.Wg.bias'], state[ext + 'Wgs.3.bias'])


def test_a_file_converts_and_a_foreign_key_is_refused(load_tool, tmp_path):
    converter = load_tool('model_converters/mega_to_mamba_vod.py')
    reference = model_state_dict(RDN_R101)
    state = _released(released_names((3, 4, 23), reduce=False, form='rdn'), reference, converter)
    src, dst = str(tmp_path / 'rdn.pth'), str(tmp_path / 'out.pth')
    torch.save({'model': state, 'iteration': 60000}, src)
    converted = converter.convert_file(src, dst, RDN_R101)
    assert len(converted) == len(reference) and os.path.exists(dst)
    torch.save({'model': {**state, 'module.roi_heads.box.feature_extractor.extra.weight': torch.zeros(1)}}, src)
    with pytest.raises(ConversionError, match='extra.weight'):
        converter.convert_file(src, str(tmp_path / 'other.pth'), RDN_R101)
    assert not os.path.exists(tmp_path / 'other.pth')


@pytest.mark.parametrize('rows, match', [(8, 'class-agnostic'), (4 * 31 - 4, r'124 rows .*got \(120, 1024\)')],
                         ids=['class-agnostic', 'without-background'])
def test_a_regressor_that_is_not_class_specific_with_a_background_is_refused(load_tool, rows, match):
    """The regressor must have the classifier's num_classes + 1 (31) rows times 4, else no conversion."""
    converter = load_tool('model_converters/mega_to_mamba_vod.py')
    reference = model_state_dict(RDN_R101)
    state = _released(released_names((3, 4, 23), reduce=False, form='rdn'), reference, converter)
    key = 'module.roi_heads.box.predictor.bbox_pred.weight'
    assert state[key].shape[0] == 4 * 31 == 4 * state['module.roi_heads.box.predictor.cls_score.weight'].shape[0]
    state[key] = state[key][:rows]
    with pytest.raises(ConversionError, match=f'roi_heads.box.predictor.bbox_pred.weight: .*{match}'):
        converter.convert_state_dict(state, reference)
    del state['module.roi_heads.box.predictor.cls_score.weight'], state['module.roi_heads.box.predictor.cls_score.bias']
    with pytest.raises(ConversionError, match='no roi_heads.box.predictor.cls_score.weight'):
        converter.convert_state_dict(state, reference)
