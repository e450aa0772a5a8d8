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
from ._base import Loss, WeightedLoss

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

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.soft_margin_loss(input, target, reduction=self.reduction)


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

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


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

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if isinstance(p, bool) or p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2 (as in torch), got {p!r}")
        self.p = p
        self.margin = _checks.number(margin, "margin", fn="MultiMarginLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)


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

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multilabel_margin_loss(input, target, reduction=self.reduction)


class MarginRankingLoss(Loss):
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

    def __init__(
        self, margin: float = 0.0, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = _checks.number(margin, "margin", fn="MarginRankingLoss")

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return LF.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(Loss):
    """Hinge embedding loss on distances; see :func:`losskit.functional.hinge_embedding_loss`.

    A drop-in for :class:`torch.nn.HingeEmbeddingLoss`.

    Example:
        >>> HingeEmbeddingLoss(margin=2.0, reduction="none")
        HingeEmbeddingLoss(margin=2.0, reduction='none')
    """

    def __init__(
        self, margin: float = 1.0, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = _checks.number(margin, "margin", fn="HingeEmbeddingLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(Loss):
    """Cosine-similarity margin loss on pairs; see :func:`losskit.functional.cosine_embedding_loss`.

    A drop-in for :class:`torch.nn.CosineEmbeddingLoss`; ``forward(input1, input2, target)``.

    Example:
        >>> CosineEmbeddingLoss(margin=0.2)
        CosineEmbeddingLoss(margin=0.2)
    """

    def __init__(
        self, margin: float = 0.0, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = _checks.number(margin, "margin", fn="CosineEmbeddingLoss")

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return LF.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


def _positive_margin(margin: object, fn: str) -> float:
    margin = _checks.number(margin, "margin", fn=fn)
    if not margin > 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin!r}; a typical value is 1.0")
    return margin


class TripletMarginLoss(Loss):
    """Triplet margin loss with an L_p distance; see :func:`losskit.functional.triplet_margin_loss`.

    A drop-in for :class:`torch.nn.TripletMarginLoss`; ``forward(anchor, positive, negative)``.

    Example:
        >>> TripletMarginLoss(margin=0.5, p=1.0, swap=True)
        TripletMarginLoss(margin=0.5, p=1.0, swap=True)
    """

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
        super().__init__(size_average, reduce, reduction)
        self.margin = _positive_margin(margin, "TripletMarginLoss")
        self.p = _checks.number(p, "p", fn="TripletMarginLoss")
        self.eps = _checks.number(eps, "eps", fn="TripletMarginLoss")
        self.swap = _checks.flag(swap, "swap", fn="TripletMarginLoss")

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return LF.triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
        )


class TripletMarginWithDistanceLoss(Loss):
    """Triplet margin loss with any distance; see :func:`losskit.functional.triplet_margin_with_distance_loss`.

    A drop-in for :class:`torch.nn.TripletMarginWithDistanceLoss` (keyword-only arguments, as in torch).

    Example:
        >>> TripletMarginWithDistanceLoss(margin=2.0, swap=True)
        TripletMarginWithDistanceLoss(margin=2.0, swap=True)
    """

    def __init__(
        self,
        *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        self.margin = _positive_margin(margin, "TripletMarginWithDistanceLoss")
        if distance_function is not None and not callable(distance_function):
            raise TypeError(
                "TripletMarginWithDistanceLoss: distance_function must be callable or None, got "
                f"{type(distance_function).__name__}"
            )
        self.distance_function = distance_function
        self.swap = _checks.flag(swap, "swap", fn="TripletMarginWithDistanceLoss")

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return LF.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


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

    _fn = staticmethod(LF.hinge_loss)

    def __init__(self, *, labels: str = "pm1", margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        name = type(self).__name__
        self.labels = _checks.choice(labels, "labels", ("pm1", "01"), fn=name)
        self.margin = _checks.number(margin, "margin", fn=name)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self._fn(logits, target, labels=self.labels, margin=self.margin, reduction=self.reduction)


class SquaredHingeLoss(HingeLoss):
    """Squared binary hinge (L2-SVM); see :func:`losskit.functional.squared_hinge_loss`.

    Example:
        >>> SquaredHingeLoss(margin=0.5)
        SquaredHingeLoss(margin=0.5)
    """

    _fn = staticmethod(LF.squared_hinge_loss)


class CategoricalHingeLoss(Loss):
    """Crammer-Singer multi-class hinge; see :func:`losskit.functional.categorical_hinge_loss`.

    Example:
        >>> import torch
        >>> CategoricalHingeLoss()(torch.tensor([[0.6, 0.4, -0.2]]), torch.tensor([1]))
        tensor(1.2000)
    """

    def __init__(self, *, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.margin = _checks.number(margin, "margin", fn="CategoricalHingeLoss")

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.categorical_hinge_loss(logits, target, margin=self.margin, reduction=self.reduction)
