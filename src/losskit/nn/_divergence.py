"""Module twin of ``torch.nn.KLDivLoss``; see :func:`losskit.functional.kl_div`.

The information measures (:func:`losskit.functional.entropy`, ``kl_divergence``,
``js_divergence``) are plain functions, not losses, and have no module.
"""

from __future__ import annotations

from torch import Tensor

from .. import functional as LF
from ._base import Loss, flag, given, number, option_checks, optional, smoothing

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
    _functional = staticmethod(LF.kl_div)
    _option_checks = option_checks(log_target=flag)
    _always_shown = ("reduction", "log_target")

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class GeneralizedKLDivLoss(Loss):
    """Generalized KL divergence between non-negative measures; see
    :func:`losskit.functional.generalized_kl_divergence`.

    Example:
        >>> import torch
        >>> GeneralizedKLDivLoss()(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.3069)
    """

    _reductions = ("none", "batchmean", "sum", "mean")
    _functional = staticmethod(LF.generalized_kl_divergence)
    _option_checks = option_checks(log_input=flag)

    def __init__(self, reduction: str = "batchmean", *, log_input: bool = False) -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class JsdCrossEntropyLoss(Loss):
    """Cross-entropy on the clean split + alpha * Jensen-Shannon consistency over the splits (AugMix; timm's
    ``JsdCrossEntropy``, same defaults); see :func:`losskit.functional.jsd_cross_entropy`.

    Example:
        >>> import torch
        >>> loss = JsdCrossEntropyLoss(num_splits=2, alpha=1.0, label_smoothing=0.0)
        >>> print(round(loss(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0])).item(), 4))
        0.4547
    """

    _functional = staticmethod(LF.jsd_cross_entropy)
    _option_checks = option_checks(
        num_splits=optional(number(low=1, integer=True)),
        alpha=number(low=0.0),
        label_smoothing=smoothing(high_open=False),
    )

    def __init__(
        self, num_splits: int | None = 3, alpha: float = 12.0, label_smoothing: float = 0.1, reduction: str = "mean"
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)
