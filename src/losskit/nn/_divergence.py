"""Module twin of ``torch.nn.KLDivLoss``; see :func:`losskit.functional.kl_div`.

The information measures (:func:`losskit.functional.entropy`, ``kl_divergence``,
``js_divergence``) are plain functions, not losses, and have no module.
"""

from __future__ import annotations

from torch import Tensor

from .. import _checks
from .. import functional as LF
from ._base import Loss

__all__ = ["KLDivLoss", "GeneralizedKLDivLoss", "JsdCrossEntropyLoss"]


class KLDivLoss(Loss):
    """Kullback-Leibler divergence loss on log-probabilities; see :func:`losskit.functional.kl_div`.

    A drop-in for :class:`torch.nn.KLDivLoss` (same arguments, same order). Use
    ``reduction="batchmean"`` for the mean KL per sample.

    Example:
        >>> import torch
        >>> loss = KLDivLoss(reduction="batchmean")
        >>> log_q = torch.log(torch.tensor([[0.25, 0.25, 0.5]]))
        >>> print(round(loss(log_q, torch.tensor([[0.5, 0.5, 0.0]])).item(), 4))
        0.6931
    """

    _reductions = ("none", "batchmean", "sum", "mean")

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = _checks.flag(log_target, "log_target", fn="KLDivLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


class GeneralizedKLDivLoss(Loss):
    """Generalized KL divergence between non-negative measures; see
    :func:`losskit.functional.generalized_kl_divergence`.

    Example:
        >>> import torch
        >>> GeneralizedKLDivLoss()(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.3069)
    """

    _reductions = ("none", "batchmean", "sum", "mean")

    def __init__(self, reduction: str = "batchmean", *, log_input: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.log_input = _checks.flag(log_input, "log_input", fn="GeneralizedKLDivLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.generalized_kl_divergence(input, target, log_input=self.log_input, reduction=self.reduction)


class JsdCrossEntropyLoss(Loss):
    """Cross-entropy on the clean split + alpha * Jensen-Shannon consistency over the splits (AugMix; timm's
    ``JsdCrossEntropy``, same defaults); see :func:`losskit.functional.jsd_cross_entropy`.

    Example:
        >>> import torch
        >>> loss = JsdCrossEntropyLoss(num_splits=2, alpha=1.0, label_smoothing=0.0)
        >>> print(round(loss(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0])).item(), 4))
        0.4547
    """

    def __init__(
        self, num_splits: int | None = 3, alpha: float = 12.0, label_smoothing: float = 0.1, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction=reduction)
        fn = "JsdCrossEntropyLoss"
        self.num_splits = (
            None if num_splits is None else _checks.number(num_splits, "num_splits", low=1, integer=True, fn=fn)
        )
        self.alpha = _checks.number(alpha, "alpha", low=0.0, fn=fn)
        self.label_smoothing = _checks.smoothing(label_smoothing, high_open=False, fn=fn)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.jsd_cross_entropy(
            logits,
            target,
            num_splits=self.num_splits,
            alpha=self.alpha,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
        )
