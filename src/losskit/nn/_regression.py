"""Regression loss modules (torch.nn twins): options in ``__init__``, ``forward`` is one functional call.

Each class takes torch's constructor arguments in torch's order; the formulas, likelihoods and
shapes are documented on the functional it calls.
"""

from __future__ import annotations

import torch  # noqa: F401  (the doctests use it)
from torch import Tensor

from .. import _checks
from .. import functional as F
from ._base import Loss

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "GaussianNLLLoss", "PoissonNLLLoss", "LogCoshLoss"]


class MSELoss(Loss):
    """Mean squared error (Gaussian NLL with fixed variance); see :func:`losskit.functional.mse_loss`.

    A drop-in for :class:`torch.nn.MSELoss`.

    >>> MSELoss()(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    tensor(2.)
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(Loss):
    """Mean absolute error (Laplace NLL); see :func:`losskit.functional.l1_loss`.

    A drop-in for :class:`torch.nn.L1Loss`.
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(Loss):
    """Smooth L1 (Huber / beta); see :func:`losskit.functional.smooth_l1_loss`.

    A drop-in for :class:`torch.nn.SmoothL1Loss`.
    """

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = _checks.positive(
            beta,
            "beta",
            zero_ok=True,
            fn="SmoothL1Loss",
            hint="beta is the width of the quadratic zone (0 gives l1_loss)",
        )

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(Loss):
    """Huber loss (NLL of Huber's density); see :func:`losskit.functional.huber_loss`.

    A drop-in for :class:`torch.nn.HuberLoss` (arguments ``reduction, delta``, in torch's order).
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = _checks.positive(
            delta,
            "delta",
            fn="HuberLoss",
            hint="delta is the residual size where the loss turns from quadratic to linear",
        )

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class GaussianNLLLoss(Loss):
    """Gaussian NLL with a predicted variance; see :func:`losskit.functional.gaussian_nll_loss`.

    A drop-in for :class:`torch.nn.GaussianNLLLoss`; ``forward(input, target, var)``.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full = _checks.flag(full, "full", fn="GaussianNLLLoss")
        self.eps = _checks.number(eps, "eps", fn="GaussianNLLLoss")

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, full={self.full}, eps={self.eps}"


class PoissonNLLLoss(Loss):
    """Poisson NLL (log link by default); see :func:`losskit.functional.poisson_nll_loss`.

    A drop-in for :class:`torch.nn.PoissonNLLLoss`; like torch, ``forward``'s first argument is
    named ``log_input`` (the log-rate, or the rate when ``log_input=False`` was given here).
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: bool | None = None,
        eps: float = 1e-8,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = _checks.flag(log_input, "log_input", fn="PoissonNLLLoss")
        self.full = _checks.flag(full, "full", fn="PoissonNLLLoss")
        self.eps = _checks.number(eps, "eps", fn="PoissonNLLLoss")

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(
            log_input, target, log_input=self.log_input, full=self.full, eps=self.eps, reduction=self.reduction
        )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_input={self.log_input}, full={self.full}, eps={self.eps}"


class LogCoshLoss(Loss):
    """Log-cosh loss (hyperbolic secant NLL); see :func:`losskit.functional.log_cosh_loss`.

    >>> LogCoshLoss()(torch.tensor([0.0, 0.0]), torch.tensor([0.0, 100.0]))
    tensor(49.6534)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.log_cosh_loss(input, target, reduction=self.reduction)
