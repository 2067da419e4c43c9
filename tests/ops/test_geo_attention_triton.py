"""Tests of the Triton GEO attention kernels (:mod:`mamba_vod.ops.geo_attention_triton`).

How the kernels run here without a GPU: Triton decides when a kernel is *decorated* whether it is
compiled or interpreted (``TRITON_INTERPRET=1``), and ``triton`` is already imported by the time
this module is collected (``tests/conftest.py`` imports mamba_vod, whose dependencies import it),
so setting the variable in this module would be too late and order-dependent. Instead
:func:`~mamba_vod.ops.geo_attention_triton.load_kernels` gives CPU tensors a second copy of the
kernel module decorated with ``TRITON_INTERPRET=1`` set only while that copy loads: the tests
below call ``geo_attention(..., backend='triton')`` on CPU tensors and run the very kernels that
run on CUDA, through the interpreter, whatever ran before them. On a machine with CUDA the tests
at the end also run the compiled kernels. Sizes are small and odd (the interpreter runs 32x32
blocks, so 17, 33, 97, 130 leave partial blocks) to keep the module to seconds.
"""
import pytest
import torch

from mamba_vod.ops import geo_attention
from mamba_vod.ops.geo_attention_triton import load_kernels

pytest.importorskip('triton')

DTYPES = [torch.float32, torch.float16, torch.bfloat16]
# (B, H, Nq, Nk, D, Dv)
SHAPES = [
    (2, 1, 17, 1, 32, 32),  # a single key; one partial query block
    (1, 1, 97, 33, 64, 64),  # partial blocks in queries and keys
    (1, 1, 33, 130, 32, 64),  # Dv != D, five key blocks
]


def _triton(q, k, v, scale):
    return geo_attention(q, k, v, scale=scale, backend='triton')


@pytest.mark.parametrize('dtype', DTYPES, ids=str)
@pytest.mark.parametrize('shape', SHAPES, ids=str)
def test_interpreted_kernels_match_reference(shape, dtype, make_qkv, assert_matches_reference):
    q, k, v, grad_out = make_qkv(*shape, dtype=dtype)
    assert_matches_reference(_triton, q, k, v, grad_out)


def test_cpu_tensors_use_interpreted_kernels():
    from triton.runtime.interpreter import InterpretedFunction
    kernels = load_kernels(interpreted=True)
    for name in ('geo_attention_fwd_kernel', 'geo_attention_bwd_dkdv_kernel', 'geo_attention_bwd_dq_kernel'):
        assert isinstance(getattr(kernels, name).fn, InterpretedFunction), name


def test_strided_inputs_odd_head_dims_and_scale(make_qkv, assert_matches_reference):
    # q, k, v as (B, N, H, D) memory seen as (B, H, N, D), the layout GEO passes; D=24 and
    # Dv=40 leave masked lanes in the 32- and 64-wide head-dim tiles
    q, k, v, grad_out = make_qkv(1, 2, 19, 21, 24, 40)
    q, k, v = (t.transpose(1, 2).contiguous().transpose(1, 2) for t in (q, k, v))
    assert not q.is_contiguous()
    assert_matches_reference(_triton, q, k, v, grad_out, scale=0.3)


def test_output_layout_merges_heads_for_free(make_qkv):
    q, k, v, _ = make_qkv(1, 2, 5, 3, 32, 32)
    out = geo_attention(q, k, v, backend='triton')
    assert out.shape == (1, 2, 5, 32) and out.transpose(1, 2).is_contiguous()


@pytest.mark.parametrize('dtype, head_dim', [(torch.float64, 32), (torch.float32, 512)])
def test_rejects_unsupported_inputs(dtype, head_dim, make_qkv):
    q, k, v, _ = make_qkv(1, 1, 3, 3, head_dim, 32, dtype=dtype)
    with pytest.raises(ValueError, match="backend='triton'"):
        geo_attention(q, k, v, backend='triton')


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='compiled Triton kernels need CUDA')


@needs_cuda
@pytest.mark.parametrize('dtype', DTYPES, ids=str)
def test_compiled_kernels_match_reference_at_mamba_size(dtype, make_qkv, assert_matches_reference):
    # instance-level GEO: 300 proposals, 2000 memory keys, 16 heads of 1024/16
    q, k, v, grad_out = make_qkv(1, 16, 300, 2000, 64, 64, dtype=dtype, device='cuda')
    assert_matches_reference(_triton, q, k, v, grad_out)


@needs_cuda
def test_compiled_kernels_odd_sizes(make_qkv, assert_matches_reference):
    q, k, v, grad_out = make_qkv(2, 3, 97, 1, 32, 32, dtype=torch.float16, device='cuda')
    assert_matches_reference(_triton, q, k, v, grad_out)
