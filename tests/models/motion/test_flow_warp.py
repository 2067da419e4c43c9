"""Tests of :func:`mamba_vod.models.motion.flow_warp` and :func:`resize_flow`: mmtracking's grid
(positions read (x + d)(w - 1) / w) and the pixel-exact grid, against a float64 bilinear reference
written here; zero flow; integer shifts along both axes with both signs; gradients; resizing."""
import pytest
import torch
from torch.autograd import gradcheck

from mamba_vod.models.motion import flow_warp, resize_flow


def _bilinear(feats: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """feats (B, C, h, w) read at positions xs, ys (B, h, w): clamped to the map, then bilinear."""
    height, width = feats.shape[-2:]
    xs, ys = xs.clamp(0, width - 1), ys.clamp(0, height - 1)
    x0, y0 = xs.floor().long(), ys.floor().long()
    x1, y1 = (x0 + 1).clamp(max=width - 1), (y0 + 1).clamp(max=height - 1)
    ax, ay = (xs - x0)[:, None], (ys - y0)[:, None]  # (B, 1, h, w) weights of the far neighbours

    def at(rows, cols):  # (B, C, h, w): feats[b, :, rows[b, i, j], cols[b, i, j]]
        flat = feats.flatten(2)  # (B, C, h*w)
        index = (rows * width + cols).flatten(1)[:, None].expand(-1, feats.shape[1], -1)
        return flat.gather(2, index).view_as(feats)

    top = at(y0, x0) * (1 - ax) + at(y0, x1) * ax
    bottom = at(y1, x0) * (1 - ax) + at(y1, x1) * ax
    return top * (1 - ay) + bottom * ay


def _pixel_grid(batch: int, height: int, width: int):
    rows, cols = torch.meshgrid(torch.arange(height, dtype=torch.float64),
                                torch.arange(width, dtype=torch.float64), indexing='ij')
    return cols.expand(batch, -1, -1), rows.expand(batch, -1, -1)


def _random(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _constant_flow(batch, height, width, dx, dy):
    flow = torch.zeros(batch, 2, height, width, dtype=torch.float64)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def test_zero_flow_reads_mmtrackings_contracted_positions_not_the_identity():
    # mmtracking divides by w (not w - 1) with align_corners=True: pixel x reads x (w - 1) / w
    feats = _random(2, 3, 7, 11)
    out = flow_warp(feats, torch.zeros(2, 2, 7, 11, dtype=torch.float64))
    cols, rows = _pixel_grid(2, 7, 11)
    torch.testing.assert_close(out, _bilinear(feats, cols * 10 / 11, rows * 6 / 7), rtol=0, atol=1e-12)
    assert torch.equal(out[..., 0, 0], feats[..., 0, 0])  # the origin is read exactly
    assert (out - feats).abs().max() > 0.1  # elsewhere it is not the identity


@pytest.mark.parametrize('dtype, atol', [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_zero_flow_is_the_identity_on_the_pixel_exact_grid(dtype, atol):
    # not bit-exact: the round trip x -> 2x / (w - 1) - 1 -> (g + 1)(w - 1) / 2 inside grid_sample
    # lands within a few ulps of x (float32: ~4e-6 px at x = 62), which mixes in that fraction of
    # the neighbour; float64 leaves ~1e-15
    feats = _random(2, 3, 38, 63).to(dtype)
    out = flow_warp(feats, torch.zeros(2, 2, 38, 63, dtype=dtype), pixel_exact=True)
    torch.testing.assert_close(out, feats, rtol=0, atol=atol)


@pytest.mark.parametrize('dx, dy', [(3, 0), (-2, 0), (0, 2), (0, -3), (2, -1)])
def test_an_integer_shift_is_recovered_inside_the_map_on_the_pixel_exact_grid(dx, dy):
    # the current frame shows the reference moved by (-dx, -dy): cur[y, x] = ref[y + dy, x + dx]
    ref = _random(1, 4, 9, 12)
    out = flow_warp(ref, _constant_flow(1, 9, 12, dx, dy), pixel_exact=True)
    rows, cols = slice(max(0, -dy), 9 - max(0, dy)), slice(max(0, -dx), 12 - max(0, dx))
    shifted = ref[..., max(0, dy):9 + min(0, dy), max(0, dx):12 + min(0, dx)]
    torch.testing.assert_close(out[..., rows, cols], shifted, rtol=0, atol=1e-12)
    # outside, padding_mode='border': the nearest border pixel of the reference
    torch.testing.assert_close(out, _bilinear(ref, *[g + d for g, d in zip(_pixel_grid(1, 9, 12), (dx, dy))]))


@pytest.mark.parametrize('dx, dy', [(3, 0), (-2, 0), (0, 2), (0, -3), (2, -1)])
def test_mmtrackings_grid_reads_a_shift_d_at_x_plus_d_times_w_minus_1_over_w(dx, dy):
    # a ramp shows the position read: (x + d)(w - 1) / w, short of x + d by (x + d) / w pixels
    height, width = 9, 12
    cols, rows = _pixel_grid(1, height, width)
    ramps = torch.stack((cols, rows), dim=1)  # (1, 2, h, w): channel 0 = x, channel 1 = y
    out = flow_warp(ramps, _constant_flow(1, height, width, dx, dy))
    want_x = ((cols + dx) * (width - 1) / width).clamp(0, width - 1)
    want_y = ((rows + dy) * (height - 1) / height).clamp(0, height - 1)
    torch.testing.assert_close(out, torch.stack((want_x, want_y), dim=1), rtol=0, atol=1e-12)
    # and a random map: mmtracking's read equals the bilinear reference at those positions
    ref = _random(1, 3, height, width)
    out = flow_warp(ref, _constant_flow(1, height, width, dx, dy))
    torch.testing.assert_close(out, _bilinear(ref, (cols + dx) * (width - 1) / width,
                                              (rows + dy) * (height - 1) / height), rtol=0, atol=1e-12)


@pytest.mark.parametrize('pixel_exact', [False, True])
def test_gradients_reach_the_features_and_the_flow(pixel_exact):
    feats = _random(1, 2, 4, 5, seed=1).requires_grad_()
    # fractional displacements keep every read inside the map and off the integer kinks of bilinear
    flow = (0.1 + 0.6 * torch.rand(1, 2, 4, 5, generator=torch.Generator().manual_seed(2),
                                   dtype=torch.float64)).requires_grad_()
    assert gradcheck(lambda f, d: flow_warp(f, d, pixel_exact=pixel_exact), (feats, flow))
    flow_warp(feats, flow, pixel_exact=pixel_exact).square().sum().backward()
    assert feats.grad.abs().sum() > 0 and flow.grad.abs().sum() > 0


def test_resize_flow_scales_each_axis_by_its_own_ratio():
    flow = _constant_flow(2, 48, 80, 8.0, -4.0)
    resized = resize_flow(flow, (3, 5))
    assert resized.shape == (2, 2, 3, 5)
    torch.testing.assert_close(resized[:, 0], torch.full((2, 3, 5), 8.0 * 5 / 80, dtype=torch.float64))
    torch.testing.assert_close(resized[:, 1], torch.full((2, 3, 5), -4.0 * 3 / 48, dtype=torch.float64))


def test_a_flow_of_another_size_is_refused():
    with pytest.raises(ValueError, match='resize_flow'):
        flow_warp(torch.zeros(1, 3, 4, 5), torch.zeros(1, 2, 8, 10))
    with pytest.raises(ValueError, match=r'\(B, 2, h, w\)'):
        flow_warp(torch.zeros(1, 3, 4, 5), torch.zeros(1, 3, 4, 5))
