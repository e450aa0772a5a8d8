"""Modules of the binary cross-entropy losses: twins of ``torch.nn.BCEWithLogitsLoss`` and ``torch.nn.BCELoss``.

Each takes torch's constructor arguments in torch's order (losskit's extensions are keyword-only
after them), stores weights as buffers, and its ``forward`` is one call into
:mod:`losskit.functional`; the formula, the mean rule and the label-smoothing definition are in the
functional's docstring.
"""

from __future__ import annotations

from torch import Tensor

from .. import functional as LF
from ._base import WeightedLoss, given, number, option_checks, optional, smoothing

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
    _functional = staticmethod(LF.binary_cross_entropy_with_logits)
    _option_checks = option_checks(
        label_smoothing=smoothing(high_open=True),
        target_threshold=optional(number(low=0.0, high=1.0, high_open=True)),
    )

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
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)


class BCELoss(WeightedLoss):
    """Binary cross-entropy on probabilities; see :func:`losskit.functional.binary_cross_entropy`.

    A drop-in for :class:`torch.nn.BCELoss` plus ``label_smoothing``. Prefer
    :class:`BCEWithLogitsLoss` on raw scores.

    Example:
        >>> import torch
        >>> print(round(BCELoss()(torch.tensor([0.9]), torch.tensor([1.0])).item(), 4))
        0.1054
    """

    _functional = staticmethod(LF.binary_cross_entropy)
    _option_checks = option_checks(label_smoothing=smoothing(high_open=True))

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        *,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, probs: Tensor, target: Tensor) -> Tensor:
        return self._call(probs, target)
