r"""Soft counts for ``(N, C, d1..dk)`` logits, the link fused: one read forward, one read + one write backward.

The primitive ``"soft_counts"`` of :func:`losskit.functional._segmentation.soft_counts` (the PyTorch
formula it must match): the sums :math:`I = \sum p t`, :math:`P = \sum p`, :math:`T = \sum t` per
(image, class), with :math:`p` the sigmoid of each element or the softmax over ``C`` of each pixel.
The functional turns the counts into Dice / Jaccard / Tversky ratios and reduces them; nothing
but the per-``(n, c)`` sums is kept between the two passes.

One kernel per link serves both passes (``BACKWARD``). Forward: one program per (sample·class,
spatial block) for sigmoid, per (sample, spatial block) for softmax, writes partial sums of :math:`p t`, :math:`p`, :math:`t` for its block; the partials are
summed by torch (deterministic: no atomics).

Backward: autograd hands each block the gradient of its partial sums (gI, gP), and per element::

    dL/dp = gI t + gP
    sigmoid: dL/dx = dL/dp * p (1 - p)                            (d sigmoid = p (1 - p))
    softmax: dL/dx_c = p_c (dL/dp_c - sum_k p_k dL/dp_k)          (Jacobian of softmax)

Class-index targets (softmax only) are one-hot encoded in the kernel; pixels whose label equals
``ignore_index`` drop out of every sum (their p and t count as 0) and get a zero gradient.
"""

import torch
from torch import Tensor

from . import _dispatch
from ._triton import can_run, cdiv, interpreting, kernel, next_pow2, tl

__all__ = ["soft_counts"]

_GPU_BLOCK_S = 4096  # sigmoid: elements per program; softmax: BLOCK_C * BLOCK_S <= this
_INTERP_BLOCK_S = 8
_MAX_SOFTMAX_C = 1024

_SIGMOID, _SOFTMAX, _SOFTMAX_INDEX = 0, 1, 2


@kernel
def _sigmoid_kernel(
    X,
    s_xn,
    s_xc,
    s_xs,
    T,
    s_tn,
    s_tc,
    s_ts,
    G,
    OUT,
    s_on,
    s_oc,
    s_os,
    C,
    S,
    NC,
    SB,
    BACKWARD: tl.constexpr,
    BLOCK_S: tl.constexpr,
):
    """Forward: the block's partial sums of p t, p, t into ``OUT``. ``BACKWARD``: the gradient of ``x``
    (strides ``s_o*``) into ``OUT`` from the gradient ``G`` of the partial sums."""
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
    p = tl.exp(tl.minimum(x, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(x))))  # sigmoid(x) from log sigmoid, no overflow
    stride_k = NC * SB  # (no .to(): an int argument equal to 1 arrives as a constexpr)
    if BACKWARD:
        g_i = tl.load(G + k)
        g_p = tl.load(G + stride_k + k)
        d = (g_i * t + g_p) * p * (1.0 - p)
        tl.store(OUT + n * s_on + c * s_oc + o64 * s_os, d.to(OUT.dtype.element_ty), mask=mask)
    else:
        p = tl.where(mask, p, 0.0)
        tl.store(OUT + k, tl.sum(p * t, 0))
        tl.store(OUT + stride_k + k, tl.sum(p, 0))
        tl.store(OUT + 2 * stride_k + k, tl.sum(t, 0))


@kernel
def _softmax_kernel(
    X,
    s_xn,
    s_xc,
    s_xs,
    T,
    s_tn,
    s_tc,
    s_ts,
    G,
    OUT,
    s_on,
    s_oc,
    s_os,
    C,
    S,
    NC,
    SB,
    ignore_index,
    INDEX: tl.constexpr,
    HAS_IGNORE: tl.constexpr,
    BACKWARD: tl.constexpr,
    BLOCK_C: tl.constexpr,
    BLOCK_S: tl.constexpr,
):
    """As :func:`_sigmoid_kernel`, with the softmax over the ``C`` classes of each pixel."""
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
        else:
            valid = smask
        # one-hot in the kernel: a label outside [0, C) matches no class (its p still counts)
        t = tl.where((c64 == y[None, :]) & valid[None, :], 1.0, 0.0)
    else:
        valid = smask
        t = tl.load(T + n64 * s_tn + c64 * s_tc + o64 * s_ts, mask=mask, other=0.0).to(tl.float32)
    k = (n64 * C + cls.to(tl.int64)) * SB + sb
    stride_k = NC * SB  # (no .to(): an int argument equal to 1 arrives as a constexpr)
    if BACKWARD:
        g_i = tl.load(G + k, mask=cmask, other=0.0)
        g_p = tl.load(G + stride_k + k, mask=cmask, other=0.0)
        dp = tl.where(mask & valid[None, :], g_i[:, None] * t + g_p[:, None], 0.0)  # dL/dp_c
        d = p * (dp - tl.sum(p * dp, 0)[None, :])
        tl.store(OUT + n64 * s_on + c64 * s_oc + o64 * s_os, d.to(OUT.dtype.element_ty), mask=mask)
    else:
        p = tl.where(mask & valid[None, :], p, 0.0)  # an ignored or padded pixel adds to no count
        tl.store(OUT + k, tl.sum(p * t, 1), mask=cmask)
        tl.store(OUT + stride_k + k, tl.sum(p, 1), mask=cmask)
        tl.store(OUT + 2 * stride_k + k, tl.sum(t, 1), mask=cmask)


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


def _launch(
    x: Tensor,
    t: Tensor,
    mode: int,
    ignore_index: int | None,
    backward: bool,
    g: Tensor,
    out: Tensor,
    out_strides=(0, 0, 0),
) -> None:
    """One launch of the kernel of ``mode`` over ``x``: the forward (``out``: the partial sums) or the
    backward (``g``: the gradient of the partial sums, ``out``: the gradient of ``x``, its strides)."""
    n, c, s = x.shape
    bc, bs, sb = _blocks(x, mode)
    args = (x, *x.stride(), t, *_t_strides(t, mode), g, out, *out_strides, c, s, n * c, sb)
    if mode == _SIGMOID:
        _sigmoid_kernel[(n * c * sb,)](*args, BACKWARD=backward, BLOCK_S=bs, num_warps=_warps(bc, bs))
        return
    _softmax_kernel[(n * sb,)](
        *args,
        0 if ignore_index is None else ignore_index,
        INDEX=mode == _SOFTMAX_INDEX,
        HAS_IGNORE=ignore_index is not None,
        BACKWARD=backward,
        BLOCK_C=bc,
        BLOCK_S=bs,
        num_warps=_warps(bc, bs),
    )


@torch.library.custom_op("losskit::soft_counts_fwd", mutates_args=())
def _fwd_op(x: Tensor, t: Tensor, mode: int, ignore_index: int | None) -> Tensor:
    """Partial sums ``(3, N*C, blocks)`` of p*t, p, t per spatial block (fp32)."""
    n, c, _ = x.shape
    part = x.new_zeros((3, n * c, _blocks(x, mode)[2]), dtype=torch.float32)
    if x.numel():
        _launch(x, t, mode, ignore_index, False, part, part)
    return part


@_fwd_op.register_fake
def _(x, t, mode, ignore_index):
    n, c, _ = x.shape
    return x.new_empty((3, n * c, _blocks(x, mode)[2]), dtype=torch.float32)


@torch.library.custom_op("losskit::soft_counts_bwd", mutates_args=())
def _bwd_op(g: Tensor, x: Tensor, t: Tensor, mode: int, ignore_index: int | None) -> Tensor:
    """Gradient with respect to ``x`` (N, C, S) given the gradient of the partial sums."""
    gx = torch.empty_like(x)
    if x.numel():
        _launch(x, t, mode, ignore_index, True, g.contiguous(), gx, gx.stride())
    return gx


@_bwd_op.register_fake
def _(g, x, t, mode, ignore_index):
    return torch.empty_like(x)


def _setup(ctx, inputs, output):
    x, t, mode, ignore_index = inputs
    ctx.save_for_backward(x, t)
    ctx.opts = (mode, ignore_index)


def _backward(ctx, g):
    x, t = ctx.saved_tensors
    return torch.ops.losskit.soft_counts_bwd(g, x, t, *ctx.opts), None, None, None


_fwd_op.register_autograd(_backward, setup_context=_setup)


# ---------------------------------------------------------------------------------------------
# The primitive: soft counts of normalised mask inputs
# ---------------------------------------------------------------------------------------------

_KERNEL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _supports(m, *, per_image: bool) -> bool:
    """Logits (``from_logits=True``) in float32/bfloat16/float16 on a device Triton can run on, a
    target without a gradient; multiclass with at most 1024 classes (class indices, with or without
    ``ignore_index``, or one-hot/probabilities); binary and multilabel without ``ignore_index``."""
    x = m.input
    if not m.from_logits or x.dtype not in _KERNEL_DTYPES or x.numel() == 0 or m.target.requires_grad:
        return False
    if not can_run(x):
        return False
    if m.mode == "multiclass":
        return x.shape[1] <= _MAX_SOFTMAX_C
    return m.ignore_index is None


@_dispatch.register("soft_counts", supports=_supports)
def soft_counts(m, *, per_image: bool):
    """``(I, P, T)`` of :func:`losskit.functional._segmentation.soft_counts`: float32 sums of ``p t``,
    ``p`` and ``t`` per (image, class) -- summed over the batch unless ``per_image`` -- with the link
    fused and ignored pixels (class-index targets) left out of every sum."""
    x3 = m.input
    n, c, s = x3.shape
    if m.index_target:  # class indices, one-hot encoded in the kernel
        t = m.target.reshape(n, s)
        kmode = _SOFTMAX_INDEX
    else:
        t = m.target
        t = t.detach() if t.is_floating_point() else t.to(torch.float32)
        kmode = _SOFTMAX if m.mode == "multiclass" else _SIGMOID
    ignore = None if m.ignore_index is None else int(m.ignore_index)
    part = torch.ops.losskit.soft_counts_fwd(x3, t, kmode, ignore)
    inter, psum, tsum = part[:3].sum(-1).view(3, n, c).unbind(0)  # (N, C) each, float32
    if not per_image:
        inter, psum, tsum = inter.sum(0), psum.sum(0), tsum.sum(0)
    return inter, psum, tsum
