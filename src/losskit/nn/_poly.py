"""Modules of the Poly-1 losses: ``Poly1CrossEntropyLoss``, ``Poly1FocalLoss``, ``Poly1SigmoidFocalLoss``.

``forward`` is one keyword call into :mod:`losskit.functional`; see the functionals' docstrings.
"""

from __future__ import annotations

from torch import Tensor

from .. import functional as LF
from ._base import WeightedLoss, given
from ._focal import FOCAL_CHECKS, SIGMOID_FOCAL_CHECKS, Alpha

__all__ = ["Poly1CrossEntropyLoss", "Poly1FocalLoss", "Poly1SigmoidFocalLoss"]


class Poly1CrossEntropyLoss(WeightedLoss):
    """Poly-1 cross-entropy; see :func:`losskit.functional.poly1_cross_entropy`.

    Example:
        >>> import torch
        >>> loss = Poly1CrossEntropyLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.45571
    """

    _functional = staticmethod(LF.poly1_cross_entropy)
    _option_checks = FOCAL_CHECKS

    def __init__(
        self,
        epsilon: float = 1.0,
        weight: Tensor | None = None,
        ignore_index: int | None = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(logits, target, sample_weight=sample_weight)


class Poly1FocalLoss(WeightedLoss):
    """Poly-1 softmax focal loss; see :func:`losskit.functional.poly1_focal_loss`.

    Example:
        >>> import torch
        >>> loss = Poly1FocalLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.02095
    """

    _functional = staticmethod(LF.poly1_focal_loss)
    _option_checks = FOCAL_CHECKS

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
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(logits, target, sample_weight=sample_weight)


class Poly1SigmoidFocalLoss(WeightedLoss):
    """Poly-1 sigmoid focal loss; see :func:`losskit.functional.poly1_sigmoid_focal_loss`.

    Example:
        >>> import torch
        >>> loss = Poly1SigmoidFocalLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])).item(), 5)
        0.0228
    """

    _functional = staticmethod(LF.poly1_sigmoid_focal_loss)
    _option_checks = SIGMOID_FOCAL_CHECKS

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
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)
