"""Regression loss modules (torch.nn twins): options in ``__init__``, ``forward`` is one functional call.

Each class takes torch's constructor arguments in torch's order; the formulas, likelihoods and
shapes are documented on the functional it calls.
"""

from __future__ import annotations

import torch  # noqa: F401  (the doctests use it)
from torch import Tensor

from .. import functional as F
from ._base import Loss, flag, given, number, option_checks, positive

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "GaussianNLLLoss", "PoissonNLLLoss", "LogCoshLoss"]


class MSELoss(Loss):
    """Mean squared error (Gaussian NLL with fixed variance); see :func:`losskit.functional.mse_loss`.

    A drop-in for :class:`torch.nn.MSELoss`.

    >>> MSELoss()(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    tensor(2.)
    """

    _functional = staticmethod(F.mse_loss)

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class L1Loss(Loss):
    """Mean absolute error (Laplace NLL); see :func:`losskit.functional.l1_loss`.

    A drop-in for :class:`torch.nn.L1Loss`.
    """

    _functional = staticmethod(F.l1_loss)

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class SmoothL1Loss(Loss):
    """Smooth L1 (Huber / beta); see :func:`losskit.functional.smooth_l1_loss`.

    A drop-in for :class:`torch.nn.SmoothL1Loss`.
    """

    _functional = staticmethod(F.smooth_l1_loss)
    _option_checks = option_checks(
        beta=positive(zero_ok=True, hint="beta is the width of the quadratic zone (0 gives l1_loss)"),
    )
    _always_shown = ("reduction", "beta")

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class HuberLoss(Loss):
    """Huber loss (NLL of Huber's density); see :func:`losskit.functional.huber_loss`.

    A drop-in for :class:`torch.nn.HuberLoss` (arguments ``reduction, delta``, in torch's order).
    """

    _functional = staticmethod(F.huber_loss)
    _option_checks = option_checks(
        delta=positive(hint="delta is the residual size where the loss turns from quadratic to linear"),
    )
    _always_shown = ("reduction", "delta")

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)


class GaussianNLLLoss(Loss):
    """Gaussian NLL with a predicted variance; see :func:`losskit.functional.gaussian_nll_loss`.

    A drop-in for :class:`torch.nn.GaussianNLLLoss`; ``forward(input, target, var)``.
    """

    _functional = staticmethod(F.gaussian_nll_loss)
    _option_checks = option_checks(full=flag, eps=number())
    _always_shown = ("reduction", "full", "eps")

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(**given(locals()))

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return self._call(input, target, var)


class PoissonNLLLoss(Loss):
    """Poisson NLL (log link by default); see :func:`losskit.functional.poisson_nll_loss`.

    A drop-in for :class:`torch.nn.PoissonNLLLoss`; like torch, ``forward``'s first argument is
    named ``log_input`` (the log-rate, or the rate when ``log_input=False`` was given here).
    """

    _functional = staticmethod(F.poisson_nll_loss)
    _option_checks = option_checks(log_input=flag, full=flag, eps=number())
    _always_shown = ("reduction", "log_input", "full", "eps")

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: bool | None = None,
        eps: float = 1e-8,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(**given(locals()))

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return self._call(log_input, target)


class LogCoshLoss(Loss):
    """Log-cosh loss (hyperbolic secant NLL); see :func:`losskit.functional.log_cosh_loss`.

    >>> LogCoshLoss()(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 100.0]))
    tensor(49.6534)
    """

    _functional = staticmethod(F.log_cosh_loss)

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._call(input, target)
