r"""Linear layer + cross-entropy in one call, without materialising the ``(tokens, classes)`` logits.

:func:`linear_cross_entropy` is a drop-in for ``torch.nn.functional.linear_cross_entropy`` (torch
2.13): ``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``. It walks the tokens
in chunks; for each chunk it forms the logits, the loss and the gradient of the loss with respect to
those logits, and folds that gradient into the gradients of ``input``, ``linear_weight`` and
``linear_bias`` straight away (three GEMMs in all, like the unfused forward + backward). Only one
chunk of logits exists at any time, in the forward or the backward. On CUDA the per-chunk
cross-entropy is the fused Triton kernel (:mod:`losskit.kernels.cross_entropy`), whose gradient
overwrites the chunk's logits in place.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks, _reduction
from ..kernels import _dispatch
from ._classification import cross_entropy

__all__ = ["linear_cross_entropy"]

# Logits held per chunk (elements) when chunk_size is not given: 2**24 fp32 values = 64 MiB.
_CHUNK_ELEMENTS = 1 << 24


def _default_chunk(n: int, classes: int, budget: int = _CHUNK_ELEMENTS) -> int:
    """Tokens per chunk: a power of two (>= 16) whose logits fit ``budget`` elements, at most ``n``."""
    rows = max(1, budget // max(1, classes))
    rows = max(16, 1 << (rows.bit_length() - 1))
    return max(1, min(n, rows))


# ---------------------------------------------------------------------------------------------
# Per-chunk cross-entropy: (loss per row in fp32, gradient of sum_i scale_i * loss_i w.r.t. logits)
# ---------------------------------------------------------------------------------------------
ChunkCE = Callable[..., tuple[Tensor, Optional[Tensor]]]


def _ce_chunk_torch(logits: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int,
                    label_smoothing: float, row_scale: Optional[Tensor]) -> tuple[Tensor, Optional[Tensor]]:
    """PyTorch per-chunk cross-entropy, float32 math (float64 kept for float64 inputs).

    Class indices (row i, target y, v = [y != ignore_index], a = v * w_y, W = sum_c w_c)::

        loss_i = a (1 - eps) (lse - z_y) + v (eps / C) (W lse - sum_c w_c z_c)
        dloss_i/dz_c = p_c (a (1 - eps) + v eps W / C) - a (1 - eps) [c == y] - v (eps / C) w_c

    Probabilities t (smoothed t' = (1 - eps) t + eps / C)::

        loss_i = -sum_c w_c t'_c log p_c,   dloss_i/dz_c = p_c sum_k w_k t'_k - w_c t'_c
    """
    z = logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32)
    c = z.shape[1]
    logp = torch.log_softmax(z, dim=1)
    eps = float(label_smoothing)
    w = None if weight is None else weight.to(z.dtype)
    if target.is_floating_point():
        tp = target.to(z.dtype)
        if eps:
            tp = tp * (1.0 - eps) + eps / c  # smoothed target t'
        wt = tp if w is None else tp * w
        rows = -(wt * logp).sum(1)
        if row_scale is None:
            return rows, None
        grad = logp.exp_().mul_(wt.sum(1, keepdim=True)).sub_(wt)
        return rows, grad.mul_(row_scale.to(z.dtype)[:, None])
    valid = target != ignore_index
    y = torch.where(valid, target, torch.zeros_like(target))
    v = valid.to(z.dtype)
    a = v if w is None else w[y] * v
    rows = a * (1.0 - eps) * -logp.gather(1, y[:, None]).squeeze(1)
    if eps:
        smooth = -(logp.sum(1) if w is None else (logp * w).sum(1))  # -sum_c w_c log p_c
        rows = rows + v * (eps / c) * smooth
    if row_scale is None:
        return rows, None
    wsum = float(c) if w is None else w.sum()
    coef = a * (1.0 - eps) + v * (eps * wsum / c)
    grad = logp.exp_().mul_(coef[:, None])
    grad.scatter_add_(1, y[:, None], -(a * (1.0 - eps))[:, None])
    if eps:
        grad.sub_((v * (eps / c))[:, None] * (1.0 if w is None else w[None, :]))
    # rows that count get their scale; the others get exactly 0 (even if the scale is inf or NaN)
    scale = torch.where(valid, row_scale.to(z.dtype), torch.zeros((), dtype=z.dtype, device=z.device))
    return rows, grad.mul_(scale[:, None])


def _run_chunks(x: Tensor, lw: Tensor, lb: Optional[Tensor], target: Tensor, weight: Optional[Tensor],
                ignore_index: int, label_smoothing: float, chunk: int, ce_chunk: ChunkCE,
                row_scale: Optional[Tensor], needs: tuple[bool, bool, bool]):
    """Loss per row (fp32) and, when ``row_scale`` is given, gradients of ``sum_i scale_i loss_i``."""
    n = x.shape[0]
    rows = x.new_empty(n, dtype=torch.float64 if x.dtype == torch.float64 else torch.float32)
    gx = torch.empty_like(x) if row_scale is not None and needs[0] else None
    gw = torch.zeros_like(lw) if row_scale is not None and needs[1] else None
    gb = (torch.zeros(lb.shape, dtype=rows.dtype, device=lb.device)
          if row_scale is not None and lb is not None and needs[2] else None)
    for i in range(0, n, chunk):
        xc = x[i:i + chunk]
        logits = F.linear(xc, lw, lb)  # GEMM, fp32 accumulation, in the input's dtype
        sc = None if row_scale is None else row_scale[i:i + chunk]
        r, dz = ce_chunk(logits, target[i:i + chunk], weight, ignore_index, label_smoothing, sc)
        rows[i:i + chunk] = r
        if dz is None:
            continue
        dzl = dz.to(lw.dtype)
        if gx is not None:
            torch.mm(dzl, lw, out=gx[i:i + chunk])  # dL/dx = dL/dz W
        if gw is not None:
            gw.addmm_(dzl.t(), xc)  # dL/dW += dL/dz^T x  (accumulates in W's dtype)
        if gb is not None:
            gb += dz.sum(0, dtype=gb.dtype)
        del logits, dz, dzl
    return rows, gx, gw, None if gb is None else gb.to(lb.dtype)


class _LinearCrossEntropy(torch.autograd.Function):
    """Chunked linear + CE. Scalar reductions compute the gradients during the forward (the upstream
    gradient is then a scalar factor); ``reduction='none'`` recomputes chunk logits in the backward."""

    @staticmethod
    def forward(ctx, x, lw, lb, target, weight, ignore_index, label_smoothing, reduction, all_ignored, chunk,
                ce_chunk, want_grad):
        n = x.shape[0]
        needs = (x.requires_grad, lw.requires_grad, lb is not None and lb.requires_grad)
        ctx.reduction = reduction
        ctx.consumed = False
        ctx.precomputed = reduction != "none" and want_grad
        if reduction == "none" or not want_grad:
            rows, *_ = _run_chunks(x, lw, lb, target, weight, ignore_index, label_smoothing, chunk, ce_chunk,
                                   None, needs)
            ctx.save_for_backward(x, lw, lb, target, weight)
            ctx.opts = (ignore_index, label_smoothing, chunk, ce_chunk, needs)
            if reduction == "none":
                return rows.to(x.dtype)
            total = rows.sum()
            if reduction == "sum":
                return total.to(x.dtype)
            return _reduction.weighted_mean(total, _denominator(target, weight, ignore_index, x),
                                            all_ignored=all_ignored).to(x.dtype)
        if reduction == "sum":
            denom = None
            scale = torch.ones((), dtype=torch.float64 if x.dtype == torch.float64 else torch.float32,
                               device=x.device)
        else:
            denom = _denominator(target, weight, ignore_index, x)
            scale = 1.0 / (denom.clamp_min(torch.finfo(denom.dtype).tiny) if all_ignored == "zero" else denom)
        rows, gx, gw, gb = _run_chunks(x, lw, lb, target, weight, ignore_index, label_smoothing, chunk, ce_chunk,
                                       scale.expand(n), needs)
        total = rows.sum()
        out = total if denom is None else _reduction.weighted_mean(total, denom, all_ignored=all_ignored)
        ctx.save_for_backward(gx, gw, gb)
        return out.to(x.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        nones = (None,) * 9
        if ctx.precomputed:
            if ctx.consumed:
                raise RuntimeError("linear_cross_entropy: its gradients were precomputed in the forward and can be "
                                   "used by one backward only (retain_graph=True is not supported)")
            ctx.consumed = True
            gx, gw, gb = ctx.saved_tensors
            scale = lambda t: None if t is None else t.mul_(g.to(t.dtype))  # noqa: E731  (in place: no copy)
            return scale(gx), scale(gw), scale(gb), *nones
        x, lw, lb, target, weight = ctx.saved_tensors
        ignore_index, label_smoothing, chunk, ce_chunk, needs = ctx.opts
        if ctx.reduction != "none":  # the forward ran without grad mode: recompute with a scalar scale
            raise RuntimeError("linear_cross_entropy: backward through a result computed under torch.no_grad()")
        _, gx, gw, gb = _run_chunks(x, lw, lb, target, weight, ignore_index, label_smoothing, chunk, ce_chunk,
                                    g.reshape(-1).to(torch.float64 if x.dtype == torch.float64 else torch.float32),
                                    needs)
        return gx, gw, gb, *nones


def _denominator(target: Tensor, weight: Optional[Tensor], ignore_index: int, like: Tensor) -> Tensor:
    """sum_i a_i: counted rows, weighted by the weight of their class (torch's weighted mean)."""
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    if target.is_floating_point():
        # a fill on the device, not a host-to-device copy (which a CUDA graph could not capture)
        return torch.full((), float(target.shape[0]), dtype=dtype, device=target.device)
    return _reduction.class_weight_sum(target, weight, ignore_index, dtype=dtype)


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Optional[Tensor] = None,
    weight: Optional[Tensor] = None,
    reduction: str = "mean",
    ignore_index: Optional[int] = None,
    label_smoothing: float = 0.0,
    chunk_size: Optional[int] = None,
    all_ignored: str = "nan",
    options=None,
) -> Tensor:
    r"""Cross-entropy of ``input @ linear_weight.T + linear_bias`` against ``target``, chunked over tokens.

    .. math::
        z_i = W x_i + b, \qquad \ell_i = \mathrm{CE}(z_i, y_i)

    with ``CE`` exactly as in :func:`torch.nn.functional.cross_entropy` (class weights,
    ``ignore_index``, label smoothing, probability targets). It is the negative log-likelihood of a
    Categorical distribution whose logits are a linear function of the features (softmax link;
    predict :math:`\arg\max_c z_{ic}`). Equal to ``torch.nn.functional.linear_cross_entropy`` (torch
    2.13) and to ``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, but the
    ``(N, C)`` logits never exist at once: the tokens are processed ``chunk_size`` at a time, and for
    ``mean``/``sum`` the gradients of ``input``, ``linear_weight`` and ``linear_bias`` are formed
    during the forward (three GEMMs in all; the backward only multiplies by the upstream gradient).
    ``reduction="none"`` recomputes each chunk's logits in the backward (a fourth GEMM). Higher-order
    gradients are not supported.

    The logits of a chunk are the GEMM's output in ``input``'s dtype (as ``F.linear`` gives them);
    the softmax is computed in float32. ``linear_weight``'s gradient accumulates across chunks in
    ``linear_weight``'s dtype (for bfloat16 weights: one bfloat16 rounding per chunk).

    Args:
        input: features ``(N, H)`` or ``(H,)``.
        linear_weight: ``(C, H)`` (or ``(C, d1, ..., dk, H)``, which is not chunked).
        target: class indices ``(N,)`` / ``()`` (integer), or class probabilities ``(N, C)`` / ``(C,)``.
        linear_bias: optional ``(C,)`` (or ``(C, d1, ..., dk)``).
        weight: optional per-class weight ``(C,)``.
        reduction: ``"none"`` | ``"mean"`` (``sum_i w_{y_i} l_i / sum_i w_{y_i}`` over counted rows,
            as torch) | ``"sum"``.
        ignore_index: class index that contributes neither loss nor gradient; ``None`` means -100
            (torch 2.13's convention).
        label_smoothing: in [0, 1].
        chunk_size: tokens per chunk; default: a power of two keeping one chunk of logits near 64 MiB
            (128 MiB of bfloat16 logits on the Triton path).
        all_ignored: ``"nan"`` (torch) or ``"zero"``: the ``mean`` of a batch in which every target
            is ignored.
        options: accepted for drop-in compatibility with torch; only its ``batch_chunk_size`` is read.

    Returns:
        ``(N,)`` (``()`` for unbatched input) for ``"none"``, else a scalar; in ``input``'s dtype.

    Example:
        >>> import torch
        >>> from losskit.functional import linear_cross_entropy
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(6, 4, generator=g, requires_grad=True)
        >>> W = torch.randn(10, 4, generator=g, requires_grad=True)
        >>> y = torch.tensor([1, 0, 9, -100, 3, 3])
        >>> loss = linear_cross_entropy(x, W, y, chunk_size=4)
        >>> ref = torch.nn.functional.cross_entropy(x @ W.T, y)
        >>> print(f"{loss.item():.4f} {ref.item():.4f}")
        4.7714 4.7714
        >>> loss.backward()
        >>> W.grad.shape
        torch.Size([10, 4])

    References:
        Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", ICLR 2025.
        Hsu et al., "Liger Kernel: Efficient Triton Kernels for LLM Training", 2024.
    """
    _reduction.check_reduction(reduction)
    _reduction.check_all_ignored(all_ignored)
    _checks.check_floating(input, "input")
    _checks.check_floating(linear_weight, "linear_weight")
    _checks.check_tensor(target, "target")
    if input.dtype != linear_weight.dtype:
        raise TypeError(f"input and linear_weight must have the same dtype, got {input.dtype} and "
                        f"{linear_weight.dtype}; cast one of them (e.g. input.to(linear_weight.dtype))")
    if input.dim() not in (1, 2):
        raise ValueError(f"input must have shape (N, in_features) or (in_features,), got {tuple(input.shape)}; "
                         "flatten leading dims with input.flatten(0, -2) and target.flatten()")
    if linear_weight.dim() < 2 or linear_weight.shape[-1] != input.shape[-1]:
        raise ValueError(f"linear_weight must have shape (C, ..., in_features={input.shape[-1]}), "
                         f"got {tuple(linear_weight.shape)}")
    ii = -100 if ignore_index is None else int(ignore_index)
    label_smoothing = _checks.check_label_smoothing(label_smoothing, high_open=False)
    if chunk_size is None and options is not None:
        chunk_size = getattr(options, "batch_chunk_size", None)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int (tokens per chunk) or None, got {chunk_size!r}")
    c = linear_weight.shape[0]
    _checks.check_weight(weight, c)
    if linear_bias is not None:
        _checks.check_floating(linear_bias, "linear_bias")
        if tuple(linear_bias.shape) != tuple(linear_weight.shape[:-1]):
            raise ValueError(f"linear_bias must have shape {tuple(linear_weight.shape[:-1])}, "
                             f"got {tuple(linear_bias.shape)}")

    if linear_weight.dim() > 2:  # K-dimensional loss: the reference computation, not chunked
        w2 = linear_weight.flatten(0, -2)
        logits = F.linear(input, w2, None if linear_bias is None else linear_bias.flatten())
        logits = logits.unflatten(-1, tuple(linear_weight.shape[:-1]))
        # losskit's cross_entropy (not torch's): it validates target and honours all_ignored
        return cross_entropy(logits, target, weight, None, ii, None, reduction, label_smoothing,
                             all_ignored=all_ignored)

    unbatched = input.dim() == 1
    x = input.unsqueeze(0) if unbatched else input
    n = x.shape[0]
    if target.is_floating_point():
        expected = (c,) if unbatched else (n, c)
        if tuple(target.shape) != expected:
            raise ValueError(f"probability target must have shape {expected}, got {tuple(target.shape)}")
        t = target.reshape(n, c)
    else:
        expected = () if unbatched else (n,)
        if tuple(target.shape) != expected:
            raise ValueError(f"class-index target must have shape {expected} for input of shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}")
        _checks.check_class_target(target, c, ignore_index=ii)
        t = target.reshape(n)

    out = _dispatch.call_kernel(
        "linear_cross_entropy", x, linear_weight, t, linear_bias=linear_bias, weight=weight, reduction=reduction,
        ignore_index=ii, label_smoothing=label_smoothing, chunk_size=chunk_size, all_ignored=all_ignored,
    )
    if out is None:
        chunk = chunk_size or _default_chunk(n, c)
        out = _linear_cross_entropy_chunked(x, linear_weight, linear_bias, t, weight, ii, label_smoothing,
                                            reduction, all_ignored, chunk, _ce_chunk_torch)
    if unbatched and reduction == "none":
        out = out.reshape(())
    return out


def _linear_cross_entropy_chunked(x, lw, lb, target, weight, ignore_index, label_smoothing, reduction,
                                  all_ignored, chunk, ce_chunk):
    """The chunk loop, shared with the Triton path (which passes its own ``ce_chunk``)."""
    want_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, lw, lb))
    w = None if weight is None else weight.detach()
    return _LinearCrossEntropy.apply(x, lw, lb, target, w, ignore_index, label_smoothing, reduction,
                                     all_ignored, max(1, int(chunk)), ce_chunk, want_grad)

