"""The released-checkpoint converter, on state dicts with the released names and shapes."""
import math
import os
from collections import OrderedDict

import pytest
import torch
from mmdet.models.backbones import ResNet
from mmengine.config import Config

from mamba_vod.registry import MODELS

RELEASE_CONFIG = 'configs/mamba/mamba-ins_r101-dc5_vfe-release_imagenetvid.py'
HEAD = 'detector.roi_head.bbox_head.'
# VFE_CHECKPOINT.md: 656 entries; its 89,620,755 elements are the parameters (BN buffers aside)
NUM_RELEASED_KEYS, NUM_RELEASED_PARAMETERS = 656, 89_620_755


def released_layout(channels=1024, in_channels=512, num_classes=30):
    """Names and shapes of the released state dict, as VFE_CHECKPOINT.md gives them."""
    with torch.device('meta'):
        backbone = ResNet(depth=101, out_indices=(3, ), strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2))
    layout = OrderedDict((f'detector.backbone.{k}', tuple(v.shape)) for k, v in backbone.state_dict().items())
    layout.update({
        'detector.neck.convs.0.conv.weight': (512, 2048, 3, 3), 'detector.neck.convs.0.conv.bias': (512, ),
        'detector.rpn_head.rpn_conv.weight': (512, 512, 3, 3), 'detector.rpn_head.rpn_conv.bias': (512, ),
        'detector.rpn_head.rpn_cls.weight': (12, 512, 1, 1), 'detector.rpn_head.rpn_cls.bias': (12, ),
        'detector.rpn_head.rpn_reg.weight': (48, 512, 1, 1), 'detector.rpn_head.rpn_reg.bias': (48, ),
    })
    layout.update(head_layout(channels, in_channels, num_classes))
    return layout


def head_layout(channels, in_channels, num_classes):
    layout = OrderedDict()
    for index, fan_in in enumerate((in_channels * 49, channels)):
        layout[f'{HEAD}shared_fcs.{index}.weight'] = (channels, fan_in)
        layout[f'{HEAD}shared_fcs.{index}.bias'] = (channels, )
    layout.update({f'{HEAD}fc_cls.weight': (num_classes + 1, channels), f'{HEAD}fc_cls.bias': (num_classes + 1, ),
                   f'{HEAD}fc_reg.weight': (4 * num_classes, channels), f'{HEAD}fc_reg.bias': (4 * num_classes, )})
    for level in (0, 1):
        for name in ('fc_embed', 'ref_fc_embed', 'ref_fc', 'fc'):
            layout[f'{HEAD}aggregator.{level}.{name}.weight'] = (channels, channels)
            layout[f'{HEAD}aggregator.{level}.{name}.bias'] = (channels, )
    return layout


def random_state(layout, seed=0):
    """Random tensors of the layout's shapes: views at random offsets into one random pool
    (drawing 90M numbers for the real size would dominate the test's time)."""
    generator = torch.Generator().manual_seed(seed)
    pool = torch.randn(max(math.prod(shape) for shape in layout.values()) * 2, generator=generator) * 0.05
    state = OrderedDict()
    for key, shape in layout.items():
        numel = math.prod(shape)
        start = int(torch.randint(0, pool.numel() - numel + 1, (1, ), generator=generator))
        value = pool[start:start + numel].view(shape)
        if key.endswith('num_batches_tracked'):
            value = torch.tensor(7)
        elif key.endswith('running_var'):
            value = value.abs() + 0.5
        state[key] = value
    return state


def test_exact_released_layout_converts_and_loads_strictly(load_tool):
    converter = load_tool('model_converters/vfe_to_mamba_vod.py')
    layout = released_layout()
    assert len(layout) == NUM_RELEASED_KEYS
    buffers = ('running_mean', 'running_var', 'num_batches_tracked')
    assert sum(math.prod(shape) for key, shape in layout.items()
               if not key.endswith(buffers)) == NUM_RELEASED_PARAMETERS
    converted = converter.convert_state_dict(random_state(layout))
    reference = converter.model_state_dict(RELEASE_CONFIG)
    converter.check_against(converted, reference)  # names and shapes of our compatible model
    assert converted['instance_level.geos.1.value_proj.weight'].shape == (1024, 1024)
    with torch.device('meta'):  # no init work: the real tensors are assigned by the strict load
        model = MODELS.build(Config.fromfile(RELEASE_CONFIG).model)
    model.load_state_dict(converted, strict=True, assign=True)
    assert torch.equal(model.instance_level.geos[0].key_proj.bias, converted['instance_level.geos.0.key_proj.bias'])


def test_unknown_missing_and_misshaped_keys_are_listed(load_tool):
    converter = load_tool('model_converters/vfe_to_mamba_vod.py')
    layout = head_layout(32, 8, 5)
    state = random_state(layout)
    with pytest.raises(converter.ConversionError, match=r'detector\.roi_head\.bbox_head\.attention\.w'):
        converter.convert_state_dict({**state, 'detector.roi_head.bbox_head.attention.w': torch.zeros(1)})
    converted = converter.convert_state_dict(state)
    reference = dict(converted)
    reference['roi_head.bbox_head.extra.weight'] = torch.zeros(2)
    reference['roi_head.bbox_head.fc_cls.bias'] = torch.zeros(9)
    with pytest.raises(converter.ConversionError, match=r'missing .*extra\.weight.*shape differs.*fc_cls\.bias'):
        converter.check_against(converted, reference)


def _vfe_head(state, feats, refs, memory_keys=None):
    """The released head's math written out: returns cls, reg (memory_keys: per-level bank samples)."""
    def linear(name, x):
        return x @ state[f'{HEAD}{name}.weight'].t() + state[f'{HEAD}{name}.bias']

    def aggregate(level, q, r):
        heads = 16
        qe = linear(f'aggregator.{level}.fc_embed', q).unflatten(1, (heads, -1)).transpose(0, 1)
        ke = linear(f'aggregator.{level}.ref_fc_embed', r).unflatten(1, (heads, -1)).transpose(0, 1)
        v = linear(f'aggregator.{level}.ref_fc', r).unflatten(1, (heads, -1)).transpose(0, 1)
        weights = torch.softmax(qe @ ke.transpose(1, 2) / math.sqrt(qe.shape[-1]), dim=-1)
        return linear(f'aggregator.{level}.fc', (weights @ v).transpose(0, 1).flatten(1))

    x, r = feats.flatten(1), refs.flatten(1)
    for level in (0, 1):
        a = linear(f'shared_fcs.{level}', x)
        r = linear(f'shared_fcs.{level}', r if level == 0 else torch.relu(r))  # explicit refs: no aggregation
        keys = r if memory_keys is None else memory_keys[level]
        x = torch.relu(a + aggregate(level, a, keys))
    return linear('fc_cls', x), linear('fc_reg', x)


def test_converted_head_computes_the_released_function(load_tool):
    converter = load_tool('model_converters/vfe_to_mamba_vod.py')
    channels, in_channels, num_classes = 64, 8, 5
    state = random_state(head_layout(channels, in_channels, num_classes), seed=1)
    converted = converter.convert_state_dict(state)
    head = MODELS.build(dict(type='InstanceAggregationBBoxHead', in_channels=in_channels, fc_out_channels=channels,
                             roi_feat_size=7, num_classes=num_classes))
    level = MODELS.build(dict(type='InstanceLevel', geo=dict(type='GEO', channels=channels, num_heads=16,
                                                             value_projection=True)))
    for module, prefix in ((head, 'roi_head.bbox_head.'), (level, 'instance_level.')):
        module.load_state_dict({k[len(prefix):]: v for k, v in converted.items() if k.startswith(prefix)},
                               strict=True)
    feats, refs = torch.randn(6, in_channels, 7, 7), torch.randn(9, in_channels, 7, 7)
    with torch.no_grad():
        keys = head.embed(refs)  # explicit-reference mode
        cls_score, bbox_pred = head(feats, level.keys_from_rows([keys]))
        expected_cls, expected_reg = _vfe_head(state, feats, refs)
        assert torch.allclose(cls_score, expected_cls, atol=1e-4) and torch.allclose(bbox_pred, expected_reg, atol=1e-4)
        bank = [torch.randn(11, channels), torch.randn(11, channels)]  # memory mode
        cls_score, _ = head(feats, level.keys_from_rows([bank]))
        assert torch.allclose(cls_score, _vfe_head(state, feats, refs, memory_keys=bank)[0], atol=1e-4)


def test_cli_writes_a_checkpoint_that_loads_strictly_and_nothing_on_error(load_tool, tmp_path, capsys):
    converter = load_tool('model_converters/vfe_to_mamba_vod.py')
    # a small model of the released form: ResNet-18 trunk, 64-channel head
    config = tmp_path / 'tiny_release.py'
    config.write_text(
        f"_base_ = '{os.path.abspath(RELEASE_CONFIG)}'\n"
        "model = dict(backbone=dict(depth=18), neck=dict(in_channels=[512], out_channels=8),\n"
        "             rpn_head=dict(in_channels=8, feat_channels=8),\n"
        "             roi_head=dict(bbox_roi_extractor=dict(out_channels=8),\n"
        "                           bbox_head=dict(in_channels=8, fc_out_channels=64)),\n"
        "             instance_level=dict(geo=dict(channels=64)))\n")
    model = MODELS.build(Config.fromfile(str(config)).model)
    ours = model.state_dict()
    released = OrderedDict((f'detector.{k}', torch.randn_like(v.float()).to(v.dtype))
                           for k, v in ours.items() if not k.startswith('instance_level.'))
    for key, value in ours.items():
        if key.startswith('instance_level.geos.'):
            level, name, param = key.split('.')[2:5]
            vfe_name = {'query_proj': 'fc_embed', 'key_proj': 'ref_fc_embed', 'value_proj': 'ref_fc',
                        'output_proj': 'fc'}[name]
            released[f'{HEAD}aggregator.{level}.{vfe_name}.{param}'] = torch.randn_like(value)
    src, dst = tmp_path / 'epoch_6_model.pth', tmp_path / 'out' / 'converted.pth'
    torch.save(dict(state_dict=released, meta=dict(epoch=6)), src)
    converter.main([str(src), str(dst), '--config', str(config)])
    checkpoint = torch.load(dst, weights_only=True)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    assert torch.equal(model.instance_level.geos[1].output_proj.weight, released[f'{HEAD}aggregator.1.fc.weight'])
    # a checkpoint that misses a key: an error naming it, and no output
    del released[f'{HEAD}fc_reg.bias']
    torch.save(released, src)
    bad = tmp_path / 'bad.pth'
    with pytest.raises(SystemExit) as exit_status:
        converter.main([str(src), str(bad), '--config', str(config)])
    assert exit_status.value.code == 1 and 'fc_reg.bias' in capsys.readouterr().err
    assert not bad.exists() and sorted(os.listdir(tmp_path)) == ['epoch_6_model.pth', 'out', 'tiny_release.py']


def test_user_errors_are_one_line_and_write_nothing(load_tool, tmp_path, user_error):
    converter = load_tool('model_converters/vfe_to_mamba_vod.py')
    out = str(tmp_path / 'out.pth')
    assert 'nowhere.pth' in user_error(converter.main, [str(tmp_path / 'nowhere.pth'), out])
    text = tmp_path / 'notes.pth'
    text.write_text('the released weights are at ...')
    line = user_error(converter.main, [str(text), out])
    assert 'notes.pth' in line and 'not a PyTorch checkpoint' in line and 'could run code' not in line
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    assert 'empty (0 bytes)' in user_error(converter.main, [str(empty), out])
    (tmp_path / 'a_file').write_text('')
    line = user_error(converter.main, [str(text), str(tmp_path / 'a_file' / 'out.pth')])
    assert "cannot write output checkpoint" in line and 'a_file' in line
    assert sorted(os.listdir(tmp_path)) == ['a_file', 'empty.pth', 'notes.pth']
