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
* **Class weights.** ``weight`` (and a tensor ``alpha``/``beta`` for the Tversky losses) has one
  value per input channel, shape ``(C,)`` (background included), and applies along the class
  dimension 1 -- never along a trailing spatial dimension that happens to have ``C`` entries.
  Values must be >= 0.
* **Reduction** over the remaining ratios (shape ``(C,)``, or ``(N, C)`` with ``per_image``; ``C``
  counts only the channels kept by ``include_background``): with per-class ``weight`` ``w`` and
  ``m = 0`` for excluded ratios (1 otherwise), ``"none"`` returns ``w * m * loss``, ``"sum"`` its
  sum and ``"mean"`` the weighted average ``sum(w m loss) / sum(w m)`` (torch's weighted-mean rule;
  0 with zero gradient when every ratio is excluded). One call to :func:`losskit._reduction.reduce`:
  ``reduce(w * loss, reduction, valid=keep, weight=w)``.
* **Precision.** Counts are summed in float32 for float16/bfloat16 inputs (float64 stays float64);
  the result has the input's dtype (float32 under ``torch.autocast``). Saturated logits (``±1e4``)
  give finite values and gradients; a NaN in the input gives a NaN loss.
* **Soft counts.** The counts are the primitive ``soft_counts`` (:mod:`losskit.kernels.soft_counts`
  serves it on CUDA with the link fused); class-index targets become a one-hot mask by one scatter
  (as MONAI's ``one_hot``), never by comparing the whole mask with every class.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .. import _checks
from .._options import WEIGHTING as _WEIGHTING
from .._options import lovasz_options as _lovasz_options
from .._options import overlap_options as _options
from .._reduction import reduce
from ..kernels import _dispatch

__all__ = [
    "dice_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "jaccard_loss",
    "generalized_dice_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "mcc_loss",
]

# ---------------------------------------------------------------------------------------------
# options (the checks that need no input tensor are in losskit._options: the modules run them too)
# ---------------------------------------------------------------------------------------------


def _class_tensor(v, name: str, m: _checks.MaskInputs, dtype: torch.dtype):
    """A float, or a ``(C,)`` tensor of one value >= 0 per channel (applied along dimension 1)."""
    if not isinstance(v, Tensor):
        return v
    _checks.class_weight(v, m.num_classes, name)
    return v.to(dtype)


# ---------------------------------------------------------------------------------------------
# the primitive: soft counts
# ---------------------------------------------------------------------------------------------


def soft_counts(
    m: _checks.MaskInputs, *, per_image: bool, squared: bool = False, soft_label: bool = False
) -> tuple[Tensor, Tensor, Tensor]:
    """``(I, P, T)``: the sums of ``p t``, ``p`` and ``t`` over the pixels of each image (``(N, C)``,
    ``per_image``) or of the batch (``(C,)``), for every channel, ignored pixels left out of each sum;
    with ``squared``, ``P`` and ``T`` are the sums of ``p²`` and ``t²`` (MONAI's ``squared_pred``).

    ``p`` is the link of ``m.input`` (softmax over ``C`` for multiclass, else a sigmoid; the input
    itself with ``from_logits=False``). Float32 for half inputs. The kernel of primitive
    ``"soft_counts"`` returns the same numbers (the squared sums are the formula's only). With
    ``soft_label`` (dense targets, not ``squared``), ``I`` is MONAI's L1 form ``(P + T - Σ|p - t|) / 2``
    (``Σ min(p, t)``; ``Σ p t`` for 0/1 targets): the formula's only.
    """
    l1 = soft_label and not squared
    counts = None if squared or l1 else _dispatch.kernel("soft_counts", m, per_image=per_image)
    if counts is not None:
        return counts
    x = m.input
    cdtype = _checks.compute_dtype(x.dtype)
    if not m.from_logits:
        p = _checks.upcast(x)
    elif m.mode == "multiclass":
        # computed by a cross-entropy part of the same combined loss already: p = exp(log p), no second softmax
        logp = None if m.source is None else _checks.shared_log_softmax(m.source, computed_only=True)
        # else one float32 result, no float32 copy of a half input
        p = torch.softmax(x, 1, dtype=cdtype) if logp is None else logp.reshape(x.shape).exp()
    else:
        p = torch.sigmoid(_checks.upcast(x))
    valid = m.valid
    dims = (2,) if per_image else (0, 2)
    if m.index_target:
        y = m.target  # (N, 1, L) labels
        if valid is not None:
            y = torch.where(valid, y, torch.zeros((), dtype=y.dtype, device=y.device))  # (N, 1, L): small
            v = valid.to(cdtype)
            # Σ over counted pixels, no masked copy of p
            psum = torch.einsum("ncl,nl->nc" if per_image else "ncl,nl->c", p * p if squared else p, v[:, 0])
        else:
            v = torch.ones((), dtype=cdtype, device=p.device).expand(y.shape)
            psum = (p * p if squared else p).sum(dims)
        # the one-hot target scattered from the labels (0 at ignored pixels): no comparison of the whole
        # mask, and its product with p backpropagates as one multiplication
        t = _checks.torch_range_checked(m, torch.zeros_like(p).scatter_, 1, y, v)
    else:
        t = m.target
        if valid is not None:
            t = torch.where(valid, t, torch.zeros((), dtype=t.dtype, device=t.device))
            p = torch.where(valid, p, torch.zeros((), dtype=p.dtype, device=p.device))
        t = t.to(cdtype)
        psum = (p * p if squared else p).sum(dims)
        if l1:  # MONAI's soft_label: I = (|p|_1 + |t|_1 - |p - t|_1) / 2
            tsum = t.sum(dims)
            return (psum + tsum - (p - t).abs().sum(dims)) / 2, psum, tsum
    return (p * t).sum(dims), psum, (t * t if squared else t).sum(dims)


def _ratio(num: Tensor, den: Tensor, eps: float) -> Tensor:
    # den < eps only when prediction and target are both empty: a perfect match (score 1);
    # elsewhere clamping keeps the division finite (and never changes a value when den >= eps)
    return torch.where(den < eps, torch.ones_like(num), num / den.clamp_min(eps))


def _counts(
    m: _checks.MaskInputs, *, per_image: bool, empty: str, squared: bool = False, soft_label: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """``(I, P, T, keep)`` of the kept channels (channel 0 dropped without ``include_background``):
    the soft counts per class and unit, and which ratios count -- ``T > 0`` with ``empty="exclude"``,
    else the units with a counted pixel (``None``: every unit)."""
    inter, psum, tsum = soft_counts(m, per_image=per_image, squared=squared, soft_label=soft_label)
    keep = tsum > 0 if empty == "exclude" else None
    if m.valid is not None and empty == "include":
        # a unit whose pixels are all ignored is left out (with empty="exclude" its T = 0 already is)
        dims = (2,) if per_image else (0, 2)
        keep = (m.valid.sum(dims) > 0).expand_as(inter)
    if not m.include_background:
        inter, psum, tsum = inter[..., 1:], psum[..., 1:], tsum[..., 1:]
        keep = None if keep is None else keep[..., 1:]
    return inter, psum, tsum, keep


def _volume_weights(tsum: Tensor, weighting: str) -> Tensor:
    """Generalized Dice's class weights, constants of the target: ``1/T^2``, ``1/T`` or 1; a class with
    an empty target (an infinite weight) takes the largest finite weight of its unit (MONAI's rule)."""
    t = tsum.detach()
    if weighting == "uniform":
        return torch.ones_like(t)
    w = torch.reciprocal(t * t if weighting == "square" else t)
    finite = torch.isfinite(w)
    w = torch.where(finite, w, torch.zeros((), dtype=w.dtype, device=w.device))
    return torch.where(finite, w, w.amax(-1, keepdim=True))


# the ratio of each overlap loss as (numerator, denominator) of its soft counts, before smoothing;
# ``a``/``b`` are the Tversky weights of false positives and false negatives (None elsewhere)
def _dice_terms(i, p, t, a, b):
    return 2.0 * i, p + t  # F1 on soft counts: 2 I / (P + T)


def _jaccard_terms(i, p, t, a, b):
    return i, p + t - i  # IoU on soft counts: I / |P ∪ T| with |P ∪ T| = P + T - I


def _tversky_terms(i, p, t, a, b):
    return i, i + a * (p - i) + b * (t - i)  # I / (I + α FP + β FN), with FP = P - I and FN = T - I


def _overlap(
    fn: str,
    terms,
    *,
    input: Tensor,
    target: Tensor,
    mode: str,
    from_logits: bool,
    ignore_index,
    smooth: float,
    eps: float,
    per_image: bool,
    include_background: bool,
    reduction: str,
    weight: Tensor | None = None,
    empty: str = "exclude",
    alpha=None,
    beta=None,
    gamma: float | None = None,
    weighting: str | None = None,
    squared_pred: bool = False,
    smooth_denominator: float | None = None,
    log_loss: bool = False,
    average: str = "macro",
    soft_label: bool = False,
    classes: Sequence[int] | None = None,
) -> Tensor:
    """Every overlap loss: options checked, inputs normalised, the soft counts computed once, then
    ``terms(I, P, T)`` per class -- pooled over the classes of each unit with ``average="micro"``
    (class weights ``weight``) or generalized Dice's ``weighting`` (volume weights) -- → the score ``(num + s) / (den + s_den)`` → ``1 - score`` (``-log score`` with
    ``log_loss``; ``^gamma``) → the one reduction.

    The public losses hand over their own arguments by name (``**locals()``, their first statement),
    so each option is spelt once, in its signature.
    """
    _options(
        fn,
        mode=mode,
        smooth=smooth,
        eps=eps,
        empty=empty,
        include_background=include_background,
        reduction=reduction,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        squared_pred=squared_pred,
        smooth_denominator=smooth_denominator,
        log_loss=log_loss,
        average=average,
        classes=classes,
    )
    if weighting is not None:
        _checks.choice(
            weighting,
            "weighting",
            _WEIGHTING,
            fn=fn,
            hint="square: 1/T^2 (Sudre et al.), simple: 1/T, uniform: 1, with T a class's target volume",
        )
    m = _checks.mask_inputs(
        fn,
        input,
        target,
        mode=mode,
        from_logits=from_logits,
        weight=weight,
        ignore_index=ignore_index,
        include_background=include_background,
        # the one-hot scatter_ of soft_counts refuses an out-of-range label on CPU (where no kernel runs)
        range_by_torch=isinstance(input, Tensor) and not _dispatch.may_run(input.device),
    )
    cdtype = _checks.compute_dtype(m.input.dtype)
    a = _slice(_class_tensor(alpha, "alpha", m, cdtype), m)
    b = _slice(_class_tensor(beta, "beta", m, cdtype), m)
    soft_label = _checks.flag(soft_label, "soft_label", fn=fn)
    inter, psum, tsum, keep = _counts(m, per_image=per_image, empty=empty, squared=squared_pred, soft_label=soft_label)
    w = None if m.weight is None else _slice(m.weight.to(cdtype), m)
    if classes is not None:  # the listed channels only (after the softmax over all of them), in the listed order
        pick = _class_index(fn, classes, inter.shape[-1], inter.device)
        inter, psum, tsum = inter[..., pick], psum[..., pick], tsum[..., pick]
        keep = None if keep is None else keep[..., pick]
        a, b, w = (v[pick] if isinstance(v, Tensor) and v.dim() == 1 else v for v in (a, b, w))
    num, den = terms(inter, psum, tsum, a, b)
    if weighting is not None or average == "micro":
        # one ratio per unit: class c's terms weighted by w_c and summed over the classes
        wc = w if weighting is None else _volume_weights(tsum, weighting)
        num, den = (num.sum(-1), den.sum(-1)) if wc is None else ((wc * num).sum(-1), (wc * den).sum(-1))
        keep = None if keep is None else keep.any(-1)  # a unit counts if one of its ratios would
        w = None
    score = _ratio(num + smooth, den + (smooth if smooth_denominator is None else smooth_denominator), eps)
    # smp's log_loss: -log of the score, clamped at eps (an empty prediction of a present class stays finite)
    loss = -torch.log(score.clamp_min(eps)) if log_loss else 1.0 - score
    if gamma is not None:
        # (1 - TI)^γ, exactly 0 at a perfect score; the floor inside keeps γ·x^(γ-1) finite for γ < 1
        # (both branches of a where() are differentiated); NaN <= 0 is False, so NaN stays NaN
        tiny = torch.finfo(loss.dtype).tiny
        loss = torch.where(loss <= 0, torch.zeros_like(loss), loss.clamp_min(tiny).pow(gamma))
    if w is not None:
        loss = w * loss
    return reduce(loss, reduction, valid=keep, weight=w, all_ignored="zero").to(m.out_dtype)


def _class_index(fn: str, classes: Sequence[int], num_classes: int, device: torch.device) -> Tensor:
    if max(classes) >= num_classes:
        raise ValueError(
            f"{fn}: classes={list(classes)!r} holds an index >= {num_classes}, the number of channels of input"
        )
    return torch.tensor(list(classes), dtype=torch.long, device=device)


def _slice(v, m: _checks.MaskInputs):
    return v[1:] if isinstance(v, Tensor) and not m.include_background else v


# ---------------------------------------------------------------------------------------------
# public losses
# ---------------------------------------------------------------------------------------------


def dice_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    weight: Tensor | None = None,
    ignore_index: int | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
    squared_pred: bool = False,
    smooth_denominator: float | None = None,
    log_loss: bool = False,
    average: str = "macro",
    soft_label: bool = False,
    classes: Sequence[int] | None = None,
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
    The module docstring of :mod:`losskit.functional._segmentation` details modes, smoothing, empty
    classes, masking and reduction.

    Args:
        input: logits (or probabilities with ``from_logits=False``): ``(N, C, *)`` for
            ``"multiclass"``/``"multilabel"``, ``(N, 1, *)`` or ``(N, *)`` for ``"binary"``.
        target: ``"multiclass"``: class indices ``(N, *)`` (integer) or one-hot/probabilities
            ``(N, C, *)``; ``"binary"``/``"multilabel"``: 0/1 (or soft) values shaped like input.
        mode: ``"binary"``, ``"multiclass"`` (default) or ``"multilabel"``.
        from_logits: apply the link (softmax over ``C`` for multiclass, sigmoid otherwise);
            ``False`` takes probabilities in [0, 1].
        weight: per-class weights ``(C,)``, one value >= 0 per input channel (background included),
            applied along the class dimension 1 (whatever the spatial sizes) in the class average.
        ignore_index: target value whose pixels are removed from every count.
        smooth: added to numerator and denominator (default 0: the exact soft Dice).
        eps: a denominator below ``eps`` (empty prediction and target) gives a perfect score.
        per_image: one ratio per image and class instead of per class over the batch.
        include_background: keep channel 0 (``False`` drops it after the softmax).
        empty: ``"exclude"`` (default) or ``"include"`` ratios whose target is empty.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        squared_pred: sums of squares in the denominator, ``Σ p² + Σ t²`` in place of ``P + T``
            (MONAI's ``squared_pred``; Milletari et al.'s form).
        smooth_denominator: the denominator's smoothing when it differs from the numerator's
            ``smooth`` (MONAI's ``smooth_dr`` beside ``smooth_nr``); ``None`` (default): ``smooth``.
        log_loss: the loss is ``-log`` of the score (clamped at ``eps``) instead of ``1 - score``
            (smp's ``log_loss``).
        average: ``"macro"`` (default): one ratio per class, averaged; ``"micro"``: the classes of
            each unit pooled into one ratio ``(2 Σ_c w_c I_c + s) / (Σ_c w_c (P_c + T_c) + s)``
            (``w`` the ``weight``, 1 without; kornia's ``average="micro"``); ``"none"`` then gives
            one loss per unit, ``(N,)`` with ``per_image`` else 0-d, 0 for a unit left out.
        soft_label: the intersection in MONAI's L1 form for soft (non-binary) dense targets,
            :math:`I = (\\sum p + \\sum t - \\sum |p - t|)/2 = \\sum \\min(p, t)` in place of
            :math:`\\sum p t` (MONAI's ``soft_label=True``; the same counts for 0/1 targets; default
            ``False``, MONAI's default too). Not with ``squared_pred`` (MONAI's squared form is already
            :math:`\\sum p t`). Computed by the PyTorch formula (no kernel).
        classes: ``None`` (default: every kept channel) or a list of class indices: only their ratios
            count (in the mean, or pooled with ``average="micro"``), the softmax still over every
            channel; ``"none"`` returns them in the listed order (smp's ``classes``). Not with
            ``include_background=False`` (leave 0 out of the list instead).

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
        Milletari, Navab & Ahmadi, "V-Net", 3DV 2016 (arXiv:1606.04797).

    Peers' defaults that change the numbers: MONAI ``DiceLoss`` sums per image (``batch=False``),
    adds ``smooth_nr = smooth_dr = 1e-5`` and counts every class (an empty class scores ~0 loss
    once its prediction is empty); smp ``DiceLoss`` counts classes absent from the batch as loss 0
    (``empty="include"`` with ``smooth=0`` here gives them loss 1); kornia ``dice_loss`` averages
    per image. losskit: over the batch, ``smooth=0``, empty classes left out.
    """
    return _overlap("dice_loss", _dice_terms, **locals())


def tversky_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    alpha: float | Tensor = 0.5,
    beta: float | Tensor = 0.5,
    weight: Tensor | None = None,
    ignore_index: int | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
    smooth_denominator: float | None = None,
    log_loss: bool = False,
    average: str = "macro",
    soft_label: bool = False,
    classes: Sequence[int] | None = None,
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
        alpha: weight of false positives, ``>= 0`` (default 0.5): a float, or a ``(C,)`` tensor with
            one weight per channel (applied along the class dimension 1).
        beta: weight of false negatives, ``>= 0`` (default 0.5): a float or a ``(C,)`` tensor.
        weight, ignore_index, smooth, eps, per_image, include_background, empty: as in
            :func:`dice_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        smooth_denominator, log_loss, average: as in :func:`dice_loss`.
        soft_label: the intersection in MONAI's L1 form, :math:`\\sum \\min(p, t)`, as in
            :func:`dice_loss` (then FP = P - I and FN = T - I; MONAI's ``TverskyLoss(soft_label=True)``).
        classes: as in :func:`dice_loss`.

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
    return _overlap("tversky_loss", _tversky_terms, **locals())


def focal_tversky_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    alpha: float | Tensor = 0.3,
    beta: float | Tensor = 0.7,
    gamma: float = 0.75,
    weight: Tensor | None = None,
    ignore_index: int | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
    classes: Sequence[int] | None = None,
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
        alpha: weight of false positives, ``>= 0`` (default 0.3); a float or a ``(C,)`` tensor.
        beta: weight of false negatives, ``>= 0`` (default 0.7); a float or a ``(C,)`` tensor.
        gamma: the exponent, ``> 0`` (default 0.75).
        weight, ignore_index, smooth, eps, per_image, include_background, empty: as in
            :func:`dice_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        classes: as in :func:`dice_loss`.

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
    return _overlap("focal_tversky_loss", _tversky_terms, **locals())


def jaccard_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    weight: Tensor | None = None,
    ignore_index: int | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    empty: str = "exclude",
    reduction: str = "mean",
    squared_pred: bool = False,
    smooth_denominator: float | None = None,
    log_loss: bool = False,
    average: str = "macro",
    soft_label: bool = False,
    classes: Sequence[int] | None = None,
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
        squared_pred: ``Σ p² + Σ t² - I`` in place of the union ``P + T - I`` (MONAI's Jaccard form).
        smooth_denominator, log_loss, average: as in :func:`dice_loss`.
        soft_label: the intersection in MONAI's L1 form for soft (non-binary) dense targets,
            :math:`I = (\\sum p + \\sum t - \\sum |p - t|)/2 = \\sum \\min(p, t)` in place of
            :math:`\\sum p t` (MONAI's ``soft_label=True``; the same counts for 0/1 targets; default
            ``False``, MONAI's default too). Not with ``squared_pred`` (MONAI's squared form is already
            :math:`\\sum p t`). Computed by the PyTorch formula (no kernel).
        classes: as in :func:`dice_loss`.

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
    return _overlap("jaccard_loss", _jaccard_terms, **locals())


def generalized_dice_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    from_logits: bool = True,
    weighting: str = "square",
    ignore_index: int | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    per_image: bool = False,
    include_background: bool = True,
    reduction: str = "mean",
    smooth_denominator: float | None = None,
    empty: str = "exclude",
    soft_label: bool = False,
    classes: Sequence[int] | None = None,
) -> Tensor:
    r"""Generalized Dice loss (Sudre et al. 2017): one Dice ratio over all classes, each class's counts
    weighted by the inverse of its target volume.

    .. math::

        \ell = 1 - \frac{2 \sum_c w_c I_c + s}{\sum_c w_c (P_c + T_c) + s}, \qquad
        w_c = 1 / T_c^2 \ (\text{"square"}),\ 1 / T_c \ (\text{"simple"}),\ 1 \ (\text{"uniform"}),

    with the soft counts ``I_c = Σ p t``, ``P_c = Σ p``, ``T_c = Σ t`` over the pixels of the batch
    (or of each image with ``per_image=True``). The weights are constants of the target (no
    gradient). A class with an empty target (``T_c = 0``, an infinite weight) takes the largest
    finite weight of its unit, as in MONAI.

    Not a likelihood: an overlap measure whose class weights make a small structure count as much as
    a large one (with ``"square"``, each class's contribution is rescaled to about the same size);
    unlike :func:`dice_loss`, which averages one ratio per class, the classes share one ratio.
    Usually combined with a likelihood term (cross-entropy, or a focal loss through
    :class:`losskit.nn.CombinedLoss`). Predict by the argmax (multiclass) or ``p > 0.5``.

    Args:
        input: logits (or probabilities with ``from_logits=False``), shaped as in :func:`dice_loss`.
        target: as in :func:`dice_loss`.
        mode: ``"binary"``, ``"multiclass"`` (default) or ``"multilabel"``.
        from_logits: apply the link (softmax / sigmoid); ``False`` takes probabilities.
        weighting: ``"square"`` (default, Sudre et al.), ``"simple"`` or ``"uniform"`` (MONAI's ``w_type``).
        ignore_index, smooth, eps, per_image, include_background: as in :func:`dice_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        smooth_denominator: as in :func:`dice_loss` (MONAI's ``smooth_dr``).
        empty: ``"exclude"`` (default) leaves out a unit whose target is empty in every kept class;
            ``"include"`` counts it with the score smoothing gives it (every weight 0:
            ``smooth / smooth_denominator``, as MONAI).
        soft_label: the intersection in MONAI's L1 form for soft (non-binary) dense targets,
            :math:`I = (\sum p + \sum t - \sum |p - t|)/2 = \sum \min(p, t)` in place of
            :math:`\sum p t` (MONAI's ``soft_label=True``; the same counts for 0/1 targets; default
            ``False``, MONAI's default too). Not with ``squared_pred`` (MONAI's squared form is already
            :math:`\sum p t`). Computed by the PyTorch formula (no kernel).
        classes: as in :func:`dice_loss`.

    Returns:
        ``"none"``: the loss of each unit, shape ``(N,)`` with ``per_image`` (with ``empty="exclude"``, 0
        for an image whose target is empty in every kept class), else a 0-d tensor. ``"mean"``: the mean
        over the units counted (0 with zero gradient if none). ``"sum"``: their sum. The dtype is ``input``'s.

    Example:
        >>> import torch
        >>> from losskit.functional import generalized_dice_loss
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])  # (N=1, C=2, L=3)
        >>> target = torch.tensor([[0, 1, 1]])
        >>> print(round(generalized_dice_loss(logits, target).item(), 4))
        0.1915

    References:
        Sudre, Li, Vercauteren, Ourselin & Cardoso, "Generalised Dice overlap as a deep learning loss
        function for highly unbalanced segmentations", DLMIA 2017 (arXiv:1707.03237); Crum, Camara &
        Hill, "Generalized overlap measures for evaluation and validation in medical image analysis",
        IEEE TMI 2006.

    Peers: MONAI ``GeneralizedDiceLoss`` defaults to per image (``batch=False``),
    ``smooth_nr = smooth_dr = 1e-5`` and counts an image with an empty target; losskit to the batch,
    ``smooth=0`` and ``empty="exclude"`` (:class:`losskit.compat.monai.GeneralizedDiceLoss` maps them).
    """
    return _overlap("generalized_dice_loss", _dice_terms, **locals())


# ---------------------------------------------------------------------------------------------
# Lovász losses (Berman et al. 2018) and the Matthews-correlation loss
# ---------------------------------------------------------------------------------------------


def _lovasz_grad(gt_sorted: Tensor) -> Tensor:
    """The Lovász gradient of the Jaccard loss along the last dimension of a 0/1 ``gt_sorted`` (a constant
    of the target: errors are sorted in decreasing order, ``gt`` follows that order)."""
    gts = gt_sorted.sum(-1, keepdim=True)
    inter = gts - gt_sorted.cumsum(-1)
    union = gts + (1.0 - gt_sorted).cumsum(-1)  # >= 1 at every position: never a division by zero
    jac = 1.0 - inter / union
    return jac - torch.nn.functional.pad(jac[..., :-1], (1, 0))


def _lovasz(errors: Tensor, fg: Tensor, valid: Tensor | None, low: float) -> Tensor:
    """``Σ_k e_(k) g_k`` along the last dimension: ``errors`` sorted in decreasing order (by gather, so
    the gradient flows through the values, not the permutation), ``g`` the Lovász gradient of the
    Jaccard index of ``fg`` in that order. Ignored entries (``valid`` False) sort last with error 0 and
    target 0, which leaves every earlier prefix -- hence the sum -- as if they were sliced out."""
    if valid is not None:
        zero = torch.zeros((), dtype=errors.dtype, device=errors.device)
        key = torch.where(valid, errors.detach(), torch.full((), low, dtype=errors.dtype, device=errors.device))
        errors = torch.where(valid, errors, zero)
        fg = torch.where(valid, fg, zero)
    else:
        key = errors.detach()
    perm = torch.sort(key, dim=-1, descending=True, stable=True).indices
    e = errors.gather(-1, perm)
    g = _lovasz_grad(fg.detach().gather(-1, perm))
    return (e * g).sum(-1)


def _hinge_core(m: _checks.MaskInputs, per_image: bool) -> tuple[Tensor, Tensor | None]:
    """Lovász hinge per unit and channel: ``(N, C)`` with ``per_image``, else ``(C,)``; and which units
    have a counted pixel."""
    x = _checks.upcast(m.input)
    y = m.target.to(x.dtype)
    valid = m.valid
    if not per_image:  # one unit: the whole batch, per channel
        x, y = x.transpose(0, 1).reshape(1, x.shape[1], -1), y.transpose(0, 1).reshape(1, y.shape[1], -1)
        valid = None if valid is None else valid.transpose(0, 1).reshape(1, valid.shape[1], -1)
    signs = 2.0 * y - 1.0
    errors = torch.relu(1.0 - x * signs)  # hinge; relu before sorting changes no value (ties at 0 add 0)
    loss = _lovasz(errors, y, valid, -1.0)
    keep = None if valid is None else valid.any(-1)
    if not per_image:
        loss = loss[0]
        keep = None if keep is None else keep[0]
    return loss, keep


def lovasz_hinge_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "binary",
    per_image: bool = True,
    ignore_index: float | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Lovász hinge loss (Berman et al. 2018): a convex surrogate of the Jaccard (IoU) loss of the
    hard prediction ``input > 0``, for binary (or, per channel, multilabel) segmentation.

    .. math::

        e_i = \max(0, 1 - z_i s_i),\ s_i = 2 y_i - 1, \qquad
        \ell = \sum_k e_{\pi(k)}\, g_k, \quad
        g_k = J(\pi_{1..k}) - J(\pi_{1..k-1}),\ J(A) = 1 - \frac{|y \setminus A^c|}{|y \cup A|}

    where ``π`` sorts the hinge errors in decreasing order and ``g`` is the gradient of the Lovász
    extension of the Jaccard loss at that order (``J`` the Jaccard loss of predicting the first ``k``
    pixels wrong). The loss is piecewise linear in the errors and exact on hard 0/1 errors.

    Not a likelihood: it optimises the IoU of the thresholded prediction (``z > 0``) and trains no
    calibrated probability. Usually combined with ``binary_cross_entropy_with_logits`` or used to fine-tune.

    Args:
        input: logits, ``(N, 1, *)`` or ``(N, *)`` (``"binary"``), ``(N, C, *)`` (``"multilabel"``).
        target: 0/1 masks shaped like ``input`` (``(N, *)`` also for a ``(N, 1, *)`` binary input).
        mode: ``"binary"`` (default) or ``"multilabel"`` (one Lovász hinge per channel).
        per_image: one loss per image (default, as Berman's ``lovasz_hinge``) or one over the whole batch.
        ignore_index: target value whose pixels are left out (equal to slicing them out).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``(N, C)`` with ``per_image`` (``C = 1`` in binary mode), else ``(C,)``, 0 for a unit whose
        pixels are all ignored. ``"mean"``: the mean over the units with a counted pixel (0 with zero gradient
        if none). ``"sum"``: their sum. The dtype is ``input``'s.

    Example:
        >>> import torch
        >>> from losskit.functional import lovasz_hinge_loss
        >>> logits = torch.tensor([[2.0, -1.0, 0.5, -3.0]])
        >>> target = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
        >>> print(round(lovasz_hinge_loss(logits, target).item(), 4))
        2.25

    References:
        Berman, Rannen Triki & Blaschko, "The Lovász-Softmax loss: a tractable surrogate for the
        optimization of the intersection-over-union measure in neural networks", CVPR 2018 (arXiv:1705.08790).

    Peers: smp ``LovaszLoss(mode="binary")`` defaults to ``per_image=False``; Berman's ``lovasz_hinge`` to
    ``per_image=True`` (as here). smp's ``mode="multilabel"`` is one hinge over every channel of an image
    (here one per channel); :class:`losskit.compat.smp.LovaszLoss` computes smp's.
    """
    fn = "lovasz_hinge_loss"
    _lovasz_options(fn, mode=mode, per_image=per_image, reduction=reduction, modes=("binary", "multilabel"))
    m = _checks.mask_inputs(
        fn, input, target, mode=mode, from_logits=True, weight=None, ignore_index=ignore_index, include_background=True
    )
    loss, keep = _hinge_core(m, per_image)
    return reduce(loss, reduction, valid=keep, all_ignored="zero").to(m.out_dtype)


def lovasz_softmax_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "multiclass",
    per_image: bool = False,
    ignore_index: float | None = None,
    classes: str | Sequence[int] = "present",
    reduction: str = "mean",
) -> Tensor:
    r"""Lovász-Softmax loss (Berman et al. 2018): a convex surrogate of the mean Jaccard (IoU) loss,
    the Lovász extension of each class's Jaccard loss applied to the softmax errors.

    .. math::

        e_{ic} = |y_{ic} - p_{ic}|, \qquad
        \ell = \frac{1}{|K|} \sum_{c \in K} \sum_k e_{\pi_c(k) c}\, g_{ck}

    with ``p`` the softmax over classes, ``π_c`` the order of decreasing errors of class ``c`` and
    ``g_c`` the Lovász gradient of class ``c``'s Jaccard loss at that order (see
    :func:`lovasz_hinge_loss`). ``K``: the classes present in the target of the unit
    (``classes="present"``, Berman's default), all classes, or the classes listed (as Berman's and
    smp's ``lovasz_softmax(classes=[...])``: present or not, a class listed twice counted twice). ``mode="binary"``/``"multilabel"`` is the
    Lovász hinge of each channel (:func:`lovasz_hinge_loss`) averaged over channels.

    Not a likelihood: it optimises the (mean) IoU of the argmax prediction; usually added to
    ``cross_entropy``, or used to fine-tune a CE-trained model.

    Args:
        input: logits ``(N, C, *)`` (``(N, 1, *)`` / ``(N, *)`` in binary mode).
        target: class indices ``(N, *)`` or one-hot ``(N, C, *)`` (multiclass); 0/1 masks otherwise.
        mode: ``"multiclass"`` (default), ``"binary"`` or ``"multilabel"``.
        per_image: one loss per image (mean over images) instead of one over the batch (default, as
            Berman's ``lovasz_softmax``).
        ignore_index: target value whose pixels are left out (equal to slicing them out).
        classes: ``"present"`` (default), ``"all"``, or a list/tuple of class indices (multiclass mode).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the loss of each unit (class-averaged): ``(N,)`` with ``per_image``, else a 0-d tensor;
        0 for a unit without a counted pixel. ``"mean"``: the mean over the units with a counted pixel
        (Berman counts an all-ignored image as 0 in the mean). ``"sum"``: their sum.

    Example:
        >>> import torch
        >>> from losskit.functional import lovasz_softmax_loss
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> target = torch.tensor([[0, 1, 1]])
        >>> print(round(lovasz_softmax_loss(logits, target).item(), 4))
        0.2315

    References:
        Berman, Rannen Triki & Blaschko, CVPR 2018 (arXiv:1705.08790).
    """
    fn = "lovasz_softmax_loss"
    _lovasz_options(fn, mode=mode, per_image=per_image, reduction=reduction, classes=classes)
    m = _checks.mask_inputs(
        fn, input, target, mode=mode, from_logits=True, weight=None, ignore_index=ignore_index, include_background=True
    )
    if mode != "multiclass":
        loss, keep = _hinge_core(m, per_image)  # (N, C) / (C,)
        loss = (
            loss.mean(-1)
            if keep is None
            else (torch.where(keep, loss, torch.zeros_like(loss)).sum(-1) / keep.sum(-1).clamp_min(1).to(loss.dtype))
        )
        keep = None if keep is None else keep.any(-1)
        return reduce(loss, reduction, valid=keep, all_ignored="zero").to(m.out_dtype)
    cdtype = _checks.compute_dtype(m.input.dtype)
    p = torch.softmax(m.input, 1, dtype=cdtype)
    valid = m.valid  # (N, 1, L) or None
    if m.index_target:
        y = m.target
        if valid is not None:
            y = torch.where(valid, y, torch.zeros((), dtype=y.dtype, device=y.device))
        # one-hot by comparison with the class numbers: batches under vmap and traces under compile
        fg = (y == torch.arange(p.shape[1], device=y.device).view(1, -1, *([1] * (y.dim() - 2)))).to(cdtype)
    else:
        fg = m.target.to(cdtype)
    if valid is not None:
        valid = valid.expand_as(p)
    if not per_image:
        c = p.shape[1]
        p, fg = p.transpose(0, 1).reshape(1, c, -1), fg.transpose(0, 1).reshape(1, c, -1)
        valid = None if valid is None else valid.transpose(0, 1).reshape(1, c, -1)
    errors = (fg - p).abs()
    per_class = _lovasz(errors, fg, valid, -1.0)  # (U, C)
    fgv = fg if valid is None else torch.where(valid, fg, torch.zeros_like(fg))
    if isinstance(classes, (list, tuple)):
        if max(classes) >= per_class.shape[-1]:
            raise ValueError(
                f"{fn}: classes={classes!r} names class {max(classes)}, but the input has "
                f"{per_class.shape[-1]} classes (dimension 1)"
            )
        # how often each class is listed (a class listed twice counts twice, as in Berman's loop)
        kf = torch.bincount(torch.tensor(classes, device=per_class.device), minlength=per_class.shape[-1])
        kf = kf.to(per_class.dtype).expand_as(per_class)
        if valid is not None:
            kf = torch.where(valid.any(-1), kf, torch.zeros_like(kf))
        kc = kf > 0
    else:
        if classes == "present":
            kc = fgv.sum(-1) > 0
        else:
            kc = torch.ones_like(per_class, dtype=torch.bool) if valid is None else valid.any(-1)
        kf = kc.to(per_class.dtype)
    loss = torch.where(kc, kf * per_class, torch.zeros_like(per_class)).sum(-1) / kf.sum(-1).clamp_min(1.0)
    keep = kc.any(-1)
    if not per_image:
        loss, keep = loss[0], keep[0]
    return reduce(loss, reduction, valid=keep, all_ignored="zero").to(m.out_dtype)


def mcc_loss(
    input: Tensor,
    target: Tensor,
    *,
    mode: str = "binary",
    from_logits: bool = True,
    ignore_index: float | None = None,
    eps: float = 1e-5,
    reduction: str = "mean",
) -> Tensor:
    r"""Matthews-correlation loss: one minus the MCC of soft counts over the batch, per class.

    .. math::

        \ell_c = 1 - \frac{TP\,TN - FP\,FN}{\sqrt{(TP + FP)(TP + FN)(TN + FP)(TN + FN)}}

    with soft counts ``TP = Σ p t``, ``FP = Σ p (1 - t)``, ``FN = Σ (1 - p) t``, ``TN = Σ (1 - p)(1 - t)``
    over the pixels of the batch, each plus ``eps`` (as smp's ``MCCLoss``, which keeps the ratio finite
    when every pixel has one class). ``p`` is the sigmoid (softmax in multiclass mode) of ``input``.

    Not a likelihood: the correlation between the soft prediction and the target mask, which counts the
    true negatives too (unlike Dice); ranges over [0, 2]. Usually added to a BCE/CE term.

    Args:
        input: logits (probabilities with ``from_logits=False``), shaped as in :func:`dice_loss`.
        target: as in :func:`dice_loss`.
        mode: ``"binary"`` (default), ``"multiclass"`` or ``"multilabel"`` (one MCC per channel).
        from_logits: apply the sigmoid/softmax; ``False`` takes probabilities (smp's input).
        ignore_index: target value whose pixels are left out of every count.
        eps: added to each of the four counts, ``> 0`` (default 1e-5, smp's).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``(C,)`` (``(1,)`` in binary mode); ``"mean"`` their mean; ``"sum"`` their sum.

    Example:
        >>> import torch
        >>> from losskit.functional import mcc_loss
        >>> logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
        >>> target = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
        >>> print(round(mcc_loss(logits, target).item(), 4))
        0.4893

    References:
        Abhishek & Hamarneh, "Matthews correlation coefficient loss for deep convolutional networks:
        application to skin lesion segmentation", ISBI 2021; Matthews, BBA 1975.

    Peers: smp ``MCCLoss`` takes probabilities (binary only); pass ``from_logits=False`` to match it.
    """
    fn = "mcc_loss"
    _options(fn, mode=mode, smooth=0.0, eps=eps, empty="include", include_background=True, reduction=reduction)
    m = _checks.mask_inputs(
        fn,
        input,
        target,
        mode=mode,
        from_logits=from_logits,
        weight=None,
        ignore_index=ignore_index,
        include_background=True,
    )
    inter, psum, tsum = soft_counts(m, per_image=False)
    x = m.input
    if m.valid is None:
        n = torch.full((), x.shape[0] * x.shape[2], dtype=inter.dtype, device=inter.device)
    else:
        n = m.valid.sum((0, 2)).to(inter.dtype)  # counted pixels ((1,): the same for every class)
    tp = inter + eps
    fp = psum - inter + eps
    fn_ = tsum - inter + eps
    tn = n - psum - tsum + inter + eps
    mcc = (tp * tn - fp * fn_) / torch.sqrt((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_))
    return reduce(1.0 - mcc, reduction).to(m.out_dtype)
