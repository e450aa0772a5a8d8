"""Margin (hinge) loss modules for ranking and metric learning (torch.nn twins).

Each class takes torch's constructor arguments in torch's order; ``forward`` is one call into the
functional, which documents the formula and what the loss is for. These are margin losses, not
likelihoods.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from .. import functional as F
from ..registry import LossSpec, register
from ._base import Loss

__all__ = [
    "MarginRankingLoss",
    "HingeEmbeddingLoss",
    "CosineEmbeddingLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]


class MarginRankingLoss(Loss):
    """Pairwise ranking hinge; see :func:`losskit.functional.margin_ranking_loss`.

    A drop-in for :class:`torch.nn.MarginRankingLoss`; ``forward(input1, input2, target)``.
    """

    def __init__(self, margin: float = 0.0, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, margin={self.margin}"


class HingeEmbeddingLoss(Loss):
    """Hinge embedding loss on distances; see :func:`losskit.functional.hinge_embedding_loss`.

    A drop-in for :class:`torch.nn.HingeEmbeddingLoss`.
    """

    def __init__(self, margin: float = 1.0, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, margin={self.margin}"


class CosineEmbeddingLoss(Loss):
    """Cosine-similarity margin loss on pairs; see :func:`losskit.functional.cosine_embedding_loss`.

    A drop-in for :class:`torch.nn.CosineEmbeddingLoss`; ``forward(input1, input2, target)``.
    """

    def __init__(self, margin: float = 0.0, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, margin={self.margin}"


class TripletMarginLoss(Loss):
    """Triplet margin loss with an L_p distance; see :func:`losskit.functional.triplet_margin_loss`.

    A drop-in for :class:`torch.nn.TripletMarginLoss`; ``forward(anchor, positive, negative)``.
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Optional[bool] = None, reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin!r}; a typical value is 1.0")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                     swap=self.swap, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, margin={self.margin}, p={self.p}, eps={self.eps}, swap={self.swap}"


class TripletMarginWithDistanceLoss(Loss):
    """Triplet margin loss with any distance; see :func:`losskit.functional.triplet_margin_with_distance_loss`.

    A drop-in for :class:`torch.nn.TripletMarginWithDistanceLoss` (keyword-only arguments, as in torch).
    """

    def __init__(self, *, distance_function: Optional[Callable[[Tensor, Tensor], Tensor]] = None,
                 margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginWithDistanceLoss: margin must be greater than 0, got {margin!r}; a typical value is 1.0"
            )
        if distance_function is not None and not callable(distance_function):
            raise TypeError(f"distance_function must be callable or None, got {type(distance_function).__name__}")
        self.distance_function = distance_function
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                   margin=self.margin, swap=self.swap, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, margin={self.margin}, swap={self.swap}"


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------


def _signs(n: int, g: torch.Generator) -> Tensor:
    return torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1


def _margin_ranking_example(g: torch.Generator):
    x1 = torch.randn(16, generator=g, dtype=torch.float64).requires_grad_()
    x2 = torch.randn(16, generator=g, dtype=torch.float64).requires_grad_()
    return (x1, x2, _signs(16, g)), {"margin": 0.5}


def _hinge_example(g: torch.Generator):
    d = (torch.rand(16, generator=g, dtype=torch.float64) * 2).requires_grad_()
    return (d, _signs(16, g)), {"margin": 1.0}


def _cosine_example(g: torch.Generator):
    a = torch.randn(8, 6, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(8, 6, generator=g, dtype=torch.float64).requires_grad_()
    return (a, b, _signs(8, g)), {"margin": 0.2}


def _triplet_tensors(g: torch.Generator):
    a = torch.randn(8, 6, generator=g, dtype=torch.float64).requires_grad_()
    p = torch.randn(8, 6, generator=g, dtype=torch.float64).requires_grad_()
    n = torch.randn(8, 6, generator=g, dtype=torch.float64).requires_grad_()
    return a, p, n


def _triplet_example(g: torch.Generator):
    return _triplet_tensors(g), {"margin": 2.0, "swap": True}


def _triplet_distance_example(g: torch.Generator):
    return _triplet_tensors(g), {"margin": 2.0}


for _spec in (
    LossSpec("margin_ranking_loss", F.margin_ranking_loss, MarginRankingLoss, family="ranking", takes="values",
             summary="pairwise ranking hinge on a score difference (a margin loss, not a likelihood)",
             example=_margin_ranking_example, torch_twin="margin_ranking_loss"),
    LossSpec("hinge_embedding_loss", F.hinge_embedding_loss, HingeEmbeddingLoss, family="ranking", takes="values",
             summary="hinge on distances of similar/dissimilar pairs (margin loss)", example=_hinge_example,
             torch_twin="hinge_embedding_loss"),
    LossSpec("cosine_embedding_loss", F.cosine_embedding_loss, CosineEmbeddingLoss, family="ranking",
             takes="values", summary="cosine-similarity margin loss on embedding pairs", example=_cosine_example,
             torch_twin="cosine_embedding_loss"),
    LossSpec("triplet_margin_loss", F.triplet_margin_loss, TripletMarginLoss, family="ranking", takes="values",
             summary="triplet margin loss with an L_p distance (metric learning)", example=_triplet_example,
             torch_twin="triplet_margin_loss"),
    LossSpec("triplet_margin_with_distance_loss", F.triplet_margin_with_distance_loss,
             TripletMarginWithDistanceLoss, family="ranking", takes="values",
             summary="triplet margin loss with any distance function", example=_triplet_distance_example,
             torch_twin="triplet_margin_with_distance_loss"),
):
    register(_spec)
