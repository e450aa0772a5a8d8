r"""Regression losses: negative log-likelihoods of Gaussian, Laplace, Huber and Poisson models.

Every function here is an exact twin of the ``torch.nn.functional`` loss of the same name (same
positional signature, values, gradients, broadcasting, dtypes -- under ``torch.autocast`` too -- and
refusals). Which likelihood each loss is the NLL of, and which constants it drops:

=========================  ==========================================  ==============================
loss                       likelihood of the target given the output   predict with
=========================  ==========================================  ==============================
``mse_loss``               Gaussian, fixed variance                    the mean (= the output)
``l1_loss``                Laplace, fixed scale                        the median (= the output)
``huber_loss``             Huber's density: Gaussian core, Laplace     the output (an M-estimate of
``smooth_l1_loss``         tails (smooth-L1 = Huber / beta)            location)
``gaussian_nll_loss``      Gaussian with predicted variance            mean = input, variance = var
``poisson_nll_loss``       Poisson, log link (``log_input=True``)      rate = exp(input)
=========================  ==========================================  ==============================

How they are computed: inputs go through :func:`losskit._checks.pointwise_inputs` (torch's
broadcasting, its warning and its type promotion; under ``losskit.checks("full")`` NaN/Inf in any
input is an error), then torch's own elementwise operator (``aten::mse_loss``, ``l1_loss``,
``huber_loss``, ``smooth_l1_loss``, ``poisson_nll_loss``, called as ``torch.nn.functional`` calls them) or, where torch's loss is a Python
composite (``gaussian_nll_loss``), the same formula. Calling torch's operator means torch's
numbers, torch's autocast rule (these operators are on autocast's float32 list: half inputs are
computed and returned in float32 under ``torch.autocast``) and, outside autocast, no float32 copy
of half inputs (torch's kernels accumulate in float32 already). Everything is plain autograd, so
double backward, ``torch.func`` and ``torch.compile`` work as for torch's losses.

Reductions go through :func:`losskit._reduction.reduce`, except the unweighted ``"mean"``/``"sum"``
of ``mse_loss``, ``huber_loss`` and ``smooth_l1_loss``: torch's operators for these reduce inside
the kernel, and their backward is one pass; unreduced terms followed by a mean would add a pass
(the mean's backward materialises ``grad / N`` over every element: about 1.4x torch's
forward + backward time at a million elements), so the reduction is handed to the operator, as
torch does.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import check_reduction, legacy_reduction

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "gaussian_nll_loss",
    "poisson_nll_loss",
    "log_cosh_loss",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_ENUM = {"none": 0, "mean": 1, "sum": 2}  # torch's reduction enum for its loss operators


def _pair(fn: str, input: object, target: object, *, complex_ok: bool = False) -> _checks.PointwiseInputs:
    """input and target of a twin that warns like torch when their shapes differ (warning at the caller)."""
    return _checks.pointwise_inputs(
        fn, {"input": input, "target": target}, warn_broadcast=True, allow_complex=complex_ok
    )


def _element_weight(weight: object, input: Tensor, fn: str) -> Tensor:
    """torch 2.13's per-element ``weight``: a tensor of ``input``'s exact shape."""
    w = _checks.tensor(weight, "weight")
    if w.shape != input.shape:
        raise ValueError(
            f"{fn}: weight must have the shape of input {tuple(input.shape)}, got {tuple(w.shape)}; "
            "pass one weight per element of input"
        )
    _checks.finite(w, "weight")
    return w


# --------------------------------------------------------------------------------------------
# Gaussian (fixed variance) -> mean squared error
# --------------------------------------------------------------------------------------------


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    r"""Mean squared error: the negative log-likelihood of a Gaussian with fixed variance.

    .. math::
        \ell_i = (x_i - y_i)^2

    **Likelihood.** :math:`y_i \sim \mathcal{N}(x_i, \sigma^2)` with :math:`\sigma` fixed:
    :math:`-\log p(y_i \mid x_i) = \tfrac12 \log 2\pi\sigma^2 + \tfrac{1}{2\sigma^2}(y_i - x_i)^2`.
    Dropping the constant :math:`\tfrac12\log 2\pi\sigma^2` and the scale :math:`\tfrac{1}{2\sigma^2}`
    leaves :math:`\ell_i`, so minimising it is maximum likelihood for the mean. The link is the
    identity and the prediction is the output itself (the conditional mean). Learn
    :math:`\sigma^2` as well with :func:`gaussian_nll_loss`.

    A drop-in twin of :func:`torch.nn.functional.mse_loss` (torch 2.13), including its positional
    order, the per-element ``weight``, and broadcasting with torch's warning when the shapes differ.

    Args:
        input: predictions, any shape.
        target: observed values, the shape of ``input`` (or broadcastable to it, with a warning).
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        weight: optional per-element weights, the shape of ``input``. With ``"mean"`` the result is
            :math:`\sum_i w_i \ell_i / \sum_i w_i` (torch's rule).

    Returns:
        ``"none"``: the terms, in the broadcast shape of ``input`` and ``target``; ``"sum"``: their
        sum; ``"mean"``: their sum divided by the number of terms (by :math:`\sum_i w_i` with
        ``weight``). Under ``torch.autocast`` half inputs give float32, as in torch.

    Peers: Keras ``MeanSquaredError`` and optax ``squared_error`` average over the last axis first
    (same mean for equal-sized rows); optax's ``l2_loss`` is half of it.

    Example:
        >>> import torch
        >>> from losskit.functional import mse_loss
        >>> mse_loss(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.5, 2.0, 3.0]))
        tensor(0.4167)

    References:
        Gauss, *Theoria motus corporum coelestium* (1809), least squares as maximum likelihood.
    """
    b = _pair("mse_loss", input, target)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    x, y = b.broadcast()
    if weight is None:  # torch's fused operator, reduction included (one pass forward, one backward)
        return torch._C._nn.mse_loss(x, y, _ENUM[reduction])  # type: ignore[arg-type]  # stub wrong: takes the enum int
    w = _element_weight(weight, b.tensors[0], "mse_loss")
    return _reduction.reduce(
        torch.pow(x - y, 2) * w, reduction, weight=w
    )  # mean = sum(w (x-y)^2) / sum(w), torch's rule


# --------------------------------------------------------------------------------------------
# Laplace -> L1
# --------------------------------------------------------------------------------------------


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    r"""Mean absolute error: the negative log-likelihood of a Laplace distribution with fixed scale.

    .. math::
        \ell_i = |x_i - y_i|

    **Likelihood.** :math:`y_i \sim \mathrm{Laplace}(x_i, b)` with :math:`b` fixed:
    :math:`-\log p(y_i \mid x_i) = \log 2b + |y_i - x_i| / b`. Dropping :math:`\log 2b` and the
    scale :math:`1/b` leaves :math:`\ell_i`. The link is the identity; the minimiser is the
    conditional *median*, which is why L1 is robust to outliers. The gradient is
    :math:`\operatorname{sign}(x_i - y_i)` (0 where they are equal, as in torch).

    A drop-in twin of :func:`torch.nn.functional.l1_loss` (torch 2.13), including the per-element
    ``weight``, complex inputs (:math:`|x - y|` is the modulus) and broadcasting with torch's warning.

    Args:
        input: predictions, any shape.
        target: observed values, the shape of ``input`` (or broadcastable to it, with a warning).
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        weight: optional per-element weights, the shape of ``input``; ``"mean"`` divides by
            :math:`\sum_i w_i` (torch's rule).

    Returns:
        ``"none"``: the terms, in the broadcast shape; ``"sum"``: their sum; ``"mean"``: their sum
        divided by the number of terms (by :math:`\sum_i w_i` with ``weight``). Float32 for half
        inputs under ``torch.autocast``, as in torch.

    Example:
        >>> import torch
        >>> from losskit.functional import l1_loss
        >>> l1_loss(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.5, 2.0, 3.0]))
        tensor(0.5000)

    References:
        Laplace, *Mémoire sur la probabilité des causes par les événements* (1774).
    """
    b = _pair("l1_loss", input, target, complex_ok=True)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    x, y = b.broadcast()
    if weight is None:
        return _reduction.reduce(torch._C._nn.l1_loss(x, y, 0), reduction)  # type: ignore[arg-type]  # stub wrong: takes the enum int; |x - y|: torch's operator (autocast-aware)
    w = _element_weight(weight, b.tensors[0], "l1_loss")
    return _reduction.reduce(torch.abs(x - y) * w, reduction, weight=w)  # mean = sum(w |x-y|) / sum(w), torch's rule


# --------------------------------------------------------------------------------------------
# Huber's density (Gaussian core, Laplace tails) -> Huber / smooth L1
# --------------------------------------------------------------------------------------------


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    r"""Huber loss: the negative log-likelihood of Huber's density (Gaussian core, Laplace tails).

    .. math::
        \ell_i = \begin{cases} \tfrac12 (x_i - y_i)^2 & |x_i - y_i| \le \delta \\
                 \delta\,(|x_i - y_i| - \tfrac12\delta) & \text{otherwise} \end{cases}

    **Likelihood.** Huber's least-favourable density :math:`p(r) \propto \exp(-\rho_\delta(r))`
    with :math:`\rho_\delta = \ell`: Gaussian for residuals within :math:`\delta`, Laplace
    (exponential) tails beyond, glued with a continuous derivative. Dropping the normaliser leaves
    :math:`\ell_i`. The link is the identity; the minimiser is Huber's M-estimate of location
    (between the mean and the median). The gradient is :math:`\mathrm{clamp}(x - y, -\delta, \delta)`.

    A drop-in twin of :func:`torch.nn.functional.huber_loss` (torch 2.13): positional order
    ``(input, target, reduction, delta, weight)``, the result has ``input``'s dtype (as in torch),
    and the per-element ``weight``'s ``"mean"`` divides by the number of elements (torch's rule
    for this loss, unlike :func:`mse_loss`).

    Args:
        input: predictions, any shape.
        target: observed values, the shape of ``input`` (or broadcastable to it, with a warning).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        delta: where the quadratic core meets the linear tails; must be > 0.
        weight: optional per-element weights, the shape of ``input``.

    Returns:
        ``"none"``: the terms, in the broadcast shape; ``"sum"``: their sum; ``"mean"``: their sum
        divided by the number of terms -- with ``weight`` too (:math:`\sum_i w_i\ell_i / N`,
        torch's rule for this loss). Float32 for half inputs under ``torch.autocast``, as in torch.

    Peers: Keras ``Huber`` and optax ``huber_loss`` default to ``delta=1.0`` as well (Keras
    averages over the last axis first).

    Example:
        >>> import torch
        >>> from losskit.functional import huber_loss
        >>> huber_loss(torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0]), delta=1.0)
        tensor(1.3125)

    References:
        Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 35 (1964).
    """
    b = _pair("huber_loss", input, target)
    reduction = check_reduction(reduction)
    delta = _checks.positive(
        delta, "delta", fn="huber_loss", hint="delta is the residual size where the loss turns from quadratic to linear"
    )
    x, y = b.broadcast()
    if weight is None:  # torch's fused operator, reduction included
        return torch._C._nn.huber_loss(x, y, _ENUM[reduction], delta)  # type: ignore[arg-type]  # stub wrong: takes the enum int
    w = _element_weight(weight, b.tensors[0], "huber_loss")
    return _reduction.reduce(torch._C._nn.huber_loss(x, y, 0, delta) * w, reduction)  # type: ignore[arg-type]  # stub wrong: takes the enum int; mean = sum(w l) / N, torch's rule


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    r"""Smooth L1 loss: Huber's loss divided by ``beta`` (Gaussian core, Laplace tails).

    .. math::
        \ell_i = \begin{cases} \tfrac{1}{2\beta} (x_i - y_i)^2 & |x_i - y_i| < \beta \\
                 |x_i - y_i| - \tfrac12\beta & \text{otherwise} \end{cases}
        \;=\; \frac{\mathrm{huber}_\beta(x_i, y_i)}{\beta}

    **Likelihood.** The same Huber density as :func:`huber_loss` with :math:`\delta = \beta`, with
    the log-likelihood scaled by :math:`1/\beta` so that the tails have slope 1 (like L1) whatever
    :math:`\beta`. ``beta=0`` is exactly :func:`l1_loss` (Laplace), as in torch. The gradient is
    :math:`\mathrm{clamp}(x - y, -\beta, \beta)/\beta`.

    A drop-in twin of :func:`torch.nn.functional.smooth_l1_loss` (torch 2.13).

    Args:
        input: predictions, any shape.
        target: observed values, the shape of ``input`` (or broadcastable to it, with a warning).
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        beta: the width of the quadratic core; must be >= 0 (0 gives L1).

    Returns:
        ``"none"``: the terms, in the broadcast shape; ``"sum"``: their sum; ``"mean"``: their sum
        divided by the number of terms. Float32 for half inputs under ``torch.autocast``, as in
        torch.

    Peers: detectron2/fvcore ``smooth_l1_loss`` use the same definition (``beta`` there too);
    older torchvision code wrote it with ``beta=1/9``.

    Example:
        >>> import torch
        >>> from losskit.functional import smooth_l1_loss
        >>> smooth_l1_loss(torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0]), beta=1.0)
        tensor(1.3125)

    References:
        Girshick, "Fast R-CNN", ICCV 2015 (smooth L1 for box regression); Huber (1964).
    """
    b = _pair("smooth_l1_loss", input, target)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    beta = _checks.positive(
        beta,
        "beta",
        zero_ok=True,
        fn="smooth_l1_loss",
        hint="beta is the width of the quadratic zone (0 gives l1_loss)",
    )
    x, y = b.broadcast()
    if beta == 0.0:  # torch's rule: beta = 0 is exactly l1_loss
        return _reduction.reduce(torch._C._nn.l1_loss(x, y, 0), reduction)  # type: ignore[arg-type]  # stub wrong: takes the enum int
    return torch._C._nn.smooth_l1_loss(x, y, _ENUM[reduction], beta)  # type: ignore[arg-type]  # stub wrong: takes the enum int; torch's fused operator


# --------------------------------------------------------------------------------------------
# Gaussian with predicted variance
# --------------------------------------------------------------------------------------------


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    r"""Gaussian negative log-likelihood with a predicted variance (heteroscedastic regression).

    .. math::
        \ell_i = \tfrac12\Big(\log \max(\sigma_i^2, \epsilon) + \frac{(x_i - y_i)^2}{\max(\sigma_i^2, \epsilon)}\Big)
                 \;\big[+\, \tfrac12\log 2\pi \text{ if } \texttt{full}\big]

    **Likelihood.** :math:`y_i \sim \mathcal{N}(x_i, \sigma_i^2)`, the mean and the variance both
    predicted; with ``full=True`` this is the exact NLL, otherwise the constant
    :math:`\tfrac12\log 2\pi` is dropped. Identity link for the mean; ``var`` must already be
    positive (e.g. ``softplus`` or ``exp`` of a model output). Predict the mean with ``input`` and
    the uncertainty with ``var``. With a fixed :math:`\sigma^2` this is :func:`mse_loss` up to the
    dropped constants.

    The variance is clamped to ``eps`` for stability *without* stopping its gradient (torch's rule:
    the clamp is applied in place under ``no_grad``), so a clamped entry still receives the
    gradient evaluated at ``eps``.

    ``var`` shapes accepted (torch 2.13's rules): the shape of ``input`` (one variance per
    element); ``input.shape[:-1]`` (one per row, unsqueezed to a trailing 1); the same number of
    dimensions as ``input`` with exactly one mismatched dimension, of size 1 (e.g. ``(N, 1)`` for
    ``(N, D)``, ``(N, 1, H, W)`` for ``(N, C, H, W)``); or a Python number used for every element.
    Anything else is refused, as is a negative variance.

    Args:
        input: predicted means, any shape.
        target: observed values, the shape of ``input`` (or broadcastable to it).
        var: predicted variances (a tensor, see above) or a Python number.
        full: add the constant :math:`\tfrac12\log 2\pi` (the exact NLL).
        eps: lower clamp of the variance.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the terms, in the broadcast shape of ``input``, ``target`` and ``var``;
        ``"sum"``: their sum; ``"mean"``: their sum divided by the number of terms. Computed in the
        inputs' dtype, as torch does (this loss is not on autocast's float32 list).

    Example:
        >>> import torch
        >>> from losskit.functional import gaussian_nll_loss
        >>> mu, y = torch.tensor([0.0, 1.0]), torch.tensor([0.5, 1.0])
        >>> gaussian_nll_loss(mu, y, torch.tensor([1.0, 0.25]), full=True)
        tensor(0.6349)

    References:
        Nix & Weigend, "Estimating the mean and variance of the target probability distribution",
        ICNN 1994.
    """
    fn = "gaussian_nll_loss"
    b = _checks.pointwise_inputs(fn, {"input": input, "target": target})
    reduction = check_reduction(reduction)
    full = _checks.flag(full, "full", fn=fn)
    eps = _checks.number(eps, "eps", fn=fn)
    x, y = b.tensors
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if not var >= 0:
            raise ValueError(
                f"{fn}: var must be >= 0, got {var!r}; pass a variance (a squared scale), not a log-variance"
            )
        # torch materialises the number in input's dtype (var * ones_like(input)); a 0-d tensor of that
        # dtype rounds it the same way and promotes the same way
        v = torch.full((), float(var), dtype=x.dtype if x.is_floating_point() else b.dtype, device=x.device)
        v = torch.clamp(v, min=eps)
    else:
        var = _checks.floating(_checks.tensor(var, "var"), "var", hint="use var.float()")
        var = _variance_shape(var, x, fn)
        _checks.finite(var, "var")
        _nonnegative(var, fn)
        # torch's clamp: on a copy, in place and outside autograd, so the gradient passes through it
        v = var.clone()
        with torch.no_grad():
            v.clamp_(min=eps)
    loss = 0.5 * (torch.log(v) + (x - y) ** 2 / v)  # -log N(y; x, v) without (full: with) 0.5 log 2 pi
    if full:
        loss = loss + _HALF_LOG_2PI
    return _reduction.reduce(loss, reduction)


def _variance_shape(var: Tensor, input: Tensor, fn: str) -> Tensor:
    """torch 2.13's shapes for ``var``: input's; ``input.shape[:-1]`` (one per row); or input's number of
    dimensions with exactly one mismatched dimension, of size 1."""
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:
        return var.unsqueeze(-1)  # one variance per row: (N, ..., 1) broadcasts over the last dim
    if input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1:
        return var  # exactly one mismatched dimension, of size 1: broadcasts
    raise ValueError(
        f"{fn}: var has shape {tuple(var.shape)}, which does not fit input of shape {tuple(input.shape)}; "
        f"pass one variance per element {tuple(input.shape)}, one per row {tuple(input.shape[:-1])} "
        f"or {(*input.shape[:-1], 1)}, a shape with one dimension of size 1, or a float"
    )


def _nonnegative(var: Tensor, fn: str) -> None:
    """Value check (see :func:`losskit._checks.values_checkable`): no negative variance (NaN passes)."""
    if var.numel() == 0 or not _checks.values_checkable(var):
        return
    lo = float(var.detach().min())
    if lo < 0.0:
        n = int((var.detach() < 0).sum())
        raise ValueError(
            f"{fn}: var has {n} negative entr{'y' if n == 1 else 'ies'} (min {lo:.4g}); pass "
            "variances >= 0, e.g. softplus(raw) or exp(log_var)"
        )


# --------------------------------------------------------------------------------------------
# Poisson, log link
# --------------------------------------------------------------------------------------------


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Poisson negative log-likelihood, by default with a log link (``input`` is the log-rate).

    .. math::
        \ell_i = \begin{cases} e^{x_i} - y_i x_i & \texttt{log\_input=True} \\
                 x_i - y_i \log(x_i + \epsilon) & \texttt{log\_input=False} \end{cases}
        \;\big[+\, y_i\log y_i - y_i + \tfrac12\log(2\pi y_i) \text{ for } y_i > 1 \text{ if } \texttt{full}\big]

    **Likelihood.** :math:`y_i \sim \mathrm{Poisson}(\lambda_i)`:
    :math:`-\log p(y_i) = \lambda_i - y_i\log\lambda_i + \log y_i!`. With ``log_input=True``
    (the log link, the canonical one) :math:`\lambda_i = e^{x_i}`, so the model outputs any real
    number; with ``log_input=False`` ``input`` is the rate itself (must be >= 0; ``eps`` guards
    ``log 0``). :math:`\log y_i!` does not depend on the model and is dropped unless ``full=True``,
    which adds Stirling's approximation of it for :math:`y_i > 1` (torch's rule; the term is 0 for
    :math:`y_i \in \{0, 1\}`, where :math:`\log y_i! = 0` exactly). Predict the rate
    :math:`e^{x_i}` (its mean).

    A drop-in twin of :func:`torch.nn.functional.poisson_nll_loss` (torch 2.13), positional order
    included.

    Args:
        input: log-rates (``log_input=True``) or rates, any shape.
        target: observed counts, broadcastable to ``input``.
        log_input: whether ``input`` is the log of the rate.
        full: add Stirling's approximation of :math:`\log y!`.
        size_average: deprecated (as in torch); use ``reduction``.
        eps: added to the rate inside the log when ``log_input=False``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the terms, in the broadcast shape; ``"sum"``: their sum; ``"mean"``: their sum
        divided by the number of terms. Under ``torch.autocast`` half inputs are computed
        (``exp`` included) and returned in float32, as in torch.

    Example:
        >>> import torch
        >>> from losskit.functional import poisson_nll_loss
        >>> log_rate = torch.tensor([0.0, 1.0])
        >>> poisson_nll_loss(log_rate, torch.tensor([1.0, 3.0]))
        tensor(0.3591)

    References:
        McCullagh & Nelder, *Generalized Linear Models*, 2nd ed. (1989), ch. 6.
    """
    fn = "poisson_nll_loss"
    b = _checks.pointwise_inputs(fn, {"input": input, "target": target})
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    log_input = _checks.flag(log_input, "log_input", fn=fn)
    full = _checks.flag(full, "full", fn=fn)
    eps = _checks.number(eps, "eps", fn=fn)
    x, y = b.tensors
    # exp(x) - y x (log link) or x - y log(x + eps), + Stirling's log y! for y > 1 if full: torch's operator
    rows = torch.poisson_nll_loss(x, y, log_input, full, eps, 0)
    return _reduction.reduce(rows, reduction)


# --------------------------------------------------------------------------------------------
# Hyperbolic secant -> log-cosh
# --------------------------------------------------------------------------------------------


def log_cosh_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Log-cosh loss: quadratic for small residuals, linear (slope 1) for large ones, smooth everywhere.

    .. math::
        \ell_i = \log\cosh(x_i - y_i) = r_i + \operatorname{softplus}(-2 r_i) - \log 2, \qquad r_i = x_i - y_i

    (the right-hand form never overflows: :math:`\cosh r` does beyond :math:`|r| \approx 89` in
    float32). :math:`\ell \approx r^2/2` near 0 and :math:`|r| - \log 2` far out; the gradient is
    :math:`\tanh(r)` and the second derivative :math:`1 - \tanh^2 r > 0`, so unlike
    :func:`huber_loss` it is twice differentiable with no ``delta`` to choose.

    **Likelihood.** The hyperbolic secant distribution, :math:`p(r) = \operatorname{sech}(r)/\pi`:
    :math:`-\log p(y_i \mid x_i) = \log\cosh(y_i - x_i) + \log\pi`. Dropping :math:`\log\pi` leaves
    :math:`\ell_i`. Identity link; the minimiser is an M-estimate of location between the mean
    and the median (like Huber's), with Laplace-like tails.

    Args:
        input: predictions, any shape.
        target: observed values, broadcastable with ``input`` (no warning: this is not a torch twin).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the terms, in the broadcast shape; ``"sum"``: their sum; ``"mean"``: their sum
        divided by the number of terms. Half inputs are computed in float32 and returned in their
        dtype (float32 under ``torch.autocast``, as torch's losses).

    Example:
        >>> import torch
        >>> from losskit.functional import log_cosh_loss
        >>> log_cosh_loss(torch.tensor([0.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 100.0]), reduction="none")
        tensor([ 0.0000,  0.4338, 99.3069])

    References:
        Chen, Fang, Sun, "Log-cosh loss" in *Statistical Properties of the log-cosh Loss Function
        Used in Machine Learning* (arXiv:2208.04564, 2022); Keras ``LogCosh``, optax ``log_cosh``.

    Peers: Keras ``LogCosh`` averages over the last axis first (the same mean for equal-sized rows);
    optax ``log_cosh`` returns the unreduced terms (``reduction="none"``).
    """
    fn = "log_cosh_loss"
    b = _checks.pointwise_inputs(fn, {"input": input, "target": target}, allow_complex=False)
    reduction = check_reduction(reduction)
    x, y = b.tensors
    out = _checks.autocast_dtype(x, b.dtype)
    r = x - y if _checks.compute_dtype(b.dtype) == b.dtype else x.float() - y.float()
    # log cosh r = r + log(1 + e^{-2r}) - log 2; softplus is linear past its threshold, so no overflow
    rows = r + torch.nn.functional.softplus(-2.0 * r) - math.log(2.0)
    return _reduction.reduce(rows, reduction).to(out)
