"""Launching the GEO attention kernels: kernel loading, per-shape launch plans, unchecked launchers.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, M memory slots, D query/key head dim,
Dv value head dim.

This is the layer under the checked host wrappers (:mod:`.geo_attention_triton` for 4-D tensors,
:mod:`.geo_attention_gather_triton` for a memory bank's rows): the functions here trust their
inputs (the wrappers check them once per call, the backward reuses what the forward checked) and
do as little host work as a launch allows. What depends only on (device, dtype, B*H, Nq, D, Dv,
the TF32 setting) -- the kernel module, the blocks (a fixed table, no autotuning), the constexpr
arguments, the grid -- is computed once per shape and cached (:func:`launch_plan`). A call then
allocates its outputs, reads strides and launches.

Interpreter: Triton decides at decoration time whether a kernel is compiled or interpreted
(``TRITON_INTERPRET=1``). CUDA tensors use the kernels imported normally (compiled, unless the
variable was set when they were imported). CPU tensors use a second copy of the kernel module that
is decorated with ``TRITON_INTERPRET=1`` set only while it loads, so the interpreted kernels run
on CPU whatever was imported before, and the compiled ones stay usable in the same process.
"""
import contextlib
import functools
import importlib
import importlib.util
import os
import threading
from types import ModuleType
from typing import Dict, NamedTuple, Optional, Tuple

import torch

from .geo_attention_configs import LaunchConfig, backward_config, dot_precision, forward_config, tf32_allowed

SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
MAX_HEAD_DIM = 256
_KERNELS = 'mamba_vod.ops.geo_attention_kernels'
_INTERPRETED_KERNELS = 'mamba_vod.ops._geo_attention_kernels_interpreted'
_LOAD_LOCK = threading.Lock()


def triton_available() -> bool:
    """Whether the ``triton`` package can be imported."""
    return importlib.util.find_spec('triton') is not None


@contextlib.contextmanager
def _environment(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


@functools.lru_cache(maxsize=None)
def load_kernels(interpreted: bool) -> ModuleType:
    """The kernel module: the normal import, or (``interpreted``) a copy decorated under the interpreter."""
    if not triton_available():
        raise ImportError("geo_attention backend='triton' needs the 'triton' package (pip install triton); "
                          "use backend='torch' where it is missing")
    if not interpreted:
        return importlib.import_module(_KERNELS)
    with _LOAD_LOCK, _environment('TRITON_INTERPRET', '1'):
        spec = importlib.util.find_spec(_KERNELS)
        copy_spec = importlib.util.spec_from_file_location(_INTERPRETED_KERNELS, spec.origin)
        module = importlib.util.module_from_spec(copy_spec)
        copy_spec.loader.exec_module(module)
    return module


def check_launchable(dtype: torch.dtype, device: torch.device, head_dim: int, value_dim: int,
                     caller: str = "geo_attention backend='triton'") -> None:
    """Raise ValueError when the kernels cannot run this dtype, device or head dims."""
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f'{caller} supports {SUPPORTED_DTYPES}, got {dtype}')
    if device.type not in ('cuda', 'cpu'):
        raise ValueError(f'{caller} runs on CUDA (or on CPU through the Triton interpreter), got device {device}')
    if max(head_dim, value_dim) > MAX_HEAD_DIM:
        raise ValueError(f"{caller} supports head dims up to {MAX_HEAD_DIM}, got D={head_dim}, Dv={value_dim}; "
                         "use backend='torch'")


def _next_power_of_2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class LaunchPlan(NamedTuple):
    """What every launch of one shape shares (see :func:`launch_plan`)."""
    kernels: ModuleType
    constants: dict  # constexpr arguments of the forward and backward kernels, blocks excluded
    forward: LaunchConfig
    backward: LaunchConfig
    forward_grid: Tuple[int, int]
    device_index: Optional[int]  # CUDA device to launch on, None on CPU
    # keyword arguments of each launch, built once: forward by (GATHER, HAS_RESIDUAL, STORE_LSE),
    # dK/dV and dQ by GATHER, and the delta kernel's
    forward_kwargs: Dict[Tuple[bool, bool, bool], dict]
    backward_kwargs: Dict[bool, dict]
    delta_kwargs: dict


@functools.lru_cache(maxsize=512)
def launch_plan(device: torch.device, dtype: torch.dtype, batch_heads: int, num_queries: int, head_dim: int,
                value_dim: int, allow_tf32: bool) -> LaunchPlan:
    """The cached launch parameters of one shape class: kernels (compiled for CUDA, interpreted for
    CPU), constexprs (head-dim blocks, MMA dtype, dot precision), blocks and the forward grid.
    The key count Nk is not part of it: a growing key set keeps its plan."""
    interpreted = device.type == 'cpu'
    kernels = load_kernels(interpreted)
    import triton.language as tl
    mma_dtype = {torch.float32: tl.float32, torch.float16: tl.float16, torch.bfloat16: tl.bfloat16}[dtype]
    if interpreted and dtype == torch.bfloat16:
        mma_dtype = tl.float32  # see geo_attention_kernels: the interpreter's bf16 dot is wrong
    constants = dict(D=head_dim, DV=value_dim, BLOCK_D=max(16, _next_power_of_2(head_dim)),
                     BLOCK_DV=max(16, _next_power_of_2(value_dim)), MMA_DTYPE=mma_dtype,
                     PRECISION=dot_precision(dtype, allow_tf32))
    forward = forward_config(dtype, head_dim, value_dim, batch_heads * num_queries, interpreted)
    backward = backward_config(dtype, head_dim, value_dim, interpreted)
    device_index = None if interpreted else (device.index if device.index is not None else
                                             torch.cuda.current_device())
    flags = (False, True)
    forward_kwargs = {(gather, residual, lse): dict(
        constants, GATHER=gather, HAS_RESIDUAL=residual, STORE_LSE=lse, BLOCK_M=forward.block_m,
        BLOCK_N=forward.block_n, num_warps=forward.num_warps, num_stages=forward.num_stages)
        for gather in flags for residual in flags for lse in flags}
    backward_kwargs = {gather: dict(constants, GATHER=gather, BLOCK_M=backward.block_m, BLOCK_N=backward.block_n,
                                    num_warps=backward.num_warps, num_stages=backward.num_stages)
                       for gather in flags}
    delta_kwargs = dict(DV=value_dim, BLOCK_DV=constants['BLOCK_DV'], BLOCK_M=backward.block_m,
                        num_warps=backward.num_warps)
    return LaunchPlan(kernels, constants, forward, backward, (_cdiv(num_queries, forward.block_m), batch_heads),
                      device_index, forward_kwargs, backward_kwargs, delta_kwargs)


def plan_for(q: torch.Tensor, batch_heads: int, num_queries: int, head_dim: int, value_dim: int) -> LaunchPlan:
    """:func:`launch_plan` of a call whose queries are ``q``."""
    return launch_plan(q.device, q.dtype, batch_heads, num_queries, head_dim, value_dim, tf32_allowed())


def _on_device(plan: LaunchPlan):
    """Launch on the tensors' GPU: a no-op when it is already the current one (the usual case)."""
    if plan.device_index is None or plan.device_index == torch.cuda.current_device():
        return contextlib.nullcontext()
    return torch.cuda.device(plan.device_index)


def last_dim_contiguous(t: torch.Tensor) -> torch.Tensor:
    """``t``, or a contiguous copy when its last dim is strided (the kernels read it as contiguous)."""
    return t if t.stride(-1) == 1 else t.contiguous()


def _strides(t: torch.Tensor) -> Tuple[int, ...]:
    """(batch, head, row) strides of a (B, H, N, D) tensor."""
    return t.stride()[:3]


def heads_last_empty(batch: int, heads: int, rows: int, dim: int, like: torch.Tensor,
                     dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """An uninitialised (B, H, N, D) tensor stored as (B, N, H, D), so merging the heads back into
    channels (``t.transpose(1, 2).reshape(B, N, H * D)``) is free; never overlapping."""
    return torch.empty(batch, rows, heads, dim, device=like.device,
                       dtype=like.dtype if dtype is None else dtype).transpose(1, 2)


def launch_forward(plan: LaunchPlan, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
                   num_keys: int, scale: float, index: Optional[torch.Tensor] = None,
                   residual: Optional[torch.Tensor] = None, store_lse: bool = True) -> Optional[torch.Tensor]:
    """O = softmax(q k^T * scale) v (+ residual), written into ``o``; returns the softmax
    statistics LSE (B, H, Nq, 2) fp32 (per query: the max scaled score and log2 of the softmax
    denominator) when ``store_lse``, else None.

    q (B, H, Nq, D); k (B, H, *, D) and v (B, H, *, Dv) hold the keys as rows 0..Nk-1, or with
    ``index`` (Nk,) as rows ``index[j]``; o and residual (B, H, Nq, Dv). Unchecked: last dims
    contiguous, sizes consistent, Nq >= 1, Nk >= 1.
    """
    batch, heads, num_queries = q.shape[:3]
    lse = torch.empty(batch, heads, num_queries, 2, device=q.device, dtype=torch.float32) if store_lse else None
    kwargs = plan.forward_kwargs[index is not None, residual is not None, store_lse]
    with _on_device(plan):
        plan.kernels.geo_attention_fwd_kernel[plan.forward_grid](
            q, k, v, o, o if lse is None else lse, q if index is None else index, o if residual is None else residual,
            *_strides(q), *_strides(k), *_strides(v), *_strides(o), *_strides(o if residual is None else residual),
            heads, num_queries, num_keys, scale, **kwargs)
    return lse


def launch_backward(plan: LaunchPlan, do: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    o: torch.Tensor, lse: torch.Tensor, dq: torch.Tensor, dk: torch.Tensor, dv: torch.Tensor,
                    num_keys: int, scale: float, index: Optional[torch.Tensor] = None) -> None:
    """Write dQ into ``dq`` (shaped like q) and the per-key dK, dV into ``dk`` (B, H, Nk, D) and
    ``dv`` (B, H, Nk, Dv), for the output gradient ``do`` (B, H, Nq, Dv).

    ``q, k, v, index`` are what :func:`launch_forward` read, ``o`` (without the residual) and
    ``lse`` what it wrote. The gradient buffers must not overlap themselves (their own strides are
    used, whatever the inputs' strides: an input expanded over heads or batch has stride 0, and
    programs writing through it would overwrite each other). With ``index``, row j of dk/dv is
    key j's gradient; the caller adds duplicated slots up.
    """
    batch, heads, num_queries = q.shape[:3]
    config, kwargs = plan.backward, plan.backward_kwargs[index is not None]
    delta = torch.empty(batch, heads, num_queries, device=q.device, dtype=torch.float32)  # rowsum(dO * O)
    index = q if index is None else index
    row_grid = (_cdiv(num_queries, config.block_m), batch * heads)
    with _on_device(plan):
        plan.kernels.geo_attention_bwd_delta_kernel[row_grid](o, do, delta, *_strides(o), *_strides(do), heads,
                                                              num_queries, **plan.delta_kwargs)
        common = (*_strides(q), *_strides(k), *_strides(v), *_strides(do))
        plan.kernels.geo_attention_bwd_dkdv_kernel[(_cdiv(num_keys, config.block_n), batch * heads)](
            q, k, v, do, dk, dv, lse, delta, index, *common, *_strides(dk), *_strides(dv), heads, num_queries,
            num_keys, scale, **kwargs)
        plan.kernels.geo_attention_bwd_dq_kernel[row_grid](q, k, v, do, dq, lse, delta, index, *common, *_strides(dq),
                                                           heads, num_queries, num_keys, scale, **kwargs)
