r"""Fused sigmoid focal loss and binary cross-entropy with logits: one pass forward, one pass backward.

The functional references are :func:`losskit.functional.sigmoid_focal_loss` and
:func:`losskit.functional.binary_cross_entropy_with_logits` (``torch.nn.functional``'s twin); the
dispatcher picks these kernels for CUDA tensors. Elementwise over the flattened input, float32 math
for every input dtype. The forward stores nothing for the backward but its inputs: the backward
recomputes everything from the logits and targets.

Per element (logit :math:`x`, target :math:`t`, smoothing :math:`\varepsilon`, ``pos_weight``
:math:`\pi`, ``weight`` :math:`w`, ``alpha`` :math:`\alpha`, ``gamma`` :math:`\gamma`) -- the formula of
the functional's PyTorch path, ``_sigmoid_family`` in :mod:`losskit.functional._focal`::

    y         = t (1 - eps) + eps / 2                  label smoothing (y = t when eps = 0)
    log s(+x) = min(+x, 0) - log1p(exp(-|x|))          log p, no overflow;  log1p(u) = log(1+u) u / ((1+u) - 1)
    log s(-x) = min(-x, 0) - log1p(exp(-|x|))          log(1 - p)
    pos       = alpha pi (1 - p)^gamma (-log p),   (1 - p)^gamma = exp(gamma log s(-x))
    neg       = (1 - alpha)    p^gamma (-log(1 - p)),  p^gamma = exp(gamma log s(x))
    loss      = w [y pos + (1 - y) neg]                (alpha terms dropped for alpha=None; BCE when gamma=0)

    d(-log p)/dx (1-p)^g      = -(1-p)^g ((1-p) + g p (-log p))
    d(-log(1-p))/dx p^g       =      p^g (p + g (1-p) (-log(1-p)))

For soft targets this is the expected focal loss under Bernoulli(y) (kornia's form); for 0/1 targets it is
torchvision's :math:`-\alpha_t (1-p_t)^\gamma \log p_t`. With ``ignore_index`` an element whose target
equals it (compared in the target's dtype: float32 or int64 targets) contributes 0 and is left out of
the mean's count.

``mean`` is ``sum(loss) / count`` (count = numel, or the non-ignored elements; ``weight`` rescales, it
does not renormalise). ``weight``, ``pos_weight`` and a tensor ``alpha`` broadcast to the input; a
trailing-dims broadcast (e.g. per-class ``(C,)``) is read with a modulo index, any other broadcast is
expanded once.
"""

from typing import Optional

import torch
from torch import Tensor

from .. import _reduction
from . import _dispatch
from ._triton import HAS_TRITON, can_run, cdiv, check_runnable, interpreting, kernel, tl

__all__ = ["sigmoid_focal_loss_triton", "binary_cross_entropy_with_logits_triton"]

_GPU_BLOCK = 2048
_INTERP_BLOCK = 64


@kernel
def _focal_fwd_kernel(
    X, T, W, w_period, PW, pw_period, AL, al_period, OUT, numel, alpha, gamma, eps, ignore,
    HAS_W: tl.constexpr, HAS_PW: tl.constexpr, ALPHA: tl.constexpr, FOCAL: tl.constexpr, SMOOTH: tl.constexpr,
    IGNORE: tl.constexpr, REDUCE: tl.constexpr, BLOCK: tl.constexpr,
):
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
    if REDUCE:
        tl.store(OUT + pid, tl.sum(tl.where(mask, loss, 0.0), 0))
    else:
        tl.store(OUT + offs, loss.to(OUT.dtype.element_ty), mask=mask)


@kernel
def _focal_bwd_kernel(
    X, T, W, w_period, PW, pw_period, AL, al_period, G, GX, numel, alpha, gamma, eps, ignore,
    HAS_W: tl.constexpr, HAS_PW: tl.constexpr, ALPHA: tl.constexpr, FOCAL: tl.constexpr, SMOOTH: tl.constexpr,
    IGNORE: tl.constexpr, REDUCE: tl.constexpr, BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    x = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
    t_raw = tl.load(T + offs, mask=mask, other=0)
    if IGNORE:
        valid = mask & (t_raw != ignore)
        y = tl.where(valid, t_raw.to(tl.float32), 0.0)
    else:
        y = t_raw.to(tl.float32)
    if SMOOTH:
        y = y * (1.0 - eps) + 0.5 * eps
    if REDUCE:
        g = tl.load(G + pid).to(tl.float32)  # the gradient of this program's partial sum
    else:
        g = tl.load(G + offs, mask=mask, other=0.0).to(tl.float32)
    u = tl.exp(-tl.abs(x))
    v = 1.0 + u
    l1p = tl.where(v == 1.0, u, tl.log(v) * (u / (v - 1.0)))
    ls_pos = tl.minimum(x, 0.0) - l1p
    ls_neg = tl.minimum(-x, 0.0) - l1p
    sp = tl.exp(ls_pos)  # p = sigmoid(x);      d log p / dx = 1 - p
    sn = tl.exp(ls_neg)  # 1 - p = sigmoid(-x); d log(1 - p) / dx = -p
    dpos = -sn  # d(-log p)/dx
    dneg = sp  # d(-log(1 - p))/dx
    if FOCAL:
        mp = tl.exp(gamma * ls_neg)  # (1 - p)^gamma, d/dx = -gamma p (1 - p)^gamma
        mn = tl.exp(gamma * ls_pos)  # p^gamma,       d/dx = gamma (1 - p) p^gamma
        dpos = -mp * (sn + gamma * sp * (-ls_pos))
        dneg = mn * (sp + gamma * sn * (-ls_neg))
    if ALPHA == 1:
        dpos = dpos * alpha
        dneg = dneg * (1.0 - alpha)
    if ALPHA == 2:
        a = tl.load(AL + offs % al_period, mask=mask, other=0.0).to(tl.float32)
        dpos = dpos * a
        dneg = dneg * (1.0 - a)
    if HAS_PW:
        dpos = dpos * tl.load(PW + offs % pw_period, mask=mask, other=1.0).to(tl.float32)
    d = y * dpos + (1.0 - y) * dneg
    if HAS_W:
        d = d * tl.load(W + offs % w_period, mask=mask, other=0.0).to(tl.float32)
    if IGNORE:
        d = tl.where(valid, d, 0.0)
    tl.store(GX + offs, (d * g).to(GX.dtype.element_ty), mask=mask)


def _block(x: Tensor) -> int:
    return _INTERP_BLOCK if interpreting(x) else _GPU_BLOCK


def _n_partials(x: Tensor) -> int:
    return max(1, cdiv(x.numel(), _block(x)))


def _launch_args(x, w, w_period, pw, pw_period, al, al_period):
    dummy = x.new_zeros(1, dtype=torch.float32)
    return (
        dummy if w is None else w, max(1, w_period), dummy if pw is None else pw, max(1, pw_period),
        dummy if al is None else al, max(1, al_period),
    )


def _scalars(t: Tensor, alpha, gamma, eps, ignore) -> tuple:
    # an integer target compares with an integer ignore value, a float32 target with a float32 one
    ign = 0 if ignore is None else (float(ignore) if t.is_floating_point() else int(ignore))
    return float(alpha or 0.0), float(gamma or 0.0), float(eps), ign


def _flags(w, pw, al, alpha, gamma, eps, ignore, reduce, block) -> dict:
    return dict(
        HAS_W=w is not None, HAS_PW=pw is not None, ALPHA=2 if al is not None else int(alpha is not None),
        FOCAL=bool(gamma), SMOOTH=eps != 0.0, IGNORE=ignore is not None, REDUCE=reduce, BLOCK=block,
        num_warps=4 if block <= 1024 else 8,
    )


@torch.library.custom_op("losskit::sigmoid_focal_fwd", mutates_args=())
def _focal_fwd_op(x: Tensor, t: Tensor, w: Optional[Tensor], w_period: int, pw: Optional[Tensor], pw_period: int,
                  al: Optional[Tensor], al_period: int, alpha: Optional[float], gamma: Optional[float],
                  label_smoothing: float, ignore: Optional[float], reduce: bool) -> Tensor:
    """Flat elementwise loss (``x``'s dtype) or, with ``reduce``, fp32 partial sums per block."""
    x, t = x.contiguous(), t.contiguous()  # read at X + offset: a 1-D view with a stride (scores[:, k]) is copied
    block = _block(x)
    n = x.numel()
    out = x.new_zeros(_n_partials(x), dtype=torch.float32) if reduce else torch.empty_like(x)
    if n == 0:
        return out
    _focal_fwd_kernel[(cdiv(n, block),)](
        x, t, *_launch_args(x, w, w_period, pw, pw_period, al, al_period), out, n,
        *_scalars(t, alpha, gamma, label_smoothing, ignore),
        **_flags(w, pw, al, alpha, gamma, label_smoothing, ignore, reduce, block),
    )
    return out


@_focal_fwd_op.register_fake
def _(x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, label_smoothing, ignore, reduce):
    if reduce:
        return x.new_empty(_n_partials(x), dtype=torch.float32)
    return torch.empty_like(x)


@torch.library.custom_op("losskit::sigmoid_focal_bwd", mutates_args=())
def _focal_bwd_op(g: Tensor, x: Tensor, t: Tensor, w: Optional[Tensor], w_period: int, pw: Optional[Tensor],
                  pw_period: int, al: Optional[Tensor], al_period: int, alpha: Optional[float],
                  gamma: Optional[float], label_smoothing: float, ignore: Optional[float], reduce: bool) -> Tensor:
    """Gradient with respect to the flat logits ``x`` (``x``'s dtype)."""
    x, t = x.contiguous(), t.contiguous()
    block = _block(x)
    n = x.numel()
    gx = torch.empty_like(x)
    if n == 0:
        return gx
    _focal_bwd_kernel[(cdiv(n, block),)](
        x, t, *_launch_args(x, w, w_period, pw, pw_period, al, al_period), g.contiguous(), gx, n,
        *_scalars(t, alpha, gamma, label_smoothing, ignore),
        **_flags(w, pw, al, alpha, gamma, label_smoothing, ignore, reduce, block),
    )
    return gx


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
    gx = torch.ops.losskit.sigmoid_focal_bwd(g, x, t, w, w_period, pw, pw_period, al, al_period, alpha, gamma, eps,
                                             ignore, reduce)
    return (gx,) + (None,) * 12


_focal_fwd_op.register_autograd(_backward, setup_context=_setup)


def _flat_broadcast(v: Optional[Tensor], shape: torch.Size, name: str) -> tuple[Optional[Tensor], int]:
    """``v`` as a flat fp32 tensor read at ``offset % period``; expands once if it must."""
    if v is None:
        return None, 1
    try:
        torch.broadcast_shapes(v.shape, shape)
    except RuntimeError:
        raise ValueError(f"{name} of shape {tuple(v.shape)} does not broadcast to input of shape {tuple(shape)}") from None
    if v.dim() > len(shape) or torch.broadcast_shapes(v.shape, shape) != shape:
        raise ValueError(f"{name} of shape {tuple(v.shape)} would enlarge input of shape {tuple(shape)}; "
                         "give it at most the input's shape")
    vs = (1,) * (len(shape) - v.dim()) + tuple(v.shape)
    for k in range(len(shape) + 1):  # first k with v == 1 on dims < k and v == input on dims >= k
        if all(d == 1 for d in vs[:k]) and tuple(vs[k:]) == tuple(shape[k:]):
            period = 1
            for d in shape[k:]:
                period *= d
            return v.detach().reshape(-1).to(torch.float32).contiguous(), period
    return v.detach().to(torch.float32).expand(shape).contiguous().reshape(-1), max(1, torch.Size(shape).numel())


_IGNORE_DTYPES = (torch.float32, torch.int64)


def _run(logits, target, weight, pos_weight, alpha, gamma, label_smoothing, ignore_index, reduction, all_ignored, fn):
    _reduction.check_reduction(reduction)
    _reduction.check_all_ignored(all_ignored)
    check_runnable(logits, fn)
    if logits.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise TypeError(f"logits must be float32, bfloat16 or float16 for the Triton kernel, got {logits.dtype}; "
                        "use the losskit.functional loss (its PyTorch path handles float64)")
    if logits.shape != target.shape:
        raise ValueError(f"logits and target must have the same shape, got {tuple(logits.shape)} and {tuple(target.shape)}")
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
    if ignore_index is not None and target.dtype not in _IGNORE_DTYPES:
        raise TypeError(f"ignore_index needs a float32 or int64 target in the Triton kernel, got {target.dtype}; "
                        "convert the target, or use the losskit.functional loss")
    if ignore_index is not None and not target.is_floating_point() and float(ignore_index) != int(ignore_index):
        raise ValueError(f"ignore_index={ignore_index!r} can never equal an integer target; pass an integer")
    w, wp = _flat_broadcast(weight, logits.shape, "weight")
    pw, pwp = _flat_broadcast(pos_weight, logits.shape, "pos_weight")
    al, alp = _flat_broadcast(alpha, logits.shape, "alpha") if isinstance(alpha, Tensor) else (None, 1)
    x = logits.reshape(-1)
    t = target.detach().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    reduce = reduction != "none"
    out = _focal_fwd_op(x, t, w, wp, pw, pwp, al, alp,
                        None if alpha is None or al is not None else float(alpha),
                        None if gamma is None else float(gamma), float(label_smoothing),
                        None if ignore_index is None else float(ignore_index), reduce)
    if reduction == "none":
        return out.view(logits.shape)
    total = out.sum()
    if reduction == "mean":
        if ignore_index is None:
            total = total / logits.numel()  # torch: mean of an empty tensor is NaN, 0/0 here too
        else:
            count = (target != ignore_index).sum().to(torch.float32)  # the functional's denominator
            total = _reduction.weighted_mean(total, count, all_ignored=all_ignored)
    return total.to(logits.dtype)


def sigmoid_focal_loss_triton(logits: Tensor, target: Tensor, *, alpha=None, gamma: float = 2.0,
                              weight: Optional[Tensor] = None, pos_weight: Optional[Tensor] = None,
                              label_smoothing: float = 0.0, ignore_index: Optional[float] = None,
                              reduction: str = "mean", all_ignored: str = "nan") -> Tensor:
    r"""Sigmoid focal loss (Lin et al., 2017) by the fused kernels: the numbers of
    :func:`losskit.functional.sigmoid_focal_loss`.

    .. math::
        \ell = w ig[\, y'\,lpha\,\pi\,(1-p)^\gamma (-\log p) + (1-y')(1-lpha)\,p^\gamma (-\log(1-p)) ig],
        \qquad y' = y(1-arepsilon) + arepsilon/2

    (the expected focal loss of a soft target; for 0/1 targets torchvision's formula).

    Args:
        logits: any shape; float32, bfloat16 or float16.
        target: same shape, values in [0, 1] (float, or integer/bool 0/1).
        alpha: optional weight of the positive term in [0, 1] (float, or a tensor broadcasting to
            ``logits``); the negative term gets ``1 - alpha``. ``None``: off.
        gamma: focusing parameter >= 0 (``0`` or ``None``: plain BCE).
        weight, pos_weight: optional, broadcastable to ``logits``.
        label_smoothing: :math:`arepsilon \in [0, 1)`.
        ignore_index: elements whose target equals it count nowhere (float32 or int64 targets).
        reduction: ``"none"`` | ``"mean"`` (over the non-ignored elements) | ``"sum"``.
        all_ignored: ``"nan"`` or ``"zero"``: the mean when every element is ignored.

    Returns:
        ``logits``' shape for ``"none"``, else a scalar; in ``logits``' dtype.

    Example (GPU, or CPU under ``TRITON_INTERPRET=1``)::

        loss = sigmoid_focal_loss_triton(logits, targets, alpha=0.25, gamma=2.0)
    """
    if alpha is not None and not isinstance(alpha, Tensor) and not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (or None for off), got {alpha!r}")
    if gamma is not None and not float(gamma) >= 0.0:
        raise ValueError(f"gamma must be >= 0, got {gamma!r}")
    return _run(logits, target, weight, pos_weight, alpha, gamma, label_smoothing, ignore_index, reduction,
                all_ignored, "sigmoid_focal_loss_triton")


def binary_cross_entropy_with_logits_triton(logits: Tensor, target: Tensor, *, weight: Optional[Tensor] = None,
                                            pos_weight: Optional[Tensor] = None, reduction: str = "mean",
                                            label_smoothing: float = 0.0) -> Tensor:
    """``losskit.functional.binary_cross_entropy_with_logits`` (torch's function plus label smoothing
    ``y' = y (1 - eps) + eps / 2``) by the fused kernels (one read of logits and targets forward, one
    read + one gradient write backward); see the module docstring."""
    return _run(logits, target, weight, pos_weight, None, None, label_smoothing, None, reduction, "nan",
                "binary_cross_entropy_with_logits_triton")


_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _usable(input: Tensor, target: Tensor, *others) -> bool:
    if not can_run(input) or input.dtype not in _KERNEL_DTYPES:
        return False
    if target.shape != input.shape or target.requires_grad or target.is_complex():
        return False  # target gradients (rare) and float64 use the PyTorch path
    return not any(isinstance(o, Tensor) and (o.requires_grad or o.dim() > input.dim()) for o in others)


def _bce_entry(input: Tensor, target: Tensor, *, weight: Optional[Tensor] = None,
               pos_weight: Optional[Tensor] = None, reduction: str = "mean", label_smoothing: float = 0.0,
               **unknown) -> Optional[Tensor]:
    """Dispatcher entry for :func:`losskit.functional.binary_cross_entropy_with_logits` (its exact keywords).

    Served: float32/bfloat16/float16 logits whose result dtype is the logits' (a floating target does
    not promote it: float64 targets with float32 logits, or float32 targets with half logits, make
    the functional compute and return a wider dtype), ``weight`` / ``pos_weight`` without a gradient,
    ``label_smoothing``, every ``reduction``. ``None`` otherwise, and for any other keyword.
    """
    if unknown or not _usable(input, target, weight, pos_weight):
        return None
    if target.is_floating_point() and torch.promote_types(input.dtype, target.dtype) != input.dtype:
        return None
    return binary_cross_entropy_with_logits_triton(input, target, weight=weight, pos_weight=pos_weight,
                                                   reduction=reduction, label_smoothing=label_smoothing)


def _focal_entry(input: Tensor, target: Tensor, *, alpha=None, gamma: float = 2.0, weight: Optional[Tensor] = None,
                 pos_weight: Optional[Tensor] = None, label_smoothing: float = 0.0,
                 ignore_index: Optional[float] = None, reduction: str = "mean", all_ignored: str = "nan",
                 **unknown) -> Optional[Tensor]:
    """Dispatcher entry for :func:`losskit.functional.sigmoid_focal_loss` (its exact keywords).

    Served: float32/bfloat16/float16 logits with every option -- ``alpha`` (float, or a tensor
    without a gradient), ``gamma``, ``weight`` / ``pos_weight`` (without a gradient),
    ``label_smoothing``, ``ignore_index`` (float32 targets, or int64 targets with an integer value)
    with ``all_ignored``, every ``reduction``. ``None`` otherwise, and for any other keyword.
    """
    if unknown or not _usable(input, target, weight, pos_weight, alpha):
        return None
    if ignore_index is not None and (
        target.dtype not in _IGNORE_DTYPES
        or (not target.is_floating_point() and float(ignore_index) != int(ignore_index))
    ):
        return None  # the comparison would not be the one torch makes in the target's dtype
    return sigmoid_focal_loss_triton(input, target, alpha=alpha, gamma=gamma, weight=weight, pos_weight=pos_weight,
                                     label_smoothing=label_smoothing, ignore_index=ignore_index,
                                     reduction=reduction, all_ignored=all_ignored)


if HAS_TRITON:
    _dispatch.register_kernel("binary_cross_entropy_with_logits", _bce_entry)
    _dispatch.register_kernel("sigmoid_focal_loss", _focal_entry)
