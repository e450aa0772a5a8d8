"""Float64 textbook formulas, written independently of losskit, for the tests to compare against.

Each function is the formula as a paper or torch's documentation states it, with plain autograd
operations in float64 and no numerical tricks; the tests compare losskit's values and gradients
with them (and with torch's own functions where torch has the loss).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def reduce(rows: Tensor, reduction: str, denominator: Tensor | None = None) -> Tensor:
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / (rows.numel() if denominator is None else denominator)


def categorical_nll(
    logits: Tensor,
    target: Tensor,
    *,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of class indices (torch's definition), plus PaLM's z-loss and Gemma 2's soft cap.

    ``ℓ_n = w_y [(1-ε)(-log p_y)] + (ε/C) Σ_c w_c (-log p_c) + ζ w_y lse²`` (0 where ignored),
    mean ``Σ ℓ / Σ w_y`` over counted rows; logits ``cap·tanh(x/cap)`` first with ``softcap``.
    Class dimension 1 (0 for a 1-D input).
    """
    x = logits.double()
    if x.dim() == 1:
        x, target = x.unsqueeze(0), target.unsqueeze(0)
    if softcap:
        x = softcap * torch.tanh(x / softcap)
    c = x.shape[1]
    x = x.movedim(1, -1).reshape(-1, c)
    y = target.reshape(-1)
    w = torch.ones(c, dtype=torch.float64) if weight is None else weight.double()
    valid = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
    ys = torch.where(valid, y, torch.zeros_like(y))
    lse = torch.logsumexp(x, 1)
    neg_logp = lse[:, None] - x
    w_y = w[ys] * valid
    rows = (1 - label_smoothing) * w_y * neg_logp.gather(1, ys[:, None]).squeeze(1)
    rows = rows + valid * (label_smoothing / c) * (neg_logp * w).sum(1)
    rows = rows + z_loss * w_y * lse**2
    rows = torch.where(valid, rows, torch.zeros_like(rows))
    out_shape = target.shape if logits.dim() > 1 else ()
    return reduce(rows.reshape(out_shape), reduction, w_y.sum())


def softmax_cross_entropy_where(logits: Tensor, labels: Tensor, where: Tensor) -> Tensor:
    """optax's ``softmax_cross_entropy(logits, labels, axis=-1, where=where)`` in float64, transcribed from
    optax/losses/_classification.py: ``-sum(labels * log_softmax(logits, where=where), where=where)``, the
    log-softmax taken over the classes where ``where`` is True (classes on the last axis)."""
    x = logits.double().masked_fill(~where, float("-inf"))
    log_p = x - torch.logsumexp(x, dim=-1, keepdim=True)
    return -(torch.where(where, labels.double() * log_p, torch.zeros((), dtype=torch.float64))).sum(-1)


def generalized_cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    q: float,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Zhang & Sabuncu (2018), eq. 5: ``(1 - p_y^q) / q`` with p the softmax over dim 1; the weighted mean of
    torch's cross-entropy (``Σ w_y ℓ / Σ w_y`` over counted items)."""
    p = torch.softmax(logits.double(), 1)
    valid = target != ignore_index
    y = torch.where(valid, target, torch.zeros_like(target))
    p_y = p.gather(1, y.unsqueeze(1)).squeeze(1)
    w = torch.ones(p.shape[1], dtype=torch.float64) if weight is None else weight.double()
    w_y = w[y] * valid
    rows = w_y * (1 - p_y**q) / q
    return reduce(rows, reduction, w_y.sum())


# ---------------------------------------------------------------------------------------------
# Peers' formulas for losskit.compat and docs/migrating.md: torchvision, timm, smp and optax do not
# install beside CPU torch 2.13, so each is transcribed here from the peer's file (named on each
# function) in plain float64 autograd operations, with the peer's own conventions (reductions,
# smoothing, absent classes, eps clamps). MONAI, kornia and Keras are tested against themselves.
# ---------------------------------------------------------------------------------------------


def _bce_logits(x: Tensor, t: Tensor) -> Tensor:
    """-[t log σ(x) + (1 - t) log(1 - σ(x))], elementwise."""
    return -(t * torch.nn.functional.logsigmoid(x) + (1 - t) * torch.nn.functional.logsigmoid(-x))


def torchvision_sigmoid_focal_loss(
    inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2, reduction: str = "none"
) -> Tensor:
    """torchvision/ops/focal_loss.py ``sigmoid_focal_loss``: BCE · (1 - p_t)^γ, times α_t when α >= 0."""
    p = torch.sigmoid(inputs)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = _bce_logits(inputs, targets) * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def timm_label_smoothing_cross_entropy(x: Tensor, target: Tensor, smoothing: float = 0.1) -> Tensor:
    """timm/loss/cross_entropy.py ``LabelSmoothingCrossEntropy``: (1-s)·nll + s·mean_c(-log p_c), mean."""
    logp = torch.log_softmax(x, dim=-1)
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return ((1 - smoothing) * nll + smoothing * (-logp.mean(-1))).mean()


def timm_soft_target_cross_entropy(x: Tensor, target: Tensor) -> Tensor:
    """timm/loss/cross_entropy.py ``SoftTargetCrossEntropy``: mean_n Σ_c -t_c log p_c."""
    return (-target * torch.log_softmax(x, dim=-1)).sum(-1).mean()


def timm_binary_cross_entropy(
    x: Tensor,
    target: Tensor,
    smoothing: float = 0.1,
    target_threshold: float | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """timm/loss/binary_cross_entropy.py ``BinaryCrossEntropy``: index targets become off = s/C,
    on = 1 - s + s/C; ``target > threshold`` binarises; then torch's BCE-with-logits."""
    if target.shape != x.shape:
        c = x.shape[-1]
        off, on = smoothing / c, 1.0 - smoothing + smoothing / c
        target = torch.full((target.numel(), c), off, dtype=x.dtype).scatter(1, target.long().view(-1, 1), on)
    if target_threshold is not None:
        target = (target > target_threshold).to(x.dtype)
    log_p, log_q = torch.nn.functional.logsigmoid(x), torch.nn.functional.logsigmoid(-x)
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = loss * weight
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def timm_asymmetric_loss_multilabel(
    x: Tensor,
    y: Tensor,
    gamma_neg: float = 4,
    gamma_pos: float = 1,
    clip: float | None = 0.05,
    eps: float = 1e-8,
    reduction: str = "batchmean",
    weight: Tensor | None = None,
    disable_torch_grad_focal_loss: bool = False,
    smoothing: float = 0.0,
    pos_weight=None,
) -> Tensor:
    """timm/loss/asymmetric_loss.py ``AsymmetricLossMultiLabel``: targets smoothed towards 1/2,
    p_- = min(1 - p + m, 1), logs of probabilities clamped at eps, pos_weight on the positive term,
    weight (1 - p_t)^(γ+ y + γ- (1 - y)) (detached with disable_torch_grad_focal_loss)."""
    if smoothing:
        y = y * (1 - smoothing) + 0.5 * smoothing
    p = torch.sigmoid(x)
    p_neg = 1 - p
    if clip is not None and clip > 0:
        p_neg = (p_neg + clip).clamp(max=1)
    los_pos = y * torch.log(p.clamp(min=eps))
    if pos_weight is not None:
        los_pos = los_pos * pos_weight
    loss = los_pos + (1 - y) * torch.log(p_neg.clamp(min=eps))
    if gamma_neg > 0 or gamma_pos > 0:
        pt = p * y + p_neg * (1 - y)
        w = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
        loss = loss * (w.detach() if disable_torch_grad_focal_loss else w)
    loss = -loss
    if weight is not None:
        loss = loss * weight
    return {"batchmean": loss.sum() / x.shape[0], "sum": loss.sum(), "mean": loss.mean(), "none": loss}[reduction]


def smp_overlap_loss(
    kind: str,
    y_pred: Tensor,
    y_true: Tensor,
    *,
    mode: str,
    classes=None,
    log_loss: bool = False,
    from_logits: bool = True,
    smooth: float = 0.0,
    ignore_index: int | None = None,
    eps: float = 1e-7,
    alpha: float = 0.5,
    beta: float = 0.5,
    gamma: float = 1.0,
) -> Tensor:
    """segmentation_models_pytorch/losses/{dice,jaccard,tversky}.py and _functional.py: one score per class
    over the batch (dims (0, 2)), denominator clamped at eps, absent classes zeroed but kept in the mean,
    Tversky's mean raised to gamma."""
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=1) if mode == "multiclass" else torch.sigmoid(y_pred)
    bs = y_true.shape[0]
    c = y_pred.shape[1]
    if mode == "binary":
        y_true, y_pred = y_true.reshape(bs, 1, -1), y_pred.reshape(bs, 1, -1)
        if ignore_index is not None:
            m = y_true != ignore_index
            y_pred, y_true = y_pred * m, y_true * m
    elif mode == "multiclass":
        y_true, y_pred = y_true.reshape(bs, -1), y_pred.reshape(bs, c, -1)
        if ignore_index is not None:
            m = y_true != ignore_index
            y_pred = y_pred * m.unsqueeze(1)
            y_true = torch.nn.functional.one_hot((y_true * m).long(), c).permute(0, 2, 1) * m.unsqueeze(1)
        else:
            y_true = torch.nn.functional.one_hot(y_true.long(), c).permute(0, 2, 1)
    else:
        y_true, y_pred = y_true.reshape(bs, c, -1), y_pred.reshape(bs, c, -1)
        if ignore_index is not None:
            m = y_true != ignore_index
            y_pred, y_true = y_pred * m, y_true * m
    y_true = y_true.to(y_pred.dtype)
    dims = (0, 2)
    inter = (y_pred * y_true).sum(dims)
    if kind == "dice":
        score = (2 * inter + smooth) / ((y_pred + y_true).sum(dims) + smooth).clamp_min(eps)
    elif kind == "jaccard":
        union = (y_pred + y_true).sum(dims) - inter
        score = (inter + smooth) / (union + smooth).clamp_min(eps)
    else:
        fp = (y_pred * (1 - y_true)).sum(dims)
        fn = ((1 - y_pred) * y_true).sum(dims)
        score = (inter + smooth) / (inter + alpha * fp + beta * fn + smooth).clamp_min(eps)
    loss = -torch.log(score.clamp_min(eps)) if log_loss else 1 - score
    loss = loss * (y_true.sum(dims) > 0).to(loss.dtype)
    if classes is not None:
        loss = loss[torch.as_tensor(classes)]
    return loss.mean() ** gamma if kind == "tversky" else loss.mean()


def _smp_focal_with_logits(
    output: Tensor,
    target: Tensor,
    gamma: float,
    alpha: float | None,
    reduction: str,
    normalized: bool = False,
    reduced_threshold: float | None = None,
    eps: float = 1e-6,
) -> Tensor:
    """segmentation_models_pytorch/losses/_functional.py ``focal_loss_with_logits``: BCE · focal term, times
    α_t; the focal term (1 - p_t)^γ with p_t = exp(-BCE), or ((1 - p_t)/r)^γ set to 1 where p_t < r
    (``reduced_threshold``); ``normalized`` divides by the focal terms' sum clamped at eps."""
    target = target.to(output.dtype)
    logpt = _bce_logits(output, target)
    pt = torch.exp(-logpt)
    if reduced_threshold is None:
        focal_term = (1 - pt) ** gamma
    else:
        focal_term = ((1.0 - pt) / reduced_threshold) ** gamma
        focal_term = torch.where(pt < reduced_threshold, torch.ones_like(focal_term), focal_term)
    loss = focal_term * logpt
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    if normalized:
        loss = loss / focal_term.sum().clamp_min(eps)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchwise_mean":
        return loss.sum(0)
    return loss


def smp_focal_loss(
    y_pred: Tensor,
    y_true: Tensor,
    *,
    mode: str,
    alpha: float | None = None,
    gamma: float = 2.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
    normalized: bool = False,
    reduced_threshold: float | None = None,
) -> Tensor:
    """segmentation_models_pytorch/losses/focal.py ``FocalLoss``: flattened sigmoid focal (binary /
    multilabel), or the sum over classes of the one-vs-rest focal loss (multiclass), ignored positions dropped."""
    opts = dict(normalized=normalized, reduced_threshold=reduced_threshold)
    if mode in ("binary", "multilabel"):
        t, p = y_true.reshape(-1), y_pred.reshape(-1)
        if ignore_index is not None:
            keep = t != ignore_index
            t, p = t[keep], p[keep]
        return _smp_focal_with_logits(p, t, gamma, alpha, reduction, **opts)
    loss = 0
    keep = None if ignore_index is None else y_true != ignore_index
    for cls in range(y_pred.shape[1]):
        t, p = (y_true == cls).long(), y_pred[:, cls, ...]
        if keep is not None:
            t, p = t[keep], p[keep]
        loss = loss + _smp_focal_with_logits(p, t, gamma, alpha, reduction, **opts)
    return loss


def optax_sigmoid_focal_loss(logits: Tensor, labels: Tensor, alpha: float | None = None, gamma: float = 2.0) -> Tensor:
    """optax/losses/_classification.py ``sigmoid_focal_loss``: BCE · (1 - p_t)^γ (· α_t), elementwise."""
    p = torch.sigmoid(logits)
    p_t = p * labels + (1 - p) * (1 - labels)
    loss = _bce_logits(logits, labels) * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * labels + (1 - alpha) * (1 - labels)) * loss
    return loss


def optax_softmax_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """optax/losses/_classification.py ``softmax_cross_entropy``: Σ_c -t_c log p_c over the last axis."""
    return -(labels * torch.log_softmax(logits, dim=-1)).sum(-1)


def optax_softmax_cross_entropy_with_integer_labels(logits: Tensor, labels: Tensor) -> Tensor:
    """optax/losses/_classification.py ``softmax_cross_entropy_with_integer_labels``: -log p_y."""
    return -torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)


def optax_sigmoid_binary_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """optax/losses/_classification.py ``sigmoid_binary_cross_entropy``, elementwise."""
    return _bce_logits(logits, labels)


def optax_poly_loss_cross_entropy(logits: Tensor, labels: Tensor, epsilon: float = 2.0) -> Tensor:
    """optax/losses/_classification.py ``poly_loss_cross_entropy``: CE + ε (1 - Σ_c t_c p_c)."""
    p_t = (torch.softmax(logits, dim=-1) * labels).sum(-1)
    return optax_softmax_cross_entropy(logits, labels) + epsilon * (1 - p_t)


def optax_dice_loss(
    predictions: Tensor,
    targets: Tensor,
    *,
    class_weights: Tensor | None = None,
    smooth: float = 1.0,
    alpha: float = 0.5,
    beta: float = 0.5,
    apply_softmax: bool = True,
    reduction: str = "mean",
    ignore_background: bool = False,
) -> Tensor:
    """optax/losses/_segmentation.py ``dice_loss``: channels last, one Tversky-form ratio per image
    and class over the spatial axes, ``1 - (I + s) / (I + α FP + β FN + s)``, reduced over classes."""
    probs = predictions
    if apply_softmax:
        probs = torch.sigmoid(predictions) if predictions.shape[-1] == 1 else torch.softmax(predictions, dim=-1)
    axis = tuple(range(1, probs.dim() - 1))
    inter = (probs * targets).sum(axis)
    psum, tsum = probs.sum(axis), targets.sum(axis)
    loss = 1 - (inter + smooth) / (inter + alpha * (psum - inter) + beta * (tsum - inter) + smooth)
    if class_weights is not None:
        loss = loss * class_weights
    if ignore_background and probs.shape[-1] > 1:
        loss = loss[..., 1:]
    return {"mean": loss.mean(-1), "sum": loss.sum(-1), "none": loss}[reduction]


def smp_soft_cross_entropy_loss(
    y_pred: Tensor,
    y_true: Tensor,
    *,
    smooth_factor: float | None = None,
    ignore_index: int | None = -100,
    reduction: str = "mean",
    dim: int = 1,
) -> Tensor:
    """segmentation_models_pytorch/losses/soft_ce.py ``SoftCrossEntropyLoss`` (label_smoothed_nll_loss in
    _functional.py): (1 - s) nll + s/C Σ_c -log p_c, ignored positions zeroed but kept in the mean."""
    logp = torch.log_softmax(y_pred, dim=dim)
    target = y_true.unsqueeze(dim)
    pad = None
    if ignore_index is not None:
        pad = target == ignore_index
        target = target.masked_fill(pad, 0)
    nll = -logp.gather(dim, target)
    smooth = -logp.sum(dim, keepdim=True)
    if pad is not None:
        nll, smooth = nll.masked_fill(pad, 0.0), smooth.masked_fill(pad, 0.0)
    if reduction == "sum":
        nll, smooth = nll.sum(), smooth.sum()
    elif reduction == "mean":
        nll, smooth = nll.mean(), smooth.mean()
    s = smooth_factor or 0.0
    return (1 - s) * nll + s / logp.shape[dim] * smooth


# ---- SVM hinges (Keras 3 keras/src/losses/losses.py; optax optax/losses/_classification.py) ----------


def keras_hinge(y_true: Tensor, y_pred: Tensor, *, squared: bool = False) -> Tensor:
    """Keras 3 ``hinge`` / ``squared_hinge`` (keras/src/losses/losses.py): ``y_true`` converted to ±1 by
    ``convert_binary_labels_to_hinge`` when every value is 0 or 1, then
    ``mean(maximum(1 - y_true * y_pred, 0) [** 2], axis=-1)`` (one value per row)."""
    y, z = y_true.double(), y_pred.double()
    if bool(((y == 0) | (y == 1)).all()):
        y = 2.0 * y - 1.0
    h = torch.clamp(1.0 - y * z, min=0.0)
    return (h * h if squared else h).mean(-1)


def optax_hinge(predictor_outputs: Tensor, targets: Tensor) -> Tensor:
    """optax ``hinge_loss`` (optax/losses/_classification.py): ``maximum(0, 1 - outputs * targets)``,
    targets in {-1, 1}, elementwise."""
    return torch.clamp(1.0 - predictor_outputs.double() * targets.double(), min=0.0)


def keras_categorical_hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Keras 3 ``categorical_hinge`` (keras/src/losses/losses.py): ``pos = sum(y_true * y_pred, -1)``,
    ``neg = max((1 - y_true) * y_pred, -1)``, ``maximum(neg - pos + 1, 0)``; one-hot ``y_true``."""
    y, z = y_true.double(), y_pred.double()
    pos = (y * z).sum(-1)
    neg = ((1.0 - y) * z).amax(-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


def optax_multiclass_hinge(scores: Tensor, labels: Tensor) -> Tensor:
    """optax ``multiclass_hinge_loss`` (optax/losses/_classification.py):
    ``max(scores + 1 - one_hot(labels), -1) - dot(scores, one_hot(labels))``; classes on the last axis."""
    z = scores.double()
    one_hot = torch.nn.functional.one_hot(labels, z.shape[-1]).double()
    return (z + 1.0 - one_hot).amax(-1) - (z * one_hot).sum(-1)


def log_cosh(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``log(cosh(x - y))`` as written (float64; cosh overflows past |r| ~ 710, keep residuals below that)."""
    return reduce(torch.log(torch.cosh(input.double() - target.double())), reduction)


def log_cosh_optax(input: Tensor, target: Tensor) -> Tensor:
    """optax's ``log_cosh(predictions, targets)`` in float64, transcribed from optax/losses/_regression.py:
    ``logaddexp(e, -e) - log 2`` with ``e = predictions - targets`` (unreduced)."""
    e = input.double() - target.double()
    return torch.logaddexp(e, -e) - torch.log(torch.tensor(2.0, dtype=torch.float64))


def generalized_kl(input: Tensor, target: Tensor, *, log_input: bool = False, reduction: str = "batchmean") -> Tensor:
    """The I-divergence ``Σ t log(t/x) - t + x`` (0 log 0 = 0), x = exp(input) with ``log_input``; optax's
    ``convex_kl_divergence(log_predictions, targets)`` (optax/losses/_classification.py) is the
    ``log_input=True`` form summed over the last axis."""
    x = input.double().exp() if log_input else input.double()
    t = target.double().expand(x.shape)
    log_ratio = torch.where(t > 0, torch.log(torch.where(t > 0, t, 1.0)) - torch.log(x), torch.zeros_like(x))
    rows = t * log_ratio - t + x
    if reduction == "batchmean":
        return rows.sum() / rows.shape[0]
    return reduce(rows, reduction)


def jsd_cross_entropy_timm(
    logits: Tensor, target: Tensor, *, num_splits: int = 3, alpha: float = 12.0, smoothing: float = 0.1
) -> Tensor:
    """timm's ``JsdCrossEntropy.__call__`` in float64, transcribed from timm/loss/jsd.py: CE (timm's
    LabelSmoothingCrossEntropy: (1-s)·NLL + s·mean_c(-log p_c)) on the first split + alpha · the mean over
    splits of ``kl_div(log clamp(mean softmax, 1e-7, 1), p_split, 'batchmean')``."""
    x = logits.double()
    m = x.shape[0] // num_splits
    splits = torch.split(x, m)
    logp0 = torch.log_softmax(splits[0], dim=-1)
    nll = -logp0.gather(-1, target[:m].unsqueeze(1)).squeeze(1)
    loss = ((1 - smoothing) * nll + smoothing * (-logp0.mean(-1))).mean()
    probs = [torch.softmax(z, dim=1) for z in splits]
    logp_mixture = torch.clamp(torch.stack(probs).mean(0), 1e-7, 1).log()
    kl = [(p * (torch.log(p) - logp_mixture)).sum() / m for p in probs]
    return loss + alpha * sum(kl) / len(probs)


# ---- focal family and Poly-1 -------------------------------------------------------------------
# torchvision/ops/focal_loss.py (sigmoid_focal_loss), the ASL repository's losses.py (AsymmetricLoss),
# Lin et al. 2017, Ridnik et al. 2021 and Leng et al. 2022, transcribed in float64.


def torchvision_sigmoid_focal(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, transcribed (alpha < 0 means off)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return reduce(loss, reduction)


def ref_sigmoid_focal(
    z,
    y,
    *,
    alpha=None,
    gamma=2.0,
    weight=None,
    pos_weight=None,
    label_smoothing=0.0,
    ignore_index=None,
    reduction="mean",
    all_ignored="nan",
    epsilon=0.0,
):
    """Expected focal loss under Bernoulli(y'), direct float64 formula."""
    dt = z.dtype
    valid = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
    y = torch.where(valid, y, 0.0)
    y = y * (1 - label_smoothing) + label_smoothing / 2
    p = torch.sigmoid(z)
    a = 1.0 if alpha is None else alpha
    pw = 1.0 if pos_weight is None else pos_weight
    pos = -(a * pw) * (1 - p) ** gamma * torch.log(p)
    neg = -(1 - a if alpha is not None else 1.0) * p**gamma * torch.log(1 - p)
    loss = y * pos + (1 - y) * neg + epsilon * (y * (1 - p) ** (gamma + 1) + (1 - y) * p ** (gamma + 1))
    if weight is not None:
        loss = loss * weight
    loss = torch.where(valid, loss, torch.zeros((), dtype=dt))
    denom = valid.sum().to(dt) if ignore_index is not None else None
    return reduce(loss, reduction, denom)


def ref_softmax_focal(
    z,
    t,
    *,
    alpha=None,
    gamma=2.0,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    reduction="mean",
    all_ignored="nan",
    epsilon=0.0,
):
    """sum_c q_c w_c [alpha_c (1 - p_c)^gamma (-log p_c) + eps (1 - p_c)^(gamma+1)], torch's mean rule."""
    unbatched = z.dim() == 1
    if unbatched:
        z, t = z.unsqueeze(0), t.unsqueeze(0)
    C = z.shape[1]
    cs = (1, C) + (1,) * (z.dim() - 2)
    p = torch.softmax(z, 1)
    w = torch.ones(C, dtype=z.dtype) if weight is None else weight
    if alpha is None:
        a = torch.ones(C, dtype=z.dtype)
    elif isinstance(alpha, torch.Tensor):
        a = alpha
    else:
        a = torch.full((C,), float(alpha), dtype=z.dtype)
    if t.is_floating_point():
        q, valid, denom = t, None, None
    else:
        valid = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
        ts = torch.where(valid, t, 0)
        q = F.one_hot(ts, C).movedim(-1, 1).to(z.dtype)
        denom = torch.where(valid, w[ts], 0.0).sum()
    q = q * (1 - label_smoothing) + label_smoothing / C
    term = a.view(cs) * (1 - p) ** gamma * (-torch.log(p)) + epsilon * (1 - p) ** (gamma + 1)
    loss = (q * w.view(cs) * term).sum(1)
    if valid is not None:
        loss = torch.where(valid, loss, 0.0)
    if unbatched and reduction == "none":
        loss = loss.squeeze(0)
    return reduce(loss, reduction, denom)


def asl_reference_code(x, y, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8):
    """AsymmetricLoss.forward from the ASL repository (Ridnik et al.), transcribed; returns the sum."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt = xs_pos * y + xs_neg * (1 - y)
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        loss = loss * torch.pow(1 - pt, one_sided_gamma)
    return -loss.sum()


def ref_asl(
    z,
    y,
    *,
    gamma_pos=0.0,
    gamma_neg=4.0,
    clip=0.05,
    weight=None,
    ignore_index=None,
    reduction="mean",
    all_ignored="nan",
):
    """The paper's formula: y (1-p)^g+ (-log p) + (1-y) p_m^g- (-log(1-p_m)), p_m = max(p - m, 0)."""
    valid = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
    y = torch.where(valid, y, 0.0)
    p = torch.sigmoid(z)
    pm = (p - clip).clamp(min=0)
    loss = y * (1 - p) ** gamma_pos * -torch.log(p) + (1 - y) * pm**gamma_neg * -torch.log(1 - pm)
    if weight is not None:
        loss = loss * weight
    loss = torch.where(valid, loss, 0.0)
    return reduce(loss, reduction, valid.sum().to(z.dtype) if ignore_index is not None else None)


def _log_p_and_log1m_p_exact(z):
    """(log p_c, log(1 - p_c)) for every c from u_c = logsumexp_{j != c} z_j - z_c, one masked row per class:
    1 - p_c = sigmoid(u_c), p_c = sigmoid(-u_c), both exact even where p_c rounds to 1."""
    C = z.shape[1]
    eye = torch.eye(C, dtype=torch.bool).view((C, 1, C) + (1,) * (z.dim() - 2))
    masked = torch.where(eye, torch.tensor(-math.inf, dtype=z.dtype), z.unsqueeze(0))  # (C, N, C, ...)
    u = torch.logsumexp(masked, 2).movedim(0, 1) - z
    return F.logsigmoid(-u), F.logsigmoid(u)


def softmax_focal_exact(
    z, t, *, alpha=None, gamma=2.0, weight=None, ignore_index=-100, label_smoothing=0.0, epsilon=0.0, reduction="mean"
):
    """sum_c q'_c w_c [alpha_c (1 - p_c)^g (-log p_c) + eps (1 - p_c)^(g+1)] with exact log(1 - p_c)."""
    C = z.shape[1]
    cs = (1, C) + (1,) * (z.dim() - 2)
    if C == 1:
        log_p, log_q = torch.zeros_like(z), torch.full_like(z, -math.inf)
    else:
        log_p, log_q = _log_p_and_log1m_p_exact(z)
    w = torch.ones(C, dtype=z.dtype) if weight is None else weight
    a = (
        torch.ones(C, dtype=z.dtype)
        if alpha is None
        else (alpha if isinstance(alpha, torch.Tensor) else torch.full((C,), alpha, dtype=z.dtype))
    )
    term = a.view(cs) * torch.exp(gamma * log_q) * (-log_p) + epsilon * torch.exp((gamma + 1) * log_q)
    if t.is_floating_point():
        q, valid, denom = t, None, None
    else:
        valid = t != ignore_index
        ts = torch.where(valid, t, 0)
        q = F.one_hot(ts, C).movedim(-1, 1).to(z.dtype)
        denom = torch.where(valid, w[ts], 0.0).sum()
    q = q * (1 - label_smoothing) + label_smoothing / C
    loss = (q * w.view(cs) * term).sum(1)
    if valid is not None:
        loss = torch.where(valid, loss, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.numel() if denom is None else denom)


def keras_categorical_focal_crossentropy(
    logits: Tensor, labels: Tensor, *, alpha: float = 0.25, gamma: float = 2.0, sample_weight: Tensor | None = None
) -> Tensor:
    """keras/src/losses/losses.py ``categorical_focal_crossentropy`` (from_logits=True) with Keras's default
    reduction ``"sum_over_batch_size"``: ``sum_n s_n l_n / N``, where
    ``l_n = sum_c -alpha (1 - p_c)^gamma y_c log p_c`` (one-hot ``y``), transcribed in float64."""
    p = torch.softmax(logits.double(), -1)
    y = F.one_hot(labels, logits.shape[-1]).double()
    rows = (-alpha * (1 - p) ** gamma * y * torch.log(p)).sum(-1)
    s = torch.ones_like(rows) if sample_weight is None else sample_weight.double()
    return (s * rows).sum() / rows.shape[0]


def poly1_with_sample_weight(logits: Tensor, labels: Tensor, *, epsilon: float, sample_weight: Tensor) -> Tensor:
    """Poly-1 cross-entropy (Leng et al. 2022, ``CE + eps (1 - p_t)``) per item, weighted by ``sample_weight``
    and averaged over the items the way Keras reduces (``sum_n s_n l_n / N``), in float64."""
    logp = torch.log_softmax(logits.double(), -1)
    lp = logp.gather(-1, labels[:, None]).squeeze(-1)
    rows = -lp + epsilon * (1 - lp.exp())
    return (sample_weight.double() * rows).sum() / rows.shape[0]


def timm_asymmetric_single_label(
    logits: Tensor,
    target: Tensor,
    *,
    gamma_pos: float = 1.0,
    gamma_neg: float = 4.0,
    eps: float = 0.1,
    reduction: str = "mean",
) -> Tensor:
    """timm/loss/asymmetric_loss.py ``AsymmetricLossSingleLabel.forward``, transcribed in float64: the focusing
    weight is (1 - p)^g+ at the labelled class and p^g- elsewhere, smoothing t(1 - eps) + eps / C."""
    num_classes = logits.shape[-1]
    log_preds = torch.log_softmax(logits.double(), -1)
    targets = torch.zeros_like(log_preds).scatter_(1, target.long().unsqueeze(1), 1)
    anti_targets = 1 - targets
    xs_pos = torch.exp(log_preds) * targets
    xs_neg = (1 - torch.exp(log_preds)) * anti_targets
    w = torch.pow(1 - xs_pos - xs_neg, gamma_pos * targets + gamma_neg * anti_targets)
    classes = targets.mul(1 - eps).add(eps / num_classes) if eps > 0 else targets
    loss = -(classes * (log_preds * w)).sum(-1)
    return loss.mean() if reduction == "mean" else loss


def smp_focal_loss_with_logits(
    output: Tensor,
    target: Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    reduction: str = "mean",
    normalized: bool = False,
    reduced_threshold: float | None = None,
    eps: float = 1e-6,
) -> Tensor:
    """segmentation_models_pytorch/losses/_functional.py ``focal_loss_with_logits``, transcribed in float64:
    pt = exp(-BCE), focal term (1 - pt)^gamma (or ((1 - pt)/r)^gamma, 1 where pt < r), times alpha_t,
    optionally divided by the sum of the focal terms."""
    output, target = output.double(), target.double()
    logpt = F.binary_cross_entropy_with_logits(output, target, reduction="none")
    pt = torch.exp(-logpt)
    if reduced_threshold is None:
        focal_term = (1.0 - pt).pow(gamma)
    else:
        focal_term = ((1.0 - pt) / reduced_threshold).pow(gamma)
        focal_term = torch.where(pt < reduced_threshold, torch.ones_like(focal_term), focal_term)
    loss = focal_term * logpt
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    if normalized:
        loss = loss / focal_term.sum().clamp_min(eps)
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def keras_binary_focal_crossentropy(
    y_pred: Tensor,
    y_true: Tensor,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    label_smoothing: float = 0.0,
    eps: float = 1e-7,
) -> Tensor:
    """keras/src/losses/losses.py ``binary_focal_crossentropy`` with ``apply_class_balancing=True``,
    ``from_logits=False``, transcribed in float64 (per element; Keras then means over the last axis):
    y' = y(1 - ls) + ls/2, bce = -(y' log p + (1 - y') log(1 - p)) with p clipped to [eps, 1 - eps],
    p_t = y' p + (1 - y')(1 - p), loss = alpha_t (1 - p_t)^gamma bce."""
    p = y_pred.double().clamp(eps, 1 - eps)
    y = y_true.double() * (1 - label_smoothing) + 0.5 * label_smoothing
    bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    p_t = y * p + (1 - y) * (1 - p)
    alpha_t = y * alpha + (1 - y) * (1 - alpha)
    return alpha_t * (1 - p_t) ** gamma * bce


# ---- Lovász losses: transcribed in float64 from Berman's lovasz_losses.py (github bermanmaxim/LovaszSoftmax,
# pytorch/lovasz_losses.py): per-unit flat lists, ignored pixels sliced out, Python loops over classes ----------


def _berman_grad(gt_sorted: Tensor) -> Tensor:
    gts = gt_sorted.sum()
    inter = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jac = 1.0 - inter / union
    if len(gt_sorted) > 1:
        jac = torch.cat([jac[:1], jac[1:] - jac[:-1]])
    return jac


def lovasz_hinge_flat(logits: Tensor, labels: Tensor) -> Tensor:
    if len(labels) == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels.double() - 1.0
    errors = 1.0 - logits.double() * signs
    errors_sorted, perm = torch.sort(errors, descending=True)
    return torch.dot(torch.relu(errors_sorted), _berman_grad(labels.double()[perm]))


def lovasz_softmax_flat(probas: Tensor, labels: Tensor, classes: str | list[int] = "present") -> Tensor:
    if probas.numel() == 0:
        return probas.sum() * 0.0
    losses = []
    for c in range(probas.shape[1]) if classes in ("all", "present") else classes:  # or a list (Berman's, smp's)
        fg = (labels == c).double()
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probas[:, c].double()).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, _berman_grad(fg[perm])))
    return torch.stack(losses).mean()


def smp_lovasz_loss(
    y_pred: Tensor, y_true: Tensor, *, mode: str, per_image: bool = False, ignore_index=None, from_logits: bool = True
) -> Tensor:
    """segmentation_models_pytorch/losses/lovasz.py ``LovaszLoss`` (Berman's functions above, smp's wrapper):
    binary and multilabel, one hinge over every channel and pixel of an image (``per_image``) or of the batch;
    multiclass, the softmax over dim 1, then the Lovász-softmax of the classes present; ignored pixels sliced
    out; ``per_image`` averages over every image (an all-ignored one counts 0). smp ignores ``from_logits``."""
    x = y_pred.double()
    if mode == "multiclass":
        x = torch.softmax(x, dim=1)
    units = list(zip(x, y_true, strict=True)) if per_image else [(x, y_true)]
    losses = []
    for xu, yu in units:
        labels = yu.reshape(-1)
        keep = None if ignore_index is None else labels != ignore_index
        if mode == "multiclass":
            c = x.shape[1]
            probas = (xu.unsqueeze(0) if per_image else xu).movedim(1, -1).reshape(-1, c)
            losses.append(
                lovasz_softmax_flat(
                    probas if keep is None else probas[keep], labels[keep] if keep is not None else labels
                )
            )
        else:
            logits = xu.reshape(-1)
            losses.append(
                lovasz_hinge_flat(logits if keep is None else logits[keep], labels if keep is None else labels[keep])
            )
    return torch.stack(losses).mean()


# ---- Matthews correlation: transcribed in float64 from smp's segmentation_models_pytorch/losses/mcc.py -------


def smp_mcc(probs: Tensor, target: Tensor, eps: float = 1e-5) -> Tensor:
    p, t = probs.double().reshape(-1), target.double().reshape(-1)
    tp = (p * t).sum() + eps
    tn = ((1 - p) * (1 - t)).sum() + eps
    fp = (p * (1 - t)).sum() + eps
    fn = ((1 - p) * t).sum() + eps
    return 1.0 - (tp * tn - fp * fn) / torch.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
