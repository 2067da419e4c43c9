import pytest
import torch
from mmdet.structures import DetDataSample

from mamba_vod.registry import MODELS

MEAN = torch.tensor([123.675, 116.28, 103.53])
STD = torch.tensor([58.395, 57.12, 57.375])


def _build():
    return MODELS.build(dict(type='VideoDataPreprocessor', mean=MEAN.tolist(), std=STD.tolist(), bgr_to_rgb=True,
                             pad_size_divisor=16))


def test_clips_are_normalised_rgb_and_padded():
    clips = [torch.randint(0, 256, (3, 3, 30, 40), dtype=torch.uint8),
             torch.randint(0, 256, (3, 3, 20, 50), dtype=torch.uint8)]
    samples = [DetDataSample(), DetDataSample()]
    out = _build()(dict(inputs=clips, data_samples=samples))
    inputs = out['inputs']
    assert inputs.shape == (2, 3, 3, 32, 64)
    expected = (clips[1][2].flip(0).float() - MEAN[:, None, None]) / STD[:, None, None]  # BGR -> RGB
    assert torch.allclose(inputs[1, 2, :, :20, :50], expected, atol=1e-5)
    assert torch.all(inputs[1, :, :, 20:] == 0) and torch.all(inputs[0, :, :, :, 40:] == 0)
    assert out['data_samples'][0].batch_input_shape == (32, 64)
    assert out['data_samples'][0].pad_shape == (32, 48) and out['data_samples'][1].pad_shape == (32, 64)


def test_batched_tensor_input_is_accepted():
    clips = torch.randint(0, 256, (2, 1, 3, 16, 32), dtype=torch.uint8)
    out = _build()(dict(inputs=clips, data_samples=None))
    assert out['inputs'].shape == (2, 1, 3, 16, 32) and out['inputs'].dtype == torch.float32


def test_clear_errors_for_bad_clips():
    preprocessor = _build()
    with pytest.raises(ValueError, match='different numbers of frames'):
        preprocessor(dict(inputs=[torch.zeros(1, 3, 8, 8, dtype=torch.uint8),
                                  torch.zeros(3, 3, 8, 8, dtype=torch.uint8)], data_samples=None))
    with pytest.raises(ValueError, match=r'clip 0 .*\(T, 3, H, W\)'):
        preprocessor(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)], data_samples=None))
