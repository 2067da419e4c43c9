"""Triton kernels of GEO attention: O = softmax(Q K^T * scale) V (+ R), flash-attention style.

Shape shorthand: B batch, H heads, Nq queries, Nk keys, D query/key head dim, Dv value head dim.
Q (B, H, Nq, D), K (B, H, *, D), V (B, H, *, Dv), O and R (B, H, Nq, Dv), and the gradients are
addressed through their own batch/head/row strides (the last dim must be contiguous; a stride may
be 0, e.g. keys shared by every head); DELTA is contiguous (B*H, Nq) fp32 and LSE contiguous
(B*H, Nq, 2) fp32: per query the max m of its scaled scores and log2 of its softmax denominator.

Key rows: with ``GATHER`` false, key j is row j of K and V (Nk rows). With ``GATHER`` true, key j
is row ``INDEX[j]`` (a slot of a memory bank's cached projections, duplicates allowed): the key
set is read in place, never copied. Gradients of keys are always written per key j (row j of DK,
DV_OUT), so duplicated slots never race; the host adds them up per slot.

Every program owns one block of rows of one (batch, head) pair: ``program_id(0)`` is the row
block, ``program_id(1)`` is ``b * H + h``. The (Nq, Nk) score matrix is never stored: the forward
keeps a running max m and sum l per query (online softmax) and saves (m, log2 l); the backward
recomputes the probabilities block by block from them. Probabilities are
``exp2((s - m) * log2(e))`` with s = scale * q.k: the large s and m are subtracted before any
rounding that scales with them, and the log-sum-exp is kept as two numbers rather than one, so
large logits (scores in the hundreds) cost no more accuracy than PyTorch's softmax, in the
backward too. Rows and keys beyond Nq/Nk and head-dim lanes beyond D/Dv are masked, so any sizes
work. Block sizes come from a fixed table
(:mod:`.geo_attention_configs`), not an autotuner; ``Nq`` and ``Nk`` are not specialised on, so a
growing key set reuses one compiled kernel.

Tiles are cast to ``MMA_DTYPE`` when loaded: the input dtype (a no-op) except under the Triton 3.8
interpreter with bf16, which multiplies bf16 operands as raw 16-bit integers, so the host asks for
fp32 there. The kernels call no jitted helper of ``triton.language`` (``tl.zeros``, ``tl.max``,
``tl.sum`` are jitted): an interpreted kernel cannot call a helper that was decorated for the
compiler, which is what they are when ``triton`` was imported without ``TRITON_INTERPRET=1`` (see
:func:`mamba_vod.ops.geo_attention_launch.load_kernels`). Reductions therefore use ``tl.reduce``
with the standard combine functions, which the interpreter recognises and runs with numpy. The
helper below is decorated with this module, so it is interpreted exactly when the kernels are.
"""
import triton
import triton.language as tl

_NOT_SPECIALIZED = ['Nq', 'Nk']
_LOG2E = tl.constexpr(1.4426950408889634)
_MAX = tl.standard._elementwise_max
_SUM = tl.standard._sum_combine


@triton.jit
def _key_slots(INDEX, keys, Nk, GATHER: tl.constexpr):
    """int64 rows of K/V holding keys ``keys`` (BLOCK_N,): the keys themselves, or INDEX[keys]."""
    if GATHER:
        slots = tl.load(INDEX + keys, mask=keys < Nk, other=0).to(tl.int64)
    else:
        slots = keys.to(tl.int64)
    return slots


@triton.jit(do_not_specialize=_NOT_SPECIALIZED)
def geo_attention_fwd_kernel(Q, K, V, O, LSE, INDEX, R,
                             stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
                             stride_vb, stride_vh, stride_vn, stride_ob, stride_oh, stride_om,
                             stride_rb, stride_rh, stride_rm, H, Nq, Nk, sm_scale,
                             D: tl.constexpr, DV: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr,
                             MMA_DTYPE: tl.constexpr, PRECISION: tl.constexpr, GATHER: tl.constexpr,
                             HAS_RESIDUAL: tl.constexpr, STORE_LSE: tl.constexpr,
                             BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """O rows [pid*BLOCK_M, +BLOCK_M) of one (b, h) (plus R's rows with HAS_RESIDUAL), and, with
    STORE_LSE, their softmax statistics (m, log2 l) (of the attention alone)."""
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    q_ptrs = Q + b * stride_qb + h * stride_qh + rows[:, None] * stride_qm + offs_d[None, :]
    q = tl.load(q_ptrs, mask=(rows[:, None] < Nq) & (offs_d[None, :] < D), other=0.0).to(MMA_DTYPE)
    k_base = K + b * stride_kb + h * stride_kh
    v_base = V + b * stride_vb + h * stride_vh

    m_i = tl.full([BLOCK_M], float('-inf'), tl.float32)  # running max of the scaled scores
    l_i = tl.full([BLOCK_M], 0.0, tl.float32)  # running sum of exp(score - m_i)
    acc = tl.full([BLOCK_M, BLOCK_DV], 0.0, tl.float32)
    for start_n in range(0, Nk, BLOCK_N):
        keys = start_n + offs_n
        slots = _key_slots(INDEX, keys, Nk, GATHER)
        k_t = tl.load(k_base + slots[None, :] * stride_kn + offs_d[:, None],
                      mask=(keys[None, :] < Nk) & (offs_d[:, None] < D), other=0.0).to(MMA_DTYPE)  # (BLOCK_D, BLOCK_N)
        v = tl.load(v_base + slots[:, None] * stride_vn + offs_dv[None, :],
                    mask=(keys[:, None] < Nk) & (offs_dv[None, :] < DV), other=0.0).to(MMA_DTYPE)  # (BLOCK_N, BLOCK_DV)
        s = tl.dot(q, k_t, input_precision=PRECISION) * sm_scale
        # every block holds key start_n < Nk, so each row's max below is finite
        s = tl.where(keys[None, :] < Nk, s, float('-inf'))
        m_new = tl.maximum(m_i, tl.reduce(s, 1, _MAX))
        alpha = tl.exp2((m_i - m_new) * _LOG2E)
        p = tl.exp2((s - m_new[:, None]) * _LOG2E)
        l_i = l_i * alpha + tl.reduce(p, 1, _SUM)
        acc = tl.dot(p.to(MMA_DTYPE), v, acc * alpha[:, None], input_precision=PRECISION)
        m_i = m_new

    out = acc / l_i[:, None]
    mask_o = (rows[:, None] < Nq) & (offs_dv[None, :] < DV)
    if HAS_RESIDUAL:  # the epilogue add, in fp32, before the one rounding to O's dtype
        r_ptrs = R + b * stride_rb + h * stride_rh + rows[:, None] * stride_rm + offs_dv[None, :]
        out += tl.load(r_ptrs, mask=mask_o, other=0.0).to(tl.float32)
    o_ptrs = O + b * stride_ob + h * stride_oh + rows[:, None] * stride_om + offs_dv[None, :]
    tl.store(o_ptrs, out.to(O.dtype.element_ty), mask=mask_o)
    if STORE_LSE:
        tl.store(LSE + (bh * Nq + rows) * 2, m_i, mask=rows < Nq)
        tl.store(LSE + (bh * Nq + rows) * 2 + 1, tl.log2(l_i), mask=rows < Nq)


@triton.jit(do_not_specialize=['Nq'])
def geo_attention_bwd_delta_kernel(O, DO, DELTA, stride_ob, stride_oh, stride_om, stride_dob, stride_doh,
                                   stride_dom, H, Nq, DV: tl.constexpr, BLOCK_DV: tl.constexpr,
                                   BLOCK_M: tl.constexpr):
    """DELTA = rowsum(O * dO) in fp32 for rows [pid*BLOCK_M, +BLOCK_M) of one (b, h)."""
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_dv = tl.arange(0, BLOCK_DV)
    mask = (rows[:, None] < Nq) & (offs_dv[None, :] < DV)
    o = tl.load(O + b * stride_ob + h * stride_oh + rows[:, None] * stride_om + offs_dv[None, :], mask=mask,
                other=0.0).to(tl.float32)
    do = tl.load(DO + b * stride_dob + h * stride_doh + rows[:, None] * stride_dom + offs_dv[None, :], mask=mask,
                 other=0.0).to(tl.float32)
    tl.store(DELTA + bh * Nq + rows, tl.reduce(o * do, 1, _SUM), mask=rows < Nq)


@triton.jit(do_not_specialize=_NOT_SPECIALIZED)
def geo_attention_bwd_dkdv_kernel(Q, K, V, DO, DK, DV_OUT, LSE, DELTA, INDEX,
                                  stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
                                  stride_vb, stride_vh, stride_vn, stride_dob, stride_doh, stride_dom,
                                  stride_dkb, stride_dkh, stride_dkn, stride_dvb, stride_dvh, stride_dvn,
                                  H, Nq, Nk, sm_scale,
                                  D: tl.constexpr, DV: tl.constexpr, BLOCK_D: tl.constexpr,
                                  BLOCK_DV: tl.constexpr, MMA_DTYPE: tl.constexpr, PRECISION: tl.constexpr,
                                  GATHER: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dK, dV of keys [pid*BLOCK_N, +BLOCK_N) of one (b, h), looping over every query block.

    DK and DV_OUT hold one row per key (not per slot) with their own strides. With P^T the
    (keys, queries) probabilities: dV = P^T dO, dS^T = P^T * (V dO^T - delta), dK = sm_scale * dS^T Q.
    """
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    keys = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    slots = _key_slots(INDEX, keys, Nk, GATHER)
    mask_k = (keys[:, None] < Nk) & (offs_d[None, :] < D)
    mask_v = (keys[:, None] < Nk) & (offs_dv[None, :] < DV)
    k = tl.load(K + b * stride_kb + h * stride_kh + slots[:, None] * stride_kn + offs_d[None, :], mask=mask_k,
                other=0.0).to(MMA_DTYPE)  # (BLOCK_N, BLOCK_D)
    v = tl.load(V + b * stride_vb + h * stride_vh + slots[:, None] * stride_vn + offs_dv[None, :], mask=mask_v,
                other=0.0).to(MMA_DTYPE)  # (BLOCK_N, BLOCK_DV)
    q_ptrs = Q + b * stride_qb + h * stride_qh + offs_m[:, None] * stride_qm + offs_d[None, :]
    do_ptrs = DO + b * stride_dob + h * stride_doh + offs_m[:, None] * stride_dom + offs_dv[None, :]

    dk = tl.full([BLOCK_N, BLOCK_D], 0.0, tl.float32)
    dv = tl.full([BLOCK_N, BLOCK_DV], 0.0, tl.float32)
    for start_m in range(0, Nq, BLOCK_M):
        rows = start_m + offs_m
        q = tl.load(q_ptrs + start_m * stride_qm, mask=(rows[:, None] < Nq) & (offs_d[None, :] < D),
                    other=0.0).to(MMA_DTYPE)  # (BLOCK_M, BLOCK_D)
        do = tl.load(do_ptrs + start_m * stride_dom, mask=(rows[:, None] < Nq) & (offs_dv[None, :] < DV),
                     other=0.0).to(MMA_DTYPE)  # (BLOCK_M, BLOCK_DV)
        m = tl.load(LSE + (bh * Nq + rows) * 2, mask=rows < Nq, other=0.0)
        log2_l = tl.load(LSE + (bh * Nq + rows) * 2 + 1, mask=rows < Nq, other=0.0)
        delta = tl.load(DELTA + bh * Nq + rows, mask=rows < Nq, other=0.0)
        # the scores as the forward pass computed them (queries x keys, then transposed): recomputed
        # in the other orientation they round differently, and with large logits exp() turns
        # that rounding into errors of P far above the inputs' precision
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION)  # (BLOCK_M, BLOCK_N)
        s_t = tl.trans(s) * sm_scale  # (BLOCK_N, BLOCK_M)
        p_t = tl.exp2((s_t - m[None, :]) * _LOG2E - log2_l[None, :])
        p_t = tl.where((keys[:, None] < Nk) & (rows[None, :] < Nq), p_t, 0.0)
        dv = tl.dot(p_t.to(MMA_DTYPE), do, dv, input_precision=PRECISION)
        dp_t = tl.dot(v, tl.trans(do), input_precision=PRECISION)
        ds_t = p_t * (dp_t - delta[None, :])
        dk = tl.dot(ds_t.to(MMA_DTYPE), q, dk, input_precision=PRECISION)

    dk_ptrs = DK + b * stride_dkb + h * stride_dkh + keys[:, None] * stride_dkn + offs_d[None, :]
    dv_ptrs = DV_OUT + b * stride_dvb + h * stride_dvh + keys[:, None] * stride_dvn + offs_dv[None, :]
    tl.store(dk_ptrs, (dk * sm_scale).to(DK.dtype.element_ty), mask=mask_k)
    tl.store(dv_ptrs, dv.to(DV_OUT.dtype.element_ty), mask=mask_v)


@triton.jit(do_not_specialize=_NOT_SPECIALIZED)
def geo_attention_bwd_dq_kernel(Q, K, V, DO, DQ, LSE, DELTA, INDEX,
                                stride_qb, stride_qh, stride_qm, stride_kb, stride_kh, stride_kn,
                                stride_vb, stride_vh, stride_vn, stride_dob, stride_doh, stride_dom,
                                stride_dqb, stride_dqh, stride_dqm, H, Nq, Nk, sm_scale,
                                D: tl.constexpr, DV: tl.constexpr, BLOCK_D: tl.constexpr,
                                BLOCK_DV: tl.constexpr, MMA_DTYPE: tl.constexpr, PRECISION: tl.constexpr,
                                GATHER: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """dQ of query rows [pid*BLOCK_M, +BLOCK_M) of one (b, h), looping over every key block.

    DQ has its own strides. dS = P * (dO V^T - delta), dQ = sm_scale * dS K.
    """
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = (bh % H).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    mask_q = (rows[:, None] < Nq) & (offs_d[None, :] < D)
    q = tl.load(Q + b * stride_qb + h * stride_qh + rows[:, None] * stride_qm + offs_d[None, :], mask=mask_q,
                other=0.0).to(MMA_DTYPE)  # (BLOCK_M, BLOCK_D)
    do_ptrs = DO + b * stride_dob + h * stride_doh + rows[:, None] * stride_dom + offs_dv[None, :]
    do = tl.load(do_ptrs, mask=(rows[:, None] < Nq) & (offs_dv[None, :] < DV), other=0.0).to(MMA_DTYPE)
    m = tl.load(LSE + (bh * Nq + rows) * 2, mask=rows < Nq, other=0.0)
    log2_l = tl.load(LSE + (bh * Nq + rows) * 2 + 1, mask=rows < Nq, other=0.0)
    delta = tl.load(DELTA + bh * Nq + rows, mask=rows < Nq, other=0.0)
    k_base = K + b * stride_kb + h * stride_kh
    v_base = V + b * stride_vb + h * stride_vh

    dq = tl.full([BLOCK_M, BLOCK_D], 0.0, tl.float32)
    for start_n in range(0, Nk, BLOCK_N):
        keys = start_n + offs_n
        slots = _key_slots(INDEX, keys, Nk, GATHER)
        k_t = tl.load(k_base + slots[None, :] * stride_kn + offs_d[:, None],
                      mask=(keys[None, :] < Nk) & (offs_d[:, None] < D), other=0.0).to(MMA_DTYPE)  # (BLOCK_D, BLOCK_N)
        v_t = tl.load(v_base + slots[None, :] * stride_vn + offs_dv[:, None],  # (BLOCK_DV, BLOCK_N)
                      mask=(keys[None, :] < Nk) & (offs_dv[:, None] < DV), other=0.0).to(MMA_DTYPE)
        s = tl.dot(q, k_t, input_precision=PRECISION) * sm_scale
        p = tl.exp2((s - m[:, None]) * _LOG2E - log2_l[:, None])
        p = tl.where((rows[:, None] < Nq) & (keys[None, :] < Nk), p, 0.0)
        dp = tl.dot(do, v_t, input_precision=PRECISION)
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(MMA_DTYPE), tl.trans(k_t), dq, input_precision=PRECISION)

    dq_ptrs = DQ + b * stride_dqb + h * stride_dqh + rows[:, None] * stride_dqm + offs_d[None, :]
    tl.store(dq_ptrs, (dq * sm_scale).to(DQ.dtype.element_ty), mask=mask_q)
