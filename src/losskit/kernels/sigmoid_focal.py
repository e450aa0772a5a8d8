r"""Fused sigmoid focal rows: one read of logits and targets forward, one read + one gradient write backward.

The kernel of the ``"sigmoid_focal_rows"`` primitive of :mod:`losskit.kernels._dispatch`, offered by
:func:`losskit.functional.sigmoid_focal_loss` and by
:func:`losskit.functional.binary_cross_entropy_with_logits` (its ``gamma = 0``, ``alpha = None`` case)
with their normalised :class:`~losskit._checks.BinaryInputs`. The reference is the functional's
PyTorch path (``sigmoid_rows`` in :mod:`losskit.functional._focal`); elementwise over the flattened
input, float32 math for every input dtype. The forward stores nothing for the backward but its
inputs: the backward recomputes everything from the logits and targets.

Per element (logit :math:`x`, target :math:`t`, smoothing :math:`\varepsilon`, ``pos_weight``
:math:`\pi`, ``weight`` :math:`w`, ``alpha`` :math:`\alpha`, ``gamma`` :math:`\gamma`)::

    y         = t (1 - eps) + eps / 2                  label smoothing (y = t when eps = 0)
    log s(+x) = min(+x, 0) - log1p(exp(-|x|))          log p, no overflow;  log1p(u) = log(1+u) u / ((1+u) - 1)
    log s(-x) = min(-x, 0) - log1p(exp(-|x|))          log(1 - p)
    pos       = alpha pi (1 - p)^gamma (-log p),   (1 - p)^gamma = exp(gamma log s(-x))
    neg       = (1 - alpha)    p^gamma (-log(1 - p)),  p^gamma = exp(gamma log s(x))
    loss      = w [y pos + (1 - y) neg]                (alpha terms dropped for alpha=None; BCE when gamma=0)

    d(-log p)/dx (1-p)^g      = -(1-p)^g ((1-p) + g p (-log p))
    d(-log(1-p))/dx p^g       =      p^g (p + g (1-p) (-log(1-p)))

With ``ignore_index`` an element whose target equals it (compared in the target's dtype: float32 or
int64 targets) contributes 0 and is left out of the mean's count. For ``mean``/``sum`` the kernel
hands back :class:`~losskit._reduction.Sums` (the total of per-block partial sums, and the number of
counted elements), for ``none`` the rows. ``weight``, ``pos_weight`` and a tensor ``alpha`` broadcast
to the input; a trailing-dims broadcast (e.g. a per-class ``(C,)`` of an ``(N, C)`` input) is read with
a modulo index, any other broadcast (a ``(C, 1, 1)`` per-class view) is expanded once.
"""

import torch
from torch import Tensor

from .. import _reduction
from .._reduction import Sums
from . import _dispatch
from ._triton import can_run, cdiv, interpreting, kernel, tl

__all__ = ["sigmoid_focal_rows"]

_GPU_BLOCK = 2048
_INTERP_BLOCK = 64


@kernel
def _focal_kernel(
    X,
    T,
    W,
    w_period,
    PW,
    pw_period,
    AL,
    al_period,
    G,
    OUT,
    numel,
    alpha,
    gamma,
    eps,
    ignore,
    HAS_W: tl.constexpr,
    HAS_PW: tl.constexpr,
    ALPHA: tl.constexpr,
    FOCAL: tl.constexpr,
    SMOOTH: tl.constexpr,
    IGNORE: tl.constexpr,
    REDUCE: tl.constexpr,
    BACKWARD: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Forward: the loss per element into ``OUT`` (``REDUCE``: one partial sum per program). ``BACKWARD``:
    the same formula with ``pos``/``neg`` replaced by their derivatives in x, times the upstream ``G``
    (one value per program with ``REDUCE``), into ``OUT``."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    x = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
    t_raw = tl.load(T + offs, mask=mask, other=0)
    if IGNORE:
        valid = mask & (t_raw != ignore)  # compared in the target's own dtype, like torch
        y = tl.where(valid, t_raw.to(tl.float32), 0.0)
    else:
        y = t_raw.to(tl.float32)
    if SMOOTH:
        y = y * (1.0 - eps) + 0.5 * eps  # y' = y (1 - eps) + eps / 2
    # log s(+-x) = min(+-x, 0) - log1p(exp(-|x|)); log1p(u) = log(1 + u) u / ((1 + u) - 1) (exact-ish)
    u = tl.exp(-tl.abs(x))
    v = 1.0 + u
    l1p = tl.where(v == 1.0, u, tl.log(v) * (u / (v - 1.0)))
    ls_pos = tl.minimum(x, 0.0) - l1p  # log p
    ls_neg = tl.minimum(-x, 0.0) - l1p  # log (1 - p)
    if BACKWARD:
        sp = tl.exp(ls_pos)  # p = sigmoid(x);      d log p / dx = 1 - p
        sn = tl.exp(ls_neg)  # 1 - p = sigmoid(-x); d log(1 - p) / dx = -p
        pos = -sn  # d(-log p)/dx
        neg = sp  # d(-log(1 - p))/dx
        if FOCAL:
            # (1 - p)^gamma, d/dx = -gamma p (1 - p)^gamma;  p^gamma, d/dx = gamma (1 - p) p^gamma
            pos = -tl.exp(gamma * ls_neg) * (sn + gamma * sp * (-ls_pos))
            neg = tl.exp(gamma * ls_pos) * (sp + gamma * sn * (-ls_neg))
    else:
        pos = -ls_pos
        neg = -ls_neg
        if FOCAL:
            pos = pos * tl.exp(gamma * ls_neg)  # (1 - p)^gamma (-log p)
            neg = neg * tl.exp(gamma * ls_pos)  # p^gamma (-log(1 - p))
    if ALPHA == 1:
        pos = pos * alpha
        neg = neg * (1.0 - alpha)
    if ALPHA == 2:
        a = tl.load(AL + offs % al_period, mask=mask, other=0.0).to(tl.float32)
        pos = pos * a
        neg = neg * (1.0 - a)
    if HAS_PW:
        pos = pos * tl.load(PW + offs % pw_period, mask=mask, other=1.0).to(tl.float32)
    loss = y * pos + (1.0 - y) * neg
    if HAS_W:
        loss = loss * tl.load(W + offs % w_period, mask=mask, other=0.0).to(tl.float32)
    if IGNORE:
        loss = tl.where(valid, loss, 0.0)
    if BACKWARD:
        if REDUCE:
            g = tl.load(G + pid).to(tl.float32)  # the gradient of this program's partial sum
        else:
            g = tl.load(G + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(OUT + offs, (loss * g).to(OUT.dtype.element_ty), mask=mask)
    elif REDUCE:
        tl.store(OUT + pid, tl.sum(tl.where(mask, loss, 0.0), 0))
    else:
        tl.store(OUT + offs, loss.to(OUT.dtype.element_ty), mask=mask)


def _block(x: Tensor) -> int:
    return _INTERP_BLOCK if interpreting(x) else _GPU_BLOCK


def _n_partials(x: Tensor) -> int:
    return max(1, cdiv(x.numel(), _block(x)))


def _launch(x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, eps, ignore, reduce, out, g=None):
    """Run :func:`_focal_kernel` over the flat ``x`` into ``out``: the forward, or with the upstream ``g``
    the backward. Absent tensors are passed as a dummy the kernel never reads."""
    n = x.numel()
    if n == 0:
        return out
    block = _block(x)
    dummy = x.new_zeros(1, dtype=torch.float32)
    # an integer target compares with an integer ignore value, a float32 target with a float32 one
    ign = 0 if ignore is None else (float(ignore) if t.is_floating_point() else int(ignore))
    _focal_kernel[(cdiv(n, block),)](
        x,
        t,
        dummy if w is None else w,
        max(1, w_period),
        dummy if pw is None else pw,
        max(1, pw_period),
        dummy if al is None else al,
        max(1, al_period),
        dummy if g is None else g.contiguous(),
        out,
        n,
        float(alpha or 0.0),
        float(gamma or 0.0),
        float(eps),
        ign,
        HAS_W=w is not None,
        HAS_PW=pw is not None,
        ALPHA=2 if al is not None else int(alpha is not None),
        FOCAL=bool(gamma),
        SMOOTH=eps != 0.0,
        IGNORE=ignore is not None,
        REDUCE=reduce,
        BACKWARD=g is not None,
        BLOCK=block,
        num_warps=4 if block <= 1024 else 8,
    )
    return out


@torch.library.custom_op("losskit::sigmoid_focal_fwd", mutates_args=())
def _focal_fwd_op(
    x: Tensor,
    t: Tensor,
    w: Tensor | None,
    w_period: int,
    pw: Tensor | None,
    pw_period: int,
    al: Tensor | None,
    al_period: int,
    alpha: float | None,
    gamma: float | None,
    label_smoothing: float,
    ignore: float | None,
    reduce: bool,
) -> Tensor:
    """Flat elementwise loss (``x``'s dtype) or, with ``reduce``, fp32 partial sums per block."""
    x, t = x.contiguous(), t.contiguous()  # read at X + offset: a 1-D view with a stride (scores[:, k]) is copied
    out = x.new_zeros(_n_partials(x), dtype=torch.float32) if reduce else torch.empty_like(x)
    return _launch(x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, label_smoothing, ignore, reduce, out)


@_focal_fwd_op.register_fake
def _(x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, label_smoothing, ignore, reduce):
    if reduce:
        return x.new_empty(_n_partials(x), dtype=torch.float32)
    return torch.empty_like(x)


@torch.library.custom_op("losskit::sigmoid_focal_bwd", mutates_args=())
def _focal_bwd_op(
    g: Tensor,
    x: Tensor,
    t: Tensor,
    w: Tensor | None,
    w_period: int,
    pw: Tensor | None,
    pw_period: int,
    al: Tensor | None,
    al_period: int,
    alpha: float | None,
    gamma: float | None,
    label_smoothing: float,
    ignore: float | None,
    reduce: bool,
) -> Tensor:
    """Gradient with respect to the flat logits ``x`` (``x``'s dtype)."""
    x, t = x.contiguous(), t.contiguous()
    gx = torch.empty_like(x)
    return _launch(
        x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, label_smoothing, ignore, reduce, gx, g
    )


@_focal_bwd_op.register_fake
def _(g, x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, label_smoothing, ignore, reduce):
    return torch.empty_like(x)


def _setup(ctx, inputs, output):
    x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, eps, ignore, reduce = inputs
    ctx.save_for_backward(x, t, w, pw, al)
    ctx.opts = (w_period, pw_period, al_period, alpha, gamma, eps, ignore, reduce)


def _backward(ctx, g):
    x, t, w, pw, al = ctx.saved_tensors
    w_period, pw_period, al_period, alpha, gamma, eps, ignore, reduce = ctx.opts
    gx = torch.ops.losskit.sigmoid_focal_bwd(
        g, x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, eps, ignore, reduce
    )
    return (gx,) + (None,) * 12


_focal_fwd_op.register_autograd(_backward, setup_context=_setup)


def _flat_broadcast(v: Tensor | None, shape: torch.Size, name: str) -> tuple[Tensor | None, int]:
    """``v`` as a flat fp32 tensor read at ``offset % period``; expands once if it must."""
    if v is None:
        return None, 1
    # (the normaliser has checked that v broadcasts to shape without enlarging it)
    vs = (1,) * (len(shape) - v.dim()) + tuple(v.shape)
    for k in range(len(shape) + 1):  # first k with v == 1 on dims < k and v == input on dims >= k
        if all(d == 1 for d in vs[:k]) and tuple(vs[k:]) == tuple(shape[k:]):
            period = 1
            for d in shape[k:]:
                period *= d
            return v.detach().reshape(-1).to(torch.float32).contiguous(), period
    return v.detach().to(torch.float32).expand(shape).contiguous().reshape(-1), max(1, torch.Size(shape).numel())


_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
_IGNORE_DTYPES = (torch.float32, torch.int64)


def _supports(b, *, alpha, gamma: float, reduction: str) -> bool:
    """float32/bfloat16/float16 logits on a device Triton can run on whose result has the logits' dtype
    (a floating target that promotes it, or autocast's float32, declines), options without gradients,
    an ignored value comparable in the target's dtype."""
    x, t = b.logits, b.target
    if x.dtype not in _DTYPES or b.out_dtype != x.dtype or not can_run(x) or t.requires_grad:
        return False
    if any(isinstance(o, Tensor) and (o.requires_grad or o.dim() > x.dim()) for o in (b.weight, b.pos_weight, alpha)):
        return False
    ii = b.ignore_index
    return ii is None or (t.dtype in _IGNORE_DTYPES and (t.is_floating_point() or float(ii) == int(ii)))


@_dispatch.register("sigmoid_focal_rows", supports=_supports)
def sigmoid_focal_rows(b, *, alpha, gamma: float, reduction: str):
    """Rows of the sigmoid focal loss of normalised binary inputs ``b`` (the logits' shape and dtype) for
    ``reduction="none"``, else :class:`~losskit._reduction.Sums` of the rows and of the counted elements."""
    x = b.logits
    w, wp = _flat_broadcast(b.weight, x.shape, "weight")
    pw, pwp = _flat_broadcast(b.pos_weight, x.shape, "pos_weight")
    al, alp = _flat_broadcast(alpha, x.shape, "alpha") if isinstance(alpha, Tensor) else (None, 1)
    t = b.target.detach().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    reduce = reduction != "none"
    out = _focal_fwd_op(
        x.reshape(-1),
        t,
        w,
        wp,
        pw,
        pwp,
        al,
        alp,
        None if alpha is None or al is not None else float(alpha),
        float(gamma) if gamma else None,
        float(b.label_smoothing),
        None if b.ignore_index is None else float(b.ignore_index),
        reduce,
    )
    if not reduce:
        return out.view(x.shape)
    return Sums(out.sum(), _reduction.denominator(x.shape, valid=b.valid, dtype=torch.float32, device=x.device))
