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
    "BCELoss",
    "BCEWithLogitsLoss",
]


class BCEWithLogitsLoss(WeightedLoss):
    """Binary cross-entropy on logits; see :func:`losskit.functional.binary_cross_entropy_with_logits`.

    A drop-in for :class:`torch.nn.BCEWithLogitsLoss` (``pos_weight`` is a buffer too) plus
    ``label_smoothing`` (targets smoothed to :math:`y(1-\\varepsilon) + \\varepsilon/2`).

    Example:
        >>> import torch
        >>> loss = BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
        >>> print(round(loss(torch.tensor([0.5]), torch.tensor([1.0])).item(), 4))
        0.9482
    """

    pos_weight: Optional[Tensor]

    def __init__(self, weight: Optional[Tensor] = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean", pos_weight: Optional[Tensor] = None,
                 *, label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            pos_weight = torch.as_tensor(pos_weight, dtype=torch.get_default_dtype())
        self.register_buffer("pos_weight", pos_weight)
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.binary_cross_entropy_with_logits(logits, target, self.weight, None, None, self.reduction,
                                                   self.pos_weight, label_smoothing=self.label_smoothing)


class BCELoss(WeightedLoss):
    """Binary cross-entropy on probabilities; see :func:`losskit.functional.binary_cross_entropy`.

    A drop-in for :class:`torch.nn.BCELoss` plus ``label_smoothing``. Prefer
    :class:`BCEWithLogitsLoss` on raw scores.

    Example:
        >>> import torch
        >>> print(round(BCELoss()(torch.tensor([0.9]), torch.tensor([1.0])).item(), 4))
        0.1054
    """

    def __init__(self, weight: Optional[Tensor] = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean", *, label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, probs: Tensor, target: Tensor) -> Tensor:
        return LF.binary_cross_entropy(probs, target, self.weight, None, None, self.reduction,
                                       label_smoothing=self.label_smoothing)


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


def _ex_bce_logits(g):
    target = torch.randint(0, 2, (6, 3), generator=g).double()
    return (_randn(g, 6, 3), target), {"pos_weight": _class_weight(g, 3), "label_smoothing": 0.05}


def _ex_bce(g):
    probs = torch.rand(6, 3, generator=g, dtype=torch.float64).mul(0.98).add(0.01).requires_grad_()
    return (probs, torch.randint(0, 2, (6, 3), generator=g).double()), {"weight": _class_weight(g, 3)}


for _spec in (
    LossSpec("binary_cross_entropy_with_logits", LF.binary_cross_entropy_with_logits, BCEWithLogitsLoss,
             "classification", "logits", "sigmoid binary cross-entropy (Bernoulli NLL): pos_weight, label smoothing",
             _ex_bce_logits, torch_twin="binary_cross_entropy_with_logits",
             kernel="binary_cross_entropy_with_logits"),
    LossSpec("binary_cross_entropy", LF.binary_cross_entropy, BCELoss, "classification", "probs",
             "binary cross-entropy on probabilities (Bernoulli NLL, no link)", _ex_bce,
             torch_twin="binary_cross_entropy"),
):
    register(_spec)
del _spec
