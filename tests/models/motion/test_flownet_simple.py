"""Tests of :class:`mamba_vod.models.motion.FlowNetSimple`: mmtracking's 33 parameter names and
shapes, the pair preparation, the decoder's concatenations, the output scaling to input and to
feature-map pixels, the pretrained weights loading from a local file and from the URL's cache, and the zero-flow start
from scratch."""
import os
import urllib.error

import pytest
import torch
import torch.nn.functional as F

from mamba_vod.compat import hub_cache_path
from mamba_vod.models.motion import FLOWNET_SIMPLE_URL, FlowNetSimple, warp_maps
from mamba_vod.registry import MODELS

# mmtracking's FlowNetSimple parameters (names after the `motion.` prefix), from its layer table
ENCODER_CONVS = {'conv1.0': (64, 6, 7), 'conv2.0': (128, 64, 5), 'conv3.0': (256, 128, 5),
                 'conv3.1': (256, 256, 3), 'conv4.0': (512, 256, 3), 'conv4.1': (512, 512, 3), 'conv5.0': (512, 512, 3),
                 'conv5.1': (512, 512, 3), 'conv6.0': (1024, 512, 3), 'conv6.1': (1024, 1024, 3)}
DECODER_WEIGHTS = {'deconv5': (1024, 512, 4, 4), 'deconv4': (1026, 256, 4, 4), 'deconv3': (770, 128, 4, 4),
                   'deconv2': (386, 64, 4, 4), 'predict_flow6': (2, 1024, 3, 3), 'predict_flow5': (2, 1026, 3, 3),
                   'predict_flow4': (2, 770, 3, 3), 'predict_flow3': (2, 386, 3, 3),
                   'predict_flow': (2, 194, 3, 3),
                   **{f'upsample_flow{level}': (2, 2, 4, 4) for level in (5, 4, 3, 2)}}
MEAN, STD = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])


@pytest.fixture(scope='module')
def net():
    torch.manual_seed(0)
    return FlowNetSimple().eval()


def _frames(batch, height, width, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, height, width, generator=gen) for _ in range(2)]


def test_parameters_are_mmtrackings_names_and_shapes(net):
    want = {f'{name}.conv.weight': (out, cin, k, k) for name, (out, cin, k) in ENCODER_CONVS.items()}
    want.update({f'{name}.conv.bias': (out, ) for name, (out, _, _) in ENCODER_CONVS.items()})
    want.update({f'{name}.conv.weight': shape for name, shape in DECODER_WEIGHTS.items()})
    assert {key: tuple(value.shape) for key, value in net.state_dict().items()} == want
    assert len(want) == 33
    strides = {name: net.get_submodule(name).conv.stride for name in ENCODER_CONVS}
    assert strides == {name: (2, 2) if name.endswith('.0') else (1, 1) for name in ENCODER_CONVS}


def test_shapes_at_the_input_and_at_the_feature_stride(net):
    imgs, refs = _frames(2, 112, 224)
    with torch.no_grad():
        assert net.image_flow(imgs, refs).shape == (2, 2, 112, 224)  # mmtracking's own unit test
        assert net(imgs, refs).shape == (2, 2, 7, 14)
        # 48 x 80: the decoder crops (conv4 2x3 < deconv4's 2x4, conv3 3x5 < deconv3's 4x6)
        small = _frames(1, 48, 80)
        assert net(*small).shape == (1, 2, 3, 5) and net(*small, feat_size=(6, 10)).shape == (1, 2, 6, 10)
    assert MODELS.build(dict(type='FlowNetSimple', img_scale_factor=0.5)).img_scale_factor == 0.5


def test_pairs_are_unnormalised_renormalised_masked_and_halved(net):
    gen = torch.Generator().manual_seed(3)
    pixels = [torch.randint(0, 256, (2, 3, 32, 48), generator=gen).float() for _ in range(2)]  # RGB 0..255
    normalised = [(p - MEAN.view(1, 3, 1, 1)) / STD.view(1, 3, 1, 1) for p in pixels]
    got = net.prepare_pairs(*normalised, valid_size=(20, 40))
    flow_mean = torch.tensor([0.411, 0.432, 0.450]).view(1, 3, 1, 1)
    want = torch.cat([p / 255 - flow_mean for p in pixels], dim=1)  # the current frame first
    want[:, :, 20:], want[:, :, :, 40:] = 0, 0
    torch.testing.assert_close(got, F.interpolate(want, size=(16, 24), mode='bilinear', align_corners=False))


def test_the_decoder_concatenates_skip_deconv_and_upsampled_flow(net):
    seen = {}

    def record(name, take_input):
        return lambda module, args, out: seen.__setitem__(name, args[0] if take_input else out)

    hooks = [net.get_submodule(f'conv{level}')[-1].register_forward_hook(record(f'conv{level}', False))
             for level in range(2, 7)]  # the last conv of each encoder stage
    hooks += [net.get_submodule(f'{part}{level}').register_forward_hook(record(f'{part}{level}', False))
              for level in (5, 4, 3, 2) for part in ('deconv', 'upsample_flow')]
    hooks += [net.get_submodule(f'predict_flow{level}').register_forward_hook(record(f'in{level}', True))
              for level in (6, 5, 4, 3)]
    hooks.append(net.predict_flow.register_forward_hook(record('in2', True)))
    try:
        with torch.no_grad():
            net(*_frames(1, 48, 80))
    finally:
        for hook in hooks:
            hook.remove()
    assert torch.equal(seen['in6'], seen['conv6'])
    for level, channels in zip((5, 4, 3, 2), (1026, 770, 386, 194)):
        skip = seen[f'conv{level}']
        height, width = skip.shape[-2:]
        parts = [skip] + [seen[f'{part}{level}'][..., :height, :width] for part in ('deconv', 'upsample_flow')]
        assert seen[f'in{level}'].shape[1] == channels and torch.equal(seen[f'in{level}'], torch.cat(parts, dim=1))


def test_the_raw_flow_is_scaled_by_8_and_5_then_to_feature_pixels_per_axis(net):
    raw = torch.tensor([1.5, -0.25]).view(1, 2, 1, 1)  # a constant raw flow at 1/8 of the input
    hook = net.predict_flow.register_forward_hook(lambda module, args, out: raw.expand_as(out).clone())
    try:
        with torch.no_grad():
            imgs, refs = _frames(1, 48, 80)
            image_flow = net.image_flow(imgs, refs)
            feat_flow = net(imgs, refs, feat_size=(4, 7))
    finally:
        hook.remove()
    assert image_flow.shape == (1, 2, 48, 80)
    torch.testing.assert_close(image_flow, (raw * 40).expand(1, 2, 48, 80))  # 4 / 0.5 * 5
    torch.testing.assert_close(feat_flow[0, 0], torch.full((4, 7), 1.5 * 40 * 7 / 80))
    torch.testing.assert_close(feat_flow[0, 1], torch.full((4, 7), -0.25 * 40 * 4 / 48))


def _signature_state_dict(net) -> dict:
    """Every tensor of ``net`` with values of its own (tensor index + row index / 1e4), stored as an
    expanded view of one column so that the file holds kilobytes, not 38M floats."""
    state = {}
    for index, (key, value) in enumerate(net.state_dict().items()):
        column = index + torch.arange(value.shape[0], dtype=torch.float32) / 1e4
        state[key] = column.view(-1, *[1] * (value.dim() - 1)).expand(value.shape)
    return state


def _assert_loaded(net, state):
    loaded = net.state_dict()
    assert loaded.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A private torch hub cache, and no download reaches the network."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))

    def no_network(url, dst, *args, **kwargs):
        raise urllib.error.URLError('network is unreachable (test)')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)


def test_pretrained_weights_load_from_a_local_file_and_from_the_urls_cache(tmp_path, offline):
    state = _signature_state_dict(FlowNetSimple())
    local = tmp_path / 'flownet_simple.pth'
    torch.save(state, local)
    net = FlowNetSimple(init_cfg=dict(type='Pretrained', checkpoint=str(local)))
    net.init_weights()
    _assert_loaded(net, state)

    cached = hub_cache_path(FLOWNET_SIMPLE_URL)
    assert cached.endswith('flownet_simple.pth') and str(tmp_path) in cached
    os.makedirs(os.path.dirname(cached))
    torch.save({'meta': {}, 'state_dict': state}, cached)  # an mmcv-style checkpoint this time
    net = MODELS.build(dict(type='FlowNetSimple', init_cfg=dict(type='Pretrained', checkpoint=FLOWNET_SIMPLE_URL)))
    net.init_weights()
    _assert_loaded(net, state)


def test_the_url_offline_without_a_cache_names_the_file_to_provide(offline):
    net = FlowNetSimple(init_cfg=dict(type='Pretrained', checkpoint=FLOWNET_SIMPLE_URL))
    with pytest.raises(Exception, match='flownet_simple.pth') as error:
        net.init_weights()
    assert hub_cache_path(FLOWNET_SIMPLE_URL) in str(error.value)


def test_zero_init_flow_starts_every_warp_as_the_identity_and_still_learns():
    torch.manual_seed(0)
    net = FlowNetSimple(zero_init_flow=True, pixel_exact_warp=True)
    net.init_weights()
    imgs, refs = _frames(2, 64, 96)
    maps = torch.randn(2, 8, 4, 6)
    flow = net.image_flow(imgs, refs)
    assert torch.count_nonzero(flow) == 0
    warped, = warp_maps([maps], flow, pixel_exact=net.pixel_exact_warp)
    torch.testing.assert_close(warped, maps)
    warped.mul(torch.randn_like(maps)).sum().backward()  # a loss of the warped maps
    assert net.predict_flow.conv.weight.grad.abs().sum() > 0  # the flow moves away from zero in training

    default = FlowNetSimple()
    default.init_weights()
    assert default(imgs, refs).abs().mean() > 0.1  # a random network's flow is far from the identity


def test_zero_init_flow_with_pretrained_weights_is_refused():
    with pytest.raises(ValueError, match='zero_init_flow.*flownet_simple.pth'):
        FlowNetSimple(zero_init_flow=True, init_cfg=dict(type='Pretrained', checkpoint=FLOWNET_SIMPLE_URL))
