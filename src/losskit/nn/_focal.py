"""Modules of the focal family: ``SigmoidFocalLoss``, ``FocalLoss``, ``AsymmetricLoss``.

Options are validated in ``__init__`` (tensor options become buffers: they follow ``.to()`` and
``state_dict``) and ``forward`` is one keyword call into :mod:`losskit.functional`; the formulas,
the likelihood view and the reduction rules are in the functionals' docstrings.
"""

from __future__ import annotations

from torch import Tensor

from .. import _checks
from .. import functional as LF
from .._reduction import check_all_ignored
from ._base import WeightedLoss

__all__ = ["SigmoidFocalLoss", "BinaryFocalLoss", "FocalLoss", "AsymmetricLoss", "AsymmetricSingleLabelLoss"]

Alpha = float | Tensor | None


class FocalOptions(WeightedLoss):
    """Shared construction of the focal and Poly-1 modules: each option checked once, by name."""

    def __init__(self, *, weight: Tensor | None, reduction: str, all_ignored: str, **options) -> None:
        super().__init__(weight, reduction=reduction)
        fn = type(self).__name__
        self.all_ignored = check_all_ignored(all_ignored)
        for name, value in options.items():
            if name == "label_smoothing":
                value = _checks.smoothing(value, high_open=True, fn=fn)
            elif name in ("gamma", "gamma_pos", "gamma_neg"):
                value = _checks.number(value, name, low=0.0, fn=fn)
            elif name == "epsilon":
                value = _checks.number(value, name, fn=fn, finite=True)
            elif name == "clip":
                value = _checks.number(value, name, low=0.0, high=1.0, high_open=True, fn=fn)
            elif name == "alpha" and value is not None and not isinstance(value, Tensor):
                value = _checks.number(value, name, low=0.0, high=1.0, fn=fn)
            elif name == "soft_target":
                value = _checks.choice(value, name, ("expected", "peers"), fn=fn)
            elif name == "normalized":
                value = _checks.flag(value, name, fn=fn)
            elif name == "reduced_threshold" and value is not None:
                value = _checks.number(value, name, low=0.0, high=1.0, low_open=True, fn=fn)
            elif name == "ignore_index":
                value = _checks.ignored(value, fn=fn, floats=isinstance(self, (SigmoidFocalLoss, AsymmetricLoss)))
            self.register_option(name, value)


class SigmoidFocalLoss(FocalOptions):
    """Sigmoid focal loss for binary / multi-label targets; see :func:`losskit.functional.sigmoid_focal_loss`.

    Example:
        >>> import torch
        >>> loss = SigmoidFocalLoss(alpha=0.25)
        >>> round(loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])).item(), 5)
        0.00872
        >>> loss
        SigmoidFocalLoss(alpha=0.25)
    """

    alpha: Alpha
    gamma: float
    pos_weight: Tensor | None
    label_smoothing: float
    ignore_index: float | None
    soft_target: str
    reduced_threshold: float | None
    normalized: bool

    def __init__(
        self,
        alpha: Alpha = None,
        gamma: float = 2.0,
        weight: Tensor | None = None,
        pos_weight: Tensor | None = None,
        label_smoothing: float = 0.0,
        ignore_index: float | None = None,
        reduction: str = "mean",
        all_ignored: str = "nan",
        soft_target: str = "expected",
        reduced_threshold: float | None = None,
        normalized: bool = False,
    ) -> None:
        super().__init__(
            weight=weight,
            reduction=reduction,
            all_ignored=all_ignored,
            alpha=alpha,
            gamma=gamma,
            pos_weight=pos_weight,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
            soft_target=soft_target,
            reduced_threshold=reduced_threshold,
            normalized=normalized,
        )

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.sigmoid_focal_loss(
            logits,
            target,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            pos_weight=self.pos_weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            soft_target=self.soft_target,
            reduced_threshold=self.reduced_threshold,
            normalized=self.normalized,
        )


class BinaryFocalLoss(SigmoidFocalLoss):
    """Binary focal loss from probabilities; see :func:`losskit.functional.binary_focal_loss`.

    Example:
        >>> import torch
        >>> loss = BinaryFocalLoss(alpha=0.25)
        >>> round(loss(torch.sigmoid(torch.tensor([2.0, -1.0])), torch.tensor([1.0, 0.0])).item(), 5)
        0.00872
    """

    def forward(self, probs: Tensor, target: Tensor) -> Tensor:
        return LF.binary_focal_loss(
            probs,
            target,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            pos_weight=self.pos_weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            soft_target=self.soft_target,
            reduced_threshold=self.reduced_threshold,
            normalized=self.normalized,
        )


class AsymmetricLoss(FocalOptions):
    """Asymmetric loss (ASL) for multi-label targets; see :func:`losskit.functional.asymmetric_loss`.

    Example:
        >>> import torch
        >>> loss = AsymmetricLoss(reduction="sum")
        >>> round(loss(torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])).item(), 5)
        0.1275
    """

    gamma_pos: float
    gamma_neg: float
    clip: float
    ignore_index: float | None
    label_smoothing: float
    pos_weight: Tensor | None

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        weight: Tensor | None = None,
        ignore_index: float | None = None,
        reduction: str = "mean",
        all_ignored: str = "nan",
        label_smoothing: float = 0.0,
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(
            weight=weight,
            reduction=reduction,
            all_ignored=all_ignored,
            gamma_pos=gamma_pos,
            gamma_neg=gamma_neg,
            clip=clip,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            pos_weight=pos_weight,
        )

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.asymmetric_loss(
            logits,
            target,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            label_smoothing=self.label_smoothing,
            pos_weight=self.pos_weight,
        )


class AsymmetricSingleLabelLoss(FocalOptions):
    """Single-label asymmetric loss (timm's ``AsymmetricLossSingleLabel``); see
    :func:`losskit.functional.asymmetric_single_label_loss`.

    Example:
        >>> import torch
        >>> loss = AsymmetricSingleLabelLoss(gamma_pos=1.0, label_smoothing=0.1)
        >>> loss
        AsymmetricSingleLabelLoss(gamma_pos=1.0, label_smoothing=0.1)
    """

    gamma_pos: float
    gamma_neg: float
    ignore_index: int | None
    label_smoothing: float

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        weight: Tensor | None = None,
        ignore_index: int | None = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(
            weight=weight,
            reduction=reduction,
            all_ignored=all_ignored,
            gamma_pos=gamma_pos,
            gamma_neg=gamma_neg,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
        )

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return LF.asymmetric_single_label_loss(
            logits,
            target,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            sample_weight=sample_weight,
        )


class FocalLoss(FocalOptions):
    """Multi-class (softmax) focal loss; see :func:`losskit.functional.focal_loss`.

    Example:
        >>> import torch
        >>> loss = FocalLoss(gamma=2.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.01109
    """

    alpha: Alpha
    gamma: float
    ignore_index: int | None
    label_smoothing: float

    def __init__(
        self,
        alpha: Alpha = None,
        gamma: float = 2.0,
        weight: Tensor | None = None,
        ignore_index: int | None = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(
            weight=weight,
            reduction=reduction,
            all_ignored=all_ignored,
            alpha=alpha,
            gamma=gamma,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
        )

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return LF.focal_loss(
            logits,
            target,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            sample_weight=sample_weight,
        )
