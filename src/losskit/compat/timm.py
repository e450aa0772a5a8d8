r"""timm's classification losses (``timm.loss``), computed by losskit.

Change ``from timm.loss import LabelSmoothingCrossEntropy`` to
``from losskit.compat.timm import LabelSmoothingCrossEntropy``: timm's constructor arguments,
defaults, shapes (classes on the last dimension) and reductions; the losses are
:func:`losskit.functional.cross_entropy`, :func:`~losskit.functional.binary_cross_entropy_with_logits`
and :func:`~losskit.functional.asymmetric_loss` (their docstrings give the formulas and likelihood
views).

timm's defaults next to losskit's (``docs/migrating.md`` has the full table):

* ``LabelSmoothingCrossEntropy(smoothing=0.1)`` is torch's ``label_smoothing=0.1`` cross-entropy
  (losskit's default is 0);
* ``BinaryCrossEntropy(smoothing=0.1)`` turns class indices into the targets ``1 - s + s/C`` and
  ``s/C`` (losskit's categorical smoothing rule, :func:`losskit.functional.smooth_labels`), and
  ``target_threshold`` binarises them (``target > threshold``);
* ``AsymmetricLossMultiLabel``: ``gamma_pos=1`` (losskit 0), ``gamma_neg=4``, ``clip=0.05``,
  reduction ``"batchmean"`` (the sum over classes averaged over the batch); timm clamps ``p`` at
  ``eps=1e-8`` before the log (losskit's log-sigmoid is exact: they differ for logits below -18);
  timm computes in float32 (a half input gives a float32 loss).

``AsymmetricLossMultiLabel``'s ``pos_weight`` and ``smoothing`` are
:func:`~losskit.functional.asymmetric_loss`'s ``pos_weight`` and ``label_smoothing`` with
``soft_target="peers"`` (timm mixes the focusing exponents on a soft target; losskit's default is the
expectation over the hard labels), and
``disable_torch_grad_focal_loss=True`` is its ``focusing_gradient=False`` (the focusing weights constant in
the backward).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from .. import functional as LF

__all__ = ["LabelSmoothingCrossEntropy", "SoftTargetCrossEntropy", "BinaryCrossEntropy", "AsymmetricLossMultiLabel"]


def _classes_to_dim1(x: Tensor, target: Tensor, soft: bool) -> tuple[Tensor, Tensor]:
    """timm puts the classes on the last dimension, losskit (as torch) on dimension 1."""
    if x.dim() <= 2:
        return x, target
    return x.movedim(-1, 1), (target.movedim(-1, 1) if soft else target)


class LabelSmoothingCrossEntropy(nn.Module):
    r"""timm's ``LabelSmoothingCrossEntropy``: :math:`(1-s)\,(-\log p_y) + s \cdot \operatorname{mean}_c(-\log p_c)`.

    The mean over samples; computed by :func:`losskit.functional.cross_entropy` with
    ``label_smoothing=smoothing`` (timm's default 0.1; losskit's 0).

    Example:
        >>> import torch
        >>> LabelSmoothingCrossEntropy()(torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0]))
        tensor(0.3365)
    """

    def __init__(self, smoothing: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"LabelSmoothingCrossEntropy: smoothing={smoothing} must be in [0, 1)")
        self.smoothing = smoothing

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        x, target = _classes_to_dim1(x, target, soft=False)
        return LF.cross_entropy(x, target, label_smoothing=self.smoothing, ignore_index=None)


class SoftTargetCrossEntropy(nn.Module):
    r"""timm's ``SoftTargetCrossEntropy``: :math:`\operatorname{mean}_n \sum_c -t_c \log p_c` (mixup / cutmix targets).

    Computed by :func:`losskit.functional.cross_entropy` with class-probability targets.

    Example:
        >>> import torch
        >>> SoftTargetCrossEntropy()(torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([[0.7, 0.3, 0.0]]))
        tensor(0.7698)
    """

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        x, target = _classes_to_dim1(x, target, soft=True)
        return LF.cross_entropy(x, target.to(x.dtype))


class BinaryCrossEntropy(nn.Module):
    r"""timm's ``BinaryCrossEntropy``: BCE-with-logits on one-hot (smoothed) or dense targets.

    Class-index targets ``(N,)`` become ``(N, C)`` targets ``1 - s + s/C`` / ``s/C``
    (:func:`losskit.functional.smooth_labels`); dense targets are used as given (timm smooths only
    index targets). ``target_threshold`` binarises the targets (``target > threshold``). Computed by
    :func:`losskit.functional.binary_cross_entropy_with_logits` with ``weight``, ``pos_weight`` and
    ``reduction`` (torch's meanings).

    Example:
        >>> import torch
        >>> BinaryCrossEntropy()(torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0]))
        tensor(0.4333)
    """

    def __init__(
        self,
        smoothing: float = 0.1,
        target_threshold: float | None = None,
        weight: Tensor | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"BinaryCrossEntropy: smoothing={smoothing} must be in [0, 1)")
        self.smoothing, self.target_threshold, self.reduction = smoothing, target_threshold, reduction
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        if x.shape[0] != target.shape[0]:
            raise ValueError(
                f"BinaryCrossEntropy: x {tuple(x.shape)} and target {tuple(target.shape)} need the same batch size"
            )
        if target.shape != x.shape:
            target = LF.smooth_labels(
                target.long().view(-1),
                smoothing=self.smoothing,
                num_classes=x.shape[-1],
                ignore_index=None,
                dtype=x.dtype,
            )
        if self.target_threshold is not None:
            target = target.gt(self.target_threshold).to(dtype=target.dtype)
        return LF.binary_cross_entropy_with_logits(
            x, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class AsymmetricLossMultiLabel(nn.Module):
    r"""timm's ``AsymmetricLossMultiLabel`` (Ridnik et al. 2021), reduction ``"batchmean"`` by default.

    .. math:: \ell = -\big[y (1-p)^{\gamma_+} \log p + (1-y)\, p_m^{\gamma_-} \log(1 - p_m)\big],
        \quad p_m = \max(p - m, 0)

    Computed by :func:`losskit.functional.asymmetric_loss` with ``gamma_pos=1`` (timm's default;
    losskit's is 0), ``gamma_neg=4``, ``clip=0.05``. ``reduction``: ``"batchmean"`` (the sum
    divided by the batch size), ``"sum"`` (the original ASL), ``"mean"`` or ``"none"``.

    Example:
        >>> import torch
        >>> AsymmetricLossMultiLabel()(torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([[1.0, 0.0, 0.0]]))
        tensor(0.0402)
    """

    weight: Tensor | None
    pos_weight: Tensor | None

    def __init__(
        self,
        gamma_neg: float = 4,
        gamma_pos: float = 1,
        clip: float | None = 0.05,
        eps: float = 1e-8,
        disable_torch_grad_focal_loss: bool = False,
        smoothing: float = 0.0,
        reduction: str = "batchmean",
        weight: Tensor | None = None,
        pos_weight: Tensor | float | None = None,
    ) -> None:
        super().__init__()
        if reduction not in ("batchmean", "sum", "mean", "none"):
            raise ValueError(
                f"AsymmetricLossMultiLabel: reduction={reduction!r} is not valid: use 'batchmean', "
                "'sum', 'mean' or 'none' (timm's)"
            )
        params = inspect.signature(LF.asymmetric_loss).parameters
        self._extra: dict[str, Any] = {}
        if disable_torch_grad_focal_loss:  # timm computes the focusing weights under torch.no_grad
            self._extra["focusing_gradient"] = False
        # timm's form on soft targets (its smoothing, or soft labels): losskit's soft_target="peers"
        self._extra["soft_target"] = "peers"
        if smoothing:
            self._extra["label_smoothing"] = smoothing
        if pos_weight is not None:
            if "pos_weight" not in params:
                raise NotImplementedError(
                    "AsymmetricLossMultiLabel: pos_weight has no losskit equivalent yet in "
                    "losskit.functional.asymmetric_loss; drop it, or scale the positives with weight"
                )
            if not isinstance(pos_weight, Tensor):
                pos_weight = torch.tensor(pos_weight)
        self.gamma_neg, self.gamma_pos = float(gamma_neg), float(gamma_pos)
        self.clip = 0.0 if clip is None else float(clip)
        self.eps, self.reduction = eps, reduction
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        kw: dict[str, Any] = dict(self._extra)  # optional keywords of asymmetric_loss, of several types
        if self.pos_weight is not None:
            kw["pos_weight"] = self.pos_weight
        red = "sum" if self.reduction == "batchmean" else self.reduction
        out = LF.asymmetric_loss(
            x,
            y.to(x.dtype),
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            weight=self.weight,
            reduction=red,
            **kw,
        )
        return out / x.shape[0] if self.reduction == "batchmean" else out
