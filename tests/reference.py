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
