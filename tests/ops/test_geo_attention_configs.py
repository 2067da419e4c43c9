"""Tests of the launch table of the GEO attention kernels (:mod:`mamba_vod.ops.geo_attention_configs`)."""
import inspect
import types

import pytest
import torch

from mamba_vod.ops.geo_attention_configs import (INTERPRETED, backward_config, dot_precision, forward_config,
                                                 tf32_allowed)

HEAD_DIMS = [16, 24, 32, 64, 100, 128, 256]
SHARED_MEMORY = 99 * 1024  # bytes a program may use on every Ampere / Hopper GPU


def _pow2(n: int) -> int:
    return max(16, 1 << (n - 1).bit_length())


def _forward_bytes(config, dtype, head_dim, value_dim):
    """Q tile resident, K and V tiles in ``num_stages`` pipeline buffers."""
    width = _pow2(head_dim) + _pow2(value_dim)
    return dtype.itemsize * (config.block_m * _pow2(head_dim) + config.num_stages * config.block_n * width)


def _backward_bytes(config, dtype, head_dim, value_dim):
    """dK/dV: K and V resident, Q and dO pipelined; dQ: Q and dO resident, K and V pipelined."""
    width = _pow2(head_dim) + _pow2(value_dim)
    dkdv = config.block_n * width + config.num_stages * config.block_m * width
    dq = config.block_m * width + config.num_stages * config.block_n * width
    return dtype.itemsize * max(dkdv, dq)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize('head_dim', HEAD_DIMS)
def test_table_fits_shared_memory_and_dot_shapes(dtype, head_dim):
    for num_rows in (1, 16 * 300, 16 * 2394):  # few rows (instance level), many (pixel level)
        config = forward_config(dtype, head_dim, head_dim, num_rows)
        assert _forward_bytes(config, dtype, head_dim, head_dim) <= SHARED_MEMORY, (config, num_rows)
        assert config.block_m >= 16 and config.block_n >= 16  # tl.dot's smallest tile
        assert config.block_m & (config.block_m - 1) == 0 and config.block_n & (config.block_n - 1) == 0
    config = backward_config(dtype, head_dim, head_dim)
    assert _backward_bytes(config, dtype, head_dim, head_dim) <= SHARED_MEMORY, config
    assert min(config.block_m, config.block_n) >= 16


def test_blocks_never_depend_on_the_key_count():
    # what would make a growing key set re-tune or recompile: Nk is no argument of the table
    for fn in (forward_config, backward_config):
        assert not any('key' in name for name in inspect.signature(fn).parameters)


def test_many_query_rows_take_taller_blocks_and_the_interpreter_small_ones():
    few = forward_config(torch.float16, 64, 64, 16 * 300)
    many = forward_config(torch.float16, 64, 64, 16 * 2394)
    assert few.block_m < many.block_m
    assert forward_config(torch.float16, 64, 64, 10**6, interpreted=True) == INTERPRETED
    assert backward_config(torch.float32, 64, 64, interpreted=True) == INTERPRETED


def test_dot_precision():
    assert dot_precision(torch.float32, allow_tf32=False) == 'tf32x3'
    assert dot_precision(torch.float32, allow_tf32=True) == 'tf32'
    assert dot_precision(torch.float16, allow_tf32=True) == 'ieee'


@pytest.mark.parametrize('settings, allowed', [
    (dict(fp32_precision='ieee'), False),  # the new API (reading allow_tf32 then would raise)
    (dict(fp32_precision='tf32'), True),
    (dict(fp32_precision='none'), False),  # PyTorch's default
    (dict(allow_tf32=True), True),  # a torch without the new API
    (dict(allow_tf32=False), False),
])
def test_tf32_allowed_follows_pytorch(monkeypatch, settings, allowed):
    # a stand-in for torch.backends.cuda.matmul: the real one's state cannot be restored cleanly
    # once the new API has been used (torch then refuses reads of the legacy flag)
    monkeypatch.setattr(torch.backends.cuda, 'matmul', types.SimpleNamespace(**settings))
    assert tf32_allowed() is allowed
