"""``nn.Module`` form of :func:`losskit.functional.linear_cross_entropy` (see there for the math)."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

from ..functional._linear import linear_cross_entropy
from ..registry import LossSpec, register
from ._base import WeightedLoss

__all__ = ["LinearCrossEntropyLoss"]


class LinearCrossEntropyLoss(WeightedLoss):
    """Cross-entropy of a linear projection, chunked so that the logits never exist at once.

    Two ways to build it:

    * like ``torch.nn.LinearCrossEntropyLoss`` (torch 2.13), owning the projection:
      ``LinearCrossEntropyLoss(in_features, num_classes, bias=False, ...)``, then
      ``loss(input, target)``; the projection is ``self.linear`` (an ``nn.Linear``);
    * without ``in_features``: the projection is passed at call time, e.g. a language model's tied
      output embedding: ``loss(hidden, lm_head.weight, target, linear_bias=None)``.

    Options are those of :func:`losskit.functional.linear_cross_entropy`; ``weight`` is a buffer.

    Shape:
        - input: ``(N, H)`` or ``(H,)``; target: ``(N,)`` / ``()`` class indices or ``(N, C)`` probabilities.
        - output: ``(N,)`` for ``reduction="none"``, else a scalar.

    Example:
        >>> import torch
        >>> from losskit.nn import LinearCrossEntropyLoss
        >>> _ = torch.manual_seed(0)
        >>> crit = LinearCrossEntropyLoss(8, 5, bias=True)
        >>> x, y = torch.randn(4, 8), torch.tensor([0, 4, 2, 2])
        >>> torch.allclose(crit(x, y), torch.nn.functional.cross_entropy(crit.linear(x), y))
        True
    """

    def __init__(self, in_features: Optional[int] = None, num_classes: Optional[int] = None, *,
                 out_features: tuple[int, ...] = (), bias: bool = False, device=None, dtype=None,
                 reduction: str = "mean", weight: Optional[Tensor] = None, ignore_index: Optional[int] = None,
                 label_smoothing: float = 0.0, chunk_size: Optional[int] = None, all_ignored: str = "nan") -> None:
        super().__init__(weight, reduction=reduction)
        if (in_features is None) != (num_classes is None):
            raise ValueError("give both in_features and num_classes (to own the projection), or neither "
                             f"(to pass linear_weight at call time); got in_features={in_features!r}, "
                             f"num_classes={num_classes!r}")
        self.out_features = tuple(out_features)
        self.num_classes = num_classes
        self.linear: Optional[nn.Linear] = None
        if in_features is not None:
            outs = num_classes * math.prod(self.out_features)
            self.linear = nn.Linear(in_features, outs, bias=bias, device=device, dtype=dtype)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.chunk_size = chunk_size
        self.all_ignored = all_ignored

    def forward(self, input: Tensor, *args: Tensor, linear_bias: Optional[Tensor] = None) -> Tensor:
        if self.linear is not None:
            if len(args) != 1 or linear_bias is not None:
                raise TypeError("this LinearCrossEntropyLoss owns its projection: call it as loss(input, target)")
            (target,) = args
            shape = (self.num_classes, *self.out_features)
            lw = self.linear.weight.view(*shape, self.linear.in_features)
            lb = None if self.linear.bias is None else self.linear.bias.view(shape)
        else:
            if len(args) == 3 and linear_bias is None:
                lw, target, linear_bias = args
            elif len(args) == 2:
                lw, target = args
            else:
                raise TypeError("call as loss(input, linear_weight, target, linear_bias=None) "
                                "(or build the module with in_features and num_classes)")
            lb = linear_bias
        return linear_cross_entropy(input, lw, target, linear_bias=lb, weight=self.weight, reduction=self.reduction,
                                    ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
                                    chunk_size=self.chunk_size, all_ignored=self.all_ignored)

    def extra_repr(self) -> str:
        return (f"reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, chunk_size={self.chunk_size}")


def _example(g: torch.Generator):
    x = torch.randn(7, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(11, 5, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(11, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 11, (7,), generator=g)
    y[2] = -100
    return (x, w, y), {"linear_bias": b, "chunk_size": 3}


register(LossSpec(
    name="linear_cross_entropy",
    functional=linear_cross_entropy,
    module=LinearCrossEntropyLoss,
    family="classification",
    takes="values",  # features before the output projection: neither logits nor probabilities
    summary="Categorical NLL of a linear projection, chunked: the (tokens x classes) logits never exist",
    example=_example,
    torch_twin="linear_cross_entropy",
    kernel="linear_cross_entropy",
))
