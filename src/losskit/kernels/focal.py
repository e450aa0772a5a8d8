r"""Fused sigmoid focal loss and binary cross-entropy with logits: one pass forward, one pass backward.

The functional references are :func:`losskit.functional.sigmoid_focal_loss` and
:func:`losskit.functional.binary_cross_entropy_with_logits` (``torch.nn.functional``'s twin); the
dispatcher picks these kernels for CUDA tensors. Elementwise over the flattened input, float32 math
for every input dtype. The forward stores nothing for the backward but its inputs: the backward
recomputes everything from the logits and targets.

Per element (logit :math:`x`, target :math:`t \in [0, 1]`, ``pos_weight`` :math:`\pi`, ``weight``
:math:`w`, ``alpha`` :math:`\alpha`, ``gamma`` :math:`\gamma`)::

    log s(x)  = min(x, 0) - log(1 + exp(-|x|))          log-sigmoid without overflow
    log s(-x) = log s(x) - x
    ce        = -(pi t log s(x) + (1 - t) log s(-x))   BCE with logits (torch's pos_weight form)
    q         = 1 - p_t = t s(-x) + (1 - t) s(x)       the focal base (Lin et al.), no cancellation
    loss      = w * alpha_t * ce * q^gamma,  alpha_t = alpha t + (1 - alpha)(1 - t),  q^gamma = exp(gamma log q)

    dce/dx = -pi t s(-x) + (1 - t) s(x)
    dq/dx  = (1 - 2t) s(x) s(-x)
    dloss/dx = w alpha_t (dce/dx q^gamma + ce gamma q^(gamma-1) dq/dx)

``mean`` is ``sum(loss) / numel`` (torch's and torchvision's mean; ``weight`` rescales, it does not
renormalise). ``weight`` and ``pos_weight`` broadcast to the input; a trailing-dims broadcast (e.g.
per-class ``(C,)``) is read with a modulo index, any other broadcast is expanded once.
"""

from typing import Optional

import torch
from torch import Tensor

from .. import _reduction
from . import _dispatch
from ._triton_util import HAS_TRITON, can_run, cdiv, check_runnable, interpreting, kernel, tl

__all__ = ["sigmoid_focal_loss_triton", "binary_cross_entropy_with_logits_triton"]

_GPU_BLOCK = 2048
_INTERP_BLOCK = 64


@kernel
def _focal_fwd_kernel(
    X, T, W, w_period, PW, pw_period, OUT, numel, alpha, gamma,
    HAS_W: tl.constexpr, HAS_PW: tl.constexpr, HAS_ALPHA: tl.constexpr, FOCAL: tl.constexpr,
    REDUCE: tl.constexpr, BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    x = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
    t = tl.load(T + offs, mask=mask, other=0.0).to(tl.float32)
    ls_pos = tl.minimum(x, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(x)))  # log sigmoid(x)
    ls_neg = ls_pos - x  # log sigmoid(-x)
    if HAS_PW:
        pw = tl.load(PW + offs % pw_period, mask=mask, other=1.0).to(tl.float32)
        loss = -(pw * t * ls_pos + (1.0 - t) * ls_neg)
    else:
        loss = -(t * ls_pos + (1.0 - t) * ls_neg)
    if FOCAL:
        q = t * tl.exp(ls_neg) + (1.0 - t) * tl.exp(ls_pos)  # 1 - p_t
        loss = loss * tl.where(q > 0.0, tl.exp(gamma * tl.log(tl.maximum(q, 1e-30))), 0.0)
    if HAS_ALPHA:
        loss = loss * (alpha * t + (1.0 - alpha) * (1.0 - t))
    if HAS_W:
        loss = loss * tl.load(W + offs % w_period, mask=mask, other=0.0).to(tl.float32)
    if REDUCE:
        tl.store(OUT + pid, tl.sum(tl.where(mask, loss, 0.0), 0))
    else:
        tl.store(OUT + offs, loss.to(OUT.dtype.element_ty), mask=mask)


@kernel
def _focal_bwd_kernel(
    X, T, W, w_period, PW, pw_period, G, GX, numel, alpha, gamma,
    HAS_W: tl.constexpr, HAS_PW: tl.constexpr, HAS_ALPHA: tl.constexpr, FOCAL: tl.constexpr,
    REDUCE: tl.constexpr, BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    x = tl.load(X + offs, mask=mask, other=0.0).to(tl.float32)
    t = tl.load(T + offs, mask=mask, other=0.0).to(tl.float32)
    if REDUCE:
        g = tl.load(G + pid).to(tl.float32)  # the gradient of this program's partial sum
    else:
        g = tl.load(G + offs, mask=mask, other=0.0).to(tl.float32)
    ls_pos = tl.minimum(x, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(x)))
    ls_neg = ls_pos - x
    sp = tl.exp(ls_pos)  # sigmoid(x)
    sn = tl.exp(ls_neg)  # sigmoid(-x)
    if HAS_PW:
        pw = tl.load(PW + offs % pw_period, mask=mask, other=1.0).to(tl.float32)
    else:
        pw = 1.0
    d = -pw * t * sn + (1.0 - t) * sp  # d ce / dx
    if FOCAL:
        ce = -(pw * t * ls_pos + (1.0 - t) * ls_neg)
        q = t * sn + (1.0 - t) * sp
        logq = tl.log(tl.maximum(q, 1e-30))
        mod = tl.where(q > 0.0, tl.exp(gamma * logq), 0.0)  # q^gamma
        dmod = tl.where(q > 0.0, gamma * tl.exp((gamma - 1.0) * logq), 0.0) * (1.0 - 2.0 * t) * sp * sn
        d = d * mod + ce * dmod
    if HAS_ALPHA:
        d = d * (alpha * t + (1.0 - alpha) * (1.0 - t))
    if HAS_W:
        d = d * tl.load(W + offs % w_period, mask=mask, other=0.0).to(tl.float32)
    tl.store(GX + offs, (d * g).to(GX.dtype.element_ty), mask=mask)


def _block(x: Tensor) -> int:
    return _INTERP_BLOCK if interpreting(x) else _GPU_BLOCK


def _n_partials(x: Tensor) -> int:
    return max(1, cdiv(x.numel(), _block(x)))


def _launch_args(x, w, w_period, pw, pw_period):
    dummy = x.new_zeros(1, dtype=torch.float32)
    return (
        dummy if w is None else w, max(1, w_period), dummy if pw is None else pw, max(1, pw_period),
    )


@torch.library.custom_op("losskit::sigmoid_focal_fwd", mutates_args=())
def _focal_fwd_op(x: Tensor, t: Tensor, w: Optional[Tensor], w_period: int, pw: Optional[Tensor], pw_period: int,
                  alpha: Optional[float], gamma: Optional[float], reduce: bool) -> Tensor:
    """Flat elementwise loss (``x``'s dtype) or, with ``reduce``, fp32 partial sums per block."""
    block = _block(x)
    n = x.numel()
    out = x.new_zeros(_n_partials(x), dtype=torch.float32) if reduce else torch.empty_like(x)
    if n == 0:
        return out
    w_, wp, pw_, pwp = _launch_args(x, w, w_period, pw, pw_period)
    _focal_fwd_kernel[(cdiv(n, block),)](
        x, t, w_, wp, pw_, pwp, out, n, float(alpha or 0.0), float(gamma or 0.0),
        HAS_W=w is not None, HAS_PW=pw is not None, HAS_ALPHA=alpha is not None,
        FOCAL=bool(gamma), REDUCE=reduce, BLOCK=block, num_warps=4 if block <= 1024 else 8,
    )
    return out


@_focal_fwd_op.register_fake
def _(x, t, w, w_period, pw, pw_period, alpha, gamma, reduce):
    if reduce:
        return x.new_empty(_n_partials(x), dtype=torch.float32)
    return torch.empty_like(x)


@torch.library.custom_op("losskit::sigmoid_focal_bwd", mutates_args=())
def _focal_bwd_op(g: Tensor, x: Tensor, t: Tensor, w: Optional[Tensor], w_period: int, pw: Optional[Tensor],
                  pw_period: int, alpha: Optional[float], gamma: Optional[float], reduce: bool) -> Tensor:
    """Gradient with respect to the flat logits ``x`` (``x``'s dtype)."""
    block = _block(x)
    n = x.numel()
    gx = torch.empty_like(x)
    if n == 0:
        return gx
    w_, wp, pw_, pwp = _launch_args(x, w, w_period, pw, pw_period)
    _focal_bwd_kernel[(cdiv(n, block),)](
        x, t, w_, wp, pw_, pwp, g.contiguous(), gx, n, float(alpha or 0.0), float(gamma or 0.0),
        HAS_W=w is not None, HAS_PW=pw is not None, HAS_ALPHA=alpha is not None,
        FOCAL=bool(gamma), REDUCE=reduce, BLOCK=block, num_warps=4 if block <= 1024 else 8,
    )
    return gx


@_focal_bwd_op.register_fake
def _(g, x, t, w, w_period, pw, pw_period, alpha, gamma, reduce):
    return torch.empty_like(x)


def _setup(ctx, inputs, output):
    x, t, w, w_period, pw, pw_period, alpha, gamma, reduce = inputs
    ctx.save_for_backward(x, t, w, pw)
    ctx.opts = (w_period, pw_period, alpha, gamma, reduce)


def _backward(ctx, g):
    x, t, w, pw = ctx.saved_tensors
    w_period, pw_period, alpha, gamma, reduce = ctx.opts
    gx = torch.ops.losskit.sigmoid_focal_bwd(g, x, t, w, w_period, pw, pw_period, alpha, gamma, reduce)
    return gx, None, None, None, None, None, None, None, None


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


def _run(logits, target, weight, pos_weight, alpha, gamma, reduction, fn):
    _reduction.check_reduction(reduction)
    check_runnable(logits, fn)
    if logits.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise TypeError(f"logits must be float32, bfloat16 or float16 for the Triton kernel, got {logits.dtype}; "
                        "use the losskit.functional loss (its PyTorch path handles float64)")
    if logits.shape != target.shape:
        raise ValueError(f"logits and target must have the same shape, got {tuple(logits.shape)} and {tuple(target.shape)}")
    w, wp = _flat_broadcast(weight, logits.shape, "weight")
    pw, pwp = _flat_broadcast(pos_weight, logits.shape, "pos_weight")
    x = logits.reshape(-1)
    t = target.detach().reshape(-1)
    if not t.is_floating_point():
        t = t.to(torch.float32)
    reduce = reduction != "none"
    out = _focal_fwd_op(x, t, w, wp, pw, pwp, None if alpha is None else float(alpha),
                        None if gamma is None else float(gamma), reduce)
    if reduction == "none":
        return out.view(logits.shape)
    total = out.sum()
    if reduction == "mean":
        total = total / logits.numel()  # torch: mean of an empty tensor is NaN, 0/0 here too
    return total.to(logits.dtype)


def sigmoid_focal_loss_triton(logits: Tensor, target: Tensor, *, alpha: Optional[float] = None, gamma: float = 2.0,
                              weight: Optional[Tensor] = None, pos_weight: Optional[Tensor] = None,
                              reduction: str = "mean") -> Tensor:
    r"""Sigmoid focal loss (Lin et al., 2017) by the fused kernels; torchvision's formula.

    .. math::
        \ell = w\,\alpha_t\,\mathrm{BCE}_\pi(x, t)\,(1 - p_t)^\gamma,\quad
        p_t = p t + (1 - p)(1 - t),\ \alpha_t = \alpha t + (1 - \alpha)(1 - t).

    Args:
        logits: any shape; float32, bfloat16 or float16.
        target: same shape, values in [0, 1] (float, or integer/bool 0/1).
        alpha: optional class balance in [0, 1] (``None``: off).
        gamma: focusing parameter >= 0 (``0`` or ``None``: plain BCE).
        weight, pos_weight: optional, broadcastable to ``logits``.
        reduction: ``"none"`` | ``"mean"`` (over all elements) | ``"sum"``.

    Returns:
        ``logits``' shape for ``"none"``, else a scalar; in ``logits``' dtype.

    Example (GPU, or CPU under ``TRITON_INTERPRET=1``)::

        loss = sigmoid_focal_loss_triton(logits, targets, alpha=0.25, gamma=2.0)
    """
    if alpha is not None and not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1] (or None for off), got {alpha!r}")
    if gamma is not None and not float(gamma) >= 0.0:
        raise ValueError(f"gamma must be >= 0, got {gamma!r}")
    return _run(logits, target, weight, pos_weight, alpha, gamma, reduction, "sigmoid_focal_loss_triton")


def binary_cross_entropy_with_logits_triton(logits: Tensor, target: Tensor, *, weight: Optional[Tensor] = None,
                                            pos_weight: Optional[Tensor] = None, reduction: str = "mean") -> Tensor:
    """``torch.nn.functional.binary_cross_entropy_with_logits`` by the fused kernels (one read of
    logits and targets forward, one read + one gradient write backward); see the module docstring."""
    return _run(logits, target, weight, pos_weight, None, None, reduction, "binary_cross_entropy_with_logits_triton")


def _usable(input: Tensor, target: Tensor, *others: Optional[Tensor]) -> bool:
    if not can_run(input) or input.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        return False
    if target.shape != input.shape or target.requires_grad:
        return False  # target gradients (rare) and float64 use the PyTorch path
    return not any(o is not None and (o.requires_grad or o.dim() > input.dim()) for o in others)


def _unknown(options: dict) -> bool:
    return any(v is not None for v in options.values())


def _bce_entry(input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None,
               **options):
    if size_average is not None or reduce is not None or _unknown(options):
        return None
    if not _usable(input, target, weight, pos_weight):
        return None
    return binary_cross_entropy_with_logits_triton(input, target, weight=weight, pos_weight=pos_weight,
                                                   reduction=reduction)


def _focal_entry(input, target, *args, alpha=None, gamma=2.0, weight=None, pos_weight=None, reduction="mean",
                 **options):
    if args or _unknown(options):
        return None
    if not _usable(input, target, weight, pos_weight):
        return None
    return sigmoid_focal_loss_triton(input, target, alpha=alpha, gamma=gamma, weight=weight, pos_weight=pos_weight,
                                     reduction=reduction)


if HAS_TRITON:
    _dispatch.register_kernel("binary_cross_entropy_with_logits", _bce_entry)
    _dispatch.register_kernel("sigmoid_focal_loss", _focal_entry)
