"""Module twins of torch's classification losses (``torch.nn.CrossEntropyLoss`` & co.).

Each module takes torch's constructor arguments in torch's order (losskit's extensions are
keyword-only after them), stores weights as buffers (they follow ``.to()`` and ``state_dict``),
and its ``forward`` is one call into :mod:`losskit.functional`; see the functional for the formula.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .. import functional as LF
from ..registry import LossSpec, register
from ._base import Loss, WeightedLoss

__all__ = [
    "SoftMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "MultiLabelMarginLoss",
]


class SoftMarginLoss(Loss):
    """Logistic loss on ±1 labels; see :func:`losskit.functional.soft_margin_loss`.

    Example:
        >>> import torch
        >>> print(round(SoftMarginLoss()(torch.tensor([2.0]), torch.tensor([1.0])).item(), 4))
        0.1269
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(WeightedLoss):
    """Per-class logistic loss averaged over classes; see
    :func:`losskit.functional.multilabel_soft_margin_loss`.

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

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(MultiMarginLoss()(x, torch.tensor([3])).item(), 4))
        0.325
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Optional[Tensor] = None,
                 size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2 (as in torch), got {p!r}")
        self.p = p
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(Loss):
    """Multi-label hinge loss on -1-padded label lists; see
    :func:`losskit.functional.multilabel_margin_loss`.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(MultiLabelMarginLoss()(x, torch.tensor([[3, 0, -1, 1]])).item(), 4))
        0.85
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.multilabel_margin_loss(input, target, reduction=self.reduction)


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------


def _randn(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()


def _class_weight(g: torch.Generator, c: int) -> Tensor:
    return torch.rand(c, generator=g, dtype=torch.float64) + 0.5


def _ex_cross_entropy(g):
    target = torch.randint(0, 5, (4, 3), generator=g)
    target[0, 0] = -100
    return (_randn(g, 4, 5, 3), target), {"weight": _class_weight(g, 5), "label_smoothing": 0.1}


def _ex_nll_loss(g):
    log_probs = torch.log_softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1).requires_grad_()
    target = torch.randint(0, 4, (6,), generator=g)
    target[0] = -100
    return (log_probs, target), {"weight": _class_weight(g, 4)}


def _ex_soft_margin(g):
    return (_randn(g, 6, 3), torch.randint(0, 2, (6, 3), generator=g).double() * 2 - 1), {}


def _ex_multilabel_soft_margin(g):
    return (_randn(g, 6, 4), torch.randint(0, 2, (6, 4), generator=g).double()), {"weight": _class_weight(g, 4)}


def _ex_multi_margin(g):
    return (_randn(g, 6, 4), torch.randint(0, 4, (6,), generator=g)), {"p": 2, "margin": 1.5,
                                                                       "weight": _class_weight(g, 4)}


def _ex_multilabel_margin(g):
    target = torch.tensor([[3, 0, -1, 1], [1, -1, 0, 0], [0, 1, 2, -1], [2, -1, -1, -1]])
    return (_randn(g, 4, 4), target), {}


for _spec in (
    LossSpec("soft_margin_loss", LF.soft_margin_loss, SoftMarginLoss, "classification", "logits",
             "logistic loss on ±1 labels, softplus(-y x)", _ex_soft_margin, torch_twin="soft_margin_loss"),
    LossSpec("multilabel_soft_margin_loss", LF.multilabel_soft_margin_loss, MultiLabelSoftMarginLoss,
             "classification", "logits", "multi-label sigmoid cross-entropy averaged over classes",
             _ex_multilabel_soft_margin, torch_twin="multilabel_soft_margin_loss"),
    LossSpec("multi_margin_loss", LF.multi_margin_loss, MultiMarginLoss, "classification", "logits",
             "multi-class hinge loss (margin against every wrong class)", _ex_multi_margin,
             torch_twin="multi_margin_loss"),
    LossSpec("multilabel_margin_loss", LF.multilabel_margin_loss, MultiLabelMarginLoss, "classification",
             "logits", "multi-label hinge loss on -1-padded label lists", _ex_multilabel_margin,
             torch_twin="multilabel_margin_loss"),
):
    register(_spec)
del _spec
