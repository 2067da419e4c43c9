"""Tests of the Triton GEO attention kernels (:mod:`mamba_vod.ops.geo_attention_triton`).

How the kernels run here without a GPU: Triton decides when a kernel is *decorated* whether it is
compiled or interpreted (``TRITON_INTERPRET=1``), and ``triton`` is already imported by the time
this module is collected (``tests/conftest.py`` imports mamba_vod, whose dependencies import it),
so setting the variable in this module would be too late and order-dependent. Instead
:func:`~mamba_vod.ops.geo_attention_launch.load_kernels` gives CPU tensors a second copy of the
kernel module decorated with ``TRITON_INTERPRET=1`` set only while that copy loads: the tests
below call ``geo_attention(..., backend='triton')`` on CPU tensors and run the very kernels that
run on CUDA, through the interpreter, whatever ran before them. On a machine with CUDA the tests
at the end also run the compiled kernels. Sizes are small and odd (the interpreter runs 32x32
blocks, so 17, 33, 97, 130 leave partial blocks) to keep the module to seconds.

Layouts: inputs expanded over heads or batch (zero strides) are expanded *inside* the function
under test (``prepare``), and the gradients compared are those of the unexpanded leaves.
"""
import types

import pytest
import torch

import mamba_vod.ops.geo_attention_launch as launch
from mamba_vod.ops import geo_attention, geo_attention_reference
from mamba_vod.ops.geo_attention_configs import tf32_allowed
from mamba_vod.ops.geo_attention_launch import launch_plan, load_kernels

pytest.importorskip('triton')

DTYPES = [torch.float32, torch.float16, torch.bfloat16]
# (B, H, Nq, Nk, D, Dv)
SHAPES = [
    (2, 1, 17, 1, 32, 32),  # a single key; one partial query block
    (1, 1, 97, 33, 64, 64),  # partial blocks in queries and keys
    (1, 1, 33, 130, 32, 64),  # Dv != D, five key blocks
    (3, 2, 19, 40, 16, 16),  # B > 1 with several key blocks: each (b, h) program reads its own rows
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
    for name in ('geo_attention_fwd_kernel', 'geo_attention_bwd_delta_kernel', 'geo_attention_bwd_dkdv_kernel',
                 'geo_attention_bwd_dq_kernel'):
        assert isinstance(getattr(kernels, name), InterpretedFunction), name


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16], ids=str)
def test_keys_and_values_expanded_over_heads(dtype, make_qkv, assert_matches_reference):
    # one set of keys shared by 3 heads: k and v have head stride 0 inside the function; before
    # the fix the programs of the 3 heads overwrote each other's dk/dv (off by ~2)
    q, _, _, grad_out = make_qkv(1, 3, 17, 33, 32, 32, dtype=dtype)
    _, k, v, _ = make_qkv(1, 1, 17, 33, 32, 32, dtype=dtype)
    assert_matches_reference(_triton, q, k, v, grad_out,
                             prepare=lambda q, k, v: (q, k.expand(1, 3, 33, 32), v.expand(1, 3, 33, 32)))


def test_queries_expanded_over_batch(make_qkv, assert_matches_reference):
    # the same queries for a batch of 2 key sets: q has batch stride 0 (dq was off by ~1)
    q, _, _, _ = make_qkv(1, 2, 21, 97, 16, 16)
    _, k, v, grad_out = make_qkv(2, 2, 21, 97, 16, 16)  # B > 1 with many keys (4 key blocks)
    assert_matches_reference(_triton, q, k, v, grad_out, prepare=lambda q, k, v: (q.expand(2, -1, -1, -1), k, v))


def test_every_input_expanded(make_qkv, assert_matches_reference):
    # q over batch and heads, k over heads, v over batch: each of the 6 (b, h) pairs attends
    # with its own (k, v) pair, and every input's programs share their memory with others
    q = make_qkv(1, 1, 9, 35, 16, 24)[0]
    k = make_qkv(2, 1, 9, 35, 16, 24)[1]
    _, _, v, grad_out = make_qkv(1, 3, 9, 35, 16, 24)
    grad_out = grad_out.expand(2, 3, -1, -1)
    assert_matches_reference(_triton, q, k, v, grad_out, prepare=lambda q, k, v: (
        q.expand(2, 3, -1, -1), k.expand(-1, 3, -1, -1), v.expand(2, -1, -1, -1)))


def test_strided_inputs_odd_head_dims_and_scale(make_qkv, assert_matches_reference):
    # q, k, v as (B, N, H, D) memory seen as (B, H, N, D), the layout GEO passes; D=24 and
    # Dv=40 leave masked lanes in the 32- and 64-wide head-dim tiles
    q, k, v, grad_out = make_qkv(1, 2, 19, 21, 24, 40)
    q, k, v = (t.transpose(1, 2).contiguous().transpose(1, 2) for t in (q, k, v))
    assert not q.is_contiguous()
    assert_matches_reference(_triton, q, k, v, grad_out, scale=0.3)


def test_many_keys_odd_sizes(make_qkv, assert_matches_reference):
    # 33 queries (2 row blocks, the last holding one), 1025 keys (33 key blocks, the last holding one)
    q, k, v, grad_out = make_qkv(1, 1, 33, 1025, 16, 16)
    assert_matches_reference(_triton, q, k, v, grad_out)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16], ids=str)
def test_large_logits_stay_finite_and_accurate(dtype, make_qkv, assert_matches_reference):
    # scores of a few hundred: exp without the running max would overflow
    q, k, v, grad_out = make_qkv(1, 2, 33, 47, 32, 32, dtype=dtype)
    assert_matches_reference(_triton, q * 8, k * 8, v, grad_out, scale=1.0)


def test_no_queries(make_qkv, assert_matches_reference):
    q, k, v, grad_out = make_qkv(2, 2, 0, 9, 16, 16)
    assert_matches_reference(_triton, q, k, v, grad_out)
    k_leaf = k.clone().requires_grad_()
    geo_attention(q, k_leaf, v, backend='triton').sum().backward()
    assert torch.equal(k_leaf.grad, torch.zeros_like(k))


@pytest.fixture
def tf32_allowed_by_pytorch(monkeypatch):
    """PyTorch's fp32 matmuls allowed TF32 for the test, through a stand-in for
    ``torch.backends.cuda.matmul`` (the real setting cannot be restored cleanly once set)."""
    monkeypatch.setattr(torch.backends.cuda, 'matmul', types.SimpleNamespace(fp32_precision='tf32'))


def test_fp32_dots_are_tf32x3_unless_pytorch_allows_tf32(make_qkv):
    q = make_qkv(1, 2, 17, 40, 16, 16)[0]
    assert launch.plan_for(q, 2, 17, 16, 16).constants['PRECISION'] == 'tf32x3'
    assert launch.plan_for(q.half(), 2, 17, 16, 16).constants['PRECISION'] == 'ieee'  # 16-bit: no choice


def test_tf32_path(tf32_allowed_by_pytorch, make_qkv, assert_matches_reference):
    # where PyTorch allows TF32 the fp32 kernels run one-pass TF32 dots (the interpreter still
    # multiplies in fp32, so the values match as in fp32)
    q, k, v, grad_out = make_qkv(1, 2, 17, 40, 16, 16)
    assert launch.plan_for(q, 2, 17, 16, 16).constants['PRECISION'] == 'tf32'
    assert_matches_reference(_triton, q, k, v, grad_out)


def test_growing_key_set_keeps_one_launch_plan(make_qkv):
    # the blocks do not depend on Nk, so a key set growing frame by frame never re-plans
    # (nor re-tunes: there is no autotuner)
    q, _, _, _ = make_qkv(1, 2, 11, 1, 16, 16)
    launch_plan.cache_clear()
    for num_keys in (3, 40, 75, 150):
        k = torch.randn(1, 2, num_keys, 16)
        geo_attention(q, k, k, backend='triton')
    info = launch_plan.cache_info()
    assert (info.misses, info.hits) == (1, 3)


def test_without_autograd_no_lse_is_stored(monkeypatch, make_qkv):
    calls = []
    original = launch.launch_forward

    def spy(*args, **kwargs):
        calls.append(kwargs['store_lse'])
        return original(*args, **kwargs)

    monkeypatch.setattr('mamba_vod.ops.geo_attention_triton.launch_forward', spy)
    q, k, v, _ = make_qkv(1, 2, 5, 7, 16, 16)
    with torch.no_grad():
        plain = geo_attention(q.requires_grad_(), k, v, backend='triton')
    tracked = geo_attention(q, k, v, backend='triton')
    assert calls == [False, True] and torch.equal(plain, tracked.detach())


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
def test_compiled_fp32_on_tensor_cores_is_as_accurate_as_sdpa(make_qkv, float64_check):
    # fp32 runs tf32x3 dots (tensor cores); its error vs float64 must stay within the tests' rule
    # against PyTorch's fp32 SDPA (TF32 off, PyTorch's default)
    q, k, v, grad_out = make_qkv(1, 16, 300, 2000, 64, 64, device='cuda')
    assert not tf32_allowed()
    assert launch.plan_for(q, 16, 300, 64, 64).constants['PRECISION'] == 'tf32x3'
    float64_check(lambda *t: _triton(*t, None), lambda *t: geo_attention_reference(*t), (q, k, v), grad_out,
                  ('dq', 'dk', 'dv'), baseline=lambda *t: geo_attention(*t, backend='torch'))


@needs_cuda
def test_compiled_kernels_odd_sizes_and_expanded_keys(make_qkv, assert_matches_reference):
    q, k, v, grad_out = make_qkv(2, 3, 97, 1, 32, 32, dtype=torch.float16, device='cuda')
    assert_matches_reference(_triton, q, k, v, grad_out)
    q, _, _, grad_out = make_qkv(2, 3, 97, 1025, 32, 32, dtype=torch.float16, device='cuda')
    _, k, v, _ = make_qkv(1, 1, 97, 1025, 32, 32, dtype=torch.float16, device='cuda')
    assert_matches_reference(_triton, q, k, v, grad_out,
                             prepare=lambda q, k, v: (q, k.expand(2, 3, -1, -1), v.expand(2, 3, -1, -1)))
