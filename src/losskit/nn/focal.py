"""Focal-family modules; each ``forward`` is one call into :mod:`losskit.functional` (see there for
formulas, the likelihood view and the reduction rules)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from ..functional import _focal
from ..functional._focal import (
    asymmetric_loss,
    focal_loss,
    poly1_cross_entropy,
    poly1_focal_loss,
    poly1_sigmoid_focal_loss,
    sigmoid_focal_loss,
)
from .._checks import check_label_smoothing
from .._reduction import check_all_ignored
from ..registry import LossSpec, register
from ._base import WeightedLoss

__all__ = [
    "SigmoidFocalLoss",
    "Poly1SigmoidFocalLoss",
    "AsymmetricLoss",
    "FocalLoss",
    "Poly1CrossEntropyLoss",
    "Poly1FocalLoss",
]


def _buffer_or_float(module: torch.nn.Module, name: str, value: Union[float, Tensor, None]) -> None:
    """Tensors become buffers (they follow ``.to()`` and ``state_dict``); numbers stay attributes."""
    if isinstance(value, Tensor):
        module.register_buffer(name, value)
    else:
        if value is not None:
            value = _focal._check_number(value, name)
        setattr(module, name, value)


class _FocalBase(WeightedLoss):
    def __init__(self, *, weight, reduction, all_ignored, label_smoothing=0.0, gamma=None,
                 alpha=None, epsilon=None) -> None:
        super().__init__(weight, reduction=reduction)
        self.all_ignored = check_all_ignored(all_ignored)
        self.label_smoothing = check_label_smoothing(label_smoothing, high_open=True)
        if gamma is not None:
            self.gamma = _focal._check_gamma(gamma)
        if epsilon is not None:
            self.epsilon = _focal._check_number(epsilon, "epsilon")
        _buffer_or_float(self, "alpha", alpha)
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
            _focal._checks.check_option(float(alpha), "alpha", low=0.0, high=1.0)


class SigmoidFocalLoss(_FocalBase):
    """Sigmoid focal loss for binary / multi-label targets; see
    :func:`losskit.functional.sigmoid_focal_loss`.

    Example:
        >>> loss = SigmoidFocalLoss(alpha=0.25)
        >>> round(loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])).item(), 5)
        0.00872
    """

    def __init__(self, alpha: Union[float, Tensor, None] = None, gamma: float = 2.0,
                 weight: Optional[Tensor] = None, pos_weight: Optional[Tensor] = None,
                 label_smoothing: float = 0.0, ignore_index: Optional[float] = None,
                 reduction: str = "mean", all_ignored: str = "nan") -> None:
        super().__init__(weight=weight, reduction=reduction, all_ignored=all_ignored,
                         label_smoothing=label_smoothing, gamma=gamma, alpha=alpha)
        self.register_buffer("pos_weight", pos_weight)
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return sigmoid_focal_loss(
            logits, target, alpha=self.alpha, gamma=self.gamma, weight=self.weight, pos_weight=self.pos_weight,
            label_smoothing=self.label_smoothing, ignore_index=self.ignore_index, reduction=self.reduction,
            all_ignored=self.all_ignored,
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha if not isinstance(self.alpha, Tensor) else 'tensor'}, gamma={self.gamma}, " + super().extra_repr()


class Poly1SigmoidFocalLoss(SigmoidFocalLoss):
    """Poly-1 sigmoid focal loss; see :func:`losskit.functional.poly1_sigmoid_focal_loss`.

    Example:
        >>> loss = Poly1SigmoidFocalLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])).item(), 5)
        0.0228
    """

    def __init__(self, epsilon: float = 1.0, alpha: Union[float, Tensor, None] = None, gamma: float = 2.0,
                 weight: Optional[Tensor] = None, pos_weight: Optional[Tensor] = None,
                 label_smoothing: float = 0.0, ignore_index: Optional[float] = None,
                 reduction: str = "mean", all_ignored: str = "nan") -> None:
        super().__init__(alpha, gamma, weight, pos_weight, label_smoothing, ignore_index, reduction, all_ignored)
        self.epsilon = _focal._check_number(epsilon, "epsilon")

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return poly1_sigmoid_focal_loss(
            logits, target, epsilon=self.epsilon, alpha=self.alpha, gamma=self.gamma, weight=self.weight,
            pos_weight=self.pos_weight, label_smoothing=self.label_smoothing, ignore_index=self.ignore_index,
            reduction=self.reduction, all_ignored=self.all_ignored,
        )


class AsymmetricLoss(_FocalBase):
    """Asymmetric loss (ASL) for multi-label targets; see :func:`losskit.functional.asymmetric_loss`.

    Example:
        >>> loss = AsymmetricLoss(reduction="sum")
        >>> round(loss(torch.tensor([[2.0, -1.0]]), torch.tensor([[1.0, 0.0]])).item(), 5)
        0.1275
    """

    def __init__(self, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05,
                 weight: Optional[Tensor] = None, ignore_index: Optional[float] = None,
                 reduction: str = "mean", all_ignored: str = "nan") -> None:
        super().__init__(weight=weight, reduction=reduction, all_ignored=all_ignored)
        self.gamma_pos = _focal._check_gamma(gamma_pos, "gamma_pos")
        self.gamma_neg = _focal._check_gamma(gamma_neg, "gamma_neg")
        self.clip = _focal._check_number(clip, "clip")
        _focal._checks.check_option(self.clip, "clip", low=0.0, high=1.0, high_open=True)
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return asymmetric_loss(
            logits, target, gamma_pos=self.gamma_pos, gamma_neg=self.gamma_neg, clip=self.clip, weight=self.weight,
            ignore_index=self.ignore_index, reduction=self.reduction, all_ignored=self.all_ignored,
        )

    def extra_repr(self) -> str:
        return f"gamma_pos={self.gamma_pos}, gamma_neg={self.gamma_neg}, clip={self.clip}, " + super().extra_repr()


class FocalLoss(_FocalBase):
    """Multi-class (softmax) focal loss; see :func:`losskit.functional.focal_loss`.

    Example:
        >>> loss = FocalLoss(gamma=2.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.01109
    """

    def __init__(self, alpha: Union[float, Tensor, None] = None, gamma: float = 2.0,
                 weight: Optional[Tensor] = None, ignore_index: Optional[int] = -100,
                 label_smoothing: float = 0.0, reduction: str = "mean", all_ignored: str = "nan") -> None:
        super().__init__(weight=weight, reduction=reduction, all_ignored=all_ignored,
                         label_smoothing=label_smoothing, gamma=gamma, alpha=alpha)
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return focal_loss(
            logits, target, alpha=self.alpha, gamma=self.gamma, weight=self.weight, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, reduction=self.reduction, all_ignored=self.all_ignored,
        )

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, ignore_index={self.ignore_index}, " + super().extra_repr()


class Poly1CrossEntropyLoss(_FocalBase):
    """Poly-1 cross-entropy; see :func:`losskit.functional.poly1_cross_entropy`.

    Example:
        >>> loss = Poly1CrossEntropyLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.45571
    """

    def __init__(self, epsilon: float = 1.0, weight: Optional[Tensor] = None, ignore_index: Optional[int] = -100,
                 label_smoothing: float = 0.0, reduction: str = "mean", all_ignored: str = "nan") -> None:
        super().__init__(weight=weight, reduction=reduction, all_ignored=all_ignored,
                         label_smoothing=label_smoothing, epsilon=epsilon)
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return poly1_cross_entropy(
            logits, target, epsilon=self.epsilon, weight=self.weight, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, reduction=self.reduction, all_ignored=self.all_ignored,
        )


class Poly1FocalLoss(_FocalBase):
    """Poly-1 softmax focal loss; see :func:`losskit.functional.poly1_focal_loss`.

    Example:
        >>> loss = Poly1FocalLoss(epsilon=1.0)
        >>> round(loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0])).item(), 5)
        0.02095
    """

    def __init__(self, epsilon: float = 1.0, alpha: Union[float, Tensor, None] = None, gamma: float = 2.0,
                 weight: Optional[Tensor] = None, ignore_index: Optional[int] = -100,
                 label_smoothing: float = 0.0, reduction: str = "mean", all_ignored: str = "nan") -> None:
        super().__init__(weight=weight, reduction=reduction, all_ignored=all_ignored,
                         label_smoothing=label_smoothing, gamma=gamma, alpha=alpha, epsilon=epsilon)
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return poly1_focal_loss(
            logits, target, epsilon=self.epsilon, alpha=self.alpha, gamma=self.gamma, weight=self.weight,
            ignore_index=self.ignore_index, label_smoothing=self.label_smoothing, reduction=self.reduction,
            all_ignored=self.all_ignored,
        )


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------


def _multilabel_example(g: torch.Generator, **kwargs):
    logits = (2 * torch.randn(4, 3, 2, generator=g, dtype=torch.float64)).requires_grad_(True)
    target = torch.randint(0, 2, (4, 3, 2), generator=g).to(torch.float64)
    return (logits, target), kwargs


def _multiclass_example(g: torch.Generator, **kwargs):
    logits = (2 * torch.randn(5, 4, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    target = torch.randint(0, 4, (5, 3), generator=g)
    return (logits, target), kwargs


register(LossSpec(
    name="sigmoid_focal_loss", functional=sigmoid_focal_loss, module=SigmoidFocalLoss, family="classification",
    takes="logits", summary="Bernoulli NLL reweighted by (1-p_t)^gamma and alpha_t (Lin et al. 2017)",
    example=lambda g: _multilabel_example(g, alpha=0.25, gamma=2.0), kernel="sigmoid_focal_loss",
))
register(LossSpec(
    name="poly1_sigmoid_focal_loss", functional=poly1_sigmoid_focal_loss, module=Poly1SigmoidFocalLoss,
    family="classification", takes="logits",
    summary="sigmoid focal loss + epsilon (1-p_t)^(gamma+1) (PolyLoss, Leng et al. 2022)",
    example=lambda g: _multilabel_example(g, epsilon=1.0, gamma=2.0),
))
register(LossSpec(
    name="asymmetric_loss", functional=asymmetric_loss, module=AsymmetricLoss, family="classification",
    takes="logits", summary="multi-label Bernoulli NLL with asymmetric focusing and negative shifting (ASL)",
    example=lambda g: _multilabel_example(g, gamma_pos=1.0, gamma_neg=4.0, clip=0.05),
))
register(LossSpec(
    name="focal_loss", functional=focal_loss, module=FocalLoss, family="classification", takes="logits",
    summary="Categorical NLL reweighted by (1-p_c)^gamma and alpha_c (softmax focal loss)",
    example=lambda g: _multiclass_example(g, gamma=2.0, alpha=torch.tensor([0.5, 1.0, 1.5, 1.0], dtype=torch.float64)),
))
register(LossSpec(
    name="poly1_cross_entropy", functional=poly1_cross_entropy, module=Poly1CrossEntropyLoss,
    family="classification", takes="logits", summary="cross-entropy + epsilon (1-p_t) (PolyLoss, Leng et al. 2022)",
    example=lambda g: _multiclass_example(g, epsilon=1.0),
))
register(LossSpec(
    name="poly1_focal_loss", functional=poly1_focal_loss, module=Poly1FocalLoss, family="classification",
    takes="logits", summary="softmax focal loss + epsilon (1-p_t)^(gamma+1) (PolyLoss)",
    example=lambda g: _multiclass_example(g, epsilon=1.0, gamma=2.0),
))
