"""Cross-entropy modules: ``CrossEntropyLoss``, ``NLLLoss`` (torch's twins) and ``LinearCrossEntropyLoss``.

Each takes torch's constructor arguments in torch's order (losskit's extensions are keyword-only
after them), stores weights as buffers, and its ``forward`` is one call into
:mod:`losskit.functional`; see the functional for the formula.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from .. import functional as LF
from ._base import WeightedLoss, given, ignored, number, option_checks, optional, smoothing

__all__ = ["CrossEntropyLoss", "NLLLoss", "LinearCrossEntropyLoss", "GeneralizedCrossEntropyLoss"]

# The options of the losses on class-index targets (torch's CrossEntropyLoss allows label_smoothing=1).
CLASS_CHECKS = option_checks(ignore_index=ignored(), label_smoothing=smoothing(high_open=False))


class CrossEntropyLoss(WeightedLoss):
    """Softmax cross-entropy; see :func:`losskit.functional.cross_entropy`.

    A drop-in for :class:`torch.nn.CrossEntropyLoss` (same arguments, same order) plus
    ``z_loss``, ``softcap`` and ``all_ignored``.

    Example:
        >>> import torch
        >>> loss = CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 1.0]), label_smoothing=0.1)
        >>> print(round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([1])).item(), 4))
        1.6833
        >>> loss
        CrossEntropyLoss(weight=<tensor (3,)>, label_smoothing=0.1)
    """

    _functional = staticmethod(LF.cross_entropy)
    _option_checks = option_checks(
        CLASS_CHECKS,
        z_loss=number(low=0.0),
        softcap=optional(number(low=0.0, low_open=True)),
    )

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int | None = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        *,
        z_loss: float = 0.0,
        softcap: float | None = None,
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(logits, target, sample_weight=sample_weight)


class NLLLoss(WeightedLoss):
    """Negative log-likelihood of class indices; see :func:`losskit.functional.nll_loss`.

    A drop-in for :class:`torch.nn.NLLLoss` plus ``all_ignored``.

    Example:
        >>> import torch
        >>> log_probs = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))
        >>> print(round(NLLLoss()(log_probs, torch.tensor([0])).item(), 4))
        0.3567
    """

    _functional = staticmethod(LF.nll_loss)
    _option_checks = CLASS_CHECKS

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int | None = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        *,
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, log_probs: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(log_probs, target, sample_weight=sample_weight)


class GeneralizedCrossEntropyLoss(WeightedLoss):
    """Noise-robust generalized cross-entropy; see :func:`losskit.functional.generalized_cross_entropy`.

    Example:
        >>> import torch
        >>> loss = GeneralizedCrossEntropyLoss(q=0.7)
        >>> print(round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 4))
        0.222
    """

    _functional = staticmethod(LF.generalized_cross_entropy)
    _option_checks = option_checks(CLASS_CHECKS, q=number(low=0.0, high=1.0, low_open=True))

    def __init__(
        self,
        *,
        q: float = 0.7,
        weight: Tensor | None = None,
        ignore_index: int | None = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, logits: Tensor, target: Tensor, *, sample_weight: Tensor | None = None) -> Tensor:
        return self._call(logits, target, sample_weight=sample_weight)


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

    _functional = staticmethod(LF.linear_cross_entropy)
    _option_checks = CLASS_CHECKS
    _not_options = ("in_features", "num_classes", "out_features", "bias", "device", "dtype")

    def __init__(
        self,
        in_features: int | None = None,
        num_classes: int | None = None,
        *,
        out_features: tuple[int, ...] = (),
        bias: bool = False,
        device=None,
        dtype=None,
        reduction: str = "mean",
        weight: Tensor | None = None,
        ignore_index: int | None = -100,
        label_smoothing: float = 0.0,
        chunk_size: int | None = None,
        all_ignored: str = "nan",
    ) -> None:
        super().__init__(**given(locals()))
        if (in_features is None) != (num_classes is None):
            raise ValueError(
                "give both in_features and num_classes (to own the projection), or neither "
                f"(to pass linear_weight at call time); got in_features={in_features!r}, "
                f"num_classes={num_classes!r}"
            )
        self.out_features = tuple(out_features)
        self.num_classes = num_classes
        self.linear: nn.Linear | None = None
        if in_features is not None and num_classes is not None:  # given together, checked above
            outs = num_classes * math.prod(self.out_features)
            self.linear = nn.Linear(in_features, outs, bias=bias, device=device, dtype=dtype)

    def forward(self, input: Tensor, *args: Tensor, linear_bias: Tensor | None = None) -> Tensor:
        lb: Tensor | None
        if self.linear is not None:
            if len(args) != 1 or linear_bias is not None:
                raise TypeError("this LinearCrossEntropyLoss owns its projection: call it as loss(input, target)")
            (target,) = args
            assert self.num_classes is not None  # set whenever the module owns its projection
            shape = (self.num_classes, *self.out_features)
            lw = self.linear.weight.view(*shape, self.linear.in_features)
            lb = None if self.linear.bias is None else self.linear.bias.view(shape)
        else:
            if len(args) == 3 and linear_bias is None:
                lw, target, linear_bias = args
            elif len(args) == 2:
                lw, target = args
            else:
                raise TypeError(
                    "call as loss(input, linear_weight, target, linear_bias=None) "
                    "(or build the module with in_features and num_classes)"
                )
            lb = linear_bias
        return self._call(input, lw, target, linear_bias=lb)
