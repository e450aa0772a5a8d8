r"""Fused cross-entropy for class-index targets: one read of the logits forward, one read + one write backward.

The functional reference is :func:`losskit.functional.cross_entropy` (and ``torch.nn.functional.cross_entropy``);
this module computes the same numbers with two Triton kernels, registered as the
``"cross_entropy_rows"`` primitive of :mod:`losskit.kernels._dispatch` (and used chunk by chunk by
:mod:`losskit.kernels.linear_cross_entropy`).

Math (one row :math:`i` with logits :math:`z \in \mathbb{R}^C`, target :math:`y`, class weights
:math:`w` (ones if absent), smoothing :math:`\varepsilon`, z-loss coefficient :math:`\zeta`)::

    lse   = log sum_c exp(z_c)                      online over column blocks: running max m and
                                                    s = sum exp(z_c - m), rescaled by exp(m_old - m_new)
    a     = w_y  (0 if y == ignore_index)           v = 1 if y != ignore_index else 0
    loss  = a (1-eps) (lse - z_y)                   NLL of the true class
          + v (eps/C) (W lse - sum_c w_c z_c)       smoothing: -(eps/C) sum_c w_c log p_c, W = sum_c w_c
          + zeta a lse^2                            z-loss (PaLM), weighted like the token's CE term
    dloss/dz_c = p_c (a (1-eps) + v eps W / C + 2 zeta a lse) - a (1-eps) [c == y] - v (eps/C) w_c,
    with p_c = exp((z_c - m) - log s) recomputed in the backward from the saved row max m and log s
    (lse split in two fp32 parts, so p stays exact even for logits near 1e4; no probabilities stored).

``mean`` is ``sum_i loss_i / sum_i a_i`` -- torch's weighted mean, including with label smoothing --
with the denominator summed on the device (no host sync). With ``softcap`` the logits are first
replaced by ``cap * tanh(z / cap)`` (Gemma 2); the gradient picks up ``1 - tanh^2``.

A target outside ``[0, C)`` that is not ``ignore_index`` gives a NaN loss for its row (the kernel never
reads out of bounds); value checks on the host belong to the functional (``losskit.checks``).
"""

import torch
from torch import Tensor

from .._reduction import Sums
from . import _dispatch
from ._triton import as_ncs, can_run, cdiv, interpreting, kernel, next_pow2, tl

__all__ = ["cross_entropy_rows"]

# Largest column block (elements) and row-tile (elements) per program. The interpreter values are
# tiny so that small test shapes still exercise the multi-block loops; tests may lower them further.
_GPU_MAX_BLOCK_C = {1: 8192, 2: 8192, 4: 4096}
_GPU_TILE = 4096
_INTERP_MAX_BLOCK_C = 16
_INTERP_TILE = 64


@kernel
def _ce_fwd_kernel(
    X,
    s_xn,
    s_xc,
    s_xs,  # logits viewed as (N, C, S)
    T,  # targets, R = N*S rows, row r <-> (n, s) = (r // S, r % S)
    W,
    WSUM,  # class weights (fp32, C) and their sum (fp32, 1); unused without HAS_W
    LOSS,
    M,
    LOGL,
    A,  # per-row outputs, fp32: loss, row max, log sum exp(z - max), target's weight
    R,
    C,
    S,
    ignore_index,
    eps,
    zeta,
    cap,
    HAS_W: tl.constexpr,
    SMOOTH: tl.constexpr,
    ZLOSS: tl.constexpr,
    SOFTCAP: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_R + tl.arange(0, BLOCK_R)
    rmask = rows < R
    r64 = rows.to(tl.int64)
    n = r64 // S
    base = n * s_xn + (r64 - n * S) * s_xs
    y = tl.load(T + r64, mask=rmask, other=ignore_index).to(tl.int64)
    valid = rmask & (y != ignore_index)
    inb = valid & (y >= 0) & (y < C)

    # the target's logit, loaded first: the smoothing sum is accumulated relative to it, so that
    # sum_c w_c (lse - z_c) = W (lse - z_y) - sum_c w_c (z_c - z_y) keeps its precision for huge logits
    zy = tl.load(X + base + y * s_xc, mask=inb, other=0.0).to(tl.float32)
    if SOFTCAP:
        # tanh(u) = 1 - 2 / (exp(2u) + 1): saturates to +-1 without overflow (exp -> inf or 0)
        zy = cap * (1.0 - 2.0 / (tl.exp(2.0 * zy / cap) + 1.0))

    m = tl.full([BLOCK_R], -float("inf"), tl.float32)
    l = tl.zeros([BLOCK_R], dtype=tl.float32)
    wz = tl.zeros([BLOCK_R], dtype=tl.float32)  # sum_c w_c (z_c - z_y) (smoothing only)
    cols0 = tl.arange(0, BLOCK_C)
    for c0 in range(0, C, BLOCK_C):
        cols = c0 + cols0
        cmask = cols < C
        mask = rmask[:, None] & cmask[None, :]
        z = tl.load(X + base[:, None] + cols[None, :].to(tl.int64) * s_xc, mask=mask, other=0.0).to(tl.float32)
        if SOFTCAP:
            z = cap * (1.0 - 2.0 / (tl.exp(2.0 * z / cap) + 1.0))
        z = tl.where(mask, z, -float("inf"))
        m_new = tl.maximum(m, tl.max(z, 1))
        m_use = tl.where(m_new == -float("inf"), 0.0, m_new)  # all -inf so far: keep exp() finite
        # online softmax: s <- s * exp(m_old - m_new) + sum exp(z - m_new)
        l = l * tl.exp(m - m_use) + tl.sum(tl.exp(z - m_use[:, None]), 1)
        m = m_new
        if SMOOTH:
            if HAS_W:
                wc = tl.load(W + cols, mask=cmask, other=0.0)
                wz += tl.sum(tl.where(mask, (z - zy[:, None]) * wc[None, :], 0.0), 1)
            else:
                wz += tl.sum(tl.where(mask, z - zy[:, None], 0.0), 1)
    m_fin = tl.where(m == -float("inf"), 0.0, m)
    lse = m_fin + tl.log(l)
    nll = (m_fin - zy) + tl.log(l)  # lse - z_y

    if HAS_W:
        a = tl.load(W + y, mask=inb, other=0.0)
    else:
        a = tl.full([BLOCK_R], 1.0, tl.float32)
    a = tl.where(valid, a, 0.0)
    loss = a * (1.0 - eps) * nll
    if SMOOTH:
        if HAS_W:
            wsum = tl.load(WSUM)
        else:
            wsum = C * 1.0
        loss += tl.where(valid, (eps / C) * (wsum * nll - wz), 0.0)
    if ZLOSS:
        loss += zeta * a * lse * lse
    loss = tl.where(valid & ~inb, float("nan"), loss)  # target out of range: poison the row
    tl.store(LOSS + r64, loss, mask=rmask)
    tl.store(M + r64, m_fin, mask=rmask)
    tl.store(LOGL + r64, tl.log(l), mask=rmask)
    tl.store(A + r64, a, mask=rmask)


@kernel
def _ce_bwd_kernel(
    X,
    s_xn,
    s_xc,
    s_xs,
    G,
    s_gn,
    s_gc,
    s_gs,  # gradient, same logical (N, C, S) shape; may be X itself (in place)
    T,
    W,
    WSUM,
    M,
    LOGL,  # lse = M + LOGL, kept in two parts: exp(z - M - LOGL) stays exact for huge z
    GR,
    s_gr,  # upstream gradient per row (stride 0 when it is a broadcast scalar)
    R,
    C,
    S,
    ignore_index,
    eps,
    zeta,
    cap,
    HAS_W: tl.constexpr,
    SMOOTH: tl.constexpr,
    ZLOSS: tl.constexpr,
    SOFTCAP: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_R + tl.arange(0, BLOCK_R)
    rmask = rows < R
    r64 = rows.to(tl.int64)
    n = r64 // S
    s = r64 - n * S
    xbase = n * s_xn + s * s_xs
    gbase = n * s_gn + s * s_gs
    y = tl.load(T + r64, mask=rmask, other=ignore_index).to(tl.int64)
    valid = rmask & (y != ignore_index)
    inb = valid & (y >= 0) & (y < C)
    mrow = tl.load(M + r64, mask=rmask, other=0.0)
    logl = tl.load(LOGL + r64, mask=rmask, other=0.0)
    lse = mrow + logl
    g = tl.load(GR + r64 * s_gr, mask=rmask, other=0.0).to(tl.float32)
    if HAS_W:
        a = tl.load(W + y, mask=inb, other=0.0)
    else:
        a = tl.full([BLOCK_R], 1.0, tl.float32)
    a = tl.where(valid, a, 0.0)
    # dloss/dz_c = p_c * coef - a (1-eps) [c == y] - v (eps/C) w_c
    coef = a * (1.0 - eps)
    if SMOOTH:
        if HAS_W:
            wsum = tl.load(WSUM)
        else:
            wsum = C * 1.0
        coef += tl.where(valid, eps * wsum / C, 0.0)
    if ZLOSS:
        coef += 2.0 * zeta * a * lse
    hit = a * (1.0 - eps)
    vs = tl.where(valid, eps / C, 0.0)

    cols0 = tl.arange(0, BLOCK_C)
    for c0 in range(0, C, BLOCK_C):
        cols = c0 + cols0
        cmask = cols < C
        mask = rmask[:, None] & cmask[None, :]
        c64 = cols[None, :].to(tl.int64)
        z = tl.load(X + xbase[:, None] + c64 * s_xc, mask=mask, other=0.0).to(tl.float32)
        if SOFTCAP:
            th = 1.0 - 2.0 / (tl.exp(2.0 * z / cap) + 1.0)
            z = cap * th
        p = tl.exp((z - mrow[:, None]) - logl[:, None])
        d = p * coef[:, None] - tl.where(cols[None, :] == y[:, None], hit[:, None], 0.0)
        if SMOOTH:
            if HAS_W:
                wc = tl.load(W + cols, mask=cmask, other=0.0)
                d -= vs[:, None] * wc[None, :]
            else:
                d -= vs[:, None]
        d = d * g[:, None]
        if SOFTCAP:
            d = d * (1.0 - th * th)  # d/dz cap*tanh(z/cap)
        d = tl.where(valid[:, None], d, 0.0)
        tl.store(G + gbase[:, None] + c64 * s_gc, d.to(G.dtype.element_ty), mask=mask)


def _blocks(x: Tensor, c: int, r: int) -> tuple[int, int, int]:
    if interpreting(x):
        max_bc, tile = _INTERP_MAX_BLOCK_C, _INTERP_TILE
    else:
        max_bc, tile = _GPU_MAX_BLOCK_C.get(x.element_size(), 4096), _GPU_TILE
    bc = min(next_pow2(c), max_bc)
    br = max(1, min(next_pow2(r), tile // bc, 64))
    elems = bc * br
    warps = 4 if elems <= 2048 else (8 if elems <= 8192 else 16)
    return br, bc, warps


def _wsum(weight: Tensor | None, x: Tensor) -> tuple[Tensor, Tensor]:
    if weight is None:
        dummy = torch.zeros(1, device=x.device, dtype=torch.float32)
        return dummy, dummy
    return weight, weight.sum().reshape(1)


def _launch(
    weight: Tensor | None, x3: Tensor, eps: float, zeta: float, cap: float
) -> tuple[Tensor, Tensor, tuple[int], dict[str, bool | int]]:
    """What both CE kernels take besides their tensors, for ``x3`` viewed as ``(N, C, S)``: the class
    weights and their sum, the grid, and the compile-time switches, block sizes and warps (by keyword)."""
    n, c, s = x3.shape
    w, wsum = _wsum(weight, x3)
    br, bc, warps = _blocks(x3, c, n * s)
    meta = {
        "HAS_W": weight is not None,
        "SMOOTH": eps != 0.0,
        "ZLOSS": zeta != 0.0,
        "SOFTCAP": cap != 0.0,
        "BLOCK_R": br,
        "BLOCK_C": bc,
        "num_warps": warps,
    }
    return w, wsum, (cdiv(n * s, br),), meta


def _fwd_impl(
    x3: Tensor, t: Tensor, weight: Tensor | None, ignore_index: int, eps: float, zeta: float, cap: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    n, c, s = x3.shape
    r = n * s
    t = t.contiguous()  # the kernel reads target r at T + r (a strided 1-D view is a real case: labels[:, k])
    loss = torch.empty(r, device=x3.device, dtype=torch.float32)
    m = torch.empty_like(loss)
    logl = torch.empty_like(loss)
    a = torch.empty_like(loss)
    if r == 0:
        return loss, m, logl, a
    w, wsum, grid, meta = _launch(weight, x3, eps, zeta, cap)
    _ce_fwd_kernel[grid](
        x3,
        x3.stride(0),
        x3.stride(1),
        x3.stride(2),
        t,
        w,
        wsum,
        loss,
        m,
        logl,
        a,
        r,
        c,
        s,
        ignore_index,
        eps,
        zeta,
        cap,
        **meta,
    )
    return loss, m, logl, a


def _bwd_impl(
    out: Tensor,
    g_rows: Tensor,
    x3: Tensor,
    t: Tensor,
    weight: Tensor | None,
    m: Tensor,
    logl: Tensor,
    ignore_index: int,
    eps: float,
    zeta: float,
    cap: float,
) -> None:
    n, c, s = x3.shape
    r = n * s
    if r == 0 or c == 0:
        return
    t = t.contiguous()
    w, wsum, grid, meta = _launch(weight, x3, eps, zeta, cap)
    _ce_bwd_kernel[grid](
        x3,
        x3.stride(0),
        x3.stride(1),
        x3.stride(2),
        out,
        out.stride(0),
        out.stride(1),
        out.stride(2),
        t,
        w,
        wsum,
        m,
        logl,
        g_rows,
        g_rows.stride(0),
        r,
        c,
        s,
        ignore_index,
        eps,
        zeta,
        cap,
        **meta,
    )


# ---------------------------------------------------------------------------------------------
# torch.library custom ops: opaque to torch.compile (no graph break), with fake and autograd rules.
# ---------------------------------------------------------------------------------------------


@torch.library.custom_op("losskit::cross_entropy_fwd", mutates_args=())
def _ce_fwd_op(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float,
    inplace_grad: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-row (loss, max, log-sum-exp minus max, class weight of the target) for logits viewed as (N, C, S); fp32."""
    return _fwd_impl(logits, target, weight, ignore_index, label_smoothing, z_loss, softcap)


@_ce_fwd_op.register_fake
def _(logits, target, weight, ignore_index, label_smoothing, z_loss, softcap, inplace_grad):
    r = logits.shape[0] * logits.shape[2]
    new = lambda: logits.new_empty((r,), dtype=torch.float32)
    return new(), new(), new(), new()


@torch.library.custom_op("losskit::cross_entropy_bwd", mutates_args=())
def _ce_bwd_op(
    grad_rows: Tensor,
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    m: Tensor,
    logl: Tensor,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float,
) -> Tensor:
    """Gradient of sum_i grad_rows[i] * loss_i with respect to logits (N, C, S); logits' dtype."""
    out = torch.empty_like(logits)
    _bwd_impl(out, grad_rows, logits, target, weight, m, logl, ignore_index, label_smoothing, z_loss, softcap)
    return out


@_ce_bwd_op.register_fake
def _(grad_rows, logits, target, weight, m, logl, ignore_index, label_smoothing, z_loss, softcap):
    return torch.empty_like(logits)


@torch.library.custom_op("losskit::cross_entropy_bwd_", mutates_args=("logits",))
def _ce_bwd_inplace_op(
    grad_rows: Tensor,
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    m: Tensor,
    logl: Tensor,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float,
) -> None:
    """As ``cross_entropy_bwd`` but writes the gradient over ``logits`` (each element is read before it
    is written, by the same program)."""
    _bwd_impl(logits, grad_rows, logits, target, weight, m, logl, ignore_index, label_smoothing, z_loss, softcap)


@_ce_bwd_inplace_op.register_fake
def _(grad_rows, logits, target, weight, m, logl, ignore_index, label_smoothing, z_loss, softcap):
    return None


def _setup_context(ctx, inputs, output):
    logits, target, weight, ignore_index, eps, zeta, cap, inplace = inputs
    _, m, logl, a = output
    ctx.mark_non_differentiable(m, logl, a)
    ctx.save_for_backward(logits, target, weight, m, logl)
    ctx.opts = (ignore_index, eps, zeta, cap)
    ctx.inplace = inplace


def _backward(ctx, g_loss, g_m, g_logl, g_a):
    logits, target, weight, m, logl = ctx.saved_tensors
    if ctx.inplace:
        torch.ops.losskit.cross_entropy_bwd_(g_loss, logits, target, weight, m, logl, *ctx.opts)
        grad = logits
    else:
        grad = torch.ops.losskit.cross_entropy_bwd(g_loss, logits, target, weight, m, logl, *ctx.opts)
    return grad, None, None, None, None, None, None, None


_ce_fwd_op.register_autograd(_backward, setup_context=_setup_context)


# ---------------------------------------------------------------------------------------------
# The primitive: cross-entropy rows of normalised class-index inputs
# ---------------------------------------------------------------------------------------------

_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _supports(c, *, z_loss: float, softcap: float | None, reduction: str) -> bool:
    """Class-index targets, float32/bfloat16/float16 logits with at least one class, a weight without a
    gradient, on a device Triton can run on; every other option of the functional is served."""
    x = c.logits
    return (
        not c.probs
        and x.dtype in _DTYPES
        and c.num_classes >= 1
        and can_run(x)
        and (c.weight is None or not c.weight.requires_grad)
    )


@_dispatch.register("cross_entropy_rows", supports=_supports)
def cross_entropy_rows(c, *, z_loss: float, softcap: float | None, reduction: str):
    """Rows of :func:`losskit.functional.cross_entropy` for ``reduction="none"`` (float32, the target's
    shape), else :class:`~losskit._reduction.Sums` of the rows and of their weights ``w_y`` (0 where
    ignored): the numerator and denominator of torch's weighted mean."""
    x = c.logits.unsqueeze(0) if c.logits.dim() == 1 else c.logits
    x3 = as_ncs(x)
    w = None if c.weight is None else c.weight.detach().to(device=x.device, dtype=torch.float32).contiguous()
    rows, _, _, a = _ce_fwd_op(
        x3,
        c.target.reshape(-1),
        w,
        c.torch_ignore_index,
        float(c.label_smoothing),
        float(z_loss),
        float(softcap or 0.0),
        False,
    )
    if reduction == "none":
        return rows.view(c.target.shape)
    return Sums(rows.sum(), a.sum())
