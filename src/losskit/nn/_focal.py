"""Modules of the focal family: ``SigmoidFocalLoss``, ``FocalLoss``, ``AsymmetricLoss``.

Options are validated in ``__init__`` (tensor options become buffers: they follow ``.to()`` and
``state_dict``) and ``forward`` is one keyword call into :mod:`losskit.functional`; the formulas,
the likelihood view and the reduction rules are in the functionals' docstrings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from torch import Tensor

from .. import functional as LF
from ._base import WeightedLoss, choice, flag, fraction, given, ignored, number, option_checks, optional, smoothing

__all__ = ["SigmoidFocalLoss", "BinaryFocalLoss", "FocalLoss", "AsymmetricLoss", "AsymmetricSingleLabelLoss"]

Alpha = float | Tensor | None


# The options of the focal and Poly-1 losses, each checked by name; ``ignore_index`` is an int for
# class-index targets, a number too for 0/1-or-soft ones (SIGMOID_FOCAL_CHECKS).
FOCAL_CHECKS = option_checks(
    label_smoothing=smoothing(high_open=True),
    gamma=number(low=0.0),
    gamma_pos=number(low=0.0),
    gamma_neg=number(low=0.0),
    epsilon=number(finite=True),
    clip=number(low=0.0, high=1.0, high_open=True),
    alpha=fraction,
    soft_target=choice("expected", "peers"),
    normalized=flag,
    reduced_threshold=optional(number(low=0.0, high=1.0, low_open=True)),
    ignore_index=ignored(),
)
SIGMOID_FOCAL_CHECKS = option_checks(FOCAL_CHECKS, ignore_index=ignored(floats=True))


class SigmoidFocalLoss(WeightedLoss):
    """Sigmoid focal loss for binary / multi-label targets; see :func:`losskit.functional.sigmoid_focal_loss`.

    Example:
        >>> import torch
        >>> loss = SigmoidFocalLoss(alpha=0.25)
        >>> round(loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])).item(), 5)
        0.00872
        >>> loss
        SigmoidFocalLoss(alpha=0.25)
    """

    _functional: ClassVar[Callable[..., Tensor]] = staticmethod(LF.sigmoid_focal_loss)
    _option_checks = SIGMOID_FOCAL_CHECKS

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
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)


class BinaryFocalLoss(SigmoidFocalLoss):
    """Binary focal loss from probabilities; see :func:`losskit.functional.binary_focal_loss`.

    Example:
        >>> import torch
        >>> loss = BinaryFocalLoss(alpha=0.25)
        >>> round(loss(torch.sigmoid(torch.tensor([2.0, -1.0])), torch.tensor([1.0, 0.0])).item(), 5)
        0.00872
    """

    _functional = staticmethod(LF.binary_focal_loss)

    def forward(self, probs: Tensor, target: Tensor) -> Tensor:
        return self._call(probs, target)


class AsymmetricLoss(WeightedLoss):
    """Asymmetric loss (ASL) for multi-label targets; see :func:`losskit.functional.asymmetric_loss`.

    Example:
        >>> import torch
        >>> loss = AsymmetricLoss(reduction="sum")
        >>> round(loss(torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])).item(), 5)
        0.1275
    """

    _functional = staticmethod(LF.asymmetric_loss)
    _option_checks = SIGMOID_FOCAL_CHECKS

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
        focusing_gradient: bool = True,
        soft_target: str = "expected",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)


class AsymmetricSingleLabelLoss(WeightedLoss):
    """Single-label asymmetric loss (timm's ``AsymmetricLossSingleLabel``); see
    :func:`losskit.functional.asymmetric_single_label_loss`.

    Example:
        >>> import torch
        >>> loss = AsymmetricSingleLabelLoss(gamma_pos=1.0, label_smoothing=0.1)
        >>> loss
        AsymmetricSingleLabelLoss(gamma_pos=1.0, label_smoothing=0.1)
    """

    _functional = staticmethod(LF.asymmetric_single_label_loss)
    _option_checks = FOCAL_CHECKS

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
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(logits, target, sample_weight=sample_weight)


class FocalLoss(WeightedLoss):
    """Multi-class (softmax) focal loss; see :func:`losskit.functional.focal_loss`.

    Example:
        >>> import torch
        >>> loss = FocalLoss(gamma=2.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.01109
    """

    _functional = staticmethod(LF.focal_loss)
    _option_checks = FOCAL_CHECKS

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
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(logits, target, sample_weight=sample_weight)
