r"""Fused soft Dice loss (optionally + BCE) for ``(N, C, d1..dk)`` logits: one read forward, one read + one write backward.

The functional reference is :func:`losskit.functional.dice_loss`; the dispatcher picks this kernel for
CUDA tensors. The activation (sigmoid per element, or softmax over ``C`` per pixel) is fused into
both passes; nothing but the per-``(n, c)`` sums is kept between them.

Forward: one program per (sample·class, spatial block) for sigmoid, per (sample, spatial block) for
softmax, writes partial sums of :math:`p t`, :math:`p`, :math:`t` (and the BCE) for its block; the
partials are summed by torch (deterministic: no atomics). Then, per ``(n, c)``::

    I = sum_s p t,  P = sum_s p,  T = sum_s t
    dice = 1 - (2 I + smooth) / max(P + T + smooth, eps)
    loss = dice + bce_weight * mean_s BCE(x, t)                  (sigmoid only)

Backward: autograd hands each block the gradient of its partial sums (gI, gP, gB), and per element::

    dL/dp = gI t + gP
    sigmoid: dL/dx = dL/dp * p (1 - p) + gB (p - t)              (d sigmoid = p (1 - p); d BCE/dx = p - t)
    softmax: dL/dx_c = p_c (dL/dp_c - sum_k p_k dL/dp_k)          (Jacobian of softmax)

Class-index targets (softmax only) are one-hot encoded in the kernel; pixels whose label equals
``ignore_index`` drop out of every sum (their p and t count as 0) and get a zero gradient.

Two front ends share the kernels: the dispatcher entry for :func:`losskit.functional.dice_loss`
(its exact options and numbers: the kernel gives the counts, the functional's own ``_ratio`` /
``_finish`` turn them into the loss -- see ``_dispatch_entry``), and :func:`dice_loss_triton`, a
kernel-level function with its own conventions (per-image ratios, ``smooth=1``, optional BCE term).
"""

import math
from typing import Optional

import torch
from torch import Tensor

from .. import _reduction
from . import _dispatch
from ._triton import HAS_TRITON, as_ncs, can_run, cdiv, check_runnable, interpreting, kernel, next_pow2, tl

__all__ = ["dice_loss_triton"]

_GPU_BLOCK_S = 4096  # sigmoid: elements per program; softmax: BLOCK_C * BLOCK_S <= this
_INTERP_BLOCK_S = 8
_MAX_SOFTMAX_C = 1024

_SIGMOID, _SOFTMAX, _SOFTMAX_INDEX = 0, 1, 2


@kernel
def _dice_sigmoid_fwd_kernel(
    X, s_xn, s_xc, s_xs, T, s_tn, s_tc, s_ts, PART, C, S, NC, SB,
    WITH_BCE: tl.constexpr, BLOCK_S: tl.constexpr,
):
    k = tl.program_id(0).to(tl.int64)  # one flat grid axis: CUDA caps axes 1 and 2 at 65535 programs
    nc = k // SB
    sb = k - nc * SB
    n = nc // C
    c = nc - n * C
    offs = sb * BLOCK_S + tl.arange(0, BLOCK_S)
    mask = offs < S
    o64 = offs.to(tl.int64)
    x = tl.load(X + n * s_xn + c * s_xc + o64 * s_xs, mask=mask, other=0.0).to(tl.float32)
    t = tl.load(T + n * s_tn + c * s_tc + o64 * s_ts, mask=mask, other=0.0).to(tl.float32)
    ls_pos = tl.minimum(x, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(x)))  # log sigmoid(x), no overflow
    p = tl.where(mask, tl.exp(ls_pos), 0.0)
    stride_k = NC * SB  # (no .to(): an int argument equal to 1 arrives as a constexpr)
    tl.store(PART + k, tl.sum(p * t, 0))
    tl.store(PART + stride_k + k, tl.sum(p, 0))
    tl.store(PART + 2 * stride_k + k, tl.sum(t, 0))
    if WITH_BCE:
        # BCE = -(t log s(x) + (1 - t) log s(-x)),  log s(-x) = log s(x) - x
        bce = -(t * ls_pos + (1.0 - t) * (ls_pos - x))
        tl.store(PART + 3 * stride_k + k, tl.sum(tl.where(mask, bce, 0.0), 0))


@kernel
def _dice_sigmoid_bwd_kernel(
    X, s_xn, s_xc, s_xs, T, s_tn, s_tc, s_ts, G, GX, s_gn, s_gc, s_gs, C, S, NC, SB,
    WITH_BCE: tl.constexpr, BLOCK_S: tl.constexpr,
):
    k = tl.program_id(0).to(tl.int64)  # one flat grid axis: CUDA caps axes 1 and 2 at 65535 programs
    nc = k // SB
    sb = k - nc * SB
    n = nc // C
    c = nc - n * C
    offs = sb * BLOCK_S + tl.arange(0, BLOCK_S)
    mask = offs < S
    o64 = offs.to(tl.int64)
    x = tl.load(X + n * s_xn + c * s_xc + o64 * s_xs, mask=mask, other=0.0).to(tl.float32)
    t = tl.load(T + n * s_tn + c * s_tc + o64 * s_ts, mask=mask, other=0.0).to(tl.float32)
    stride_k = NC * SB  # (no .to(): an int argument equal to 1 arrives as a constexpr)
    g_i = tl.load(G + k)
    g_p = tl.load(G + stride_k + k)
    p = tl.exp(tl.minimum(x, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(x))))
    d = (g_i * t + g_p) * p * (1.0 - p)
    if WITH_BCE:
        d += tl.load(G + 3 * stride_k + k) * (p - t)
    tl.store(GX + n * s_gn + c * s_gc + o64 * s_gs, d.to(GX.dtype.element_ty), mask=mask)


@kernel
def _dice_softmax_fwd_kernel(
    X, s_xn, s_xc, s_xs, T, s_tn, s_tc, s_ts, PART, C, S, NC, SB, ignore_index,
    INDEX: tl.constexpr, HAS_IGNORE: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_S: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)  # one flat grid axis: CUDA caps axes 1 and 2 at 65535 programs
    n64 = pid // SB
    sb = pid - n64 * SB
    cls = tl.arange(0, BLOCK_C)
    offs = sb * BLOCK_S + tl.arange(0, BLOCK_S)
    cmask = cls < C
    smask = offs < S
    mask = cmask[:, None] & smask[None, :]
    c64 = cls.to(tl.int64)[:, None]
    o64 = offs.to(tl.int64)[None, :]
    x = tl.load(X + n64 * s_xn + c64 * s_xc + o64 * s_xs, mask=mask, other=0.0).to(tl.float32)
    x = tl.where(mask, x, -float("inf"))
    m = tl.max(x, 0)
    m = tl.where(m == -float("inf"), 0.0, m)  # padded pixels (all -inf)
    e = tl.exp(x - m[None, :])
    p = e / tl.maximum(tl.sum(e, 0), 1e-30)[None, :]  # softmax over classes, per pixel
    if INDEX:
        y = tl.load(T + n64 * s_tn + offs.to(tl.int64) * s_ts, mask=smask, other=0).to(tl.int64)
        if HAS_IGNORE:
            valid = smask & (y != ignore_index)
            p = tl.where(valid[None, :], p, 0.0)  # an ignored pixel adds to no count
        else:
            valid = smask
        # one-hot in the kernel: a label outside [0, C) matches no class (its p still counts)
        t = tl.where((c64 == y[None, :]) & valid[None, :], 1.0, 0.0)
    else:
        t = tl.load(T + n64 * s_tn + c64 * s_tc + o64 * s_ts, mask=mask, other=0.0).to(tl.float32)
    p = tl.where(mask, p, 0.0)
    k = (n64 * C + cls.to(tl.int64)) * SB + sb
    stride_k = NC * SB  # (no .to(): an int argument equal to 1 arrives as a constexpr)
    tl.store(PART + k, tl.sum(p * t, 1), mask=cmask)
    tl.store(PART + stride_k + k, tl.sum(p, 1), mask=cmask)
    tl.store(PART + 2 * stride_k + k, tl.sum(t, 1), mask=cmask)


@kernel
def _dice_softmax_bwd_kernel(
    X, s_xn, s_xc, s_xs, T, s_tn, s_tc, s_ts, G, GX, s_gn, s_gc, s_gs, C, S, NC, SB, ignore_index,
    INDEX: tl.constexpr, HAS_IGNORE: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_S: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)  # one flat grid axis: CUDA caps axes 1 and 2 at 65535 programs
    n64 = pid // SB
    sb = pid - n64 * SB
    cls = tl.arange(0, BLOCK_C)
    offs = sb * BLOCK_S + tl.arange(0, BLOCK_S)
    cmask = cls < C
    smask = offs < S
    mask = cmask[:, None] & smask[None, :]
    c64 = cls.to(tl.int64)[:, None]
    o64 = offs.to(tl.int64)[None, :]
    x = tl.load(X + n64 * s_xn + c64 * s_xc + o64 * s_xs, mask=mask, other=0.0).to(tl.float32)
    x = tl.where(mask, x, -float("inf"))
    m = tl.max(x, 0)
    m = tl.where(m == -float("inf"), 0.0, m)
    e = tl.exp(x - m[None, :])
    p = e / tl.maximum(tl.sum(e, 0), 1e-30)[None, :]
    if INDEX:
        y = tl.load(T + n64 * s_tn + offs.to(tl.int64) * s_ts, mask=smask, other=0).to(tl.int64)
        if HAS_IGNORE:
            valid = smask & (y != ignore_index)
        else:
            valid = smask
        t = tl.where((c64 == y[None, :]) & valid[None, :], 1.0, 0.0)
    else:
        valid = smask
        t = tl.load(T + n64 * s_tn + c64 * s_tc + o64 * s_ts, mask=mask, other=0.0).to(tl.float32)
    k = (n64 * C + cls.to(tl.int64)) * SB + sb
    stride_k = NC * SB  # (no .to(): an int argument equal to 1 arrives as a constexpr)
    g_i = tl.load(G + k, mask=cmask, other=0.0)
    g_p = tl.load(G + stride_k + k, mask=cmask, other=0.0)
    dp = tl.where(mask & valid[None, :], g_i[:, None] * t + g_p[:, None], 0.0)  # dL/dp_c
    d = p * (dp - tl.sum(p * dp, 0)[None, :])
    tl.store(GX + n64 * s_gn + c64 * s_gc + o64 * s_gs, d.to(GX.dtype.element_ty), mask=mask)


def _blocks(x3: Tensor, mode: int) -> tuple[int, int, int]:
    """(BLOCK_C, BLOCK_S, number of spatial blocks)."""
    s = max(1, x3.shape[2])
    bc = 1 if mode == _SIGMOID else next_pow2(x3.shape[1])
    if interpreting(x3):
        bs = min(next_pow2(s), _INTERP_BLOCK_S)
    else:
        bs = min(next_pow2(s), max(16, _GPU_BLOCK_S // bc))
    return bc, bs, cdiv(s, bs)


def _t_strides(t: Tensor, mode: int) -> tuple[int, int, int]:
    if mode == _SOFTMAX_INDEX:  # (N, S)
        return t.stride(0), 0, t.stride(1)
    return t.stride(0), t.stride(1), t.stride(2)


def _warps(bc: int, bs: int) -> int:
    e = bc * bs
    return 4 if e <= 1024 else 8


@torch.library.custom_op("losskit::dice_fwd", mutates_args=())
def _dice_fwd_op(x: Tensor, t: Tensor, mode: int, ignore_index: Optional[int], with_bce: bool) -> Tensor:
    """Partial sums ``(4, N*C, blocks)`` of p*t, p, t, BCE per spatial block (fp32)."""
    n, c, s = x.shape
    bc, bs, sb = _blocks(x, mode)
    part = x.new_zeros((4, n * c, sb), dtype=torch.float32)
    if x.numel() == 0:
        return part
    ts = _t_strides(t, mode)
    if mode == _SIGMOID:
        _dice_sigmoid_fwd_kernel[(n * c * sb,)](
            x, *x.stride(), t, *ts, part, c, s, n * c, sb, WITH_BCE=with_bce, BLOCK_S=bs, num_warps=_warps(bc, bs))
    else:
        _dice_softmax_fwd_kernel[(n * sb,)](
            x, *x.stride(), t, *ts, part, c, s, n * c, sb, 0 if ignore_index is None else ignore_index,
            INDEX=mode == _SOFTMAX_INDEX, HAS_IGNORE=ignore_index is not None, BLOCK_C=bc, BLOCK_S=bs,
            num_warps=_warps(bc, bs))
    return part


@_dice_fwd_op.register_fake
def _(x, t, mode, ignore_index, with_bce):
    n, c, _ = x.shape
    return x.new_empty((4, n * c, _blocks(x, mode)[2]), dtype=torch.float32)


@torch.library.custom_op("losskit::dice_bwd", mutates_args=())
def _dice_bwd_op(g: Tensor, x: Tensor, t: Tensor, mode: int, ignore_index: Optional[int], with_bce: bool) -> Tensor:
    """Gradient with respect to ``x`` (N, C, S) given the gradient of the partial sums."""
    n, c, s = x.shape
    bc, bs, sb = _blocks(x, mode)
    gx = torch.empty_like(x)
    if x.numel() == 0:
        return gx
    g = g.contiguous()
    ts = _t_strides(t, mode)
    if mode == _SIGMOID:
        _dice_sigmoid_bwd_kernel[(n * c * sb,)](
            x, *x.stride(), t, *ts, g, gx, *gx.stride(), c, s, n * c, sb,
            WITH_BCE=with_bce, BLOCK_S=bs, num_warps=_warps(bc, bs))
    else:
        _dice_softmax_bwd_kernel[(n * sb,)](
            x, *x.stride(), t, *ts, g, gx, *gx.stride(), c, s, n * c, sb, 0 if ignore_index is None else ignore_index,
            INDEX=mode == _SOFTMAX_INDEX, HAS_IGNORE=ignore_index is not None, BLOCK_C=bc, BLOCK_S=bs,
            num_warps=_warps(bc, bs))
    return gx


@_dice_bwd_op.register_fake
def _(g, x, t, mode, ignore_index, with_bce):
    return torch.empty_like(x)


def _setup(ctx, inputs, output):
    x, t, mode, ignore_index, with_bce = inputs
    ctx.save_for_backward(x, t)
    ctx.opts = (mode, ignore_index, with_bce)


def _backward(ctx, g):
    x, t = ctx.saved_tensors
    return torch.ops.losskit.dice_bwd(g, x, t, *ctx.opts), None, None, None, None


_dice_fwd_op.register_autograd(_backward, setup_context=_setup)


def dice_loss_triton(
    logits: Tensor,
    target: Tensor,
    *,
    activation: str = "sigmoid",
    smooth: float = 1.0,
    eps: float = 1e-7,
    ignore_index: Optional[int] = None,
    bce_weight: Optional[float] = None,
    batch_dice: bool = False,
    reduction: str = "mean",
) -> Tensor:
    r"""Soft Dice loss per (sample, class) by the fused kernels, optionally plus BCE.

    .. math::
        \mathrm{dice}_{nc} = 1 - \frac{2 \sum_s p_{ncs} t_{ncs} + \mathrm{smooth}}
        {\max(\sum_s p_{ncs} + \sum_s t_{ncs} + \mathrm{smooth},\ \mathrm{eps})},\qquad
        \ell_{nc} = \mathrm{dice}_{nc} + \lambda\,\overline{\mathrm{BCE}}_{nc}

    Args:
        logits: ``(N, C, d1, ..., dk)``; float32, bfloat16 or float16; any layout.
        target: same shape with values in [0, 1]; or, with ``activation="softmax"``, class indices
            ``(N, d1, ..., dk)`` (integer dtype).
        activation: ``"sigmoid"`` (multi-label, per element) or ``"softmax"`` (over ``C``).
        smooth: added to numerator and denominator.
        eps: lower bound of the denominator (only matters when ``smooth`` is 0).
        ignore_index: with class-index targets, pixels with this label count nowhere.
        bce_weight: :math:`\lambda`, adds the spatial mean of BCE-with-logits per ``(n, c)``
            (sigmoid only; ``None``: off).
        batch_dice: sum over the batch too (one Dice per class, shape ``(C,)``).
        reduction: ``"none"`` (``(N, C)``, or ``(C,)`` with ``batch_dice``) | ``"mean"`` | ``"sum"``.

    Returns:
        As above, in ``logits``' dtype.

    Example (GPU, or CPU under ``TRITON_INTERPRET=1``)::

        loss = dice_loss_triton(seg_logits, masks, bce_weight=1.0)      # (N, C, H, W) each
    """
    _reduction.check_reduction(reduction)
    check_runnable(logits, "dice_loss_triton")
    if logits.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise TypeError(f"logits must be float32, bfloat16 or float16 for the Triton kernel, got {logits.dtype}; "
                        "use losskit.functional.dice_loss (its PyTorch path handles float64)")
    if logits.dim() < 2:
        raise ValueError(f"logits must have shape (N, C, d1, ..., dk), got {tuple(logits.shape)}")
    if activation not in ("sigmoid", "softmax"):
        raise ValueError(f"activation must be 'sigmoid' or 'softmax', got {activation!r}")
    n, c = logits.shape[:2]
    index = not target.is_floating_point() and target.dim() == logits.dim() - 1
    if index:
        if activation != "softmax":
            raise ValueError("class-index targets need activation='softmax'; for sigmoid pass a 0/1 target of "
                             f"the logits' shape {tuple(logits.shape)}")
        if tuple(target.shape) != (n, *logits.shape[2:]):
            raise ValueError(f"class-index target must have shape {(n, *logits.shape[2:])}, got {tuple(target.shape)}")
    elif target.shape != logits.shape:
        raise ValueError(f"target must have the logits' shape {tuple(logits.shape)} (or be class indices of shape "
                         f"{(n, *logits.shape[2:])} with softmax), got {tuple(target.shape)}")
    if bce_weight is not None and activation != "sigmoid":
        raise ValueError("bce_weight combines Dice with BCE-with-logits, which needs activation='sigmoid'")
    if activation == "softmax" and c > _MAX_SOFTMAX_C:
        raise ValueError(f"the softmax Dice kernel handles up to {_MAX_SOFTMAX_C} classes, got {c}")
    if ignore_index is not None and not index:
        raise ValueError("ignore_index applies to class-index targets only")

    x3 = as_ncs(logits)
    s = x3.shape[2]
    if index:
        t = target.reshape(n, s)
        mode = _SOFTMAX_INDEX
    else:
        t = as_ncs(target.detach() if target.is_floating_point() else target.to(torch.float32))
        mode = _SOFTMAX if activation == "softmax" else _SIGMOID
    with_bce = bce_weight is not None
    part = _dice_fwd_op(x3, t, mode, None if ignore_index is None else int(ignore_index), with_bce)
    sums = part.sum(-1).view(4, n, c)
    count = float(s)
    if batch_dice:
        sums = sums.sum(1)
        count = float(s * n)
    inter, psum, tsum, bce = sums[0], sums[1], sums[2], sums[3]
    loss = 1.0 - (2.0 * inter + smooth) / (psum + tsum + smooth).clamp_min(eps)
    if with_bce:
        loss = loss + float(bce_weight) * (bce / count)
    return _reduction.reduce(loss, reduction).to(logits.dtype)


_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _dispatch_entry(input: Tensor, target: Tensor, *, mode: str = "multiclass", from_logits: bool = True,
                    weight: Optional[Tensor] = None, ignore_index: Optional[int] = None, smooth: float = 0.0,
                    eps: float = 1e-7, per_image: bool = False, include_background: bool = True,
                    empty: str = "exclude", reduction: str = "mean", **unknown) -> Optional[Tensor]:
    """Dispatcher entry for :func:`losskit.functional.dice_loss` (its exact keywords, already validated).

    The kernel computes the soft counts ``I = sum p t``, ``P = sum p``, ``T = sum t`` per (image,
    class) with the link fused; the rest is the functional's own arithmetic on those ``(N, C)``
    counts (``_ratio`` and ``_finish`` of :mod:`losskit.functional._overlap`: ``smooth``, the ``eps``
    rule, ``per_image``, ``include_background``, ``empty``, ``weight``, ``reduction``), so every
    such option is served with the functional's numbers.

    Served: float32/bfloat16/float16 ``input`` with ``from_logits=True``; ``"multiclass"`` with
    class-index targets (with or without ``ignore_index``) or one-hot/probability targets (at most
    1024 classes); ``"binary"`` and ``"multilabel"`` without ``ignore_index``. ``None`` (PyTorch path)
    for ``from_logits=False``, ``ignore_index`` in binary/multilabel mode, a target that requires
    grad, an empty input, and any other keyword.
    """
    if unknown or not from_logits or target.requires_grad:
        return None
    if not can_run(input) or input.dtype not in _KERNEL_DTYPES or input.dim() < 1 or input.numel() == 0:
        return None
    n = input.shape[0]
    if mode == "multiclass":
        if input.dim() < 2 or input.shape[1] > _MAX_SOFTMAX_C:
            return None
        c = input.shape[1]
        x3 = as_ncs(input)
        if target.dim() == input.dim() - 1:  # class indices, one-hot encoded in the kernel
            t = target.reshape(n, x3.shape[2])
            kmode = _SOFTMAX_INDEX
        elif ignore_index is None:  # one-hot / probabilities
            t = as_ncs(target.detach() if target.is_floating_point() else target.to(torch.float32))
            kmode = _SOFTMAX
        else:
            return None  # (the functional refuses this combination)
    elif mode in ("binary", "multilabel"):
        if ignore_index is not None:
            return None  # value masking of binary/multilabel targets: PyTorch path
        if mode == "binary":
            c, length = 1, math.prod(input.shape[1:])
            x3 = input.reshape(n, 1, length)
            t = target.reshape(n, 1, length)
        else:
            if input.dim() < 2:
                return None
            c = input.shape[1]
            x3 = as_ncs(input)
            t = as_ncs(target)
        t = t.detach() if t.is_floating_point() else t.to(torch.float32)
        kmode = _SIGMOID
    else:
        return None
    part = _dice_fwd_op(x3, t, kmode, None if ignore_index is None else int(ignore_index), False)
    inter, psum, tsum = part[:3].sum(-1).view(3, n, c).unbind(0)  # (N, C) each, float32
    vcount = None
    if ignore_index is not None:
        # valid pixels per image, as the functional counts them: (N, 1), one count for every class
        vcount = (target.reshape(n, -1) != ignore_index).sum(1, dtype=torch.float32).unsqueeze(1)
    if not per_image:
        inter, psum, tsum = inter.sum(0), psum.sum(0), tsum.sum(0)
        vcount = None if vcount is None else vcount.sum(0)
    if not include_background:
        inter, psum, tsum = inter[..., 1:], psum[..., 1:], tsum[..., 1:]
    if vcount is not None:
        vcount = vcount.expand_as(inter)
    w = None
    if weight is not None:
        w = weight.to(device=inter.device, dtype=torch.float32)
        w = w if include_background else w[1:]

    from ..functional._overlap import _finish, _ratio  # the functional's own rules (imported lazily)

    loss = 1.0 - _ratio(2.0 * inter + smooth, psum + tsum + smooth, eps)  # Dice = 2 I / (P + T)
    return _finish(loss, tsum, vcount, w, empty=empty, reduction=reduction, dtype=input.dtype)


if HAS_TRITON:
    _dispatch.register_kernel("dice_loss", _dispatch_entry)
