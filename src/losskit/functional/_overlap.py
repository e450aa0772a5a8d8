"""Overlap losses for segmentation: soft Dice, Tversky, focal Tversky and Jaccard (soft IoU).

These are not negative log-likelihoods. Each scores the overlap between a predicted soft mask
``p`` (probabilities from a sigmoid or softmax) and a target mask ``t`` through *soft counts*
summed over pixels:

.. math::

    I = \\sum_i p_i t_i, \\quad P = \\sum_i p_i, \\quad T = \\sum_i t_i, \\quad
    FP = \\sum_i p_i (1 - t_i) = P - I, \\quad FN = \\sum_i (1 - p_i) t_i = T - I.

With hard 0/1 masks these are the true-positive, predicted-positive and actual-positive counts, so
Dice is the F1 score and Jaccard the intersection-over-union; with soft ``p`` they are
differentiable surrogates of those set-level scores. Because the score is a ratio over the whole
mask, it is insensitive to class imbalance in pixel counts, but it gives no calibrated
probabilities and a weak, noisy gradient early in training: the usual recipe is the sum
``cross_entropy + dice_loss`` (multiclass) or ``binary_cross_entropy_with_logits + dice_loss``
(binary / multilabel), where the likelihood term trains calibrated pixel probabilities and the
overlap term the set-level score.

Shared conventions (every loss here):

* **Modes.** ``"binary"``: input ``(N, 1, *)`` or ``(N, *)`` logits, sigmoid; target 0/1 with the
  same shape (or ``(N, *)`` for an ``(N, 1, *)`` input). ``"multiclass"``: input ``(N, C, *)``,
  softmax over ``C``; target class indices ``(N, *)`` or one-hot / probabilities ``(N, C, *)``.
  ``"multilabel"``: input ``(N, C, *)``, a sigmoid per channel; target ``(N, C, *)`` 0/1.
  ``from_logits=False`` takes probabilities instead (checked to lie in [0, 1]).
* **Aggregation unit.** ``per_image=False`` (default) sums the counts over the batch and the
  pixels, giving one ratio per class (MONAI's ``batch=True``); ``per_image=True`` gives one ratio
  per image and class, averaged afterwards.
* **Smoothing.** ``smooth`` (default 0) is added to the numerator and the denominator of each ratio
  (Laplace smoothing): it pulls every ratio towards 1 by an amount that matters only for small
  counts, and it gives a class with an empty target a score ``smooth / (P + smooth)`` that rewards
  an empty prediction. ``eps`` (default 1e-7) guards the division: a ratio whose denominator is
  below ``eps`` -- prediction and target both empty -- is a perfect 1 (loss 0, zero gradient),
  otherwise the denominator is clamped at ``eps``. No ratio is ever NaN.
* **Empty targets.** ``empty="exclude"`` (default) leaves out of the class average every ratio whose
  target is empty in its unit (``T == 0``): a class absent from the batch (or, with
  ``per_image=True``, from an image) neither adds a constant loss nor a gradient; false positives
  on it are left to the CE/BCE term. ``empty="include"`` counts every ratio with the value the
  smoothing gives it: with ``smooth=0`` an empty target scores loss 1 (zero gradient) for any
  non-zero prediction. Units whose pixels are all ignored (``ignore_index``) are always left out.
* **Masking.** ``ignore_index`` (class-index targets in multiclass mode; target values in binary and
  multilabel mode) removes those pixels from the intersection and from both cardinalities: the
  mask multiplies the probabilities and the targets, so the result equals the loss computed on the
  tensors with those pixels sliced out.
* **Reduction** over the remaining ratios (shape ``(C,)``, or ``(N, C)`` with ``per_image``; ``C``
  counts only the channels kept by ``include_background``): with per-class ``weight`` ``w`` and
  ``m = 0`` for excluded ratios (1 otherwise), ``"none"`` returns ``w * m * loss``, ``"sum"`` its
  sum and ``"mean"`` the weighted average ``sum(w m loss) / sum(w m)`` (torch's weighted-mean rule;
  0 with zero gradient when every ratio is excluded).
* **Precision.** Counts are summed in float32 for float16/bfloat16 inputs (float64 stays float64);
  the result has the input's dtype. Saturated logits (``±1e4``) give finite values and gradients.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks
from .._checks import check_class_target, check_floating, check_option, check_probs, check_tensor, check_weight
from .._reduction import check_reduction, reduce, weighted_mean
from ..kernels import _dispatch

__all__ = ["dice_loss", "tversky_loss", "focal_tversky_loss", "jaccard_loss"]

_MODES = ("binary", "multiclass", "multilabel")
_EMPTY = ("exclude", "include")
_LINK = {"binary": "sigmoid", "multiclass": "softmax over dim 1", "multilabel": "sigmoid"}


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def _check_options(
    fn: str,
    *,
    mode: str,
    smooth: float,
    eps: float,
    empty: str,
    include_background: bool,
    reduction: str,
    alpha: Optional[float] = None,
    beta: Optional[float] = None,
    gamma: Optional[float] = None,
) -> None:
    """Validate the options that need no tensor (also used by the modules' constructors)."""
    if mode not in _MODES:
        raise ValueError(
            f"{fn}: mode={mode!r} is not valid: use 'binary' (one sigmoid channel), "
            "'multiclass' (softmax over C channels, class-index or one-hot targets) or "
            "'multilabel' (a sigmoid per channel, 0/1 targets per channel)"
        )
    check_reduction(reduction)
    check_option(smooth, "smooth", low=0.0)
    check_option(eps, "eps", low=0.0, low_open=True)
    if empty not in _EMPTY:
        raise ValueError(
            f"{fn}: empty={empty!r} is not valid: use 'exclude' (classes with an empty target are left "
            "out of the average) or 'include' (they count with the value smoothing gives them)"
        )
    if mode == "binary" and not include_background:
        raise ValueError(
            f"{fn}: include_background=False drops channel 0, but mode='binary' has a single (foreground) "
            "channel; keep include_background=True, or use mode='multiclass'/'multilabel' with a "
            "background channel"
        )
    if alpha is not None:
        check_option(alpha, "alpha", low=0.0)
    if beta is not None:
        check_option(beta, "beta", low=0.0)
    if alpha is not None and beta is not None and alpha == 0 and beta == 0:
        raise ValueError(
            f"{fn}: alpha=0 and beta=0 make the Tversky index 1 for every prediction (no loss, no gradient); "
            "give false positives (alpha) or false negatives (beta) a positive weight"
        )
    if gamma is not None:
        check_option(gamma, "gamma", low=0.0, low_open=True)


def _shape_error(fn: str, mode: str, input: Tensor, target: Tensor, expects: str) -> ValueError:
    return ValueError(
        f"{fn}: mode={mode!r} expects {expects}; got input {tuple(input.shape)} and target "
        f"{tuple(target.shape)}"
    )


def _check_target_values(target: Tensor, ignore_index: Optional[int]) -> None:
    """0/1 (or probability) targets, ignoring entries equal to ``ignore_index``; CPU / full checks only."""
    if not _checks.values_checkable(target) or target.numel() == 0:
        return
    t = target.detach()
    if ignore_index is not None:
        t = t[t != ignore_index]
    if t.dtype == torch.bool:
        return
    check_probs(t, "target")


# ---------------------------------------------------------------------------------------------
# soft counts
# ---------------------------------------------------------------------------------------------


def _soft_counts(
    fn: str,
    input: Tensor,
    target: Tensor,
    *,
    mode: str,
    from_logits: bool,
    weight: Optional[Tensor],
    ignore_index: Optional[int],
    per_image: bool,
    include_background: bool,
    validated: bool = False,
):
    """Validate the tensors (unless ``validated``) and return ``(I, P, T, V, w)``.

    ``I``, ``P``, ``T`` are the soft intersection and the predicted and target cardinalities per
    unit, shape ``(C,)`` or ``(N, C)`` with ``per_image``; ``V`` is the number of valid (not ignored)
    pixels per unit (``None`` without ``ignore_index``); ``w`` the per-class weights of the kept
    channels (or ``None``). All in float32 (float64 for float64 input).
    """
    if not validated:
        _validate_tensors(fn, input, target, mode=mode, from_logits=from_logits, weight=weight,
                          ignore_index=ignore_index, include_background=include_background)
    n = input.shape[0]
    index_target = mode == "multiclass" and target.dim() == input.dim() - 1
    c = 1 if mode == "binary" else input.shape[1]
    length = math.prod(input.shape[1:]) if mode == "binary" else math.prod(input.shape[2:])
    cdtype = torch.float64 if input.dtype == torch.float64 else torch.float32

    x = input.reshape(n, c, length).to(cdtype)
    if from_logits:
        p = torch.softmax(x, dim=1) if mode == "multiclass" else torch.sigmoid(x)
    else:
        p = x

    dims = (2,) if per_image else (0, 2)
    vcount: Optional[Tensor] = None
    if index_target:
        labels = target.reshape(n, 1, length)
        classes = torch.arange(c, device=input.device).view(1, c, 1)
        # one-hot as a bool mask (1 byte a pixel and class, and all autograd keeps of the target):
        # an ignored (or, unchecked, out-of-range) label matches no class
        hit = labels == classes
        if ignore_index is not None:
            valid = labels != ignore_index  # (N, 1, L)
            hit = hit & valid
            # the mask applies to the probabilities AND the targets: ignored pixels add to no count
            p = torch.where(valid, p, 0.0)
            vcount = valid.sum(dims, dtype=cdtype)
        if not include_background:
            p, hit = p[:, 1:], hit[:, 1:]
        inter = torch.where(hit, p, 0.0).sum(dims)  # Σ p t with t one-hot
        tsum = hit.sum(dims, dtype=cdtype)
    else:
        t = target.reshape(n, c, length)
        if ignore_index is not None:
            valid = t != ignore_index  # (N, C, L)
            t = t.masked_fill(~valid, 0)
            p = torch.where(valid, p, 0.0)
            vcount = valid.sum(dims, dtype=cdtype)
        t = t.to(cdtype)
        if not include_background:
            p, t = p[:, 1:], t[:, 1:]
            vcount = vcount[..., 1:] if vcount is not None else None
        inter = (p * t).sum(dims)
        tsum = t.sum(dims)
    psum = p.sum(dims)
    if vcount is not None:
        vcount = vcount.expand_as(inter)  # an (N, 1, L) mask counts once for every class
    w = None
    if weight is not None:
        w = weight.to(device=inter.device, dtype=cdtype)
        if not include_background:
            w = w[1:]
    return inter, psum, tsum, vcount, w


def _validate_tensors(fn, input, target, *, mode, from_logits, weight, ignore_index, include_background) -> None:
    check_floating(input, "input", hint="pass the model's float logits (or probabilities with from_logits=False)")
    check_tensor(target, "target")
    if mode == "binary":
        ok = input.dim() >= 1 and (
            target.shape == input.shape
            or (input.dim() >= 2 and input.shape[1] == 1 and target.shape == input.shape[:1] + input.shape[2:])
        )
        if not ok:
            raise _shape_error(
                fn, mode, input, target,
                "input (N, 1, *) or (N, *) logits and a 0/1 target of the same shape "
                "(or (N, *) for an (N, 1, *) input)",
            )
        c = 1
    elif mode == "multilabel":
        if input.dim() < 2 or target.shape != input.shape:
            raise _shape_error(fn, mode, input, target,
                               "input (N, C, *) logits and a 0/1 target (N, C, *) of the same shape")
        c = input.shape[1]
    else:
        expects = "input (N, C, *) logits and target (N, *) class indices or (N, C, *) one-hot/probabilities"
        if input.dim() >= 2:  # (a 1-D input has no (N, *) to name)
            expects += (f"; for this input that is target {(input.shape[0],) + tuple(input.shape[2:])} or "
                        f"{tuple(input.shape)}")
        if input.dim() < 2:
            raise _shape_error(fn, mode, input, target, expects)
        c = input.shape[1]
        if target.dim() == input.dim():
            if target.shape != input.shape:
                raise _shape_error(fn, mode, input, target, expects)
            if ignore_index is not None:
                raise ValueError(
                    f"{fn}: ignore_index={ignore_index} needs class-index targets (N, *), but target "
                    f"{tuple(target.shape)} is one-hot/probabilities like input; pass class indices with "
                    "ignore_index at the ignored pixels, or drop ignore_index"
                )
        elif target.shape != input.shape[:1] + input.shape[2:]:
            raise _shape_error(fn, mode, input, target, expects)
        else:
            check_class_target(target, c, ignore_index=ignore_index)
    check_weight(weight, c)
    if not include_background and c < 2:
        raise ValueError(
            f"{fn}: include_background=False drops channel 0, which leaves no class for input "
            f"{tuple(input.shape)} with {c} channel; keep include_background=True"
        )

    # value checks (CPU tensors by default; every device under losskit.checks("full"))
    if not from_logits:
        try:
            check_probs(input, "input")
        except ValueError as e:
            msg = str(e)
            if "outside [0, 1]" not in msg:
                raise
            raise ValueError(
                msg.split(";")[0] + f"; with from_logits=False input must hold probabilities — these look like "
                f"logits: use from_logits=True (the default), which applies the {_LINK[mode]}"
            ) from None
    else:
        _checks.check_finite(input, "input")
    if from_logits and mode != "multiclass":
        _checks.warn_probs_as_logits(input, target, fn=fn, probs_fn=f"{fn}(..., from_logits=False)")
    if not (mode == "multiclass" and target.dim() == input.dim() - 1):
        _check_target_values(target, ignore_index)


# ---------------------------------------------------------------------------------------------
# ratio and reduction
# ---------------------------------------------------------------------------------------------


def _ratio(num: Tensor, den: Tensor, eps: float) -> Tensor:
    # den < eps only when prediction and target are both empty: a perfect match (score 1);
    # elsewhere clamping keeps the division finite (and never changes a value when den >= eps)
    return torch.where(den < eps, torch.ones_like(num), num / den.clamp_min(eps))


def _finish(loss: Tensor, tsum: Tensor, vcount: Optional[Tensor], w: Optional[Tensor], *, empty: str,
            reduction: str, dtype: torch.dtype) -> Tensor:
    keep = None
    if empty == "exclude":
        keep = tsum > 0
    if vcount is not None:
        has_pixels = vcount > 0
        keep = has_pixels if keep is None else keep & has_pixels
    if keep is None and w is None:
        return reduce(loss, reduction).to(dtype)
    m = keep.to(loss.dtype) if keep is not None else torch.ones_like(loss)
    if w is not None:
        m = m * w  # (C,) broadcasts over the image axis of (N, C)
    wl = loss * m
    if reduction == "none":
        out = wl
    elif reduction == "sum":
        out = wl.sum()
    else:
        out = weighted_mean(wl.sum(), m.sum(), all_ignored="zero")
    return out.to(dtype)


def _overlap(fn, input, target, *, kind, alpha=None, beta=None, gamma=None, mode, from_logits, weight,
             ignore_index, smooth, eps, per_image, include_background, empty, reduction, validated=False):
    inter, psum, tsum, vcount, w = _soft_counts(
        fn, input, target, mode=mode, from_logits=from_logits, weight=weight, ignore_index=ignore_index,
        per_image=per_image, include_background=include_background, validated=validated,
    )
    if kind == "dice":
        # F1 on soft counts: 2 I / (P + T)
        score = _ratio(2.0 * inter + smooth, psum + tsum + smooth, eps)
    elif kind == "jaccard":
        # IoU on soft counts: I / |P ∪ T| with |P ∪ T| = P + T - I
        score = _ratio(inter + smooth, psum + tsum - inter + smooth, eps)
    else:
        # Tversky index I / (I + α FP + β FN), with FP = P - I and FN = T - I
        den = inter + alpha * (psum - inter) + beta * (tsum - inter) + smooth
        score = _ratio(inter + smooth, den, eps)
    loss = 1.0 - score
    if gamma is not None:
        # (1 - TI)^γ, exactly 0 at a perfect score; the floor inside keeps γ·x^(γ-1) finite for γ < 1
        # (both branches of a where() are differentiated) and x >= 0 under rounding
        loss = torch.where(loss > 0, loss.clamp_min(torch.finfo(loss.dtype).tiny).pow(gamma), torch.zeros_like(loss))
    return _finish(loss, tsum, vcount, w, empty=empty, reduction=reduction, dtype=input.dtype)


# ---------------------------------------------------------------------------------------------
# public losses
# ---------------------------------------------------------------------------------------------


def dice_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
) -> Tensor:
    """Soft Dice loss: one minus the Dice coefficient (F1 score) of soft predicted and target masks.

    .. math::

        \\ell_c = 1 - \\frac{2 \\sum_i p_{ic} t_{ic} + s}{\\sum_i p_{ic} + \\sum_i t_{ic} + s}

    summed over the pixels ``i`` of the batch (or of each image with ``per_image=True``), for each
    class ``c``; ``p`` is the sigmoid/softmax of ``input`` and ``s`` is ``smooth``. With 0/1 masks the
    ratio is ``2 TP / (2 TP + FP + FN)``, the F1 score.

    Not a likelihood: Dice is a (soft) overlap measure -- F1 on soft counts -- with no
    probabilistic model behind it, so the probabilities it trains are not calibrated. Predict a
    pixel's class by the argmax (multiclass) or ``p > 0.5`` (binary / multilabel), or tune the
    threshold for the overlap. Usually combined with the likelihood term:
    ``cross_entropy(logits, y) + dice_loss(logits, y)``, or
    ``binary_cross_entropy_with_logits(logits, y) + dice_loss(logits, y, mode="binary")``.
    :func:`tversky_loss` with ``alpha = beta = 0.5`` is this loss (with ``smooth`` doubled).
    The module docstring of :mod:`losskit.functional._overlap` details modes, smoothing, empty
    classes, masking and reduction.

    Args:
        input: logits (or probabilities with ``from_logits=False``): ``(N, C, *)`` for
            ``"multiclass"``/``"multilabel"``, ``(N, 1, *)`` or ``(N, *)`` for ``"binary"``.
        target: ``"multiclass"``: class indices ``(N, *)`` (integer) or one-hot/probabilities
            ``(N, C, *)``; ``"binary"``/``"multilabel"``: 0/1 (or soft) values shaped like input.
        mode: ``"binary"``, ``"multiclass"`` (default) or ``"multilabel"``.
        from_logits: apply the link (softmax over ``C`` for multiclass, sigmoid otherwise);
            ``False`` takes probabilities in [0, 1].
        weight: per-class weights ``(C,)`` (all ``C`` input channels, background included) for the
            class average.
        ignore_index: target value whose pixels are removed from every count.
        smooth: added to numerator and denominator (default 0: the exact soft Dice).
        eps: a denominator below ``eps`` (empty prediction and target) gives a perfect score.
        per_image: one ratio per image and class instead of per class over the batch.
        include_background: keep channel 0 (``False`` drops it after the softmax).
        empty: ``"exclude"`` (default) or ``"include"`` ratios whose target is empty.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``(C,)`` per-class losses (``(N, C)`` with ``per_image``; ``C`` counts the kept
        channels, 1 in binary mode), times ``weight``, 0 where excluded. ``"mean"``: their weighted
        average over the ratios not excluded. ``"sum"``: their sum. The dtype is ``input``'s.

    Example:
        >>> import torch
        >>> from losskit.functional import dice_loss
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])  # (N=1, C=2, L=3)
        >>> target = torch.tensor([[0, 1, 1]])
        >>> print(round(dice_loss(logits, target).item(), 4))
        0.1769
        >>> print(dice_loss(logits, target, reduction="none").numpy().round(4))
        [0.2077 0.1462]

    References:
        Milletari, Navab & Ahmadi, "V-Net", 3DV 2016 (arXiv:1606.04797);
        Sudre et al., "Generalised Dice overlap as a deep learning loss function", DLMIA 2017.
    """
    fn = "dice_loss"
    _check_options(fn, mode=mode, smooth=smooth, eps=eps, empty=empty,
                   include_background=include_background, reduction=reduction)
    _validate_tensors(fn, input, target, mode=mode, from_logits=from_logits, weight=weight,
                      ignore_index=ignore_index, include_background=include_background)
    out = _dispatch.call_kernel(
        "dice_loss", input, target, mode=mode, from_logits=from_logits, weight=weight,
        ignore_index=ignore_index, smooth=smooth, eps=eps, per_image=per_image,
        include_background=include_background, empty=empty, reduction=reduction,
    )
    if out is not None:
        return out
    return _overlap(fn, input, target, kind="dice", mode=mode, from_logits=from_logits, weight=weight,
                    ignore_index=ignore_index, smooth=smooth, eps=eps, per_image=per_image,
                    include_background=include_background, empty=empty, reduction=reduction,
                    validated=True)


def tversky_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    alpha: float = 0.5,
    beta: float = 0.5,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
) -> Tensor:
    """Tversky loss: one minus the Tversky index, an overlap score that weighs FP and FN apart.

    .. math::

        TI_c = \\frac{I_c + s}{I_c + \\alpha\\, FP_c + \\beta\\, FN_c + s}, \\qquad \\ell_c = 1 - TI_c,

    with soft counts ``I = Σ p t``, ``FP = Σ p (1 - t)``, ``FN = Σ (1 - p) t`` over the pixels of the
    batch (or of each image with ``per_image=True``), ``p`` the sigmoid/softmax of ``input``.

    Not a likelihood: an overlap measure that generalises Dice. ``alpha = beta = 0.5`` is the Dice
    coefficient (:func:`dice_loss` with ``smooth`` doubled: ``(I + s) / (I + (FP + FN)/2 + s)``
    equals ``(2I + 2s) / (P + T + 2s)``); ``alpha = beta = 1`` is the Jaccard / Tanimoto index
    (:func:`jaccard_loss`, same ``smooth``). ``beta > alpha`` penalises false negatives more (recall
    for small structures). Here ``alpha`` weighs false positives and ``beta`` false negatives, as in
    Salehi et al. and MONAI. Usually added to ``cross_entropy`` or
    ``binary_cross_entropy_with_logits``, which train calibrated pixel probabilities.

    Args:
        input: logits (or probabilities with ``from_logits=False``), shaped as in :func:`dice_loss`.
        target: as in :func:`dice_loss`.
        mode: ``"binary"``, ``"multiclass"`` (default) or ``"multilabel"``.
        from_logits: apply the link (softmax / sigmoid); ``False`` takes probabilities.
        alpha: weight of false positives, ``>= 0`` (default 0.5).
        beta: weight of false negatives, ``>= 0`` (default 0.5).
        weight, ignore_index, smooth, eps, per_image, include_background, empty: as in
            :func:`dice_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        As :func:`dice_loss`: ``(C,)`` or ``(N, C)`` for ``"none"``, a scalar otherwise.

    Example:
        >>> import torch
        >>> from losskit.functional import tversky_loss
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> target = torch.tensor([[0, 1, 1]])
        >>> print(round(tversky_loss(logits, target, alpha=0.3, beta=0.7).item(), 4))
        0.1658

    References:
        Salehi, Erdogmus & Gholipour, "Tversky loss function for image segmentation using 3D fully
        convolutional deep networks", MLMI 2017 (arXiv:1706.05721).
    """
    fn = "tversky_loss"
    _check_options(fn, mode=mode, smooth=smooth, eps=eps, empty=empty, include_background=include_background,
                   reduction=reduction, alpha=alpha, beta=beta)
    return _overlap(fn, input, target, kind="tversky", alpha=alpha, beta=beta, mode=mode,
                    from_logits=from_logits, weight=weight, ignore_index=ignore_index, smooth=smooth, eps=eps,
                    per_image=per_image, include_background=include_background, empty=empty,
                    reduction=reduction)


def focal_tversky_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
) -> Tensor:
    """Focal Tversky loss: the Tversky loss raised to the power ``gamma`` per class.

    .. math::

        \\ell_c = (1 - TI_c)^{\\gamma}, \\qquad
        TI_c = \\frac{I_c + s}{I_c + \\alpha\\, FP_c + \\beta\\, FN_c + s}

    Exponent convention: ``gamma`` is the exponent itself. Abraham & Khan write
    ``(1 - TI)^{1/γ}`` with their ``γ = 4/3``; the default ``gamma=0.75`` here is that exponent
    ``3/4``. With ``gamma < 1`` the loss is concave in ``1 - TI``: its gradient grows as a class
    approaches a perfect score, so nearly-segmented (often small) structures keep a strong
    signal; ``gamma = 1`` is :func:`tversky_loss`; ``gamma > 1`` down-weights well-segmented
    classes as the focal loss does. The defaults ``alpha=0.3`` (false positives), ``beta=0.7``
    (false negatives) are the paper's 0.7 on false negatives (the paper names that weight
    ``alpha``; here ``alpha`` always weighs false positives, as in :func:`tversky_loss`).

    Not a likelihood: a reshaped overlap measure; usually combined with a cross-entropy term.

    Args:
        input: logits (or probabilities with ``from_logits=False``), shaped as in :func:`dice_loss`.
        target: as in :func:`dice_loss`.
        mode: ``"binary"``, ``"multiclass"`` (default) or ``"multilabel"``.
        from_logits: apply the link (softmax / sigmoid); ``False`` takes probabilities.
        alpha: weight of false positives, ``>= 0`` (default 0.3).
        beta: weight of false negatives, ``>= 0`` (default 0.7).
        gamma: the exponent, ``> 0`` (default 0.75).
        weight, ignore_index, smooth, eps, per_image, include_background, empty: as in
            :func:`dice_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        As :func:`dice_loss`: ``(C,)`` or ``(N, C)`` for ``"none"``, a scalar otherwise.

    Example:
        >>> import torch
        >>> from losskit.functional import focal_tversky_loss
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> target = torch.tensor([[0, 1, 1]])
        >>> print(round(focal_tversky_loss(logits, target).item(), 4))
        0.2593

    References:
        Abraham & Khan, "A novel focal Tversky loss function with improved attention U-Net for
        lesion segmentation", ISBI 2019 (arXiv:1810.07842).
    """
    fn = "focal_tversky_loss"
    _check_options(fn, mode=mode, smooth=smooth, eps=eps, empty=empty, include_background=include_background,
                   reduction=reduction, alpha=alpha, beta=beta, gamma=gamma)
    return _overlap(fn, input, target, kind="tversky", alpha=alpha, beta=beta, gamma=gamma, mode=mode,
                    from_logits=from_logits, weight=weight, ignore_index=ignore_index, smooth=smooth, eps=eps,
                    per_image=per_image, include_background=include_background, empty=empty,
                    reduction=reduction)


def jaccard_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    weight: Optional[Tensor] = None,
    ignore_index: Optional[int] = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
) -> Tensor:
    """Soft Jaccard (IoU) loss: one minus the intersection over union of soft masks.

    .. math::

        \\ell_c = 1 - \\frac{I_c + s}{P_c + T_c - I_c + s}, \\qquad
        I = \\sum_i p_i t_i,\\; P = \\sum_i p_i,\\; T = \\sum_i t_i

    over the pixels of the batch (or each image with ``per_image=True``). With 0/1 masks the ratio
    is ``TP / (TP + FP + FN)``, the IoU (Tanimoto coefficient); it relates to Dice ``D`` by
    ``J = D / (2 - D)``.

    Not a likelihood: an overlap measure, :func:`tversky_loss` with ``alpha = beta = 1`` (same
    ``smooth``). Usually combined with ``cross_entropy`` / ``binary_cross_entropy_with_logits``.
    For a loss tailored to optimise the IoU of hard predictions see the Lovász hinge (Berman et al.
    2018).

    Args:
        input: logits (or probabilities with ``from_logits=False``), shaped as in :func:`dice_loss`.
        target: as in :func:`dice_loss`.
        mode: ``"binary"``, ``"multiclass"`` (default) or ``"multilabel"``.
        from_logits: apply the link (softmax / sigmoid); ``False`` takes probabilities.
        weight, ignore_index, smooth, eps, per_image, include_background, empty: as in
            :func:`dice_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        As :func:`dice_loss`: ``(C,)`` or ``(N, C)`` for ``"none"``, a scalar otherwise.

    Example:
        >>> import torch
        >>> from losskit.functional import jaccard_loss
        >>> logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])  # (N=1, L=4), binary
        >>> target = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
        >>> print(round(jaccard_loss(logits, target, mode="binary").item(), 4))
        0.2487

    References:
        Rahman & Wang, "Optimizing intersection-over-union in deep neural networks for image
        segmentation", ISVC 2016.
    """
    fn = "jaccard_loss"
    _check_options(fn, mode=mode, smooth=smooth, eps=eps, empty=empty, include_background=include_background,
                   reduction=reduction)
    return _overlap(fn, input, target, kind="jaccard", mode=mode, from_logits=from_logits, weight=weight,
                    ignore_index=ignore_index, smooth=smooth, eps=eps, per_image=per_image,
                    include_background=include_background, empty=empty, reduction=reduction)
