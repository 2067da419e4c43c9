"""Tests of :func:`mamba_vod.ops.geo_attention_gather`: the fused Triton gather (through the
interpreter on CPU, see test_geo_attention_triton.py) against the unfused path (``index_select``
+ SDPA + add) and the float64 reference, values and gradients; the PyTorch paths; input checks.

Shape shorthand: Nq queries, M slots, Nk keys (slots of the key set), H heads, D, Dv head dims.
"""
import pytest
import torch

import mamba_vod.ops.geo_attention_gather_triton as gather_host
from mamba_vod.ops import geo_attention, geo_attention_gather, resolve_gather_backend

pytest.importorskip('triton')

DTYPES = [torch.float32, torch.float16, torch.bfloat16]


def make_rows(num_queries, num_slots, num_keys, heads, head_dim, value_dim, dtype=torch.float32, device='cpu',
              seed=0):
    """q (Nq, H*D), k_rows (M, H*D), v_rows (M, H*Dv), residual (Nq, H*Dv), grad_out (Nq, H*Dv) and
    an index (Nk,) that repeats some slots and skips others."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(num_queries, heads * head_dim), (num_slots, heads * head_dim), (num_slots, heads * value_dim),
              (num_queries, heads * value_dim), (num_queries, heads * value_dim)]
    tensors = [torch.randn(s, generator=gen).to(device=device, dtype=dtype) for s in shapes]
    index = torch.randint(0, num_slots, (num_keys, ), generator=gen).to(device)
    if num_keys > 2:
        index[1] = index[0]  # at least one duplicate
    return (*tensors, index)


def check_gather(float64_check, q, k_rows, v_rows, residual, grad_out, index, heads, scale=None, prepare=None):
    """Fused (backend 'triton') against float64 ('reference' in float64), with the unfused
    'torch' path in the inputs' dtype setting the allowed error; residual and no residual."""
    prepare = prepare or (lambda *t: t)

    def run(backend):
        return lambda q, k, v, r: geo_attention_gather(*prepare(q, k, v), index, num_heads=heads, scale=scale,
                                                       residual=r, backend=backend)

    float64_check(run('triton'), run('reference'), (q, k_rows, v_rows, residual), grad_out,
                  ('dq', 'dk_rows', 'dv_rows', 'dresidual'), baseline=run('torch'))
    no_residual = {name: (lambda q, k, v, fn=fn: fn(q, k, v, None)) for name, fn in
                   (('triton', run('triton')), ('reference', run('reference')), ('torch', run('torch')))}
    float64_check(no_residual['triton'], no_residual['reference'], (q, k_rows, v_rows), grad_out,
                  ('dq', 'dk_rows', 'dv_rows'), baseline=no_residual['torch'])


@pytest.mark.parametrize('dtype', DTYPES, ids=str)
def test_fused_gather_matches_unfused_path(dtype, float64_check):
    # 2 heads of D=16, Dv=24; 45 keys over 50 slots with duplicates; partial blocks everywhere
    *tensors, index = make_rows(37, 50, 45, 2, 16, 24, dtype=dtype)
    check_gather(float64_check, *tensors, index, heads=2)


def test_odd_sizes_many_duplicates_and_scale(float64_check):
    # 97 queries, 130 keys drawn from 20 slots (every slot read several times), D=8 and Dv=40
    # leave masked lanes in the 16- and 64-wide head-dim tiles
    *tensors, _ = make_rows(97, 20, 130, 3, 8, 40, seed=1)
    index = torch.arange(130) % 20
    check_gather(float64_check, *tensors, index, heads=3, scale=0.4)


def test_int32_index_and_strided_rows(float64_check):
    # slots given as int32; k_rows a column slice of a wider (M, 2C) tensor, q's rows all one
    # row (stride 0): read in place, gradients summed back by autograd
    q, k_rows, v_rows, residual, grad_out, index = make_rows(17, 40, 33, 2, 16, 16, seed=2)
    wide = torch.cat([k_rows, torch.randn_like(k_rows)], dim=1)
    check_gather(float64_check, q[:1], wide, v_rows, residual, grad_out, index.int(), heads=2,
                 prepare=lambda q, k, v: (q.expand(17, -1), k[:, :32], v))


def test_no_queries(float64_check):
    *tensors, index = make_rows(0, 12, 9, 2, 16, 16)
    check_gather(float64_check, *tensors, index, heads=2)
    k_rows = tensors[1].clone().requires_grad_()
    geo_attention_gather(tensors[0], k_rows, tensors[2], index, num_heads=2, backend='triton').sum().backward()
    assert torch.equal(k_rows.grad, torch.zeros_like(k_rows))


def test_unread_slots_get_zero_gradient_and_duplicates_add_up():
    q, k_rows, v_rows, _, _, _ = make_rows(5, 6, 1, 1, 16, 16, seed=3)
    index = torch.tensor([2, 2, 4])
    v_leaf = v_rows.clone().requires_grad_()
    out = geo_attention_gather(q, k_rows, v_leaf, index, num_heads=1, backend='triton')
    out.sum().backward()
    # dv of a slot = sum over its keys of their attention weights, summed over the queries
    weights = torch.softmax(q @ k_rows[index].T / 4, dim=1).sum(0)
    assert torch.allclose(v_leaf.grad[:, 0], torch.tensor([0, 0, weights[0] + weights[1], 0, weights[2], 0]),
                          atol=1e-5)


def test_heads_are_merged_in_head_order():
    # channel h*Dv + i of the output is lane i of head h: the same as geo_attention on the
    # (1, H, N, D) head views of the gathered rows
    q, k_rows, v_rows, _, _, index = make_rows(11, 30, 25, 4, 8, 12, seed=4)

    def heads(rows, dim):
        return rows.view(rows.shape[0], 4, dim).transpose(0, 1)[None]

    expected = geo_attention(heads(q, 8), heads(k_rows[index], 8), heads(v_rows[index], 12), backend='reference')
    expected = expected[0].transpose(0, 1).reshape(11, 48)
    for backend in ('triton', 'torch'):
        assert torch.allclose(geo_attention_gather(q, k_rows, v_rows, index, num_heads=4, backend=backend), expected,
                              atol=1e-5), backend


def test_inference_fuses_the_residual_into_the_kernel(monkeypatch):
    # without autograd the residual goes to the kernel (one launch, no LSE); with autograd it is
    # added after the Function; both give the same values
    calls = []
    original = gather_host.launch_forward

    def spy(*args, **kwargs):
        calls.append((kwargs['residual'] is not None, kwargs['store_lse']))
        return original(*args, **kwargs)

    monkeypatch.setattr(gather_host, 'launch_forward', spy)
    q, k_rows, v_rows, residual, _, index = make_rows(9, 20, 15, 2, 16, 16, seed=5)
    with torch.no_grad():
        fused = geo_attention_gather(q, k_rows, v_rows, index, num_heads=2, residual=residual, backend='triton')
    trained = geo_attention_gather(q.requires_grad_(), k_rows, v_rows, index, num_heads=2, residual=residual,
                                   backend='triton')
    assert calls == [(True, False), (False, True)]
    assert torch.allclose(fused, trained.detach(), atol=1e-6)


def test_auto_is_the_unfused_path_everywhere_today(monkeypatch):
    assert resolve_gather_backend('auto', torch.device('cpu')) == 'torch'
    assert resolve_gather_backend('auto', torch.device('cuda')) == 'torch'  # until a GPU measurement says
    assert resolve_gather_backend('triton', torch.device('cuda')) == 'triton'

    def fail(*args, **kwargs):
        raise AssertionError('the fused kernel ran for backend auto')

    monkeypatch.setattr(gather_host, 'geo_attention_gather_triton', fail)
    q, k_rows, v_rows, residual, _, index = make_rows(4, 10, 6, 2, 8, 8)
    assert torch.equal(geo_attention_gather(q, k_rows, v_rows, index, num_heads=2, residual=residual),
                       geo_attention_gather(q, k_rows, v_rows, index, num_heads=2, residual=residual,
                                            backend='torch'))


@pytest.mark.parametrize('change, message', [
    (dict(q=torch.randn(4, 2, 8)), '2-D'),
    (dict(k_rows=torch.randn(10, 12)), 'same channels'),
    (dict(v_rows=torch.randn(9, 16)), 'same slots'),
    (dict(num_heads=3), 'split'),
    (dict(num_heads=0), 'positive'),
    (dict(index=torch.zeros(0, dtype=torch.long)), 'no keys'),
    (dict(index=torch.zeros(3)), 'int64'),
    (dict(index=torch.zeros(2, 3, dtype=torch.long)), '1-D'),
    (dict(residual=torch.randn(4, 8)), 'residual must have shape'),
    (dict(v_rows=torch.randn(10, 16, dtype=torch.float64)), 'dtype'),
])
@pytest.mark.parametrize('backend', ['triton', 'torch', 'reference'])
def test_rejects_bad_inputs(change, message, backend):
    q, k_rows, v_rows, residual, _, index = make_rows(4, 10, 6, 2, 8, 8)
    args = dict(q=q, k_rows=k_rows, v_rows=v_rows, index=index, num_heads=2, residual=residual)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        geo_attention_gather(**args, backend=backend)


def test_unfused_paths_reject_slots_out_of_range_and_bad_backend():
    q, k_rows, v_rows, _, _, _ = make_rows(4, 10, 6, 2, 8, 8)
    with pytest.raises(IndexError):
        geo_attention_gather(q, k_rows, v_rows, torch.tensor([3, 10]), num_heads=2, backend='torch')
    with pytest.raises(ValueError, match='backend must be one of'):
        geo_attention_gather(q, k_rows, v_rows, torch.tensor([3]), num_heads=2, backend='cuda')


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='compiled Triton kernels need CUDA')


@needs_cuda
@pytest.mark.parametrize('dtype', DTYPES, ids=str)
def test_compiled_gather_at_mamba_size(dtype, float64_check):
    # instance level: 300 proposals, a 2000-key set drawn from 20000 cached rows, 16 heads of 64
    *tensors, index = make_rows(300, 20000, 2000, 16, 64, 64, dtype=dtype, device='cuda')
    check_gather(float64_check, *tensors, index, heads=16)
