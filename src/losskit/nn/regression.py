"""Regression loss modules (torch.nn twins): options in ``__init__``, ``forward`` is one functional call.

Each class takes torch's constructor arguments in torch's order; the formulas, likelihoods and
shapes are documented on the functional it calls.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from .. import functional as F
from ..registry import LossSpec, register
from ._base import Loss

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "GaussianNLLLoss", "PoissonNLLLoss"]


class MSELoss(Loss):
    """Mean squared error (Gaussian NLL with fixed variance); see :func:`losskit.functional.mse_loss`.

    A drop-in for :class:`torch.nn.MSELoss`.

    >>> MSELoss()(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    tensor(2.)
    """

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(Loss):
    """Mean absolute error (Laplace NLL); see :func:`losskit.functional.l1_loss`.

    A drop-in for :class:`torch.nn.L1Loss`.
    """

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(Loss):
    """Smooth L1 (Huber / beta); see :func:`losskit.functional.smooth_l1_loss`.

    A drop-in for :class:`torch.nn.SmoothL1Loss`.
    """

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

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
        self.delta = delta

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
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var: Union[Tensor, float]) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, full={self.full}, eps={self.eps}"


class PoissonNLLLoss(Loss):
    """Poisson NLL (log link by default); see :func:`losskit.functional.poisson_nll_loss`.

    A drop-in for :class:`torch.nn.PoissonNLLLoss`; like torch, ``forward``'s first argument is
    named ``log_input`` (the log-rate, or the rate when ``log_input=False`` was given here).
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average: Optional[bool] = None,
                 eps: float = 1e-8, reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                  reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_input={self.log_input}, full={self.full}, eps={self.eps}"


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------


def _pair(shape: tuple[int, ...]):
    def example(g: torch.Generator):
        x = torch.randn(shape, generator=g, dtype=torch.float64).requires_grad_()
        y = torch.randn(shape, generator=g, dtype=torch.float64)
        return (x, y), {}

    return example


def _huber_example(g: torch.Generator):
    (x, y), _ = _pair((8, 5))(g)
    return (x, y * 2), {"delta": 0.7}


def _smooth_l1_example(g: torch.Generator):
    (x, y), _ = _pair((8, 5))(g)
    return (x, y * 2), {"beta": 0.5}


def _gaussian_example(g: torch.Generator):
    x = torch.randn(8, 5, generator=g, dtype=torch.float64).requires_grad_()
    y = torch.randn(8, 5, generator=g, dtype=torch.float64)
    var = (torch.rand(8, 1, generator=g, dtype=torch.float64) + 0.1).requires_grad_()
    return (x, y, var), {"full": True}


def _poisson_example(g: torch.Generator):
    x = (0.5 * torch.randn(8, 5, generator=g, dtype=torch.float64)).requires_grad_()
    y = torch.poisson(torch.full((8, 5), 2.0, dtype=torch.float64), generator=g)
    return (x, y), {"full": True}


for _spec in (
    LossSpec("mse_loss", F.mse_loss, MSELoss, family="regression", takes="values",
             summary="squared error: Gaussian NLL with fixed variance", example=_pair((8, 5)), torch_twin="mse_loss"),
    LossSpec("l1_loss", F.l1_loss, L1Loss, family="regression", takes="values",
             summary="absolute error: Laplace NLL with fixed scale (median regression)", example=_pair((8, 5)),
             torch_twin="l1_loss"),
    LossSpec("smooth_l1_loss", F.smooth_l1_loss, SmoothL1Loss, family="regression", takes="values",
             summary="Huber / beta: Gaussian core, Laplace tails, unit tail slope", example=_smooth_l1_example,
             torch_twin="smooth_l1_loss"),
    LossSpec("huber_loss", F.huber_loss, HuberLoss, family="regression", takes="values",
             summary="Huber: NLL of Huber's density (Gaussian core, Laplace tails)", example=_huber_example,
             torch_twin="huber_loss"),
    LossSpec("gaussian_nll_loss", F.gaussian_nll_loss, GaussianNLLLoss, family="regression", takes="values",
             summary="Gaussian NLL with a predicted variance (heteroscedastic)", example=_gaussian_example,
             torch_twin="gaussian_nll_loss"),
    LossSpec("poisson_nll_loss", F.poisson_nll_loss, PoissonNLLLoss, family="regression", takes="values",
             summary="Poisson NLL; input is the log-rate (log_input=True) or the rate", example=_poisson_example,
             torch_twin="poisson_nll_loss", extra={"note": "takes log-rates when log_input=True (the default)"}),
):
    register(_spec)
