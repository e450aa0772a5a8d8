"""Modules of the binary cross-entropy losses: twins of ``torch.nn.BCEWithLogitsLoss`` and ``torch.nn.BCELoss``.

Each takes torch's constructor arguments in torch's order (losskit's extensions are keyword-only
after them), stores weights as buffers, and its ``forward`` is one call into
:mod:`losskit.functional`; the formula, the mean rule and the label-smoothing definition are in the
functional's docstring.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import _checks
from .. import functional as LF
from ._base import WeightedLoss

__all__ = ["BCEWithLogitsLoss", "BCELoss"]


class BCEWithLogitsLoss(WeightedLoss):
    """Binary cross-entropy on logits; see :func:`losskit.functional.binary_cross_entropy_with_logits`.

    A drop-in for :class:`torch.nn.BCEWithLogitsLoss` (``pos_weight`` is a buffer too) plus
    ``label_smoothing`` (targets smoothed to :math:`y(1-\\varepsilon) + \\varepsilon/2`).

    Example:
        >>> import torch
        >>> loss = BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
        >>> print(round(loss(torch.tensor([0.5]), torch.tensor([1.0])).item(), 4))
        0.9482
        >>> BCEWithLogitsLoss(reduction="sum", label_smoothing=0.1)
        BCEWithLogitsLoss(reduction='sum', label_smoothing=0.1)
    """

    pos_weight: Tensor | None

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
        *,
        label_smoothing: float = 0.0,
        target_threshold: float | None = None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            pos_weight = torch.as_tensor(pos_weight, dtype=torch.get_default_dtype())
        self.register_buffer("pos_weight", pos_weight)
        self.label_smoothing = _checks.smoothing(label_smoothing, high_open=True, fn=type(self).__name__)
        self.target_threshold = (
            None
            if target_threshold is None
            else _checks.number(
                target_threshold, "target_threshold", low=0.0, high=1.0, high_open=True, fn=type(self).__name__
            )
        )

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.binary_cross_entropy_with_logits(
            logits,
            target,
            self.weight,
            None,
            None,
            self.reduction,
            self.pos_weight,
            label_smoothing=self.label_smoothing,
            target_threshold=self.target_threshold,
        )


class BCELoss(WeightedLoss):
    """Binary cross-entropy on probabilities; see :func:`losskit.functional.binary_cross_entropy`.

    A drop-in for :class:`torch.nn.BCELoss` plus ``label_smoothing``. Prefer
    :class:`BCEWithLogitsLoss` on raw scores.

    Example:
        >>> import torch
        >>> print(round(BCELoss()(torch.tensor([0.9]), torch.tensor([1.0])).item(), 4))
        0.1054
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        *,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.label_smoothing = _checks.smoothing(label_smoothing, high_open=True, fn=type(self).__name__)

    def forward(self, probs: Tensor, target: Tensor) -> Tensor:
        return LF.binary_cross_entropy(
            probs, target, self.weight, None, None, self.reduction, label_smoothing=self.label_smoothing
        )
