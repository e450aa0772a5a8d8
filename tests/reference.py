"""Float64 textbook formulas, written independently of losskit, for the tests to compare against.

Each function is the formula as a paper or torch's documentation states it, with plain autograd
operations in float64 and no numerical tricks; the tests compare losskit's values and gradients
with them (and with torch's own functions where torch has the loss).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def reduce(rows: Tensor, reduction: str, denominator: Optional[Tensor] = None) -> Tensor:
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / (rows.numel() if denominator is None else denominator)


def categorical_nll(logits: Tensor, target: Tensor, *, weight: Optional[Tensor] = None,
                    ignore_index: Optional[int] = -100, label_smoothing: float = 0.0, z_loss: float = 0.0,
                    softcap: Optional[float] = None, reduction: str = "mean") -> Tensor:
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
    rows = rows + z_loss * w_y * lse ** 2
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


def generalized_cross_entropy(logits: Tensor, target: Tensor, *, q: float, weight: Optional[Tensor] = None,
                              ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Zhang & Sabuncu (2018), eq. 5: ``(1 - p_y^q) / q`` with p the softmax over dim 1; the weighted mean of
    torch's cross-entropy (``Σ w_y ℓ / Σ w_y`` over counted items)."""
    p = torch.softmax(logits.double(), 1)
    valid = target != ignore_index
    y = torch.where(valid, target, torch.zeros_like(target))
    p_y = p.gather(1, y.unsqueeze(1)).squeeze(1)
    w = torch.ones(p.shape[1], dtype=torch.float64) if weight is None else weight.double()
    w_y = w[y] * valid
    rows = w_y * (1 - p_y ** q) / q
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


def torchvision_sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2,
                                   reduction: str = "none") -> Tensor:
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


def timm_binary_cross_entropy(x: Tensor, target: Tensor, smoothing: float = 0.1,
                              target_threshold: Optional[float] = None, weight: Optional[Tensor] = None,
                              reduction: str = "mean", pos_weight: Optional[Tensor] = None) -> Tensor:
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


def timm_asymmetric_loss_multilabel(x: Tensor, y: Tensor, gamma_neg: float = 4, gamma_pos: float = 1,
                                    clip: Optional[float] = 0.05, eps: float = 1e-8, reduction: str = "batchmean",
                                    weight: Optional[Tensor] = None, disable_torch_grad_focal_loss: bool = False,
                                    smoothing: float = 0.0, pos_weight=None) -> Tensor:
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


def smp_overlap_loss(kind: str, y_pred: Tensor, y_true: Tensor, *, mode: str, classes=None, log_loss: bool = False,
                     from_logits: bool = True, smooth: float = 0.0, ignore_index: Optional[int] = None,
                     eps: float = 1e-7, alpha: float = 0.5, beta: float = 0.5, gamma: float = 1.0) -> Tensor:
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


def _smp_focal_with_logits(output: Tensor, target: Tensor, gamma: float, alpha: Optional[float],
                           reduction: str) -> Tensor:
    """segmentation_models_pytorch/losses/_functional.py ``focal_loss_with_logits`` (normalized=False,
    reduced_threshold=None): BCE · (1 - exp(-BCE))^γ, times α_t."""
    target = target.to(output.dtype)
    logpt = _bce_logits(output, target)
    loss = (1 - torch.exp(-logpt)) ** gamma * logpt
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchwise_mean":
        return loss.sum(0)
    return loss


def smp_focal_loss(y_pred: Tensor, y_true: Tensor, *, mode: str, alpha: Optional[float] = None, gamma: float = 2.0,
                   ignore_index: Optional[int] = None, reduction: str = "mean") -> Tensor:
    """segmentation_models_pytorch/losses/focal.py ``FocalLoss``: flattened sigmoid focal (binary /
    multilabel), or the sum over classes of the one-vs-rest focal loss (multiclass), ignored positions dropped."""
    if mode in ("binary", "multilabel"):
        t, p = y_true.reshape(-1), y_pred.reshape(-1)
        if ignore_index is not None:
            keep = t != ignore_index
            t, p = t[keep], p[keep]
        return _smp_focal_with_logits(p, t, gamma, alpha, reduction)
    loss = 0
    keep = None if ignore_index is None else y_true != ignore_index
    for cls in range(y_pred.shape[1]):
        t, p = (y_true == cls).long(), y_pred[:, cls, ...]
        if keep is not None:
            t, p = t[keep], p[keep]
        loss = loss + _smp_focal_with_logits(p, t, gamma, alpha, reduction)
    return loss


def optax_sigmoid_focal_loss(logits: Tensor, labels: Tensor, alpha: Optional[float] = None,
                             gamma: float = 2.0) -> Tensor:
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


def optax_dice_loss(predictions: Tensor, targets: Tensor, *, class_weights: Optional[Tensor] = None,
                    smooth: float = 1.0, alpha: float = 0.5, beta: float = 0.5, apply_softmax: bool = True,
                    reduction: str = "mean", ignore_background: bool = False) -> Tensor:
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


def smp_soft_cross_entropy_loss(y_pred: Tensor, y_true: Tensor, *, smooth_factor: Optional[float] = None,
                                ignore_index: Optional[int] = -100, reduction: str = "mean", dim: int = 1) -> Tensor:
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


def jsd_cross_entropy_timm(logits: Tensor, target: Tensor, *, num_splits: int = 3, alpha: float = 12.0,
                           smoothing: float = 0.1) -> Tensor:
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
