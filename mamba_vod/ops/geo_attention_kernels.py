"""Triton kernels of GEO attention: O = softmax(Q K^T * scale) V, flash-attention style.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.
Q (B, H, Nq, D), K (B, H, Nk, D), V (B, H, Nk, Dv), O (B, H, Nq, Dv) are addressed through their
batch/head/row strides (the last dim must be contiguous); LSE and DELTA are contiguous (B*H, Nq) fp32.

Every program owns one block of rows of one (batch, head) pair: ``program_id(0)`` is the row block,
``program_id(1)`` is ``b * H + h``. The (Nq, Nk) score matrix is never stored: the forward keeps a
running max and sum per query (online softmax) and saves the log-sum-exp; the backward recomputes
the probabilities block by block from it. Softmax runs in base 2 (scores are scaled by
``qk_scale = scale * log2(e)``), so LSE is a base-2 log-sum-exp. Rows and keys beyond Nq/Nk and
head-dim lanes beyond D/Dv are masked, so any sizes work.

Tiles are cast to ``MMA_DTYPE`` when loaded: the input dtype (a no-op) except under the Triton 3.8
interpreter with bf16, which multiplies bf16 operands as raw 16-bit integers, so the host asks for
fp32 there. The kernels call no jitted helper of ``triton.language`` (``tl.zeros``, ``tl.max``,
``tl.sum`` are jitted): an interpreted kernel cannot call a helper that was decorated for the
compiler, which is what they are when ``triton`` was imported without ``TRITON_INTERPRET=1`` (see
:func:`mamba_vod.ops.geo_attention_triton.load_kernels`). Reductions therefore use ``tl.reduce``
with the standard combine functions, which the interpreter recognises and runs with numpy.
"""
import triton
import triton.language as tl

from .geo_attention_configs import backward_configs, forward_configs, prune_configs

_TUNING_KEY = ['Nq_bucket', 'Nk_bucket', 'D', 'DV']
_NOT_SPECIALIZED = ['Nq_bucket', 'Nk_bucket']
_MAX = tl.standard._elementwise_max
_SUM = tl.standard._sum_combine


@triton.autotune(configs=forward_configs(), key=_TUNING_KEY, prune_configs_by={'early_config_prune': prune_configs})
@triton.jit(do_not_specialize=_NOT_SPECIALIZED)
def geo_attention_fwd_kernel(Q, K, V, O, LSE,
                             stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
                             stride_vb, stride_vh, stride_vn, stride_ob, stride_oh, stride_om,
                             H, Nq, Nk, Nq_bucket, Nk_bucket, qk_scale,
                             D: tl.constexpr, DV: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr,
                             MMA_DTYPE: tl.constexpr, PRECISION: tl.constexpr,
                             BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """O rows [pid*BLOCK_M, +BLOCK_M) of one (b, h) and their base-2 LSE."""
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    q_ptrs = Q + b * stride_qb + h * stride_qh + rows[:, None] * stride_qm + offs_d[None, :]
    k_t_ptrs = K + b * stride_kb + h * stride_kh + offs_n[None, :] * stride_kn + offs_d[:, None]
    v_ptrs = V + b * stride_vb + h * stride_vh + offs_n[:, None] * stride_vn + offs_dv[None, :]
    q = tl.load(q_ptrs, mask=(rows[:, None] < Nq) & (offs_d[None, :] < D), other=0.0).to(MMA_DTYPE)

    m_i = tl.full([BLOCK_M], float('-inf'), tl.float32)  # running max of the scaled scores
    l_i = tl.full([BLOCK_M], 0.0, tl.float32)  # running sum of exp2(score - m_i)
    acc = tl.full([BLOCK_M, BLOCK_DV], 0.0, tl.float32)
    for start_n in range(0, Nk, BLOCK_N):
        keys = start_n + offs_n
        k_t = tl.load(k_t_ptrs + start_n * stride_kn, mask=(keys[None, :] < Nk) & (offs_d[:, None] < D),
                      other=0.0).to(MMA_DTYPE)  # (BLOCK_D, BLOCK_N)
        v = tl.load(v_ptrs + start_n * stride_vn, mask=(keys[:, None] < Nk) & (offs_dv[None, :] < DV),
                    other=0.0).to(MMA_DTYPE)  # (BLOCK_N, BLOCK_DV)
        s = tl.dot(q, k_t, input_precision=PRECISION) * qk_scale
        # every block holds key start_n < Nk, so each row's max below is finite
        s = tl.where(keys[None, :] < Nk, s, float('-inf'))
        m_new = tl.maximum(m_i, tl.reduce(s, 1, _MAX))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.reduce(p, 1, _SUM)
        acc = tl.dot(p.to(MMA_DTYPE), v, acc * alpha[:, None], input_precision=PRECISION)
        m_i = m_new

    out = acc / l_i[:, None]
    o_ptrs = O + b * stride_ob + h * stride_oh + rows[:, None] * stride_om + offs_dv[None, :]
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=(rows[:, None] < Nq) & (offs_dv[None, :] < DV))
    tl.store(LSE + bh * Nq + rows, m_i + tl.log2(l_i), mask=rows < Nq)


@triton.autotune(configs=backward_configs(), key=_TUNING_KEY, prune_configs_by={'early_config_prune': prune_configs})
@triton.jit(do_not_specialize=_NOT_SPECIALIZED)
def geo_attention_bwd_dkdv_kernel(Q, K, V, DO, DK, DV_OUT, LSE, DELTA,
                                  stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
                                  stride_vb, stride_vh, stride_vn, stride_dob, stride_doh, stride_dom,
                                  H, Nq, Nk, Nq_bucket, Nk_bucket, qk_scale, sm_scale,
                                  D: tl.constexpr, DV: tl.constexpr, BLOCK_D: tl.constexpr,
                                  BLOCK_DV: tl.constexpr, MMA_DTYPE: tl.constexpr, PRECISION: tl.constexpr,
                                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dK, dV of keys [pid*BLOCK_N, +BLOCK_N) of one (b, h), looping over every query block.

    DK and DV_OUT have K's and V's strides. With P^T the (keys, queries) probabilities:
    dV = P^T dO, dS^T = P^T * (V dO^T - delta), dK = sm_scale * dS^T Q.
    """
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    keys = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    k_offs = b * stride_kb + h * stride_kh + keys[:, None] * stride_kn + offs_d[None, :]
    v_offs = b * stride_vb + h * stride_vh + keys[:, None] * stride_vn + offs_dv[None, :]
    mask_k = (keys[:, None] < Nk) & (offs_d[None, :] < D)
    mask_v = (keys[:, None] < Nk) & (offs_dv[None, :] < DV)
    k = tl.load(K + k_offs, mask=mask_k, other=0.0).to(MMA_DTYPE)  # (BLOCK_N, BLOCK_D)
    v = tl.load(V + v_offs, mask=mask_v, other=0.0).to(MMA_DTYPE)  # (BLOCK_N, BLOCK_DV)
    q_t_ptrs = Q + b * stride_qb + h * stride_qh + offs_m[None, :] * stride_qm + offs_d[:, None]
    do_ptrs = DO + b * stride_dob + h * stride_doh + offs_m[:, None] * stride_dom + offs_dv[None, :]

    dk = tl.full([BLOCK_N, BLOCK_D], 0.0, tl.float32)
    dv = tl.full([BLOCK_N, BLOCK_DV], 0.0, tl.float32)
    for start_m in range(0, Nq, BLOCK_M):
        rows = start_m + offs_m
        q_t = tl.load(q_t_ptrs + start_m * stride_qm, mask=(rows[None, :] < Nq) & (offs_d[:, None] < D),
                      other=0.0).to(MMA_DTYPE)  # (BLOCK_D, BLOCK_M)
        do = tl.load(do_ptrs + start_m * stride_dom, mask=(rows[:, None] < Nq) & (offs_dv[None, :] < DV),
                     other=0.0).to(MMA_DTYPE)  # (BLOCK_M, BLOCK_DV)
        lse = tl.load(LSE + bh * Nq + rows, mask=rows < Nq, other=0.0)
        delta = tl.load(DELTA + bh * Nq + rows, mask=rows < Nq, other=0.0)
        s_t = tl.dot(k, q_t, input_precision=PRECISION) * qk_scale  # (BLOCK_N, BLOCK_M)
        p_t = tl.where((keys[:, None] < Nk) & (rows[None, :] < Nq), tl.exp2(s_t - lse[None, :]), 0.0)
        dv = tl.dot(p_t.to(MMA_DTYPE), do, dv, input_precision=PRECISION)
        dp_t = tl.dot(v, tl.trans(do), input_precision=PRECISION)
        ds_t = p_t * (dp_t - delta[None, :])
        dk = tl.dot(ds_t.to(MMA_DTYPE), tl.trans(q_t), dk, input_precision=PRECISION)

    tl.store(DK + k_offs, (dk * sm_scale).to(DK.dtype.element_ty), mask=mask_k)
    tl.store(DV_OUT + v_offs, dv.to(DV_OUT.dtype.element_ty), mask=mask_v)


@triton.autotune(configs=backward_configs(), key=_TUNING_KEY, prune_configs_by={'early_config_prune': prune_configs})
@triton.jit(do_not_specialize=_NOT_SPECIALIZED)
def geo_attention_bwd_dq_kernel(Q, K, V, DO, DQ, LSE, DELTA,
                                stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
                                stride_vb, stride_vh, stride_vn, stride_dob, stride_doh, stride_dom,
                                H, Nq, Nk, Nq_bucket, Nk_bucket, qk_scale, sm_scale,
                                D: tl.constexpr, DV: tl.constexpr, BLOCK_D: tl.constexpr,
                                BLOCK_DV: tl.constexpr, MMA_DTYPE: tl.constexpr, PRECISION: tl.constexpr,
                                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dQ of query rows [pid*BLOCK_M, +BLOCK_M) of one (b, h), looping over every key block.

    DQ has Q's strides. dS = P * (dO V^T - delta), dQ = sm_scale * dS K.
    """
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    q_offs = b * stride_qb + h * stride_qh + rows[:, None] * stride_qm + offs_d[None, :]
    mask_q = (rows[:, None] < Nq) & (offs_d[None, :] < D)
    do_ptrs = DO + b * stride_dob + h * stride_doh + rows[:, None] * stride_dom + offs_dv[None, :]
    q = tl.load(Q + q_offs, mask=mask_q, other=0.0).to(MMA_DTYPE)  # (BLOCK_M, BLOCK_D)
    do = tl.load(do_ptrs, mask=(rows[:, None] < Nq) & (offs_dv[None, :] < DV), other=0.0).to(MMA_DTYPE)
    lse = tl.load(LSE + bh * Nq + rows, mask=rows < Nq, other=0.0)
    delta = tl.load(DELTA + bh * Nq + rows, mask=rows < Nq, other=0.0)
    k_t_ptrs = K + b * stride_kb + h * stride_kh + offs_n[None, :] * stride_kn + offs_d[:, None]
    v_t_ptrs = V + b * stride_vb + h * stride_vh + offs_n[None, :] * stride_vn + offs_dv[:, None]

    dq = tl.full([BLOCK_M, BLOCK_D], 0.0, tl.float32)
    for start_n in range(0, Nk, BLOCK_N):
        keys = start_n + offs_n
        k_t = tl.load(k_t_ptrs + start_n * stride_kn, mask=(keys[None, :] < Nk) & (offs_d[:, None] < D),
                      other=0.0).to(MMA_DTYPE)  # (BLOCK_D, BLOCK_N)
        v_t = tl.load(v_t_ptrs + start_n * stride_vn, mask=(keys[None, :] < Nk) & (offs_dv[:, None] < DV),
                      other=0.0).to(MMA_DTYPE)  # (BLOCK_DV, BLOCK_N)
        s = tl.dot(q, k_t, input_precision=PRECISION) * qk_scale
        p = tl.where((rows[:, None] < Nq) & (keys[None, :] < Nk), tl.exp2(s - lse[:, None]), 0.0)
        dp = tl.dot(do, v_t, input_precision=PRECISION)
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(MMA_DTYPE), tl.trans(k_t), dq, input_precision=PRECISION)

    tl.store(DQ + q_offs, (dq * sm_scale).to(DQ.dtype.element_ty), mask=mask_q)
