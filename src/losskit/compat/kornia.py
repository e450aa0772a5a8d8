r"""kornia's ``focal_loss``, ``dice_loss`` and ``tversky_loss`` (and their modules), computed by losskit.

Change ``from kornia.losses import focal_loss`` to ``from losskit.compat.kornia import focal_loss``:
kornia's signatures, defaults, shapes (``(B, C, H, W)`` logits, ``(B, H, W)`` class indices,
``ignore_index=-100``) and reductions; the losses are :func:`losskit.functional.focal_loss`,
:func:`losskit.functional.dice_loss` and :func:`losskit.functional.tversky_loss` (their docstrings
give the formulas and likelihood views), with kornia's conventions converted around them.

kornia's conventions next to losskit's (``docs/migrating.md`` has the full table):

* focal ``alpha``: a float ``a`` weighs class 0 by ``1 - a`` and every other class by ``a``
  (kornia), losskit's float scales every class; here it becomes the tensor ``[1 - a, a, ..., a]``.
  kornia's ``alpha`` has no default; its ``reduction`` defaults to ``"none"`` (losskit ``"mean"``).
* focal ``"mean"`` divides by ``B · C · H · W`` (every class and every pixel, ignored ones
  included); losskit divides by the number of counted pixels. ``"none"`` is ``(B, C, H, W)`` with
  the loss at the target class's channel (losskit: ``(B, H, W)``).
* ``dice_loss(average="micro")`` (kornia's default) pools the classes of an image into one Dice
  ratio, ``weight`` scaling class ``c``'s terms in both sums -- losskit's ``average="micro"`` with
  ``per_image=True``; ``average="macro"`` averages per-image, per-class ratios over the classes
  present in the image, then over images. kornia adds ``eps=1e-8`` to the denominator only: here
  losskit's ``smooth_denominator=eps`` (losskit's own ``eps`` is a guard that changes no ratio
  whose denominator exceeds it).
* ``tversky_loss``: one Tversky index per image and present class, averaged over the present
  classes of each image (an image with none scores 0, loss 1), then over images.
* ignored pixels are removed from the counts (as losskit does).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..functional import dice_loss as _dice_loss
from ..functional import focal_loss as _focal_loss
from ..functional import tversky_loss as _tversky_loss

__all__ = ["focal_loss", "dice_loss", "tversky_loss", "FocalLoss", "DiceLoss", "TverskyLoss"]


def _valid(target: Tensor, ignore_index: int | None) -> Tensor | None:
    return None if ignore_index is None else target != ignore_index


def _present(target: Tensor, c: int, ignore_index: int | None) -> Tensor:
    """(B, C) bool: class c has a counted pixel in image b."""
    valid = _valid(target, ignore_index)
    t = target if valid is None else torch.where(valid, target, 0)
    hit = torch.nn.functional.one_hot(t.long().clamp(0, c - 1), c).flatten(1, -2)  # (B, HW, C)
    if valid is not None:
        hit = hit * valid.flatten(1).unsqueeze(-1)
    return hit.amax(1).bool()


def focal_loss(
    pred: Tensor,
    target: Tensor,
    alpha: float | None,
    gamma: float = 2.0,
    reduction: str = "none",
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
) -> Tensor:
    r"""kornia's multi-class focal loss :math:`-\alpha_y w_y (1-p_y)^\gamma \log p_y` (softmax over dim 1).

    Args:
        pred: logits ``(B, C, *)``.
        target: class indices ``(B, *)`` (int64); ``ignore_index`` marks ignored pixels.
        alpha: ``None`` (off) or a float ``a``: class 0 weighs ``1 - a``, the others ``a``.
        gamma: focusing exponent, ``>= 0``.
        reduction: ``"none"`` (default; ``(B, C, *)``, the loss at the target's channel, 0 elsewhere),
            ``"mean"`` (the sum over ``B·C·*`` -- ignored pixels and every class in the denominator)
            or ``"sum"``.
        weight: per-class weights ``(C,)``.
        ignore_index: target value of ignored pixels (loss 0).

    Example:
        >>> import torch
        >>> x, y = torch.tensor([[[2.0], [0.5], [-1.0]]]), torch.tensor([[0]])
        >>> focal_loss(x, y, alpha=0.5, reduction="mean")
        tensor(0.0018)
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"focal_loss: reduction={reduction!r} is not valid: use 'none', 'mean' or 'sum' (kornia's)")
    c = pred.shape[1] if pred.dim() >= 2 else 1
    a = None
    if alpha is not None:
        a = torch.full((c,), float(alpha), dtype=pred.dtype, device=pred.device)
        a[0] = 1.0 - float(alpha)  # kornia: [1 - alpha, alpha, ..., alpha]
    if reduction == "none":
        rows = _focal_loss(
            pred, target, alpha=a, gamma=gamma, weight=weight, ignore_index=ignore_index, reduction="none"
        )
        valid = _valid(target, ignore_index)
        t = target if valid is None else torch.where(valid, target, 0)
        hot = torch.nn.functional.one_hot(t.long(), c).movedim(-1, 1).to(rows.dtype)
        return rows.unsqueeze(1) * hot
    total = _focal_loss(pred, target, alpha=a, gamma=gamma, weight=weight, ignore_index=ignore_index, reduction="sum")
    return total if reduction == "sum" else total / pred.numel()


def dice_loss(
    pred: Tensor,
    target: Tensor,
    average: str = "micro",
    eps: float = 1e-8,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
) -> Tensor:
    r"""kornia's Dice loss on softmax probabilities of ``pred (B, C, H, W)`` and ``target (B, H, W)``.

    ``average="micro"``: one ratio per image over all classes,
    :math:`1 - 2\sum_c w_c \sum p t / (\sum_c w_c \sum (p + t) + \epsilon)`, averaged over images
    (an image without a counted pixel: loss 1). ``"macro"``: one ratio per image and class, averaged
    (with ``weight``) over the classes present in the image, then over images.

    Example:
        >>> import torch
        >>> x, y = torch.zeros(1, 2, 1, 2), torch.tensor([[[0, 1]]])
        >>> dice_loss(x, y)
        tensor(0.5000)
    """
    if average not in ("micro", "macro"):
        raise ValueError(f"dice_loss: average={average!r} is not valid: use 'micro' or 'macro' (kornia's)")
    if pred.dim() != 4:
        raise ValueError(f"dice_loss: pred must be (B, C, H, W) logits (kornia's shape); got {tuple(pred.shape)}")
    c = pred.shape[1]
    valid = _valid(target, ignore_index)
    # micro: (B,), one pooled ratio per image, 0 for an image without a counted pixel;
    # macro: (B, C), w·m·loss with m = class present in the image
    out = _dice_loss(
        pred,
        target,
        mode="multiclass",
        weight=weight,
        ignore_index=ignore_index,
        smooth_denominator=eps,
        per_image=True,
        empty="include" if average == "micro" else "exclude",
        average=average,
        reduction="none",
    )
    if average == "micro":
        if valid is not None:
            # an image with no counted pixel: kornia's ratio is 0 (loss 1)
            out = torch.where(valid.flatten(1).any(1), out, 1.0)
        return out.mean()
    present = _present(target, c, ignore_index).to(out.dtype)
    w = present if weight is None else present * weight.to(out.dtype)
    den = w.sum(1)
    per_image = torch.where(den > 0, out.sum(1) / den.clamp_min(torch.finfo(den.dtype).tiny), 1.0)
    return per_image.mean()


def tversky_loss(
    pred: Tensor, target: Tensor, alpha: float, beta: float, eps: float = 1e-8, ignore_index: int | None = -100
) -> Tensor:
    r"""kornia's Tversky loss: :math:`1 - ` the mean over images of the mean over present classes of
    :math:`TP / (TP + \alpha FP + \beta FN)` on softmax probabilities.

    Example:
        >>> import torch
        >>> x, y = torch.zeros(1, 2, 1, 2), torch.tensor([[[0, 1]]])
        >>> tversky_loss(x, y, alpha=0.5, beta=0.5)
        tensor(0.5000)
    """
    if pred.dim() != 4:
        raise ValueError(f"tversky_loss: pred must be (B, C, H, W) logits (kornia's shape); got {tuple(pred.shape)}")
    c = pred.shape[1]
    out = _tversky_loss(
        pred,
        target,
        mode="multiclass",
        alpha=alpha,
        beta=beta,
        ignore_index=ignore_index,
        smooth_denominator=eps,
        per_image=True,
        empty="exclude",
        reduction="none",
    )  # (B, C), 0 for absent classes
    n = _present(target, c, ignore_index).sum(1).to(out.dtype)
    # kornia: score = mean over present classes (0 without any), loss = 1 - mean over images of the score
    per_image = torch.where(n > 0, out.sum(1) / n.clamp_min(1.0), 1.0)
    return per_image.mean()


class FocalLoss(nn.Module):
    """kornia's ``FocalLoss(alpha, gamma=2.0, reduction="none", weight=None, ignore_index=-100)``; see :func:`focal_loss`."""

    weight: Tensor | None

    def __init__(
        self,
        alpha: float | None,
        gamma: float = 2.0,
        reduction: str = "none",
        weight: Tensor | None = None,
        ignore_index: int | None = -100,
    ) -> None:
        super().__init__()
        self.alpha, self.gamma, self.reduction, self.ignore_index = alpha, gamma, reduction, ignore_index
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return focal_loss(pred, target, self.alpha, self.gamma, self.reduction, self.weight, self.ignore_index)


class DiceLoss(nn.Module):
    """kornia's ``DiceLoss(average="micro", eps=1e-8, weight=None, ignore_index=-100)``; see :func:`dice_loss`."""

    weight: Tensor | None

    def __init__(
        self, average: str = "micro", eps: float = 1e-8, weight: Tensor | None = None, ignore_index: int | None = -100
    ) -> None:
        super().__init__()
        self.average, self.eps, self.ignore_index = average, eps, ignore_index
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return dice_loss(pred, target, self.average, self.eps, self.weight, self.ignore_index)


class TverskyLoss(nn.Module):
    """kornia's ``TverskyLoss(alpha, beta, eps=1e-8, ignore_index=-100)``; see :func:`tversky_loss`."""

    def __init__(self, alpha: float, beta: float, eps: float = 1e-8, ignore_index: int | None = -100) -> None:
        super().__init__()
        self.alpha, self.beta, self.eps, self.ignore_index = alpha, beta, eps, ignore_index

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return tversky_loss(pred, target, self.alpha, self.beta, self.eps, self.ignore_index)
