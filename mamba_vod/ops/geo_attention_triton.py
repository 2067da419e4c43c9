"""Host side of the Triton GEO attention: kernel loading, checked launches and the autograd Function.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.

Layers (kernel -> host wrapper -> autograd Function -> public function):
:mod:`.geo_attention_kernels` holds the jitted kernels; :func:`attention_forward` and
:func:`attention_backward` check their inputs and launch them; :class:`GeoAttentionFunction` ties
the two together for autograd; :func:`geo_attention_triton` is what ``geo_attention(...,
backend='triton')`` calls.

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
import math
import os
import threading
from types import ModuleType
from typing import Optional, Tuple

import torch

from .attention_inputs import AttentionShape, check_attention_inputs, resolve_scale

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


def _is_interpreted(kernel) -> bool:
    from triton.runtime.interpreter import InterpretedFunction
    return isinstance(kernel.fn, InterpretedFunction)


def _check_launchable(shape: AttentionShape, q: torch.Tensor) -> None:
    if q.dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"geo_attention backend='triton' supports {SUPPORTED_DTYPES}, got {q.dtype}")
    if q.device.type not in ('cuda', 'cpu'):
        raise ValueError(f"geo_attention backend='triton' runs on CUDA (or on CPU through the Triton "
                         f"interpreter), got device {q.device}")
    if max(shape.head_dim, shape.value_dim) > MAX_HEAD_DIM:
        raise ValueError(f"geo_attention backend='triton' supports head dims up to {MAX_HEAD_DIM}, got "
                         f"D={shape.head_dim}, Dv={shape.value_dim}; use backend='torch'")


def _last_dim_contiguous(t: torch.Tensor) -> torch.Tensor:
    return t if t.stride(-1) == 1 else t.contiguous()


def _next_power_of_2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _launch_constants(shape: AttentionShape, dtype: torch.dtype, interpreted: bool) -> dict:
    """Constexpr arguments shared by the three kernels (see :mod:`.geo_attention_kernels`)."""
    import triton.language as tl
    mma_dtype = {torch.float32: tl.float32, torch.float16: tl.float16, torch.bfloat16: tl.bfloat16}[dtype]
    if interpreted and dtype == torch.bfloat16:
        mma_dtype = tl.float32
    # fp32 follows PyTorch's matmul policy: tf32 tensor cores only where PyTorch allows them
    tf32 = dtype == torch.float32 and torch.backends.cuda.matmul.allow_tf32 and not interpreted
    return dict(D=shape.head_dim, DV=shape.value_dim,
                BLOCK_D=max(16, _next_power_of_2(shape.head_dim)),
                BLOCK_DV=max(16, _next_power_of_2(shape.value_dim)),
                MMA_DTYPE=mma_dtype, PRECISION='tf32' if tf32 else 'ieee')


def _strides(t: torch.Tensor) -> Tuple[int, int, int]:
    """(batch, head, row) strides of a (B, H, N, D) tensor."""
    return t.stride(0), t.stride(1), t.stride(2)


def attention_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                      scale: Optional[float] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Launch the forward kernel; returns O (B, H, Nq, Dv) and the base-2 LSE (B, H, Nq) in fp32.

    O is stored as (B, Nq, H, Dv) memory viewed as (B, H, Nq, Dv), so merging the heads back into
    channels (``o.transpose(1, 2).reshape(B, Nq, H * Dv)``) is free.
    """
    shape = check_attention_inputs(q, k, v)
    scale = resolve_scale(scale, shape.head_dim)
    q, k, v = (_last_dim_contiguous(t) for t in (q, k, v))
    _check_launchable(shape, q)
    batch, heads, nq, nk = shape.batch, shape.heads, shape.num_queries, shape.num_keys
    o = q.new_empty(batch, nq, heads, shape.value_dim).transpose(1, 2)
    lse = torch.empty(batch, heads, nq, device=q.device, dtype=torch.float32)
    if nq == 0:
        return o, lse
    kernels = load_kernels(interpreted=q.device.type == 'cpu')
    kernel = kernels.geo_attention_fwd_kernel
    constants = _launch_constants(shape, q.dtype, _is_interpreted(kernel))
    grid = lambda meta: (_cdiv(nq, meta['BLOCK_M']), batch * heads)  # noqa: E731
    with _device_guard(q):
        kernel[grid](q, k, v, o, lse, *_strides(q), *_strides(k), *_strides(v), *_strides(o),
                     heads, nq, nk, _next_power_of_2(nq), _next_power_of_2(nk),
                     scale * math.log2(math.e), **constants)
    return o, lse


def attention_backward(do: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
                       lse: torch.Tensor, scale: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Launch the backward kernels for the output gradient dO (B, H, Nq, Dv); returns dQ, dK, dV.

    ``q, k, v, o, lse`` are what :func:`attention_forward` received and returned.
    """
    shape = check_attention_inputs(q, k, v)
    do = _last_dim_contiguous(do.to(o.dtype))
    _check_launchable(shape, q)
    batch, heads, nq, nk = shape.batch, shape.heads, shape.num_queries, shape.num_keys
    dq = torch.empty_strided(q.shape, q.stride(), dtype=q.dtype, device=q.device)
    dk = torch.empty_strided(k.shape, k.stride(), dtype=k.dtype, device=k.device)
    dv = torch.empty_strided(v.shape, v.stride(), dtype=v.dtype, device=v.device)
    if nq == 0:
        return dq, dk.zero_(), dv.zero_()
    delta = (do.float() * o.float()).sum(-1).contiguous()  # (B, H, Nq): rowsum(dO * O)
    kernels = load_kernels(interpreted=q.device.type == 'cpu')
    constants = _launch_constants(shape, q.dtype, _is_interpreted(kernels.geo_attention_bwd_dq_kernel))
    common = (*_strides(q), *_strides(k), *_strides(v), *_strides(do), heads, nq, nk,
              _next_power_of_2(nq), _next_power_of_2(nk), scale * math.log2(math.e), scale)
    grid_k = lambda meta: (_cdiv(nk, meta['BLOCK_N']), batch * heads)  # noqa: E731
    grid_q = lambda meta: (_cdiv(nq, meta['BLOCK_M']), batch * heads)  # noqa: E731
    with _device_guard(q):
        kernels.geo_attention_bwd_dkdv_kernel[grid_k](q, k, v, do, dk, dv, lse, delta, *common, **constants)
        kernels.geo_attention_bwd_dq_kernel[grid_q](q, k, v, do, dq, lse, delta, *common, **constants)
    return dq, dk, dv


def _device_guard(t: torch.Tensor):
    return torch.cuda.device(t.device) if t.device.type == 'cuda' else contextlib.nullcontext()


class GeoAttentionFunction(torch.autograd.Function):
    """Autograd wrapper: forward saves Q, K, V, O and the LSE; backward recomputes probabilities."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> torch.Tensor:
        o, lse = attention_forward(q, k, v, scale)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.scale = scale
        return o

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, do: torch.Tensor):
        q, k, v, o, lse = ctx.saved_tensors
        dq, dk, dv = attention_backward(do, q, k, v, o, lse, ctx.scale)
        return dq, dk, dv, None


def geo_attention_triton(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                         scale: Optional[float] = None) -> torch.Tensor:
    """softmax(q k^T * scale) v with the Triton kernels: q (B, H, Nq, D), k (B, H, Nk, D),
    v (B, H, Nk, Dv) -> (B, H, Nq, Dv), differentiable in q, k, v."""
    shape = check_attention_inputs(q, k, v)
    return GeoAttentionFunction.apply(q, k, v, resolve_scale(scale, shape.head_dim))
