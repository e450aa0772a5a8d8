"""The probabilistic view of losskit's losses: each loss is the negative log-likelihood of a model.

A model's raw output is mapped by a **link** to the parameters of a distribution over the target;
training with the loss is maximum likelihood under that distribution; at inference the **decision
rule** reads a point prediction off the same distribution.

===========  ====================  ========  ====================================  ===================
likelihood   output                link      ``nll(full=False)`` is                ``predict``
===========  ====================  ========  ====================================  ===================
Bernoulli    logit ``z``           sigmoid   ``binary_cross_entropy_with_logits``  ``σ(z) >= 0.5``
Categorical  logits ``(N, C, …)``  softmax   ``cross_entropy``                     argmax
Gaussian     mean (σ fixed)        identity  ``mse_loss``                          the mean
Gaussian     ``(mean, var)``       identity  ``gaussian_nll_loss``                 the mean
Laplace      location (b fixed)    identity  ``l1_loss``                           the median
Laplace      ``(loc, scale)``      identity  (no torch loss)                       the median
Poisson      log-rate              exp       ``poisson_nll_loss``                  the rate (the mean)
===========  ====================  ========  ====================================  ===================

``nll(output, target, full=False)`` returns exactly the matching :mod:`losskit.functional` loss:
the negative log-likelihood with the terms that do not depend on the model dropped and, for the
fixed-scale regressions, rescaled (``mse_loss`` is :math:`2\\sigma^2` times the Gaussian NLL
less its constants). ``full=True`` returns the true negative log-likelihood,
``-log_prob(output, target)`` reduced; both have the same minimiser. Each class's docstring gives
the exact relation, and :func:`for_loss` gives the same view for every catalog loss, including
the ones that are not likelihoods (focal, poly, dice, margin losses): what they change on top of
which likelihood. ``docs/derivations.md`` derives each loss from its likelihood.

>>> import torch
>>> from losskit.likelihoods import Bernoulli
>>> z = torch.tensor([-2.0, 0.5, 3.0])
>>> Bernoulli().predict(z)
tensor([0, 1, 1])
>>> print(round(float(Bernoulli().nll(z, torch.tensor([0.0, 1.0, 1.0]))), 4))
0.2165
"""

from __future__ import annotations

import math
from typing import Generic, TypeVar

import torch
import torch.nn.functional as _F
from torch import Tensor

from . import functional as _lf
from ._checks import class_indices, floating, number
from ._checks import upcast as _upcast  # float32 for half inputs
from ._reduction import check_reduction, reduce

__all__ = [
    "Likelihood",
    "Bernoulli",
    "Categorical",
    "Gaussian",
    "Laplace",
    "Poisson",
    "for_loss",
    "views",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
Output = Tensor | tuple
#: what a likelihood's methods take: a Tensor of logits or means, or a (mean, variance)-like tuple
OutputT = TypeVar("OutputT", bound=Output)


def _loss(name: str):
    """The losskit functional ``name`` (looked up at call time)."""
    fn = getattr(_lf, name, None)
    if fn is None:  # pragma: no cover - only while a loss has not been added to losskit.functional
        raise NotImplementedError(f"losskit.functional.{name} is not available in this build of losskit")
    return fn


def _clamp_min_keep_grad(x: Tensor, eps: float) -> Tensor:
    """``max(x, eps)`` in value, identity in gradient (as ``gaussian_nll_loss`` clamps ``var``)."""
    return x + (x.clamp_min(eps) - x).detach()


class Likelihood(Generic[OutputT]):
    """Base class: a distribution over the target, parameterised by a model's output through a link.

    Subclasses define :meth:`link`, :meth:`log_prob`, :meth:`distribution`, :meth:`mean`,
    :meth:`predict` and :meth:`nll`. Attributes ``link_name``, ``inference`` and ``loss`` (the
    name of the matching :mod:`losskit.functional` loss, or ``None``) describe them in words.
    """

    link_name: str = "identity"
    inference: str = ""
    loss: str | None = None

    def link(self, output: OutputT) -> Tensor | tuple:  # pragma: no cover - abstract
        """Map a model's output to the distribution's natural parameters."""
        raise NotImplementedError

    def log_prob(self, output: OutputT, target: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Element-wise log-likelihood ``log p(target | output)``."""
        raise NotImplementedError

    def distribution(self, output: OutputT) -> torch.distributions.Distribution:  # pragma: no cover
        """The :mod:`torch.distributions` object for ``output``."""
        raise NotImplementedError

    def mean(self, output: OutputT) -> Tensor:  # pragma: no cover - abstract
        """The distribution's mean."""
        raise NotImplementedError

    def predict(self, output: OutputT) -> Tensor:  # pragma: no cover - abstract
        """The point prediction (decision) used at inference."""
        raise NotImplementedError

    def nll(self, output: OutputT, target: Tensor, *, reduction: str = "mean", full: bool = False) -> Tensor:
        """The negative log-likelihood: the matching loss (``full=False``) or the true NLL (``full=True``)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _full_nll(self, output: OutputT, target: Tensor, reduction: str) -> Tensor:
        check_reduction(reduction)
        lp = self.log_prob(output, target)
        ref = output[0] if isinstance(output, tuple) else output
        return reduce(-lp, reduction).to(ref.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Bernoulli(Likelihood[Tensor]):
    r"""Bernoulli likelihood with a sigmoid link: the model outputs the logit :math:`z`.

    .. math::
        -\log p(y \mid z) = -[y \log\sigma(z) + (1-y)\log\sigma(-z)] = \operatorname{softplus}(z) - yz

    ``nll`` is :func:`losskit.functional.binary_cross_entropy_with_logits` whatever ``full`` is
    (the Bernoulli NLL has no constant to drop). ``predict`` thresholds the probability:
    ``σ(z) >= threshold`` (0.5, the Bayes decision for equal costs), computed as
    ``z >= logit(threshold)``; it returns class indices (``torch.long``).

    Args:
        threshold: decision threshold on the probability, in (0, 1).

    Example:
        >>> import torch
        >>> from losskit.likelihoods import Bernoulli
        >>> lik = Bernoulli()
        >>> z = torch.tensor([-1.0, 0.0, 2.0])
        >>> lik.link(z)
        tensor([0.2689, 0.5000, 0.8808])
        >>> lik.predict(z)
        tensor([0, 1, 1])
        >>> y = torch.tensor([0.0, 1.0, 1.0])
        >>> torch.allclose(lik.log_prob(z, y), lik.distribution(z).log_prob(y))
        True

    References:
        Bishop, *Pattern Recognition and Machine Learning*, 2006, section 4.3.2 (logistic regression).
    """

    link_name = "sigmoid"
    inference = "σ(z) ≥ 0.5 (z ≥ 0)"
    loss = "binary_cross_entropy_with_logits"

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = number(threshold, "threshold", low=0.0, high=1.0, low_open=True, high_open=True)
        self._logit_threshold = math.log(threshold) - math.log1p(-threshold)

    def __repr__(self) -> str:
        return f"Bernoulli(threshold={self.threshold})"

    def link(self, output: Tensor) -> Tensor:
        """The probability of class 1: ``sigmoid(output)``."""
        return torch.sigmoid(floating(output, "output"))

    def mean(self, output: Tensor) -> Tensor:
        """``P(y = 1) = sigmoid(output)``."""
        return self.link(output)

    def predict(self, output: Tensor) -> Tensor:
        """``1`` where ``sigmoid(output) >= threshold``, else ``0`` (``torch.long``)."""
        return (floating(output, "output") >= self._logit_threshold).long()

    def log_prob(self, output: Tensor, target: Tensor) -> Tensor:
        """``y·logσ(z) + (1−y)·logσ(−z)``, element-wise (``target`` may be soft, in [0, 1])."""
        z = _upcast(floating(output, "output"))
        y = target.to(z.dtype)
        # log σ(z) and log(1 − σ(z)) = log σ(−z), both via logsigmoid (no overflow, no log(0))
        return (y * _F.logsigmoid(z) + (1 - y) * _F.logsigmoid(-z)).to(output.dtype)

    def distribution(self, output: Tensor) -> torch.distributions.Bernoulli:
        """``torch.distributions.Bernoulli(logits=output)``."""
        return torch.distributions.Bernoulli(logits=output)

    def nll(self, output: Tensor, target: Tensor, *, reduction: str = "mean", full: bool = False) -> Tensor:
        """``binary_cross_entropy_with_logits(output, target, reduction=reduction)`` (exact; ``full`` changes nothing)."""
        return _loss("binary_cross_entropy_with_logits")(output, target, reduction=reduction)


class Categorical(Likelihood[Tensor]):
    r"""Categorical likelihood with a softmax link over the class dimension.

    The class dimension is 1 for inputs of shape ``(N, C, d1, ..., dk)`` and 0 for an unbatched
    ``(C,)``, as in :func:`losskit.functional.cross_entropy`; targets are class indices.

    .. math::
        -\log p(y \mid z) = -\log\operatorname{softmax}(z)_y = \operatorname{logsumexp}(z) - z_y

    ``nll`` is :func:`losskit.functional.cross_entropy` whatever ``full`` is (no constant to drop).
    ``predict`` is the argmax (the Bayes decision under 0-1 loss), ``mean`` the probability vector.

    Example:
        >>> import torch
        >>> from losskit.likelihoods import Categorical
        >>> z = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
        >>> Categorical().predict(z)
        tensor([0, 2])
        >>> Categorical().log_prob(z, torch.tensor([0, 1]))
        tensor([-0.2413, -3.0949])

    References:
        Bishop, *Pattern Recognition and Machine Learning*, 2006, section 4.3.4 (softmax regression).
    """

    link_name = "softmax"
    inference = "argmax over classes"
    loss = "cross_entropy"

    @staticmethod
    def _class_dim(output: Tensor) -> int:
        if output.dim() == 0:
            raise ValueError(
                "output must have a class dimension, got a 0-d tensor; pass logits of shape (N, C) or (C,)"
            )
        return 1 if output.dim() >= 2 else 0

    def link(self, output: Tensor) -> Tensor:
        """Class probabilities: ``softmax(output, dim=class_dim)``."""
        floating(output, "output")
        return torch.softmax(output, dim=self._class_dim(output))

    def mean(self, output: Tensor) -> Tensor:
        """The expected one-hot vector, i.e. the class probabilities."""
        return self.link(output)

    def predict(self, output: Tensor) -> Tensor:
        """The most probable class, ``argmax`` over the class dimension."""
        floating(output, "output")
        return output.argmax(dim=self._class_dim(output))

    def log_prob(self, output: Tensor, target: Tensor) -> Tensor:
        """``log softmax(output)[target]`` with the class dimension removed."""
        floating(output, "output")
        d = self._class_dim(output)
        target = target.long()
        class_indices(target, output.shape[d])  # (an index outside [0, C) would fail inside gather)
        # log softmax(z)_y = z_y − logsumexp(z)
        logp = torch.log_softmax(_upcast(output), dim=d)
        return logp.gather(d, target.unsqueeze(d)).squeeze(d).to(output.dtype)

    def distribution(self, output: Tensor) -> torch.distributions.Categorical:
        """``torch.distributions.Categorical(logits=...)`` with the class dimension moved last."""
        floating(output, "output")
        return torch.distributions.Categorical(logits=output.movedim(self._class_dim(output), -1))

    def nll(self, output: Tensor, target: Tensor, *, reduction: str = "mean", full: bool = False) -> Tensor:
        """``cross_entropy(output, target, reduction=reduction)`` (exact; ``full`` changes nothing)."""
        return _loss("cross_entropy")(output, target, reduction=reduction)


def _pair(output: Output, what: str) -> tuple[Tensor, Tensor]:
    if not (isinstance(output, (tuple, list)) and len(output) == 2):
        raise TypeError(
            f"output must be a pair (loc, {what}) when the {what} is predicted, got {type(output).__name__}; "
            f"pass (loc, {what}), or give a fixed scale to the likelihood's constructor"
        )
    loc, par = output
    floating(loc, "output[0] (loc)")
    floating(par, f"output[1] ({what})")
    return loc, par


class _LocationScale(Likelihood[Output]):
    """An identity-link family with a location μ (the output) and a fixed or predicted spread.

    A subclass names its spread parameter (``_spread``: what the model predicts with ``scale=None``),
    says how a fixed ``scale`` gives it (:meth:`_fixed_spread`) and names its two losses (fixed and
    predicted spread); the location is the prediction."""

    link_name = "identity"
    _spread = "scale"
    _location = "the location"
    _output_pair = "(loc, scale)"
    _spread_per_row = False  # a predicted spread of loc.shape[:-1] is one per row
    _losses: tuple[str | None, str | None] = (None, None)  # the functional loss for fixed, predicted spread

    def __init__(self, scale: float | None = 1.0, *, eps: float = 1e-6) -> None:
        if scale is not None:
            number(scale, "scale", low=0.0, low_open=True)
        self.scale = scale
        self.eps = number(eps, "eps", low=0.0)
        self.loss = self._losses[scale is None]

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(scale={self.scale})" if self.scale is not None else f"{name}(scale=None, eps={self.eps})"

    def _fixed_spread(self, scale: float) -> float:
        return scale

    def _params(self, output: Output) -> tuple[Tensor, Tensor]:
        """(loc, spread), the spread broadcastable to loc and clamped at ``eps`` when predicted."""
        if self.scale is not None:
            if isinstance(output, (tuple, list)):
                raise TypeError(
                    f"output must be a tensor ({self._location}) when the scale is fixed; "
                    f"use {type(self).__name__}(scale=None) to pass {self._output_pair}"
                )
            loc = floating(output, "output")
            return loc, torch.full((), self._fixed_spread(self.scale), dtype=loc.dtype, device=loc.device)
        loc, spread = _pair(output, self._spread)
        if self._spread_per_row and spread.shape != loc.shape and spread.shape == loc.shape[:-1]:
            spread = spread.unsqueeze(-1)
        return loc, _clamp_min_keep_grad(spread, self.eps)

    def link(self, output: Output) -> Output:
        """Identity: the location (and the spread when predicted)."""
        return output

    def mean(self, output: Output) -> Tensor:
        """The location μ (the mean of either family)."""
        return self._params(output)[0]

    def predict(self, output: Output) -> Tensor:
        """The location μ: the minimiser of the expected loss (squared error: the mean; absolute: the median)."""
        return self._params(output)[0]


class Gaussian(_LocationScale):
    r"""Gaussian likelihood with an identity link, with a fixed standard deviation or a predicted variance.

    **Fixed** ``scale=σ`` (default 1): the output is the mean :math:`\mu`.

    .. math::
        -\log p(y \mid \mu) = \frac{(y-\mu)^2}{2\sigma^2} + \log\sigma + \tfrac12\log 2\pi

    ``nll(full=False)`` is :func:`losskit.functional.mse_loss`, :math:`(y-\mu)^2`, which is
    :math:`2\sigma^2` times the NLL less its constants (``σ`` only rescales the loss, so it does not
    appear); ``full=True`` is the NLL above, i.e. ``mse/(2σ²) + log σ + ½ log 2π``.

    **Predicted variance** ``scale=None``: the output is a pair ``(mean, var)`` with ``var > 0``
    (apply softplus or exp in the model), clamped at ``eps`` as in ``gaussian_nll_loss``.

    .. math::
        -\log p(y \mid \mu, v) = \tfrac12\left(\log v + \frac{(y-\mu)^2}{v}\right) + \tfrac12\log 2\pi

    ``nll(full=False)`` is :func:`losskit.functional.gaussian_nll_loss`, which drops the
    :math:`\tfrac12\log 2\pi`; ``full=True`` keeps it. ``predict`` and ``mean`` are the mean.

    Args:
        scale: the fixed standard deviation σ > 0, or ``None`` when the model predicts the variance.
        eps: lower clamp on a predicted variance.

    Example:
        >>> import torch
        >>> from losskit.likelihoods import Gaussian
        >>> mu, y = torch.tensor([0.5, 2.0]), torch.tensor([0.0, 1.0])
        >>> Gaussian().nll(mu, y)  # mse_loss
        tensor(0.6250)
        >>> Gaussian().nll(mu, y, full=True)  # mse/2 + ½ log 2π
        tensor(1.2314)

    References:
        Nix & Weigend, "Estimating the mean and variance of the target probability distribution",
        ICNN 1994 (predicted variance); PyTorch, ``torch.nn.GaussianNLLLoss``.
    """

    inference = "the mean μ"
    _spread = "var"
    _location = "the mean"
    _output_pair = "(mean, var)"
    _spread_per_row = True  # one variance per row, as gaussian_nll_loss
    _losses = ("mse_loss", "gaussian_nll_loss")

    def _fixed_spread(self, scale: float) -> float:
        return scale**2  # the variance σ²

    def log_prob(self, output: Output, target: Tensor) -> Tensor:
        """``−(y−μ)²/(2v) − ½ log v − ½ log 2π``, element-wise."""
        loc, var = self._params(output)
        mu, v, y = _upcast(loc), _upcast(var), _upcast(target.to(loc.dtype))
        return (-0.5 * ((y - mu) ** 2 / v + torch.log(v)) - _HALF_LOG_2PI).to(loc.dtype)

    def distribution(self, output: Output) -> torch.distributions.Normal:
        """``torch.distributions.Normal(mean, std)``."""
        loc, var = self._params(output)
        return torch.distributions.Normal(loc, var.sqrt().expand_as(loc) if var.dim() == 0 else var.sqrt())

    def nll(self, output: Output, target: Tensor, *, reduction: str = "mean", full: bool = False) -> Tensor:
        """``mse_loss`` (fixed σ) or ``gaussian_nll_loss`` (predicted variance) when ``full=False``;
        the true NLL ``−log_prob`` reduced when ``full=True``."""
        check_reduction(reduction)
        if self.scale is None:
            loc, var = _pair(output, "var")
            return _loss("gaussian_nll_loss")(loc, target, var, full=full, eps=self.eps, reduction=reduction)
        if full:
            return self._full_nll(output, target, reduction)
        self._params(output)
        return _loss("mse_loss")(output, target, reduction=reduction)


class Laplace(_LocationScale):
    r"""Laplace likelihood with an identity link, with a fixed scale ``b`` or a predicted one.

    **Fixed** ``scale=b`` (default 1): the output is the location :math:`\mu`.

    .. math::
        -\log p(y \mid \mu) = \frac{|y-\mu|}{b} + \log 2b

    ``nll(full=False)`` is :func:`losskit.functional.l1_loss`, :math:`|y-\mu|`, which is ``b`` times
    the NLL less :math:`\log 2b`; ``full=True`` is the NLL above.

    **Predicted scale** ``scale=None``: the output is a pair ``(loc, b)`` with ``b > 0`` (clamped at
    ``eps``, gradient passed through as for ``gaussian_nll_loss``'s variance). There is no torch
    loss for it: ``nll(full=False)`` is :math:`|y-\mu|/b + \log b` (the NLL without ``log 2``),
    ``full=True`` adds ``log 2``.

    ``predict`` is the location, which is the median (the minimiser of the expected absolute error);
    ``mean`` is the same location.

    Args:
        scale: the fixed scale b > 0, or ``None`` when the model predicts it.
        eps: lower clamp on a predicted scale.

    Example:
        >>> import torch
        >>> from losskit.likelihoods import Laplace
        >>> mu, y = torch.tensor([0.5, 2.0]), torch.tensor([0.0, 1.0])
        >>> Laplace().nll(mu, y)  # l1_loss
        tensor(0.7500)
        >>> Laplace().nll(mu, y, full=True)  # l1 + log 2
        tensor(1.4431)
        >>> Laplace(scale=None).nll((mu, torch.tensor([1.0, 0.5])), y)  # predicted b: |y-μ|/b + log b
        tensor(0.9034)

    References:
        Kotz, Kozubowski & Podgórski, *The Laplace Distribution and Generalizations*, 2001.
    """

    inference = "the median μ"
    _losses = ("l1_loss", None)

    def log_prob(self, output: Output, target: Tensor) -> Tensor:
        """``−|y−μ|/b − log 2b``, element-wise."""
        loc, b = self._params(output)
        mu, bb, y = _upcast(loc), _upcast(b), _upcast(target.to(loc.dtype))
        return (-(y - mu).abs() / bb - torch.log(2 * bb)).to(loc.dtype)

    def distribution(self, output: Output) -> torch.distributions.Laplace:
        """``torch.distributions.Laplace(loc, scale)``."""
        loc, b = self._params(output)
        return torch.distributions.Laplace(loc, b.expand_as(loc) if b.dim() == 0 else b)

    def nll(self, output: Output, target: Tensor, *, reduction: str = "mean", full: bool = False) -> Tensor:
        """``l1_loss`` (fixed b) or ``|y−μ|/b + log b`` (predicted b) when ``full=False``;
        the true NLL ``−log_prob`` reduced when ``full=True``."""
        check_reduction(reduction)
        if full:
            return self._full_nll(output, target, reduction)
        if self.scale is not None:
            self._params(output)
            return _loss("l1_loss")(output, target, reduction=reduction)
        loc, b = self._params(output)
        mu, bb, y = _upcast(loc), _upcast(b), _upcast(target.to(loc.dtype))
        return reduce((y - mu).abs() / bb + torch.log(bb), reduction).to(loc.dtype)


class Poisson(Likelihood[Tensor]):
    r"""Poisson likelihood with a log link: the model outputs the log-rate :math:`z = \log\lambda`.

    .. math::
        -\log p(y \mid z) = e^{z} - yz + \log y!

    ``nll(full=False)`` is :func:`losskit.functional.poisson_nll_loss` (``log_input=True``),
    :math:`e^z - yz`, which drops :math:`\log y!`; ``full=True`` adds the exact
    :math:`\log y! = \operatorname{lgamma}(y+1)` (``poisson_nll_loss(full=True)`` adds Stirling's
    approximation of it instead, for ``y > 1``). ``predict`` and ``mean`` are the rate
    :math:`\lambda = e^z` (the mean; the mode is :math:`\lfloor\lambda\rfloor`).

    Example:
        >>> import torch
        >>> from losskit.likelihoods import Poisson
        >>> z, y = torch.tensor([0.0, 1.0]), torch.tensor([1.0, 3.0])
        >>> Poisson().nll(z, y, reduction="none")
        tensor([ 1.0000, -0.2817])
        >>> Poisson().nll(z, y, reduction="none", full=True)  # + log y!
        tensor([1.0000, 1.5101])

    References:
        McCullagh & Nelder, *Generalized Linear Models*, 2nd ed., 1989, ch. 6 (log-linear models).
    """

    link_name = "exp"
    inference = "the rate λ = exp(z) (the mean)"
    loss = "poisson_nll_loss"

    def link(self, output: Tensor) -> Tensor:
        """The rate ``exp(output)``."""
        return torch.exp(floating(output, "output"))

    def mean(self, output: Tensor) -> Tensor:
        """The rate λ = ``exp(output)``."""
        return self.link(output)

    def predict(self, output: Tensor) -> Tensor:
        """The rate λ = ``exp(output)`` (the minimiser of the expected squared error)."""
        return self.link(output)

    def log_prob(self, output: Tensor, target: Tensor) -> Tensor:
        """``y·z − exp(z) − lgamma(y + 1)``, element-wise."""
        z = _upcast(floating(output, "output"))
        y = target.to(z.dtype)
        return (y * z - torch.exp(z) - torch.lgamma(y + 1)).to(output.dtype)

    def distribution(self, output: Tensor) -> torch.distributions.Poisson:
        """``torch.distributions.Poisson(rate=exp(output))``."""
        return torch.distributions.Poisson(rate=self.link(output))

    def nll(self, output: Tensor, target: Tensor, *, reduction: str = "mean", full: bool = False) -> Tensor:
        """``poisson_nll_loss(output, target, log_input=True)`` when ``full=False``; the exact NLL when ``full=True``."""
        check_reduction(reduction)
        if full:
            return self._full_nll(output, target, reduction)
        return _loss("poisson_nll_loss")(output, target, log_input=True, full=False, reduction=reduction)


# --------------------------------------------------------------------------------------------------
# The view of every loss (the table lives in losskit.catalog)
# --------------------------------------------------------------------------------------------------


def for_loss(name: str):
    """The likelihood view of the loss ``name``: distribution, link, inference rule, dropped constants,
    and for the losses that are not likelihoods, what they add on top of which one.

    Every loss in :mod:`losskit.catalog` has a view; ``"mse_after_sigmoid"`` is also known: the
    squared error on ``σ(z)`` that plots show next to BCE.

    Args:
        name: a catalog name (e.g. ``"focal_loss"``), or ``"mse_after_sigmoid"``.

    Returns:
        :class:`losskit.catalog.LossView`.

    Raises:
        KeyError: for an unknown name; the message lists close names.

    Example:
        >>> from losskit.likelihoods import for_loss
        >>> v = for_loss("l1_loss")
        >>> v.distribution, v.link, v.inference
        ('Laplace (fixed b)', 'identity', 'the median')
        >>> for_loss("poly1_cross_entropy").base
        'cross_entropy'
    """
    from . import catalog  # the catalog sits above this module (it holds Likelihood objects)

    return catalog.view(name)


def views() -> list:
    """The view of every catalog loss, sorted by name (a list of :class:`losskit.catalog.LossView`).

    >>> from losskit import catalog
    >>> [v.name for v in views()] == catalog.names()
    True
    """
    from . import catalog

    return catalog.views()
