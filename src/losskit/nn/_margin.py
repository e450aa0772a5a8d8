"""Margin (hinge) loss modules and the two soft-margin (logistic) ones: torch.nn twins.

Each class takes torch's constructor arguments in torch's order; ``forward`` is one call into
:mod:`losskit.functional`, whose docstring gives the formula and what the loss is for. The repr
lists the options that differ from their defaults.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .. import _checks
from .. import functional as LF
from ._base import Loss, WeightedLoss, choice, flag, given, number, option_checks

__all__ = [
    "SoftMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "MultiLabelMarginLoss",
    "MarginRankingLoss",
    "HingeEmbeddingLoss",
    "CosineEmbeddingLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "CategoricalHingeLoss",
]


def _one_or_two(value: object, name: str, fn: str) -> object:
    if isinstance(value, bool) or value not in (1, 2):
        raise ValueError(f"{fn}: {name} must be 1 or 2 (as in torch), got {value!r}")
    return value


class SoftMarginLoss(Loss):
    """Logistic loss on ±1 labels; see :func:`losskit.functional.soft_margin_loss`.

    A drop-in for :class:`torch.nn.SoftMarginLoss`.

    Example:
        >>> import torch
        >>> print(round(SoftMarginLoss()(torch.tensor([2.0]), torch.tensor([1.0])).item(), 4))
        0.1269
        >>> SoftMarginLoss(reduction="sum")
        SoftMarginLoss(reduction='sum')
    """

    _functional = staticmethod(LF.soft_margin_loss)

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class MultiLabelSoftMarginLoss(WeightedLoss):
    """Per-class logistic loss averaged over classes; see
    :func:`losskit.functional.multilabel_soft_margin_loss`.

    A drop-in for :class:`torch.nn.MultiLabelSoftMarginLoss` (``weight`` is a buffer).

    Example:
        >>> import torch
        >>> loss = MultiLabelSoftMarginLoss()
        >>> print(round(loss(torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])).item(), 4))
        0.2201
    """

    _functional = staticmethod(LF.multilabel_soft_margin_loss)

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class MultiMarginLoss(WeightedLoss):
    """Multi-class hinge loss; see :func:`losskit.functional.multi_margin_loss`.

    A drop-in for :class:`torch.nn.MultiMarginLoss` (``weight`` is a buffer).

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(MultiMarginLoss()(x, torch.tensor([3])).item(), 4))
        0.325
        >>> MultiMarginLoss(p=2, margin=0.5)
        MultiMarginLoss(p=2, margin=0.5)
    """

    _functional = staticmethod(LF.multi_margin_loss)
    _option_checks = option_checks(p=_one_or_two, margin=number())

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class MultiLabelMarginLoss(Loss):
    """Multi-label hinge loss on -1-padded label lists; see
    :func:`losskit.functional.multilabel_margin_loss`.

    A drop-in for :class:`torch.nn.MultiLabelMarginLoss`.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(MultiLabelMarginLoss()(x, torch.tensor([[3, 0, -1, 1]])).item(), 4))
        0.85
    """

    _functional = staticmethod(LF.multilabel_margin_loss)

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class _PairMarginLoss(Loss):
    """A torch twin of a margin loss on pairs: ``(margin=0.0, size_average, reduce, reduction)``,
    ``forward(input1, input2, target)``."""

    _option_checks = option_checks(margin=number())

    def __init__(
        self, margin: float = 0.0, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return self._call(input1, input2, target)


class MarginRankingLoss(_PairMarginLoss):
    """Pairwise ranking hinge; see :func:`losskit.functional.margin_ranking_loss`.

    A drop-in for :class:`torch.nn.MarginRankingLoss`; ``forward(input1, input2, target)``.

    Example:
        >>> import torch
        >>> loss = MarginRankingLoss(margin=0.5)
        >>> loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0]))
        tensor(0.7500)
        >>> loss
        MarginRankingLoss(margin=0.5)
    """

    _functional = staticmethod(LF.margin_ranking_loss)


class HingeEmbeddingLoss(Loss):
    """Hinge embedding loss on distances; see :func:`losskit.functional.hinge_embedding_loss`.

    A drop-in for :class:`torch.nn.HingeEmbeddingLoss`.

    Example:
        >>> HingeEmbeddingLoss(margin=2.0, reduction="none")
        HingeEmbeddingLoss(margin=2.0, reduction='none')
    """

    _functional = staticmethod(LF.hinge_embedding_loss)
    _option_checks = _PairMarginLoss._option_checks

    def __init__(
        self, margin: float = 1.0, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class CosineEmbeddingLoss(_PairMarginLoss):
    """Cosine-similarity margin loss on pairs; see :func:`losskit.functional.cosine_embedding_loss`.

    A drop-in for :class:`torch.nn.CosineEmbeddingLoss`; ``forward(input1, input2, target)``.

    Example:
        >>> CosineEmbeddingLoss(margin=0.2)
        CosineEmbeddingLoss(margin=0.2)
    """

    _functional = staticmethod(LF.cosine_embedding_loss)


def _positive_margin(value: object, name: str, fn: str) -> float:
    margin = _checks.number(value, name, fn=fn)
    if not margin > 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin!r}; a typical value is 1.0")
    return margin


def _distance(value: object, name: str, fn: str) -> object:
    if value is not None and not callable(value):
        raise TypeError(f"{fn}: {name} must be callable or None, got {type(value).__name__}")
    return value


class TripletMarginLoss(Loss):
    """Triplet margin loss with an L_p distance; see :func:`losskit.functional.triplet_margin_loss`.

    A drop-in for :class:`torch.nn.TripletMarginLoss`; ``forward(anchor, positive, negative)``.

    Example:
        >>> TripletMarginLoss(margin=0.5, p=1.0, swap=True)
        TripletMarginLoss(margin=0.5, p=1.0, swap=True)
    """

    _functional = staticmethod(LF.triplet_margin_loss)
    _option_checks = option_checks(margin=_positive_margin, p=number(), eps=number(), swap=flag)

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return self._call(anchor, positive, negative)


class TripletMarginWithDistanceLoss(Loss):
    """Triplet margin loss with any distance; see :func:`losskit.functional.triplet_margin_with_distance_loss`.

    A drop-in for :class:`torch.nn.TripletMarginWithDistanceLoss` (keyword-only arguments, as in torch).

    Example:
        >>> TripletMarginWithDistanceLoss(margin=2.0, swap=True)
        TripletMarginWithDistanceLoss(margin=2.0, swap=True)
    """

    _functional = staticmethod(LF.triplet_margin_with_distance_loss)
    _option_checks = option_checks(distance_function=_distance, margin=_positive_margin, swap=flag)

    def __init__(
        self,
        *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return self._call(anchor, positive, negative)


class HingeLoss(Loss):
    """Binary SVM hinge; see :func:`losskit.functional.hinge_loss`.

    Example:
        >>> import torch
        >>> loss = HingeLoss(labels="01")
        >>> loss(torch.tensor([0.6, -0.7, -0.5]), torch.tensor([0, 1, 1]))
        tensor(1.6000)
        >>> loss
        HingeLoss(labels='01')
    """

    _functional = staticmethod(LF.hinge_loss)
    _option_checks = option_checks(labels=choice("pm1", "01"), margin=number())

    def __init__(self, *, labels: str = "pm1", margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)


class SquaredHingeLoss(HingeLoss):
    """Squared binary hinge (L2-SVM); see :func:`losskit.functional.squared_hinge_loss`.

    Example:
        >>> SquaredHingeLoss(margin=0.5)
        SquaredHingeLoss(margin=0.5)
    """

    _functional = staticmethod(LF.squared_hinge_loss)


class CategoricalHingeLoss(Loss):
    """Crammer-Singer multi-class hinge; see :func:`losskit.functional.categorical_hinge_loss`.

    Example:
        >>> import torch
        >>> CategoricalHingeLoss()(torch.tensor([[0.6, 0.4, -0.2]]), torch.tensor([1]))
        tensor(1.2000)
    """

    _functional = staticmethod(LF.categorical_hinge_loss)
    _option_checks = option_checks(margin=number())

    def __init__(self, *, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._call(logits, target)
