"""Launch configurations of the GEO attention kernels: a fixed table, no autotuning.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.

Why a table and not ``triton.autotune``: an autotuner keys its cache on sizes, and MAMBA's key set
grows frame by frame (75 instance rows a frame up to 2,000), so a size-keyed tuner benchmarks every
candidate again, inside the stream, each time the key count enters a new bucket (measured: p50
frame time 25 ms instead of 21 ms, docs/benchmarks.md). Here the blocks depend only on what is
fixed for a whole stream: the dtype, the head dims and whether there are enough query rows to fill
the GPU with large row blocks. Nk never enters, so a growing key set reuses one compiled kernel.
The entries keep every program's tiles within 99 KiB of shared memory (the smallest budget of
Ampere and Hopper GPUs; tests/ops/test_geo_attention_configs.py checks the table) and follow
Triton's fused-attention tutorial; ``tools/analysis/device_check.sh`` measures them on a GPU.

Under the Triton interpreter every kernel runs 32x32 blocks with one warp: the interpreter runs on
numpy and cannot time anything, and 32-wide blocks make the tests' odd sizes span several blocks,
so tails and multi-block loops are exercised. This module does not import Triton.
"""
from typing import NamedTuple

import torch

# B*H*ceil(Nq/128) row blocks at or above which the forward uses 128-row blocks: about one
# program per streaming multiprocessor of an A100 (108) / H100-H200 (132). Below it, 64-row
# blocks give twice the programs, so a small query set (300 proposals x 16 heads) still spreads.
MANY_ROW_BLOCKS = 128


class LaunchConfig(NamedTuple):
    """Blocks of one kernel launch: ``block_m`` query rows by ``block_n`` keys per tile."""
    block_m: int
    block_n: int
    num_warps: int
    num_stages: int


INTERPRETED = LaunchConfig(32, 32, 1, 1)


def forward_config(dtype: torch.dtype, head_dim: int, value_dim: int, num_rows: int,
                   interpreted: bool = False) -> LaunchConfig:
    """Blocks of the forward kernel.

    Args:
        dtype: the inputs' dtype (fp32 runs ``tf32x3`` tensor-core dots: 3 MMAs and twice the
            operand registers of fp16, so its tiles are smaller).
        head_dim, value_dim: D and Dv.
        num_rows: B * H * Nq, the query rows of all (batch, head) pairs.
        interpreted: running under the Triton interpreter.
    """
    if interpreted:
        return INTERPRETED
    widest = max(head_dim, value_dim)
    if dtype == torch.float32:
        return LaunchConfig(64, 64, 4, 2) if widest <= 64 else LaunchConfig(32, 32, 4, 1 if widest > 128 else 2)
    if widest > 128:
        return LaunchConfig(64, 32, 4, 2)
    many_rows = num_rows >= MANY_ROW_BLOCKS * 128
    if widest <= 64:  # MAMBA: C=1024 or 512 over 16 heads
        return LaunchConfig(128, 64, 4, 3) if many_rows else LaunchConfig(64, 64, 4, 3)
    return LaunchConfig(128, 32, 8, 3) if many_rows else LaunchConfig(64, 32, 4, 3)


def backward_config(dtype: torch.dtype, head_dim: int, value_dim: int, interpreted: bool = False) -> LaunchConfig:
    """Blocks of the two backward kernels (dK/dV: programs of ``block_n`` keys looping over
    ``block_m`` query rows; dQ: programs of ``block_m`` rows looping over ``block_n`` keys).
    Each program keeps two accumulators and two resident tiles, hence smaller blocks than the
    forward."""
    if interpreted:
        return INTERPRETED
    widest = max(head_dim, value_dim)
    if dtype == torch.float32:
        return LaunchConfig(32, 32, 4, 2) if widest <= 64 else LaunchConfig(16, 32, 4, 1)
    if widest <= 64:
        return LaunchConfig(64, 64, 4, 2)
    return LaunchConfig(32, 64, 4, 2) if widest <= 128 else LaunchConfig(32, 32, 4, 1)


def tf32_allowed() -> bool:
    """Whether PyTorch's own fp32 matmuls may use TF32 on CUDA: the new setting
    (``torch.backends.cuda.matmul.fp32_precision == 'tf32'``, also what ``allow_tf32 = True`` and
    ``torch.set_float32_matmul_precision('high')`` set), or the legacy flag on a torch without it.
    (Reading the legacy flag after the new one was set raises in recent torch, hence this order.)"""
    matmul = torch.backends.cuda.matmul
    precision = getattr(matmul, 'fp32_precision', None)
    return bool(matmul.allow_tf32) if precision is None else precision == 'tf32'


def dot_precision(dtype: torch.dtype, allow_tf32: bool) -> str:
    """``input_precision`` of the kernels' ``tl.dot``.

    fp32 runs on tensor cores: ``'tf32x3'`` (three TF32 products, about as accurate as fp32
    FMA) by default, ``'tf32'`` (one product, 10-bit mantissa) where PyTorch itself is allowed
    TF32 (:func:`tf32_allowed`). fp16/bf16 operands ignore the setting.
    The Triton interpreter ignores it too (numpy matmul in the operands' dtype).
    """
    if dtype == torch.float32:
        return 'tf32' if allow_tf32 else 'tf32x3'
    return 'ieee'
