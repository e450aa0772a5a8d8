"""Modules of the Poly-1 losses: ``Poly1CrossEntropyLoss``, ``Poly1FocalLoss``, ``Poly1SigmoidFocalLoss``.

``forward`` is one keyword call into :mod:`losskit.functional`; see the functionals' docstrings.
"""

from __future__ import annotations

from torch import Tensor

from .. import functional as LF
from ._focal import Alpha, FocalOptions

__all__ = ["Poly1CrossEntropyLoss", "Poly1FocalLoss", "Poly1SigmoidFocalLoss"]


class Poly1CrossEntropyLoss(FocalOptions):
    """Poly-1 cross-entropy; see :func:`losskit.functional.poly1_cross_entropy`.

    Example:
        >>> import torch
        >>> loss = Poly1CrossEntropyLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.45571
    """

    epsilon: float
    ignore_index: int | None
    label_smoothing: float

    def __init__(
        self,
        epsilon: float = 1.0,
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
            epsilon=epsilon,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
        )

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return LF.poly1_cross_entropy(
            logits,
            target,
            epsilon=self.epsilon,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            sample_weight=sample_weight,
        )


class Poly1FocalLoss(FocalOptions):
    """Poly-1 softmax focal loss; see :func:`losskit.functional.poly1_focal_loss`.

    Example:
        >>> import torch
        >>> loss = Poly1FocalLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.02095
    """

    epsilon: float
    alpha: Alpha
    gamma: float
    ignore_index: int | None
    label_smoothing: float

    def __init__(
        self,
        epsilon: float = 1.0,
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
            epsilon=epsilon,
            alpha=alpha,
            gamma=gamma,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
        )

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return LF.poly1_focal_loss(
            logits,
            target,
            epsilon=self.epsilon,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
            sample_weight=sample_weight,
        )


class Poly1SigmoidFocalLoss(FocalOptions):
    """Poly-1 sigmoid focal loss; see :func:`losskit.functional.poly1_sigmoid_focal_loss`.

    Example:
        >>> import torch
        >>> loss = Poly1SigmoidFocalLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])).item(), 5)
        0.0228
    """

    epsilon: float
    alpha: Alpha
    gamma: float
    pos_weight: Tensor | None
    label_smoothing: float
    ignore_index: float | None

    def __init__(
        self,
        epsilon: float = 1.0,
        alpha: Alpha = None,
        gamma: float = 2.0,
        weight: Tensor | None = None,
        pos_weight: Tensor | None = None,
        label_smoothing: float = 0.0,
        ignore_index: float | None = None,
        reduction: str = "mean",
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(
            weight=weight,
            reduction=reduction,
            all_ignored=all_ignored,
            epsilon=epsilon,
            alpha=alpha,
            gamma=gamma,
            pos_weight=pos_weight,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
        )

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.poly1_sigmoid_focal_loss(
            logits,
            target,
            epsilon=self.epsilon,
            alpha=self.alpha,
            gamma=self.gamma,
            weight=self.weight,
            pos_weight=self.pos_weight,
            label_smoothing=self.label_smoothing,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            all_ignored=self.all_ignored,
        )
