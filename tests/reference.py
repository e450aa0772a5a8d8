"""Float64 textbook formulas, written independently of losskit, for the tests to compare against.

Each function is the formula as a paper or torch's documentation states it, with plain autograd
operations in float64 and no numerical tricks; the tests compare losskit's values and gradients
with them (and with torch's own functions where torch has the loss).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
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


def ref_sigmoid_focal(z, y, *, alpha=None, gamma=2.0, weight=None, pos_weight=None, label_smoothing=0.0,
                      ignore_index=None, reduction="mean", all_ignored="nan", epsilon=0.0):
    """Expected focal loss under Bernoulli(y'), direct float64 formula."""
    dt = z.dtype
    valid = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
    y = torch.where(valid, y, 0.0)
    y = y * (1 - label_smoothing) + label_smoothing / 2
    p = torch.sigmoid(z)
    a = 1.0 if alpha is None else alpha
    pw = 1.0 if pos_weight is None else pos_weight
    pos = -(a * pw) * (1 - p) ** gamma * torch.log(p)
    neg = -(1 - a if alpha is not None else 1.0) * p ** gamma * torch.log(1 - p)
    loss = y * pos + (1 - y) * neg + epsilon * (y * (1 - p) ** (gamma + 1) + (1 - y) * p ** (gamma + 1))
    if weight is not None:
        loss = loss * weight
    loss = torch.where(valid, loss, torch.zeros((), dtype=dt))
    denom = valid.sum().to(dt) if ignore_index is not None else None
    return reduce(loss, reduction, denom)


def ref_softmax_focal(z, t, *, alpha=None, gamma=2.0, weight=None, ignore_index=-100, label_smoothing=0.0,
                      reduction="mean", all_ignored="nan", epsilon=0.0):
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


def ref_asl(z, y, *, gamma_pos=0.0, gamma_neg=4.0, clip=0.05, weight=None, ignore_index=None,
            reduction="mean", all_ignored="nan"):
    """The paper's formula: y (1-p)^g+ (-log p) + (1-y) p_m^g- (-log(1-p_m)), p_m = max(p - m, 0)."""
    valid = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
    y = torch.where(valid, y, 0.0)
    p = torch.sigmoid(z)
    pm = (p - clip).clamp(min=0)
    loss = y * (1 - p) ** gamma_pos * -torch.log(p) + (1 - y) * pm ** gamma_neg * -torch.log(1 - pm)
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


def softmax_focal_exact(z, t, *, alpha=None, gamma=2.0, weight=None, ignore_index=-100, label_smoothing=0.0,
              epsilon=0.0, reduction="mean"):
    """sum_c q'_c w_c [alpha_c (1 - p_c)^g (-log p_c) + eps (1 - p_c)^(g+1)] with exact log(1 - p_c)."""
    C = z.shape[1]
    cs = (1, C) + (1,) * (z.dim() - 2)
    if C == 1:
        log_p, log_q = torch.zeros_like(z), torch.full_like(z, -math.inf)
    else:
        log_p, log_q = _log_p_and_log1m_p_exact(z)
    w = torch.ones(C, dtype=z.dtype) if weight is None else weight
    a = torch.ones(C, dtype=z.dtype) if alpha is None else (alpha if isinstance(alpha, torch.Tensor)
                                                            else torch.full((C,), alpha, dtype=z.dtype))
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


def keras_categorical_focal_crossentropy(logits: Tensor, labels: Tensor, *, alpha: float = 0.25, gamma: float = 2.0,
                                         sample_weight: Optional[Tensor] = None) -> Tensor:
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


def timm_asymmetric_single_label(logits: Tensor, target: Tensor, *, gamma_pos: float = 1.0, gamma_neg: float = 4.0,
                                 eps: float = 0.1, reduction: str = "mean") -> Tensor:
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


def timm_binary_cross_entropy(x: Tensor, target: Tensor, *, smoothing: float = 0.1,
                              target_threshold: Optional[float] = None, pos_weight: Optional[Tensor] = None,
                              reduction: str = "mean") -> Tensor:
    """timm/loss/binary_cross_entropy.py ``BinaryCrossEntropy.forward``, transcribed in float64: class
    indices become rows with off value smoothing/C and on value 1 - smoothing + smoothing/C, then
    ``target > target_threshold`` if set, then BCE with logits."""
    x = x.double()
    if target.shape != x.shape:
        num_classes = x.shape[-1]
        off_value = smoothing / num_classes
        on_value = 1.0 - smoothing + off_value
        target = torch.full(x.shape, off_value, dtype=x.dtype).scatter_(1, target.long().view(-1, 1), on_value)
    if target_threshold is not None:
        target = target.gt(target_threshold).to(dtype=target.dtype)
    return F.binary_cross_entropy_with_logits(x, target.double(), pos_weight=pos_weight, reduction=reduction)


def smp_focal_loss_with_logits(output: Tensor, target: Tensor, *, gamma: float = 2.0, alpha: Optional[float] = 0.25,
                               reduction: str = "mean", normalized: bool = False,
                               reduced_threshold: Optional[float] = None, eps: float = 1e-6) -> Tensor:
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


def keras_binary_focal_crossentropy(y_pred: Tensor, y_true: Tensor, *, alpha: float = 0.25, gamma: float = 2.0,
                                    label_smoothing: float = 0.0, eps: float = 1e-7) -> Tensor:
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
