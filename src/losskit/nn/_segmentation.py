"""Overlap (segmentation) losses as modules: Dice, Tversky, focal Tversky, Jaccard.

Each module stores its options (``weight`` as a buffer) and its ``forward`` is one call into
:mod:`losskit.functional` (:func:`~losskit.functional.dice_loss` and its siblings), whose
docstrings give the formulas and the conventions on modes, smoothing, empty classes and masking.
"""

from __future__ import annotations

from torch import Tensor

from .. import _checks
from .. import functional as LF
from .._options import WEIGHTING, lovasz_options, overlap_options
from ._base import Loss, WeightedLoss

__all__ = [
    "DiceLoss",
    "TverskyLoss",
    "FocalTverskyLoss",
    "JaccardLoss",
    "GeneralizedDiceLoss",
    "LovaszHingeLoss",
    "LovaszSoftmaxLoss",
    "MCCLoss",
]


class _OverlapLoss(WeightedLoss):
    _fn_name = ""

    def __init__(
        self,
        mode: str = "multiclass",
        *,
        from_logits: bool = True,
        weight: Tensor | None = None,
        ignore_index: int | None = None,
        smooth: float = 0.0,
        eps: float = 1e-7,
        per_image: bool = False,
        include_background: bool = True,
        empty: str = "exclude",
        reduction: str = "mean",
        **extra,
    ) -> None:
        super().__init__(weight, reduction=reduction)
        overlap_options(
            self._fn_name,
            mode=mode,
            smooth=smooth,
            eps=eps,
            empty=empty,
            include_background=include_background,
            reduction=reduction,
            **extra,
        )
        self.mode = mode
        self.from_logits = from_logits
        self.ignore_index = ignore_index
        self.smooth = smooth
        self.eps = eps
        self.per_image = per_image
        self.include_background = include_background
        self.empty = empty

    def _options(self) -> dict:
        return dict(
            mode=self.mode,
            from_logits=self.from_logits,
            weight=self.weight,
            ignore_index=self.ignore_index,
            smooth=self.smooth,
            eps=self.eps,
            per_image=self.per_image,
            include_background=self.include_background,
            empty=self.empty,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        opts = {k: v for k, v in self._options().items() if k != "weight"}
        opts.update(self._extra())
        return ", ".join(f"{k}={v!r}" for k, v in opts.items())

    def _extra(self) -> dict:
        return {}


class DiceLoss(_OverlapLoss):
    """Soft Dice loss; see :func:`losskit.functional.dice_loss` (same options, ``weight`` a buffer).

    Shape: input ``(N, C, *)`` (``(N, 1, *)`` or ``(N, *)`` in binary mode); target ``(N, *)``
    class indices or shaped like input; output ``(C,)`` / ``(N, C)`` for ``"none"``, else scalar.

    Example:
        >>> import torch
        >>> loss = DiceLoss("multiclass")
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> print(round(loss(logits, torch.tensor([[0, 1, 1]])).item(), 4))
        0.1769
    """

    _fn_name = "dice_loss"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.dice_loss(input, target, **self._options())


class JaccardLoss(_OverlapLoss):
    """Soft Jaccard (IoU) loss; see :func:`losskit.functional.jaccard_loss`.

    Example:
        >>> import torch
        >>> loss = JaccardLoss("binary")
        >>> print(round(loss(torch.tensor([[2.0, -1.0, 0.5, 3.0]]), torch.tensor([[1.0, 0.0, 1.0, 1.0]])).item(), 4))
        0.2487
    """

    _fn_name = "jaccard_loss"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.jaccard_loss(input, target, **self._options())


class TverskyLoss(_OverlapLoss):
    """Tversky loss (``alpha`` weighs false positives, ``beta`` false negatives); see
    :func:`losskit.functional.tversky_loss`.

    Example:
        >>> import torch
        >>> loss = TverskyLoss(alpha=0.3, beta=0.7)
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> print(round(loss(logits, torch.tensor([[0, 1, 1]])).item(), 4))
        0.1658
    """

    _fn_name = "tversky_loss"

    def __init__(
        self,
        mode: str = "multiclass",
        *,
        from_logits: bool = True,
        alpha: float = 0.5,
        beta: float = 0.5,
        weight: Tensor | None = None,
        ignore_index: int | None = None,
        smooth: float = 0.0,
        eps: float = 1e-7,
        per_image: bool = False,
        include_background: bool = True,
        empty: str = "exclude",
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            mode,
            from_logits=from_logits,
            weight=weight,
            ignore_index=ignore_index,
            smooth=smooth,
            eps=eps,
            per_image=per_image,
            include_background=include_background,
            empty=empty,
            reduction=reduction,
            alpha=alpha,
            beta=beta,
        )
        self.alpha = alpha
        self.beta = beta

    def _extra(self) -> dict:
        return dict(alpha=self.alpha, beta=self.beta)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.tversky_loss(input, target, alpha=self.alpha, beta=self.beta, **self._options())


class FocalTverskyLoss(_OverlapLoss):
    """Focal Tversky loss ``(1 - TI)^gamma`` (``gamma`` is the exponent, default 0.75); see
    :func:`losskit.functional.focal_tversky_loss`.

    Example:
        >>> import torch
        >>> loss = FocalTverskyLoss()
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> print(round(loss(logits, torch.tensor([[0, 1, 1]])).item(), 4))
        0.2593
    """

    _fn_name = "focal_tversky_loss"

    def __init__(
        self,
        mode: str = "multiclass",
        *,
        from_logits: bool = True,
        alpha: float = 0.3,
        beta: float = 0.7,
        gamma: float = 0.75,
        weight: Tensor | None = None,
        ignore_index: int | None = None,
        smooth: float = 0.0,
        eps: float = 1e-7,
        per_image: bool = False,
        include_background: bool = True,
        empty: str = "exclude",
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            mode,
            from_logits=from_logits,
            weight=weight,
            ignore_index=ignore_index,
            smooth=smooth,
            eps=eps,
            per_image=per_image,
            include_background=include_background,
            empty=empty,
            reduction=reduction,
            alpha=alpha,
            beta=beta,
            gamma=gamma,
        )
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma

    def _extra(self) -> dict:
        return dict(alpha=self.alpha, beta=self.beta, gamma=self.gamma)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.focal_tversky_loss(
            input, target, alpha=self.alpha, beta=self.beta, gamma=self.gamma, **self._options()
        )


class GeneralizedDiceLoss(Loss):
    """Generalized Dice loss (Sudre et al. 2017, one ratio over the classes weighted by 1/T², 1/T or 1);
    see :func:`losskit.functional.generalized_dice_loss`.

    Example:
        >>> import torch
        >>> loss = GeneralizedDiceLoss()
        >>> logits = torch.tensor([[[2.0, -1.0, 0.0], [-2.0, 1.0, 0.5]]])
        >>> print(round(loss(logits, torch.tensor([[0, 1, 1]])).item(), 4))
        0.1915
    """

    def __init__(
        self,
        mode: str = "multiclass",
        *,
        from_logits: bool = True,
        weighting: str = "square",
        ignore_index: int | None = None,
        smooth: float = 0.0,
        eps: float = 1e-7,
        per_image: bool = False,
        include_background: bool = True,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        fn = "GeneralizedDiceLoss"
        overlap_options(
            fn,
            mode=mode,
            smooth=smooth,
            eps=eps,
            empty="include",
            include_background=include_background,
            reduction=reduction,
        )
        self.mode = mode
        self.from_logits = _checks.flag(from_logits, "from_logits", fn=fn)
        self.weighting = _checks.choice(weighting, "weighting", WEIGHTING, fn=fn)
        self.ignore_index = ignore_index
        self.smooth = smooth
        self.eps = eps
        self.per_image = per_image
        self.include_background = include_background

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.generalized_dice_loss(
            input,
            target,
            mode=self.mode,
            from_logits=self.from_logits,
            weighting=self.weighting,
            ignore_index=self.ignore_index,
            smooth=self.smooth,
            eps=self.eps,
            per_image=self.per_image,
            include_background=self.include_background,
            reduction=self.reduction,
        )


class LovaszHingeLoss(Loss):
    """Lovász hinge loss (Berman et al. 2018); see :func:`losskit.functional.lovasz_hinge_loss`."""

    def __init__(
        self,
        mode: str = "binary",
        *,
        per_image: bool = True,
        ignore_index: float | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        lovasz_options(
            "LovaszHingeLoss", mode=mode, per_image=per_image, reduction=reduction, modes=("binary", "multilabel")
        )
        self.mode, self.per_image, self.ignore_index = mode, per_image, ignore_index

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, per_image={self.per_image!r}, ignore_index={self.ignore_index!r}"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.lovasz_hinge_loss(
            input,
            target,
            mode=self.mode,
            per_image=self.per_image,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class LovaszSoftmaxLoss(Loss):
    """Lovász-Softmax loss (Berman et al. 2018); see :func:`losskit.functional.lovasz_softmax_loss`."""

    def __init__(
        self,
        mode: str = "multiclass",
        *,
        per_image: bool = False,
        ignore_index: float | None = None,
        classes: str = "present",
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        lovasz_options("LovaszSoftmaxLoss", mode=mode, per_image=per_image, reduction=reduction, classes=classes)
        self.mode, self.per_image, self.ignore_index, self.classes = mode, per_image, ignore_index, classes

    def extra_repr(self) -> str:
        return (
            f"mode={self.mode!r}, per_image={self.per_image!r}, ignore_index={self.ignore_index!r}, "
            f"classes={self.classes!r}"
        )

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.lovasz_softmax_loss(
            input,
            target,
            mode=self.mode,
            per_image=self.per_image,
            ignore_index=self.ignore_index,
            classes=self.classes,
            reduction=self.reduction,
        )


class MCCLoss(Loss):
    """Matthews-correlation loss (as smp's ``MCCLoss``); see :func:`losskit.functional.mcc_loss`."""

    def __init__(
        self,
        mode: str = "binary",
        *,
        from_logits: bool = True,
        ignore_index: float | None = None,
        eps: float = 1e-5,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        fn = "MCCLoss"
        overlap_options(
            fn, mode=mode, smooth=0.0, eps=eps, empty="include", include_background=True, reduction=reduction
        )
        self.mode, self.ignore_index, self.eps = mode, ignore_index, eps
        self.from_logits = _checks.flag(from_logits, "from_logits", fn=fn)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, from_logits={self.from_logits!r}, eps={self.eps!r}"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return LF.mcc_loss(
            input,
            target,
            mode=self.mode,
            from_logits=self.from_logits,
            ignore_index=self.ignore_index,
            eps=self.eps,
            reduction=self.reduction,
        )
