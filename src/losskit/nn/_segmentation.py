"""Overlap (segmentation) losses as modules: Dice, Tversky, focal Tversky, Jaccard.

Each module stores its options (``weight`` as a buffer) and its ``forward`` is one call into
:mod:`losskit.functional` (:func:`~losskit.functional.dice_loss` and its siblings), whose
docstrings give the formulas and the conventions on modes, smoothing, empty classes and masking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor

from .. import functional as LF
from .._options import WEIGHTING, lovasz_options, overlap_options
from ._base import Loss, WeightedLoss, choice, flag, given, option_checks

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
    """Dice, Jaccard, Tversky, focal Tversky: options checked together by the functional's own check."""

    _fn_name = ""  # the functional, which the option errors name
    _always_shown: ClassVar[tuple[str, ...]] = (
        "mode",
        "from_logits",
        "ignore_index",
        "smooth",
        "eps",
        "per_image",
        "include_background",
        "empty",
        "reduction",
    )
    # the options the repr lists after those when they differ from their default (the functional's forms)
    _shown_when_set: ClassVar[dict[str, object]] = {
        "squared_pred": False,
        "smooth_denominator": None,
        "log_loss": False,
        "average": "macro",
        "soft_label": False,
        "classes": None,
    }

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
        squared_pred: bool = False,
        smooth_denominator: float | None = None,
        log_loss: bool = False,
        average: str = "macro",
        soft_label: bool = False,
        classes: Sequence[int] | None = None,
    ) -> None:
        super().__init__(**given(locals()))

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self.check_together(overlap_options, options, fn=self._fn_name)
        return super().check_options(options)

    def extra_repr(self) -> str:
        set_options = [
            f"{name}={getattr(self, name)!r}"
            for name, default in self._shown_when_set.items()
            if hasattr(self, name) and getattr(self, name) != default
        ]
        return ", ".join([super().extra_repr(), *set_options])


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

    _functional = staticmethod(LF.dice_loss)
    _fn_name = "dice_loss"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class JaccardLoss(_OverlapLoss):
    """Soft Jaccard (IoU) loss; see :func:`losskit.functional.jaccard_loss`.

    Example:
        >>> import torch
        >>> loss = JaccardLoss("binary")
        >>> print(round(loss(torch.tensor([[2.0, -1.0, 0.5, 3.0]]), torch.tensor([[1.0, 0.0, 1.0, 1.0]])).item(), 4))
        0.2487
    """

    _functional = staticmethod(LF.jaccard_loss)
    _fn_name = "jaccard_loss"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


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

    _functional = staticmethod(LF.tversky_loss)
    _fn_name = "tversky_loss"
    _always_shown = (*_OverlapLoss._always_shown, "alpha", "beta")

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
        smooth_denominator: float | None = None,
        log_loss: bool = False,
        average: str = "macro",
        soft_label: bool = False,
        classes: Sequence[int] | None = None,
    ) -> None:
        super(_OverlapLoss, self).__init__(**given(locals()))  # the signature above, not _OverlapLoss's

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


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

    _functional = staticmethod(LF.focal_tversky_loss)
    _fn_name = "focal_tversky_loss"
    _always_shown = (*_OverlapLoss._always_shown, "alpha", "beta", "gamma")

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
        classes: Sequence[int] | None = None,
    ) -> None:
        super(_OverlapLoss, self).__init__(**given(locals()))  # the signature above, not _OverlapLoss's

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


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

    _functional = staticmethod(LF.generalized_dice_loss)
    _option_checks = option_checks(from_logits=flag, weighting=choice(*WEIGHTING))

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
        smooth_denominator: float | None = None,
        empty: str = "exclude",
        soft_label: bool = False,
        classes: Sequence[int] | None = None,
    ) -> None:
        super().__init__(**given(locals()))

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self.check_together(overlap_options, options)
        return super().check_options(options)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class LovaszHingeLoss(Loss):
    """Lovász hinge loss (Berman et al. 2018); see :func:`losskit.functional.lovasz_hinge_loss`."""

    _functional = staticmethod(LF.lovasz_hinge_loss)
    _always_shown = ("mode", "per_image", "ignore_index")

    def __init__(
        self,
        mode: str = "binary",
        *,
        per_image: bool = True,
        ignore_index: float | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self.check_together(lovasz_options, options, modes=("binary", "multilabel"))
        return super().check_options(options)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class LovaszSoftmaxLoss(Loss):
    """Lovász-Softmax loss (Berman et al. 2018); see :func:`losskit.functional.lovasz_softmax_loss`."""

    _functional = staticmethod(LF.lovasz_softmax_loss)
    _always_shown = ("mode", "per_image", "ignore_index", "classes")

    def __init__(
        self,
        mode: str = "multiclass",
        *,
        per_image: bool = False,
        ignore_index: float | None = None,
        classes: str | Sequence[int] = "present",
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self.check_together(lovasz_options, options)
        return super().check_options(options)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class MCCLoss(Loss):
    """Matthews-correlation loss (as smp's ``MCCLoss``); see :func:`losskit.functional.mcc_loss`."""

    _functional = staticmethod(LF.mcc_loss)
    _option_checks = option_checks(from_logits=flag)
    _always_shown = ("mode", "from_logits", "eps")

    def __init__(
        self,
        mode: str = "binary",
        *,
        from_logits: bool = True,
        ignore_index: float | None = None,
        eps: float = 1e-5,
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self.check_together(overlap_options, options, smooth=0.0, empty="include", include_background=True)
        return super().check_options(options)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)
