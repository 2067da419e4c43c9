"""Tests of :class:`mamba_vod.models.motion.FlowInput`: whatever the data preprocessor (our
synthetic and ImageNet VID configs', a caffe-style BGR one, none), FlowNetSimple reads the
frames as mmtracking's FlowNetSimple was trained to: RGB, in 0..1 minus FlowNet's mean, the
padding at 0, at half size."""
import glob
import inspect

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mamba_vod.models.motion import FlowInput, FlowNetSimple, flow_warp, preprocessor_normalisation, warp_maps
from mamba_vod.models.motion.flownet_simple import DETECTOR_MEAN, DETECTOR_STD
from mamba_vod.registry import MODELS

FLOWNET_MEAN = torch.tensor([0.411, 0.432, 0.450]).view(1, 3, 1, 1)
FLOW_CONFIGS = sorted(glob.glob('configs/dff/*.py') + glob.glob('configs/fgfa/*.py') +
                      glob.glob('configs/synthetic/dff_*.py') + glob.glob('configs/synthetic/fgfa_*.py'))
PREPROCESSORS = {
    'imagenet-rgb': Config.fromfile('configs/_base_/models/faster-rcnn_r50-dc5.py').model.data_preprocessor,
    'synthetic': Config.fromfile('configs/synthetic/fgfa_r18-dc5_synthetic.py').model.data_preprocessor,
    'caffe-bgr': Config.fromfile('configs/_base_/models/faster-rcnn_r50-caffe-dc5.py').model.data_preprocessor,
    'none': dict(type='DetDataPreprocessor', pad_size_divisor=16),
}


def _bgr_frames(height=40, width=56, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, height, width), generator=gen, dtype=torch.uint8) for _ in range(2)]


def _network_input(flow_input, motion, imgs, ref_imgs, valid_size):
    """What ``motion`` reads in its first conv when ``flow_input`` hands it the frames."""
    seen = []
    original = motion.encode
    motion.encode = lambda pairs: seen.append(pairs) or original(pairs)
    flow_input.image_flow(motion, imgs, ref_imgs, [valid_size])
    return seen[0]


@pytest.mark.parametrize('name', sorted(PREPROCESSORS))
def test_flownet_reads_rgb_in_its_own_normalisation_whatever_the_preprocessor(name):
    cfg = PREPROCESSORS[name]
    preprocessor = MODELS.build(dict(cfg))
    flow_input = FlowInput(cfg)
    torch.manual_seed(0)
    motion = MODELS.build(flow_input.motion_cfg(dict(type='FlowNetSimple')))
    frames = _bgr_frames()  # (3, 40, 56) each: padded to 48 x 64
    if cfg['type'] == 'VideoDataPreprocessor':  # one clip of the two frames
        inputs = preprocessor(dict(inputs=[torch.stack(frames)]), False)['inputs'][0]
    else:
        inputs = preprocessor(dict(inputs=frames), False)['inputs']
    got = _network_input(flow_input, motion, inputs[:1], inputs[1:], (40, 56))

    rgb = [frame.flip(0)[None].float() for frame in frames]  # what the flow network was trained on
    pairs = torch.cat([(f / 255 - FLOWNET_MEAN) for f in rgb], dim=1)
    pairs = F.pad(pairs, (0, 8, 0, 8))  # the padding is 0 after the flow normalisation
    expected = F.interpolate(pairs, scale_factor=0.5, mode='bilinear', align_corners=False)
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=0)


def test_the_preprocessor_config_and_module_read_alike():
    for cfg in PREPROCESSORS.values():
        (module_rgb, *module_stats), (cfg_rgb, *cfg_stats) = (preprocessor_normalisation(p)
                                                              for p in (MODELS.build(dict(cfg)), cfg))
        assert module_rgb == cfg_rgb and [pytest.approx(s) for s in module_stats] == cfg_stats


@pytest.mark.parametrize('path', FLOW_CONFIGS)
def test_our_configs_give_flownet_mmtrackings_normalisation(path):
    """Every DFF / FGFA config normalises RGB with the ImageNet mean/std: FlowNetSimple undoes
    exactly mmtracking's normalisation (its defaults), in the detector it builds."""
    cfg = Config.fromfile(path)
    flow_input = FlowInput(cfg.model.data_preprocessor)
    assert flow_input.rgb and flow_input.mean_rgb == DETECTOR_MEAN and flow_input.std_rgb == DETECTOR_STD
    defaults = inspect.signature(FlowNetSimple).parameters  # mmtracking's normalisation
    assert flow_input.motion_cfg({}) == {key: defaults[key].default for key in ('img_norm_mean', 'img_norm_std')}


def test_a_bgr_preprocessor_gives_flownet_its_mean_in_rgb_order():
    flow_input = FlowInput(PREPROCESSORS['caffe-bgr'])
    assert not flow_input.rgb
    assert flow_input.mean_rgb == (123.675, 116.28, 103.53) and flow_input.std_rgb == (1.0, 1.0, 1.0)


def test_a_motion_config_that_contradicts_the_preprocessor_is_refused():
    flow_input = FlowInput(PREPROCESSORS['imagenet-rgb'])
    same = flow_input.motion_cfg(dict(type='FlowNetSimple', img_norm_mean=list(DETECTOR_MEAN)))
    assert same['img_norm_mean'] == DETECTOR_MEAN
    with pytest.raises(ValueError, match='img_norm_std .* differs from the data preprocessor'):
        flow_input.motion_cfg(dict(type='FlowNetSimple', img_norm_std=(1.0, 1.0, 1.0)))


def test_pairs_of_other_valid_sizes_are_each_masked_by_their_own():
    flow_input = FlowInput(PREPROCESSORS['imagenet-rgb'])
    torch.manual_seed(0)
    motion = MODELS.build(flow_input.motion_cfg(dict(type='FlowNetSimple'))).eval()
    gen = torch.Generator().manual_seed(1)
    imgs, refs = torch.randn(3, 3, 48, 64, generator=gen), torch.randn(3, 3, 48, 64, generator=gen)
    sizes = [(48, 64), (40, 56), (48, 64)]
    together = flow_input.image_flow(motion, imgs, refs, sizes)
    for b, size in enumerate(sizes):
        alone = flow_input.image_flow(motion, imgs[b:b + 1], refs[b:b + 1], [size])
        torch.testing.assert_close(together[b:b + 1], alone, atol=1e-4, rtol=1e-4)  # batched arithmetic
    assert not torch.allclose(together[1], flow_input.image_flow(motion, imgs[1:2], refs[1:2], [(48, 64)])[0])


def test_warp_maps_moves_each_level_by_the_flow_in_its_own_cells():
    gen = torch.Generator().manual_seed(2)
    maps = (torch.randn(1, 4, 4, 6, generator=gen), torch.randn(1, 4, 2, 3, generator=gen))  # strides 16, 32
    flow = torch.zeros(1, 2, 64, 96)
    flow[:, 0] = 16.0  # input pixels: one cell of the stride-16 level, half a cell of the stride-32 one
    warped = warp_maps(maps, flow)
    for level, cells, got in zip(maps, (1.0, 0.5), warped):
        level_flow = torch.zeros(1, 2, *level.shape[-2:])
        level_flow[:, 0] = cells
        torch.testing.assert_close(got, flow_warp(level, level_flow))
        assert not torch.allclose(got, level)
