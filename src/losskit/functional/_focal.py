r"""Focal-family losses: reweightings of the Bernoulli and Categorical negative log-likelihoods.

Every loss here is "a likelihood plus a stated reweighting":

* :func:`sigmoid_focal_loss`, :func:`poly1_sigmoid_focal_loss`, :func:`asymmetric_loss` sit on the
  **Bernoulli** likelihood with the sigmoid link (one independent yes/no per element: binary and
  multi-label problems); with every extra option off they are exactly
  ``binary_cross_entropy_with_logits``.
* :func:`focal_loss`, :func:`poly1_cross_entropy`, :func:`poly1_focal_loss` sit on the
  **Categorical** likelihood with the softmax link (one class per position); with every extra option
  off they are exactly ``cross_entropy`` (same ``weight`` / ``ignore_index`` / ``label_smoothing`` /
  probability-target rules, same weighted mean).

Soft targets, label smoothing and probability targets enter every loss the same way: the loss of a
soft target is the *expectation* of the hard-label loss under the target distribution. For the
softmax family that is the per-class sum :math:`\sum_c q_c\,\ell_c`; for the sigmoid family it is
:math:`y\,\ell^+ + (1-y)\,\ell^-`, so focal modulation is applied to each term separately
(``(1-p)^\gamma`` on the positive term, ``p^\gamma`` on the negative one). For 0/1 targets this is
the usual :math:`(1-p_t)^\gamma` formula.

Numerics (all in float32 for half inputs, returned in the input's dtype):

* sigmoid: :math:`\log p = \operatorname{logsigmoid}(z)`, :math:`\log(1-p) = \operatorname{logsigmoid}(-z)`
  and :math:`(1-p)^\gamma = \exp(\gamma \log(1-p))`. Its derivative in :math:`z` is
  :math:`-\gamma (1-p)^\gamma p`, finite for every ``gamma >= 0`` (the infinite derivative of
  :math:`(1-p)^\gamma` in :math:`p` at :math:`p = 1` never appears).
* softmax: :math:`1 - p_c` is ``1 - softmax`` for every class but the arg-max (where
  :math:`p_c \le 1/2`, so the subtraction is exact) and, for the one class that can have
  :math:`p_c > 1/2`, the sum of the other classes' probabilities; there
  :math:`-\log p_c = -\operatorname{log1p}(-(1 - p_c))`. Both stay exact where :math:`p_c` rounds to 1.
  The focal terms have hand-written backward passes (``_FocalAtTarget`` for class indices,
  ``_FocalDense`` for smoothed / probability targets) whose derivative in :math:`\log p`,
  :math:`-(1-p)^\gamma (1 + \gamma\, p\, (-\log p)/(1-p))`, is finite for every ``gamma >= 0``; they
  cost a small multiple of one ``cross_entropy`` (no per-class masked log-sum-exp, no autograd graph
  over ``(N, C)`` intermediates; ``benchmarks/bench_focal_cpu.py``).
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks
from .._reduction import check_all_ignored, check_reduction, reduce, weighted_mean
from ..kernels import _dispatch

__all__ = [
    "sigmoid_focal_loss",
    "poly1_sigmoid_focal_loss",
    "asymmetric_loss",
    "focal_loss",
    "poly1_cross_entropy",
    "poly1_focal_loss",
]

Alpha = Union[float, Tensor, None]


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _check_number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a Python number, got {type(value).__name__} ({value!r})")
    if not _checks._compiling() and not math.isfinite(value):  # (traced floats may be symbolic)
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _check_gamma(gamma: object, name: str = "gamma") -> float:
    g = _check_number(gamma, name)
    _checks.check_option(g, name, low=0.0)
    return g


def _check_broadcast(t: Optional[Tensor], shape: torch.Size, name: str, fix: str) -> Optional[Tensor]:
    """``t`` (optional, floating) must broadcast to ``shape`` without enlarging it."""
    if t is None:
        return None
    _checks.check_floating(t, name)
    try:
        out = torch.broadcast_shapes(t.shape, shape)
    except RuntimeError:
        out = None
    if out != shape:
        raise ValueError(
            f"{name} of shape {tuple(t.shape)} cannot be broadcast to logits of shape {tuple(shape)}; {fix}"
        )
    return t


def _check_values_in(t: Tensor, name: str, *, low: float, high: Optional[float]) -> None:
    """Value check (CPU by default, everywhere in checks('full')): ``low <= t <= high``."""
    _checks.check_finite(t, name)
    if not _checks.values_checkable(t) or t.numel() == 0:
        return
    lo, hi = (float(v) for v in torch.aminmax(t.detach()))
    if lo < low or (high is not None and hi > high):
        rng = f"[{low:g}, {high:g}]" if high is not None else f"[{low:g}, inf)"
        raise ValueError(f"{name} must have values in {rng}, got min {lo:.4g}, max {hi:.4g}")


def _check_sigmoid_alpha(alpha: Alpha, shape: torch.Size) -> Alpha:
    if alpha is None:
        return None
    if isinstance(alpha, Tensor):
        _check_broadcast(alpha, shape, "alpha", "pass a float, or one value per class of shape (C,) for (N, C) logits")
        _check_values_in(alpha, "alpha", low=0.0, high=1.0)
        return alpha
    a = _check_number(alpha, "alpha")
    _checks.check_option(a, "alpha", low=0.0, high=1.0)
    return a


def _check_ignore_index(ignore_index: object) -> None:
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, float))):
        raise TypeError(f"ignore_index must be a number or None, got {type(ignore_index).__name__}")


def _check_sigmoid_inputs(logits: Tensor, target: Tensor, fn: str) -> None:
    _checks.check_floating(logits, "logits")
    _checks.check_tensor(target, "target")
    if target.is_complex():
        raise TypeError(f"target must be real (0/1 or probabilities), got dtype {target.dtype}")
    _checks.check_same_shape(
        logits, target, ("logits", "target"),
        hint=f"{fn} takes one logit and one 0/1 (or soft) target per element; for class indices use focal_loss",
    )
    _checks.check_finite(logits, "logits")


def _check_target_probs(target: Tensor, valid: Optional[Tensor]) -> None:
    if not _checks.values_checkable(target):
        return
    t = target if valid is None else torch.where(valid, target, torch.zeros((), dtype=target.dtype))
    _checks.check_probs(t.to(torch.float32) if not t.is_floating_point() else t, "target")


def _reduce_masked(loss: Tensor, valid: Optional[Tensor], denominator: Optional[Tensor],
                   reduction: str, all_ignored: str) -> Tensor:
    """``none`` / ``sum`` / ``mean``; the mean divides by ``denominator`` (or the element count)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if denominator is None:
        return loss.mean()
    return weighted_mean(loss.sum(), denominator, all_ignored=all_ignored)


# --------------------------------------------------------------------------------------------
# sigmoid family (Bernoulli likelihood)
# --------------------------------------------------------------------------------------------


def _sigmoid_family(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: Alpha,
    gamma_pos: float,
    gamma_neg: float,
    clip: float,
    weight: Optional[Tensor],
    pos_weight: Optional[Tensor],
    label_smoothing: float,
    ignore_index: Optional[float],
    epsilon: float,
    reduction: str,
    all_ignored: str,
) -> Tensor:
    """Elementwise ``w * [y * l_pos + (1 - y) * l_neg] (+ poly)`` with ignore mask and reduction.

    l_pos = alpha * pos_weight * (1 - p)^gamma_pos * (-log p)
    l_neg = (1 - alpha) * p_m^gamma_neg * (-log(1 - p_m)),   p_m = max(p - clip, 0)
    poly  = epsilon * [y (1 - p)^(gamma_pos + 1) + (1 - y) p^(gamma_neg + 1)]
    """
    dt = _checks.compute_dtype(logits.dtype)
    z = logits.to(dt)
    y = target.to(dt)
    valid = None
    if ignore_index is not None:
        valid = target != ignore_index
        y = torch.where(valid, y, torch.zeros((), dtype=dt, device=y.device))
    if label_smoothing:
        # y' = y (1 - eps) + eps / 2: the target moves towards 1/2 (same rule as binary_cross_entropy_with_logits)
        y = y * (1.0 - label_smoothing) + label_smoothing / 2.0

    log_p = F.logsigmoid(z)  # log p       = log sigma(z)
    log_q = F.logsigmoid(-z)  # log (1 - p) = log sigma(-z)

    # positive term: (1 - p)^g+ (-log p), (1 - p)^g = exp(g log(1 - p))
    pos = -log_p
    if gamma_pos:
        pos = pos * torch.exp(gamma_pos * log_q)
    if alpha is not None:
        pos = pos * (alpha.to(dt) if isinstance(alpha, Tensor) else alpha)
    if pos_weight is not None:
        pos = pos * pos_weight.to(dt)

    # negative term on the shifted probability p_m = max(p - m, 0)
    if clip:
        # 1 - p_m = min(1 - p + m, 1), so log(1 - p_m) = min(log1p(m - p), 0)
        p = torch.sigmoid(z)
        log_q_m = torch.log1p(clip - p).clamp(max=0.0)
        neg = -log_q_m
        if gamma_neg:
            d = p - clip
            keep = d > 0
            # p_m^g = exp(g log(p - m)) where p > m, else 0; the where keeps log(0) out of the backward
            d_safe = torch.where(keep, d, torch.ones((), dtype=dt, device=d.device))
            mod = torch.where(keep, torch.exp(gamma_neg * torch.log(d_safe)), torch.zeros((), dtype=dt, device=d.device))
            neg = neg * mod
    else:
        neg = -log_q
        if gamma_neg:
            neg = neg * torch.exp(gamma_neg * log_p)  # p^g = exp(g log p)
    if alpha is not None:
        neg = neg * (1.0 - (alpha.to(dt) if isinstance(alpha, Tensor) else alpha))

    loss = y * pos + (1.0 - y) * neg
    if epsilon:
        # Poly-1 term (Leng et al. 2022): eps (1 - p_t)^(g + 1), per target side
        loss = loss + epsilon * (
            y * torch.exp((gamma_pos + 1.0) * log_q) + (1.0 - y) * torch.exp((gamma_neg + 1.0) * log_p)
        )
    if weight is not None:
        loss = loss * weight.to(dt)
    if valid is not None:
        loss = torch.where(valid, loss, torch.zeros((), dtype=dt, device=loss.device))
        denom = valid.sum().to(dt)
    else:
        denom = None
    return _reduce_masked(loss, valid, denom, reduction, all_ignored).to(logits.dtype)


def _validate_sigmoid(logits, target, *, fn, alpha, weight, pos_weight, label_smoothing, ignore_index,
                      reduction, all_ignored):
    _check_sigmoid_inputs(logits, target, fn)
    check_reduction(reduction)
    check_all_ignored(all_ignored)
    _check_ignore_index(ignore_index)
    eps = _checks.check_label_smoothing(label_smoothing, high_open=True)
    alpha = _check_sigmoid_alpha(alpha, logits.shape)
    fix = "pass one value per element, or a shape that broadcasts (e.g. (C,) for (N, C) logits)"
    _check_broadcast(weight, logits.shape, "weight", fix)
    _check_broadcast(pos_weight, logits.shape, "pos_weight", fix)
    valid = (target != ignore_index) if (ignore_index is not None and _checks.values_checkable(target)) else None
    _check_target_probs(target, valid)
    _checks.warn_probs_as_logits(logits, target, fn=fn)
    return alpha, eps


def sigmoid_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Optional[Tensor] = None,
    pos_weight: Optional[Tensor] = None,
    label_smoothing: float = 0.0,
    ignore_index: Optional[float] = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Sigmoid focal loss (Lin et al. 2017) for binary and multi-label targets, from logits.

    With :math:`p = \sigma(z)` and the (smoothed) target :math:`y' = y(1-\varepsilon) + \varepsilon/2`,
    each element's loss is

    .. math::

        \ell = w \Big[\, y'\, \alpha\, \omega\, (1-p)^{\gamma} \big(-\log p\big)
               + (1-y')\,(1-\alpha)\, p^{\gamma} \big(-\log(1-p)\big) \Big]

    with :math:`w` = ``weight``, :math:`\omega` = ``pos_weight`` (1 when ``None``), and
    :math:`\alpha` terms dropped when ``alpha=None``. For 0/1 targets this is
    :math:`-\alpha_t (1-p_t)^\gamma \log p_t`, torchvision's ``sigmoid_focal_loss`` exactly; for soft
    targets it is the expected focal loss under :math:`y \sim \text{Bernoulli}(y')`, which is what
    kornia's ``binary_focal_loss_with_logits`` computes (torchvision instead multiplies the whole
    soft-target BCE by :math:`(1-p_t)^\gamma`, :math:`p_t = py + (1-p)(1-y)`; the two agree on 0/1
    targets).

    Likelihood view: the **Bernoulli** negative log-likelihood with the sigmoid link
    (``binary_cross_entropy_with_logits``), reweighted per element by :math:`(1-p_t)^\gamma` (down-weights
    easy, well-classified elements) and by the class-balance factor :math:`\alpha_t`. With ``gamma=0``
    and ``alpha=None`` it *is* ``binary_cross_entropy_with_logits`` (including ``weight``,
    ``pos_weight``, ``label_smoothing``). For ``gamma > 0`` it is no longer a proper scoring rule:
    :math:`\sigma(z)` is pulled towards 1/2, so recalibrate (temperature scaling) before reading it
    as a probability; decide by thresholding :math:`\sigma(z)` (0.5, or a tuned threshold).

    Args:
        logits: raw scores, any shape, e.g. ``(N,)`` (binary) or ``(N, C, d1..dk)`` (multi-label).
        target: same shape as ``logits``, 0/1 or soft values in [0, 1] (float, int or bool).
        alpha: weight of the positive term in [0, 1]; the negative term gets ``1 - alpha``. A float,
            or a tensor that broadcasts to ``logits`` (e.g. ``(C,)`` per class). ``None``: off.
        gamma: focusing parameter :math:`\gamma \ge 0` (``0`` = no focusing).
        weight: rescaling of each element's loss; broadcasts to ``logits``.
        pos_weight: extra weight of the positive term (as in torch's BCE); broadcasts to ``logits``.
        label_smoothing: :math:`\varepsilon \in [0, 1)`; targets become :math:`y(1-\varepsilon) + \varepsilon/2`.
        ignore_index: elements whose target equals this value contribute 0 and are left out of the
            mean. ``None``: no element is ignored.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        all_ignored: when every element is ignored, ``"nan"`` (like torch) or ``"zero"`` (0 with a
            zero gradient, no host sync).

    Returns:
        ``"none"``: the loss per element, shape of ``logits`` (0 where ignored). ``"sum"``: scalar
        :math:`\sum_i \ell_i`. ``"mean"``: scalar :math:`\sum_i \ell_i / n`, where :math:`n` counts the
        non-ignored elements. ``weight`` does **not** enter the denominator: as in torch's
        ``binary_cross_entropy_with_logits`` it rescales each element's term, so ``"mean"`` with
        ``weight`` equals ``"sum" / n``, not a weighted average.

    Example:
        >>> logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
        >>> target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(sigmoid_focal_loss(logits, target, alpha=0.25).item(), 5)
        0.07513
        >>> bce = F.binary_cross_entropy_with_logits(logits, target)
        >>> torch.allclose(sigmoid_focal_loss(logits, target, gamma=0.0), bce)
        True

    References:
        Lin, Goyal, Girshick, He, Dollár. "Focal Loss for Dense Object Detection", ICCV 2017
        (arXiv:1708.02002). Mukhoti et al. "Calibrating Deep Neural Networks using Focal Loss",
        NeurIPS 2020.
    """
    g = _check_gamma(gamma)
    alpha, eps = _validate_sigmoid(
        logits, target, fn="sigmoid_focal_loss", alpha=alpha, weight=weight, pos_weight=pos_weight,
        label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction, all_ignored=all_ignored,
    )
    out = _dispatch.call_kernel(
        "sigmoid_focal_loss", logits, target, alpha=alpha, gamma=g, weight=weight, pos_weight=pos_weight,
        label_smoothing=eps, ignore_index=ignore_index, reduction=reduction, all_ignored=all_ignored,
    )
    if out is not None:
        return out
    return _sigmoid_family(
        logits, target, alpha=alpha, gamma_pos=g, gamma_neg=g, clip=0.0, weight=weight, pos_weight=pos_weight,
        label_smoothing=eps, ignore_index=ignore_index, epsilon=0.0, reduction=reduction, all_ignored=all_ignored,
    )


def poly1_sigmoid_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Optional[Tensor] = None,
    pos_weight: Optional[Tensor] = None,
    label_smoothing: float = 0.0,
    ignore_index: Optional[float] = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Poly-1 sigmoid focal loss (Leng et al. 2022): sigmoid focal loss plus :math:`\varepsilon (1-p_t)^{\gamma+1}`.

    .. math::

        \ell = \ell_{\text{focal}} + \epsilon\, w \big[\, y' (1-p)^{\gamma+1} + (1-y')\, p^{\gamma+1} \big]

    where :math:`\ell_{\text{focal}}` is :func:`sigmoid_focal_loss`'s element loss (same options). For
    0/1 targets the bracket is :math:`(1-p_t)^{\gamma+1}`, the paper's term; as in the paper it is not
    multiplied by :math:`\alpha_t` or ``pos_weight`` (``weight`` does rescale it). ``epsilon=0`` gives
    :func:`sigmoid_focal_loss` exactly.

    Likelihood view: the **Bernoulli** NLL (sigmoid link) reweighted by focal modulation, plus the
    leading polynomial term of its expansion in :math:`(1-p_t)` with coefficient raised by
    :math:`\epsilon` (the paper's "Poly-1"). Decide by thresholding :math:`\sigma(z)`.

    Args:
        logits: raw scores, any shape (``(N, C, d1..dk)`` for multi-label).
        target: same shape, 0/1 or soft values in [0, 1].
        epsilon: coefficient of the Poly-1 term (the paper uses values in [-1, ...]; ``0`` = off).
        alpha, gamma, weight, pos_weight, label_smoothing, ignore_index, all_ignored: as in
            :func:`sigmoid_focal_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (mean over non-ignored elements, as in
            :func:`sigmoid_focal_loss`).

    Returns:
        ``"none"``: shape of ``logits``; ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
        >>> target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(poly1_sigmoid_focal_loss(logits, target, epsilon=1.0).item(), 5)
        0.1661

    References:
        Leng et al. "PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions",
        ICLR 2022 (arXiv:2204.12511). Lin et al., ICCV 2017 (arXiv:1708.02002).
    """
    g = _check_gamma(gamma)
    e = _check_number(epsilon, "epsilon")
    alpha, eps = _validate_sigmoid(
        logits, target, fn="poly1_sigmoid_focal_loss", alpha=alpha, weight=weight, pos_weight=pos_weight,
        label_smoothing=label_smoothing, ignore_index=ignore_index, reduction=reduction, all_ignored=all_ignored,
    )
    return _sigmoid_family(
        logits, target, alpha=alpha, gamma_pos=g, gamma_neg=g, clip=0.0, weight=weight, pos_weight=pos_weight,
        label_smoothing=eps, ignore_index=ignore_index, epsilon=e, reduction=reduction, all_ignored=all_ignored,
    )


def asymmetric_loss(
    logits: Tensor,
    target: Tensor,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[float] = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Asymmetric loss (ASL, Ridnik et al. 2021) for multi-label classification, from logits.

    With :math:`p = \sigma(z)`, the shifted probability :math:`p_m = \max(p - m, 0)` (:math:`m` =
    ``clip``) and :math:`w` = ``weight``:

    .. math::

        \ell = w \Big[\, y\,(1-p)^{\gamma_+}\big(-\log p\big)
               + (1-y)\, p_m^{\gamma_-}\big(-\log(1-p_m)\big) \Big]

    Negatives with :math:`p \le m` are discarded (loss and gradient 0); easy negatives are
    down-weighted by :math:`p_m^{\gamma_-}`. Soft targets take the expectation over
    :math:`y \sim \text{Bernoulli}(y)` (the reference code mixes the two exponents instead; both agree
    on 0/1 targets). Logs are exact (log-sigmoid), where the reference clamps :math:`p` at
    ``1e-8``; the two differ only for positives with :math:`p < 10^{-8}`.

    Likelihood view: the **Bernoulli** NLL with the sigmoid link (``binary_cross_entropy_with_logits``)
    with separate focusing for positives and negatives and a hard shift of the negatives'
    probability. ``gamma_pos=gamma_neg=0, clip=0`` is exactly BCE-with-logits; ``clip=0,
    gamma_pos=gamma_neg=gamma`` is :func:`sigmoid_focal_loss` without ``alpha``. Decide by
    thresholding :math:`\sigma(z)` (ASL-trained scores are shifted upwards; tune the threshold).

    Args:
        logits: raw scores ``(N, C)`` or any shape (one independent label per element).
        target: same shape, 0/1 (or soft in [0, 1]).
        gamma_pos: focusing exponent :math:`\gamma_+ \ge 0` of positives.
        gamma_neg: focusing exponent :math:`\gamma_- \ge 0` of negatives.
        clip: probability margin :math:`m \in [0, 1)` of the negatives (``0`` = no shifting).
        weight: rescaling of each element's loss; broadcasts to ``logits``.
        ignore_index: elements whose target equals this value are left out. ``None``: none.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``. The reference implementation returns the
            **sum** over the batch (``-loss.sum()``): use ``reduction="sum"`` to reproduce its numbers.
            ``"mean"`` divides the sum by the number of non-ignored elements (``N * C`` without
            ignores), so it is the reference's value / ``(N * C)`` — scale the learning rate
            accordingly. ``weight`` does not enter the denominator.
        all_ignored: ``"nan"`` | ``"zero"``, for a batch in which every element is ignored.

    Returns:
        ``"none"``: shape of ``logits`` (0 where ignored); ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> logits = torch.tensor([[2.0, -1.0, 0.0], [-3.0, 1.0, 4.0]])
        >>> target = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        >>> round(asymmetric_loss(logits, target, reduction="sum").item(), 5)
        0.41602

    References:
        Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor. "Asymmetric Loss For
        Multi-Label Classification", ICCV 2021 (arXiv:2009.14119).
    """
    gp = _check_gamma(gamma_pos, "gamma_pos")
    gn = _check_gamma(gamma_neg, "gamma_neg")
    m = _check_number(clip, "clip")
    _checks.check_option(m, "clip", low=0.0, high=1.0, high_open=True)
    _validate_sigmoid(
        logits, target, fn="asymmetric_loss", alpha=None, weight=weight, pos_weight=None,
        label_smoothing=0.0, ignore_index=ignore_index, reduction=reduction, all_ignored=all_ignored,
    )
    return _sigmoid_family(
        logits, target, alpha=None, gamma_pos=gp, gamma_neg=gn, clip=m, weight=weight, pos_weight=None,
        label_smoothing=0.0, ignore_index=ignore_index, epsilon=0.0, reduction=reduction, all_ignored=all_ignored,
    )


# --------------------------------------------------------------------------------------------
# softmax family (Categorical likelihood)
# --------------------------------------------------------------------------------------------


# Both autograd.Functions below work on s_c = log p_c and a_c = 1 - p_c, computed exactly:
#
#   * a_c = 1 - p_c is exact (one rounding) wherever p_c <= 1/2, i.e. for every class but the arg-max;
#     for the one class that may have p_c > 1/2 it is the sum of the other classes' probabilities,
#     a_c = sum_{j != c} p_j, a sum of positive terms (exact even where p_c rounds to 1);
#   * -log p_c = -log1p(-a_c) where p_c > 1/2 (exact for a_c -> 0, where log_softmax rounds to 0),
#     else lse - x_c (>= log 2, so its absolute rounding is a small relative one), with the row's
#     log-sum-exp taken from the softmax itself: lse = x_k - log p_k for the arg-max k (p_k >= 1/C).
#
# The per-class terms are F1_c = (1 - p_c)^g (-log p_c) and F2_c = (1 - p_c)^(g+1), and their
# derivatives in s_c = log p_c (with dp_c/ds_c = p_c, da_c/ds_c = -p_c) are
#
#   dF1/ds = -a^g (1 + g p (-log p) / a),      dF2/ds = -(g + 1) p a^g.
#
# (-log p) / a -> 1 as p -> 1, so dF1/ds is bounded for every g >= 0: the a^(g-1) that makes the
# derivative of (1 - p)^g infinite at p = 1 for g < 1 is always multiplied by -log p ~ a. Where a
# underflows to 0 (every other class below ~1e-45 of the row's mass in float32) the ratio is taken as
# its limit 1; every value and gradient it touches there is below the dtype's smallest number anyway.
#
# Chain rule through the softmax: a loss l(s) with G_c = dl/ds_c has dl/dx_j = G_j - p_j sum_c G_c
# (the log_softmax backward). With a single class term (index targets) this is
# dl/dx_j = G_y (delta_jy - p_j), whose target entry G_y (1 - p_y) uses the exact a_y.


def _pow(a: Tensor, g: float) -> Tensor:
    """a^g for a >= 0 (1 for g = 0, including a = 0)."""
    if g == 0:
        return torch.ones_like(a)
    if g == 1:
        return a.clone()
    return torch.pow(a, g)


def _ratio(neg_log_p: Tensor, a: Tensor) -> Tensor:
    """(-log p) / (1 - p), taking its limit 1 where 1 - p underflows to 0."""
    return torch.where(a > 0, neg_log_p / torch.where(a > 0, a, torch.ones((), dtype=a.dtype, device=a.device)),
                       torch.ones((), dtype=a.dtype, device=a.device))


class _FocalAtTarget(torch.autograd.Function):
    """``(F1_y, F2_y)`` at class indices ``y`` (shape of ``x`` with dim 1 of size 1) for logits ``x``.

    Forward: one softmax, two row maxima and one row sum (1 - p_y as the sum of the other classes'
    probabilities). Backward: one product, G_y (delta_jy - p_j).
    """

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor, gamma: float):
        p = torch.softmax(x, 1)
        # log-sum-exp from the two row maxima: max_j p_j = 1 / sum_j e^(x_j - max x)
        lse = x.amax(1, keepdim=True) - torch.log(p.amax(1, keepdim=True))
        p_y = p.gather(1, y)
        p.scatter_(1, y, 0.0)
        a = p.sum(1, keepdim=True)  # 1 - p_y = sum_{j != y} p_j
        # -log p_y: -log1p(-(1 - p_y)) where p_y > 1/2 (exact as p_y -> 1), else lse - x_y (>= log 2)
        neg_log_p = torch.where(p_y > 0.5, -torch.log1p(-a), lse - x.gather(1, y))
        ag = _pow(a, gamma)
        ctx.gamma = gamma
        ctx.save_for_backward(p, y, p_y, a, neg_log_p, ag)
        return ag * neg_log_p, ag * a

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g1: Tensor, g2: Tensor):
        p, y, pt, a, neg_log_p, ag = ctx.saved_tensors
        gamma = ctx.gamma
        # G_y = g1 dF1/ds + g2 dF2/ds
        d1 = 1.0 + gamma * pt * _ratio(neg_log_p, a) if gamma else 1.0
        G = -ag * (g1 * d1 + g2 * ((gamma + 1.0) * pt))
        grad = p * (-G)  # -G_y p_j for j != y (p holds 0 at y)
        grad.scatter_(1, y, G * a)  # G_y (1 - p_y), exact
        return grad, None, None


def _contract(t: Tensor, coef: Tensor) -> Tensor:
    """``sum_c coef_c t_c`` over dim 1 (kept), in place in ``t``; ``coef`` broadcasts to ``t``."""
    if t.dim() == 2 and coef.dim() == 2 and coef.shape[0] == 1:
        return (t @ coef.reshape(-1)).unsqueeze(1)  # one pass, no (N, C) temporary
    return t.mul_(coef).sum(1, keepdim=True)


def _mul_ag_over_a(t: Tensor, a: Tensor, ag: Optional[Tensor], gamma: float) -> Tensor:
    """``t * a^(g - 1)`` in place (``a >= 1/2`` off the arg-max column, which the caller overwrites)."""
    if gamma == 2:
        return t.mul_(a)
    if gamma != 1:
        return t.mul_(ag).div_(a)
    return t


class _FocalDense(torch.autograd.Function):
    """``sum_c B_c t_c + Bt t_y`` per position (dim 1 kept, size 1), ``t_c = alpha_c F1_c + eps F2_c``.

    ``B`` (target mass times class weight) and ``alpha`` (or None) broadcast to ``x``; ``y`` and ``Bt``
    (or None) have the per-position shape (a smoothed class index adds its extra mass at ``y``).
    Gradients flow to ``x``, ``B``, ``alpha`` and ``Bt``. Forward: softmax, arg-max and a few
    products; backward: a few in-place products, no transcendental function on (N, C) tensors.

    With D1 = -dF1/ds = a^(g-1) (a - g p log p) and D2 = -dF2/ds = (g + 1) p a^g, the gradient in s is
    G_c = -B_c (alpha_c D1_c + eps D2_c) (+ the term at y); at the arg-max D1 = a^g (1 + g p (-log p) / a).
    """

    @staticmethod
    def forward(ctx, x: Tensor, gamma: float, eps: float, B: Optional[Tensor], alpha: Optional[Tensor],
                y: Optional[Tensor], Bt: Optional[Tensor]):
        p = torch.softmax(x, 1)
        top = x.argmax(1, keepdim=True)  # the only class that can have p > 1/2
        p_top = p.gather(1, top)  # >= 1/C
        # log p = x - lse, lse = x_top - log p_top (as exact as log_softmax; no second exp pass)
        lp = x - (x.gather(1, top) - torch.log(p_top))
        p.scatter_(1, top, 0.0)
        a_top = p.sum(1, keepdim=True)  # 1 - p_top = sum of the other classes' p (exact)
        p.scatter_(1, top, p_top)
        a = torch.rsub(p, 1.0)  # 1 - p, exact where p <= 1/2: every class but the arg-max
        a.scatter_(1, top, a_top)
        # log p_top = log1p(-a_top) where p_top > 1/2 (exact; the softmax rounds p_top towards 1)
        lp.scatter_(1, top, torch.where(p_top > 0.5, torch.log1p(-a_top), lp.gather(1, top)))
        ag = torch.pow(a, gamma) if gamma not in (0, 1, 2) else None  # a^g (kept for the backward)
        out = torch.zeros_like(p_top)
        if B is not None:
            # -t_c = a^g (alpha_c log p_c - eps a_c)
            h = lp * alpha if alpha is not None else lp.clone()
            if eps:
                h.add_(a, alpha=-eps)
            if gamma == 2:
                h.mul_(a).mul_(a)
            elif gamma == 1:
                h.mul_(a)
            elif gamma:
                h.mul_(ag)
            out = out - _contract(h, B)
        if y is not None:
            lp_y, a_y = lp.gather(1, y), a.gather(1, y)
            t_y = -lp_y if alpha is None else -lp_y * _at(alpha, y)
            if eps:
                t_y = t_y + eps * a_y
            out = out + Bt * _pow(a_y, gamma) * t_y
        ctx.gamma, ctx.eps = gamma, eps
        ctx.save_for_backward(p, a, lp, ag, top, p_top, a_top, B, alpha, y, Bt)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):
        p, a, lp, ag, top, p_top, a_top, B, alpha, y, Bt = ctx.saved_tensors
        gamma, eps = ctx.gamma, ctx.eps
        needs = ctx.needs_input_grad
        grads = [None] * 7
        if needs[0]:
            # T = alpha D1 + eps D2 = a^(g-1) [alpha (a - g p log p) + eps (g + 1) p a]
            if gamma:
                T = torch.addcmul(a, p, lp, value=-gamma)
                if alpha is not None:
                    T.mul_(alpha)
                if eps:
                    T.addcmul_(p, a, value=eps * (gamma + 1.0))
                _mul_ag_over_a(T, a, ag, gamma)
                # arg-max column: a^g [alpha (1 + g p (-log p) / a) + eps (g + 1) p], finite as a -> 0
                lp_top = lp.gather(1, top)
                d1 = 1.0 + gamma * p_top * _ratio(-lp_top, a_top)
                t_top = d1 if alpha is None else d1 * _at(alpha, top)
                if eps:
                    t_top = t_top + eps * (gamma + 1.0) * p_top
                T.scatter_(1, top, _pow(a_top, gamma) * t_top)
            else:
                T = torch.mul(p, eps) if eps else torch.zeros_like(p)
                T.add_(alpha if alpha is not None else 1.0)
            T_y = T.gather(1, y) if y is not None else None
            if B is not None:
                T.mul_(B)
            else:
                T.zero_()
            if y is not None:
                T.scatter_add_(1, y, (Bt * T_y).expand(y.shape).contiguous())
            T.mul_(-g)  # G = -B T (+ the term at y), times the upstream gradient
            grads[0] = T.addcmul_(p, T.sum(1, keepdim=True), value=-1.0)  # G - p sum_c G_c
        if needs[3] or needs[4] or needs[6]:
            agf = _pow(a, gamma) if ag is None else ag
            F1 = (-lp).mul_(agf)  # (1 - p)^g (-log p)
            F2 = a * agf if eps else None  # (1 - p)^(g + 1)
            if needs[3]:
                t = F1 * alpha if alpha is not None else F1.clone()
                if eps:
                    t.add_(F2, alpha=eps)
                grads[3] = (g * t).sum_to_size(B.shape)
            if needs[4]:
                ga = torch.zeros_like(F1) if B is None else (g * B) * F1
                if y is not None:
                    ga.scatter_add_(1, y, (g * Bt * F1.gather(1, y)).expand(y.shape).contiguous())
                grads[4] = ga.sum_to_size(alpha.shape)
            if needs[6]:
                t_y = F1.gather(1, y) if alpha is None else F1.gather(1, y) * _at(alpha, y)
                if eps:
                    t_y = t_y + eps * F2.gather(1, y)
                grads[6] = (g * t_y).sum_to_size(Bt.shape)
        return tuple(grads)


def _at(coef: Tensor, index: Tensor) -> Tensor:
    """``coef`` (broadcasting to the logits, class dim 1) at class ``index`` (dim 1 of size 1)."""
    if coef.dim() == 0 or coef.shape[1] == 1:
        return coef
    return coef.expand(index.shape[:1] + coef.shape[1:2] + index.shape[2:]).gather(1, index)


def _softmax_family(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: Alpha,
    gamma: float,
    weight: Optional[Tensor],
    ignore_index: Optional[int],
    label_smoothing: float,
    epsilon: float,
    reduction: str,
    all_ignored: str,
) -> Tensor:
    """Per-class term t_c = w_c [alpha_c (1 - p_c)^gamma (-log p_c) + eps (1 - p_c)^(gamma + 1)],
    loss = sum_c q_c t_c; mean rule of torch's cross_entropy.

    With gamma or eps on, t_c = w_c alpha_c F1_c + eps w_c F2_c is computed by :class:`_FocalAtTarget`
    (class indices: only t_y) or :class:`_FocalDense` (label smoothing / probabilities: every class),
    whose analytic backward keeps the cost near that of cross_entropy; otherwise t_c = -w_c alpha_c log p_c.
    """
    dt = _checks.compute_dtype(logits.dtype)
    x = logits.to(dt)
    unbatched = x.dim() == 1
    if unbatched:
        x, target = x.unsqueeze(0), target.unsqueeze(0)
    C = x.shape[1]
    cshape = (1, C) + (1,) * (x.dim() - 2)
    w = weight.to(dt) if weight is not None else None
    a = alpha.to(dt) if isinstance(alpha, Tensor) else alpha
    prob_target = target.is_floating_point()
    focal = bool(gamma) or bool(epsilon)
    zero = torch.zeros((), dtype=dt, device=x.device)

    valid = None
    if not prob_target:
        valid = (target != ignore_index) if ignore_index is not None else None
        y = (torch.where(valid, target, torch.zeros((), dtype=target.dtype, device=target.device))
             if valid is not None else target).unsqueeze(1).long()
        w_y = w[y] if w is not None else None  # (N, 1, d1..dk)

    if not prob_target and not label_smoothing:
        # class indices, no smoothing: only the target class term is non-zero
        if focal:
            F1, F2 = _FocalAtTarget.apply(x, y, gamma)  # (1 - p_y)^g (-log p_y), (1 - p_y)^(g + 1)
            t = F1
        else:
            t = -torch.log_softmax(x, 1).gather(1, y)
        if isinstance(a, Tensor):
            t = t * a[y]
        elif a is not None:
            t = t * a
        if epsilon:
            t = t + epsilon * F2  # Poly-1: eps (1 - p_y)^(g + 1), not scaled by alpha
        if w_y is not None:
            t = t * w_y
        loss = t.squeeze(1)
    elif focal:
        # sum_c q'_c w_c (alpha_c F1_c + eps F2_c), B = q' w: dense for probabilities; for smoothed
        # indices q' = (1 - ls) onehot(y) + ls / C, i.e. B = (ls / C) w per class plus (1 - ls) w_y at y
        alpha_c = a.view(cshape) if isinstance(a, Tensor) else (None if a is None else torch.full((), a, dtype=dt, device=x.device))
        if prob_target:
            q = target.to(dt)
            if label_smoothing:
                # q' = q (1 - eps) + eps / C (torch's cross_entropy rule)
                q = q * (1.0 - label_smoothing) + label_smoothing / C
            B = q * w.view(cshape) if w is not None else q
            loss = _FocalDense.apply(x, gamma, epsilon, B, alpha_c, None, None)
        else:
            k, m = label_smoothing / C, 1.0 - label_smoothing
            B = k * w.view(cshape) if w is not None else torch.full(cshape, k, dtype=dt, device=x.device)
            Bt = m * w_y if w_y is not None else torch.full((), m, dtype=dt, device=x.device)
            loss = _FocalDense.apply(x, gamma, epsilon, B, alpha_c, y, Bt)
        loss = loss.squeeze(1)
    else:
        log_p = torch.log_softmax(x, 1)
        q = target.to(dt) if prob_target else None
        if prob_target and label_smoothing:
            # q' = q (1 - eps) + eps / C (torch's cross_entropy rule)
            q = q * (1.0 - label_smoothing) + label_smoothing / C
        t = -log_p
        if isinstance(a, Tensor):
            t = t * a.view(cshape)
        elif a is not None:
            t = t * a
        if w is not None:
            t = t * w.view(cshape)
        if prob_target:
            loss = (q * t).sum(1)
        else:
            # q' = (1 - eps) onehot(y) + eps / C, so sum_c q'_c t_c = (1 - eps) t_y + (eps / C) sum_c t_c
            loss = (1.0 - label_smoothing) * t.gather(1, y).squeeze(1) + (label_smoothing / C) * t.sum(1)

    if prob_target:
        denom = None  # torch: mean over the N * d1..dk positions, weight not in the denominator
    else:
        if valid is not None:
            loss = torch.where(valid, loss, zero)
        if w_y is not None:
            w_y = w_y.squeeze(1)
            denom = (torch.where(valid, w_y, zero) if valid is not None else w_y).sum()
        elif valid is not None:
            denom = valid.sum().to(dt)
        else:
            denom = None
    if unbatched and reduction == "none":
        loss = loss.squeeze(0)
    return _reduce_masked(loss, valid, denom, reduction, all_ignored).to(logits.dtype)


def _validate_softmax(logits, target, *, fn, alpha, gamma, weight, ignore_index, label_smoothing,
                      reduction, all_ignored):
    _checks.check_floating(logits, "logits")
    _checks.check_tensor(target, "target")
    check_reduction(reduction)
    check_all_ignored(all_ignored)
    if logits.dim() == 0:
        raise ValueError(f"logits must have a class dimension: shape (C,) or (N, C, d1..dk), got a scalar")
    C = logits.shape[1] if logits.dim() > 1 else logits.shape[0]
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise TypeError(f"ignore_index must be an int or None, got {type(ignore_index).__name__} ({ignore_index!r})")
    eps = _checks.check_label_smoothing(label_smoothing, high_open=True)
    g = _check_gamma(gamma) if gamma is not None else 0.0
    _checks.check_weight(weight, C, "weight")
    if isinstance(alpha, Tensor):
        _checks.check_weight(alpha, C, "alpha")
        _check_values_in(alpha, "alpha", low=0.0, high=None)
    elif alpha is not None:
        a = _check_number(alpha, "alpha")
        _checks.check_option(a, "alpha", low=0.0, high=1.0)
        alpha = a
    if target.is_floating_point():
        _checks.check_same_shape(
            logits, target, ("logits", "target"),
            hint="probability targets have the logits' shape; class-index targets are an integer tensor "
                 "without the class dimension",
        )
        _checks.check_probs(target, "target")
    else:
        expected = (logits.shape[:1] + logits.shape[2:]) if logits.dim() > 1 else torch.Size([])
        if target.shape != expected:
            raise ValueError(
                f"class-index target must have shape {tuple(expected)} for logits of shape {tuple(logits.shape)} "
                f"(the logits' shape without the class dimension 1), got {tuple(target.shape)}"
            )
        _checks.check_class_target(target, C, ignore_index=ignore_index)
    _checks.check_finite(logits, "logits")
    return alpha, g, eps


def focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Multi-class (softmax) focal loss from logits, with class-index or probability targets.

    With :math:`p = \operatorname{softmax}(z)` over the class dimension and the target distribution
    :math:`q` (one-hot of the class index, or the given probabilities; with label smoothing
    :math:`q' = q(1-\varepsilon) + \varepsilon/C`), each position's loss is

    .. math::

        \ell = \sum_{c} q'_c\, w_c\, \alpha_c\, (1-p_c)^{\gamma}\, \big(-\log p_c\big)

    — the focal term of each class, weighted by how much target mass that class has. For a class
    index :math:`y` without smoothing this is :math:`-w_y \alpha_y (1-p_y)^\gamma \log p_y`.
    :math:`w` = ``weight`` and :math:`\alpha` = ``alpha`` (1 when ``None``).

    Likelihood view: the **Categorical** negative log-likelihood with the softmax link
    (``cross_entropy``), reweighted per position and class by :math:`(1-p_c)^\gamma` and
    :math:`\alpha_c`. With ``gamma=0`` and ``alpha=None`` it is exactly ``cross_entropy`` for every
    option (``weight``, ``ignore_index``, ``label_smoothing``, probability targets, weighted mean).
    Predict with the arg-max of :math:`z`; for ``gamma > 0`` the softmax is under-confident, so
    recalibrate (temperature scaling) before using it as probabilities.

    Args:
        logits: ``(C,)`` or ``(N, C)`` or ``(N, C, d1, ..., dk)`` raw scores, classes on dim 1.
        target: class indices of shape ``(N, d1, ..., dk)`` (integer, values in [0, C) or
            ``ignore_index``), or class probabilities of the logits' shape (float).
        alpha: class balance. A float in [0, 1] multiplies every class's term (a constant scale,
            kept for parity with :func:`sigmoid_focal_loss` configurations); a ``(C,)`` tensor of
            non-negative values gives one factor per class (e.g. from
            :func:`class_balanced_weights`; kornia's convention is ``[1 - a, a, ..., a]``). ``alpha``
            does not enter the mean's denominator. ``None``: off.
        gamma: focusing parameter :math:`\gamma \ge 0`.
        weight: ``(C,)`` class weights, exactly as in ``cross_entropy``.
        ignore_index: class-index targets equal to it contribute 0 and are left out of the mean
            (``None``: none). Not used with probability targets (as in torch).
        label_smoothing: :math:`\varepsilon \in [0, 1)`, torch's rule.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        all_ignored: ``"nan"`` (torch) | ``"zero"``, for a batch in which every target is ignored.

    Returns:
        ``"none"``: shape ``(N, d1, ..., dk)`` (``()`` for ``(C,)`` logits), 0 where ignored.
        ``"sum"``: scalar. ``"mean"``: scalar, torch's cross-entropy rule: for class indices
        :math:`\sum_i \ell_i / \sum_i w_{y_i}` over non-ignored positions (the count of them without
        ``weight``); for probability targets :math:`\sum_i \ell_i / N\!\cdot\!d_1\cdots d_k`.

    Example:
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> target = torch.tensor([0, 1])
        >>> round(focal_loss(logits, target, gamma=2.0).item(), 5)
        0.85683
        >>> torch.allclose(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target))
        True

    References:
        Lin et al. "Focal Loss for Dense Object Detection", ICCV 2017 (arXiv:1708.02002).
        Mukhoti et al. "Calibrating Deep Neural Networks using Focal Loss", NeurIPS 2020.
    """
    alpha, g, eps = _validate_softmax(
        logits, target, fn="focal_loss", alpha=alpha, gamma=gamma, weight=weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, reduction=reduction, all_ignored=all_ignored,
    )
    return _softmax_family(
        logits, target, alpha=alpha, gamma=g, weight=weight, ignore_index=ignore_index, label_smoothing=eps,
        epsilon=0.0, reduction=reduction, all_ignored=all_ignored,
    )


def poly1_cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Poly-1 cross-entropy (Leng et al. 2022): cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math::

        \ell = \sum_c q'_c\, w_c \big[ -\log p_c + \epsilon\,(1 - p_c) \big]

    For a class index :math:`y` without weight or smoothing this is :math:`-\log p_y + \epsilon(1-p_y)`;
    with smoothing/probability targets and no weight the extra term is
    :math:`\epsilon(1 - \sum_c q'_c p_c)`, the paper's :math:`1 - p_t`. ``epsilon=0`` is exactly
    ``cross_entropy`` (same options, same weighted mean).

    Likelihood view: the **Categorical** NLL with the softmax link, whose expansion
    :math:`-\log p_t = \sum_{j\ge1} (1-p_t)^j / j` has its first coefficient raised by :math:`\epsilon`
    (positive: push harder on confident-but-not-certain predictions; negative, down to -1: less).
    Predict with the arg-max of :math:`z`.

    Args:
        logits: ``(C,)``, ``(N, C)`` or ``(N, C, d1..dk)``.
        target: class indices ``(N, d1..dk)`` or probabilities of the logits' shape.
        epsilon: coefficient of the Poly-1 term (any finite float; the paper tunes it in [-1, 10]).
        weight, ignore_index, label_smoothing, all_ignored: as in ``cross_entropy`` / :func:`focal_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (torch's cross-entropy mean rule).

    Returns:
        ``"none"``: ``(N, d1..dk)``; ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> round(poly1_cross_entropy(logits, torch.tensor([0, 1]), epsilon=1.0).item(), 5)
        1.75568

    References:
        Leng, Xu, Qi, Li, Ohn-Bar, ... Anguelov. "PolyLoss: A Polynomial Expansion Perspective of
        Classification Loss Functions", ICLR 2022 (arXiv:2204.12511).
    """
    e = _check_number(epsilon, "epsilon")
    _, _, eps = _validate_softmax(
        logits, target, fn="poly1_cross_entropy", alpha=None, gamma=None, weight=weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, reduction=reduction, all_ignored=all_ignored,
    )
    return _softmax_family(
        logits, target, alpha=None, gamma=0.0, weight=weight, ignore_index=ignore_index, label_smoothing=eps,
        epsilon=e, reduction=reduction, all_ignored=all_ignored,
    )


def poly1_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Poly-1 softmax focal loss (Leng et al. 2022): focal loss plus :math:`\epsilon (1 - p_t)^{\gamma+1}`.

    .. math::

        \ell = \sum_c q'_c\, w_c \big[ \alpha_c (1-p_c)^\gamma (-\log p_c) + \epsilon (1 - p_c)^{\gamma+1} \big]

    As in the paper the Poly-1 term is not multiplied by :math:`\alpha`; ``weight`` rescales all of it.
    ``epsilon=0`` is :func:`focal_loss` exactly; ``gamma=0, alpha=None`` is :func:`poly1_cross_entropy`.
    (The paper's detection experiments use the sigmoid form: :func:`poly1_sigmoid_focal_loss`.)

    Likelihood view: the **Categorical** NLL (softmax link) with focal reweighting, plus the leading
    term of its polynomial expansion in :math:`(1-p_t)` scaled by :math:`\epsilon`. Predict with the
    arg-max of :math:`z`.

    Args:
        logits: ``(C,)``, ``(N, C)`` or ``(N, C, d1..dk)``.
        target: class indices ``(N, d1..dk)`` or probabilities of the logits' shape.
        epsilon: coefficient of the Poly-1 term (``0`` = off).
        alpha, gamma, weight, ignore_index, label_smoothing, all_ignored: as in :func:`focal_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (the cross-entropy mean rule).

    Returns:
        ``"none"``: ``(N, d1..dk)``; ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> round(poly1_focal_loss(logits, torch.tensor([0, 1]), epsilon=1.0).item(), 5)
        1.20928

    References:
        Leng et al. "PolyLoss", ICLR 2022 (arXiv:2204.12511). Lin et al. "Focal Loss for Dense Object
        Detection", ICCV 2017 (arXiv:1708.02002).
    """
    e = _check_number(epsilon, "epsilon")
    alpha, g, eps = _validate_softmax(
        logits, target, fn="poly1_focal_loss", alpha=alpha, gamma=gamma, weight=weight, ignore_index=ignore_index,
        label_smoothing=label_smoothing, reduction=reduction, all_ignored=all_ignored,
    )
    return _softmax_family(
        logits, target, alpha=alpha, gamma=g, weight=weight, ignore_index=ignore_index, label_smoothing=eps,
        epsilon=e, reduction=reduction, all_ignored=all_ignored,
    )
