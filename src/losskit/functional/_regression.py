r"""Regression losses: negative log-likelihoods of Gaussian, Laplace, Huber and Poisson models.

Every function here is an exact twin of the ``torch.nn.functional`` loss of the same name (same
positional signature, values, gradients, broadcasting and refusals), written with torch tensor
operations. Which likelihood each loss is the NLL of, and which constants it drops:

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

Speed: where torch has a fused ATen operator (``mse_loss``, ``huber_loss``, ``smooth_l1_loss``)
losskit calls the same operator after its own (metadata-only) checks: a composite of separate
torch ops cannot match a one-pass kernel (see :func:`_fused`). Where torch's loss is itself a
composite (``l1_loss``), losskit's is faster: :class:`_AbsoluteError` keeps ``sign(d)`` from the
forward so that the backward is one multiply. Under ``create_graph=True`` its backward is rebuilt
from the inputs with differentiable operations, so double backward works as in torch.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Optional, Union

import torch
from torch import Tensor

from .._checks import check_nonnegative, check_tensor, compute_dtype
from .._reduction import check_reduction, legacy_reduction

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "gaussian_nll_loss",
    "poisson_nll_loss",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# shared helpers (metadata only: nothing here reads tensor values)
# --------------------------------------------------------------------------------------------


def _broadcast_pair(input: Tensor, target: Tensor, stacklevel: int = 4) -> tuple[Tensor, Tensor]:
    """torch's rule for the pointwise regression losses: warn when the shapes differ, then broadcast.

    ``stacklevel`` points the warning at the user's call (4: user -> loss -> helper -> here).
    """
    if target.shape == input.shape:
        return input, target
    # torch's own warning text, so that filters written for torch keep working.
    warnings.warn(
        f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
        "This will likely lead to incorrect results due to broadcasting. "
        "Please ensure they have the same size.",
        stacklevel=stacklevel,
    )
    return _broadcast(input, target, ("input", "target"))


def _broadcastable(a: tuple, b: tuple) -> bool:
    """Whether two shapes broadcast (plain Python; ``torch.broadcast_shapes`` is much slower)."""
    for m, n in zip(reversed(a), reversed(b)):
        if m != n and m != 1 and n != 1:
            return False
    return True


def _broadcast(a: Tensor, b: Tensor, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    if not _broadcastable(a.shape, b.shape):
        raise ValueError(
            f"{names[0]} of shape {tuple(a.shape)} and {names[1]} of shape {tuple(b.shape)} cannot be "
            f"broadcast together; give {names[1]} the shape of {names[0]}"
        )
    x, y = torch.broadcast_tensors(a, b)
    return x, y


def _category(dtype: torch.dtype) -> int:
    return 3 if dtype.is_complex else 2 if dtype.is_floating_point else 0 if dtype == torch.bool else 1


def _result_type(a: Tensor, b: Tensor) -> torch.dtype:
    """``torch.result_type(a, b)`` written with ``promote_types`` (which torch.compile can trace)."""
    return _promote((a.dtype, a.dim() == 0), (b.dtype, b.dim() == 0))[0]


def _promote(a: tuple[torch.dtype, bool], b: tuple[torch.dtype, bool]) -> tuple[torch.dtype, bool]:
    """Promote two ``(dtype, is_0d)`` operands: a 0-d tensor only takes part when its category
    (bool < int < float < complex) is higher than the other operand's, as in torch."""
    if a[1] == b[1]:
        return torch.promote_types(a[0], b[0]), a[1]
    big, small = (a, b) if b[1] else (b, a)
    if _category(small[0]) > _category(big[0]):
        return torch.promote_types(big[0], small[0]), False
    return big[0], False


def _float_dtype(input: Tensor, target: Tensor, fn: str) -> torch.dtype:
    """The dtype torch computes in (type promotion of input and target); refuse non-float results."""
    dtype = _result_type(input, target)
    if not dtype.is_floating_point:
        raise TypeError(
            f"{fn} needs floating-point input or target, got input {input.dtype} and target "
            f"{target.dtype}; convert the prediction with input.float()"
        )
    return dtype


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, *, mean_by_weight: bool) -> Tensor:
    """torch 2.13's per-element ``weight`` for mse/l1/huber (mse and l1 divide by sum(weight), huber by N)."""
    check_tensor(weight, "weight")
    if weight.shape != input.shape:
        raise ValueError(
            f"weight must have the shape of input {tuple(input.shape)}, got {tuple(weight.shape)}; "
            "pass one weight per element of input"
        )
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()


class _AbsoluteError(torch.autograd.Function):
    r"""``l = |x - y|`` with a one-pass backward.

    ``dl/dx = sign(x - y)`` (0 where ``x == y``, as in torch) and ``dl/dy = -dl/dx``. The forward
    keeps ``sign(d)``; the backward is one multiply ``sign(d) * (g * k)`` per input, where torch's
    composite ``l1_loss`` takes ``sgn``, a multiply and a negation. Sums use torch's own reductions
    (pairwise summation), so values match torch to float rounding even for millions of elements.
    """

    @staticmethod
    def forward(ctx, input: Tensor, target: Tensor, reduction: str, compute: torch.dtype,
                out_dtype: torch.dtype) -> Tensor:
        x = input if input.dtype == compute else input.to(compute)
        y = target if target.dtype == compute else target.to(compute)
        d = x - y
        n = d.numel()
        sign = torch.sign(d)
        loss = d.abs_()
        k = 1.0
        if reduction == "sum":
            loss = loss.sum()
        elif reduction == "mean":
            loss = loss.mean()
            k = 1.0 / n if n else math.nan  # an empty mean is NaN, as in torch
        ctx.save_for_backward(input, target, sign)
        ctx.k, ctx.compute, ctx.reduction = k, compute, reduction
        return loss if loss.dtype == out_dtype else loss.to(out_dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        input, target, sign = ctx.saved_tensors
        k, compute = ctx.k, ctx.compute
        need_x, need_y = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if grad.dtype != compute:
            grad = grad.to(compute)
        if torch.is_grad_enabled():
            # create_graph=True: rebuild the gradient from the inputs so that it is differentiable.
            gx = torch.sign(input.to(compute) - target.to(compute)) * (grad * k)
            gy = -gx if need_y else None
        elif ctx.reduction == "none":
            gx = torch.mul(sign, grad)
            if k != 1.0:
                gx.mul_(k)
            gy = gx.neg() if need_y else None
        else:
            kg = grad * k  # a 0-dim tensor: the whole backward is one multiply per input
            gx = sign * kg if need_x else None
            gy = sign * kg.neg() if need_y else None
        if gx is not None and gx.dtype != input.dtype:
            gx = gx.to(input.dtype)
        if gy is not None and gy.dtype != target.dtype:
            gy = gy.to(target.dtype)
        return (gx if need_x else None), gy, None, None, None


def _absolute_error(input: Tensor, target: Tensor, reduction: str, fn: str) -> Tensor:
    dtype = _float_dtype(input, target, fn)
    input, target = _broadcast_pair(input, target)
    compute = compute_dtype(dtype)
    return _AbsoluteError.apply(input, target, reduction, compute, dtype)


_REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}


def _fused(input: Tensor, target: Tensor, kind: str, delta: float, reduction: str, fn: str) -> Tensor:
    """mse / Huber / smooth-L1 through ATen's fused elementwise operators (one pass forward, one backward).

    These are the operators torch's own functionals call, so values and gradients are torch's,
    bit for bit. Written with separate torch ops the same losses take two (mse) to five (Huber)
    passes over memory against torch's one, 1.1x to 1.5x torch's time at a million elements.
    """
    dtype = _float_dtype(input, target, fn)
    input, target = _broadcast_pair(input, target)
    out = input.dtype if kind == "huber" else dtype  # torch's huber keeps input's dtype
    if dtype in (torch.float16, torch.bfloat16):  # compute in float32, return the half dtype
        input, target = input.float(), target.float()
    red = _REDUCTION_ENUM[reduction]
    if kind == "mse":
        loss = torch.ops.aten.mse_loss(input, target, red)
    elif kind == "huber":
        loss = torch.ops.aten.huber_loss(input, target, red, delta)
    else:
        loss = torch.ops.aten.smooth_l1_loss(input, target, red, delta)
    return loss if loss.dtype == out else loss.to(out)


def _check_twin_args(input: object, target: object) -> None:
    check_tensor(input, "input")
    check_tensor(target, "target")


def _check_positive(value: float, name: str, *, allow_zero: bool, fn: str, hint: str) -> float:
    need = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number {need}, got {type(value).__name__}; {hint}")
    value = float(value)
    if (value < 0 if allow_zero else value <= 0) or math.isnan(value):
        raise ValueError(f"{fn}: {name} must be {need}, got {value!r}; {hint}")
    return value


# --------------------------------------------------------------------------------------------
# Gaussian (fixed variance) -> mean squared error
# --------------------------------------------------------------------------------------------


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Optional[Tensor] = None,
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
        ``"none"``: the broadcast shape of ``input`` and ``target``; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import mse_loss
        >>> mse_loss(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.5, 2.0, 3.0]))
        tensor(0.4167)

    References:
        Gauss, *Theoria motus corporum coelestium* (1809), least squares as maximum likelihood.
    """
    _check_twin_args(input, target)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if weight is not None:
        _float_dtype(input, target, "mse_loss")
        x, y = _broadcast_pair(input, target, stacklevel=3)
        return _weighted((x - y).square(), weight, input, reduction, mean_by_weight=True)
    return _fused(input, target, "mse", 0.0, reduction, "mse_loss")


# --------------------------------------------------------------------------------------------
# Laplace -> L1
# --------------------------------------------------------------------------------------------


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Optional[Tensor] = None,
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
        ``"none"``: the broadcast shape; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import l1_loss
        >>> l1_loss(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.5, 2.0, 3.0]))
        tensor(0.5000)

    References:
        Laplace, *Mémoire sur la probabilité des causes par les événements* (1774).
    """
    _check_twin_args(input, target)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if weight is not None or input.is_complex() or target.is_complex():
        if not (input.is_complex() or target.is_complex()):
            _float_dtype(input, target, "l1_loss")
        x, y = _broadcast_pair(input, target, stacklevel=3)
        loss = (x - y).abs()
        if weight is not None:
            return _weighted(loss, weight, input, reduction, mean_by_weight=True)
        return loss if reduction == "none" else (loss.sum() if reduction == "sum" else loss.mean())
    return _absolute_error(input, target, reduction, "l1_loss")


# --------------------------------------------------------------------------------------------
# Huber's density (Gaussian core, Laplace tails) -> Huber / smooth L1
# --------------------------------------------------------------------------------------------


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Optional[Tensor] = None,
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
        ``"none"``: the broadcast shape; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import huber_loss
        >>> huber_loss(torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0]), delta=1.0)
        tensor(1.3125)

    References:
        Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 35 (1964).
    """
    _check_twin_args(input, target)
    reduction = check_reduction(reduction)
    delta = _check_positive(delta, "delta", allow_zero=False, fn="huber_loss",
                            hint="delta is the residual size where the loss turns from quadratic to linear")
    if weight is not None:
        loss = _fused(input, target, "huber", delta, "none", "huber_loss")
        return _weighted(loss, weight, input, reduction, mean_by_weight=False)
    return _fused(input, target, "huber", delta, reduction, "huber_loss")


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
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
        ``"none"``: the broadcast shape; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import smooth_l1_loss
        >>> smooth_l1_loss(torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0]), beta=1.0)
        tensor(1.3125)

    References:
        Girshick, "Fast R-CNN", ICCV 2015 (smooth L1 for box regression); Huber (1964).
    """
    _check_twin_args(input, target)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    beta = _check_positive(beta, "beta", allow_zero=True, fn="smooth_l1_loss",
                           hint="beta is the width of the quadratic zone (0 gives l1_loss)")
    if beta == 0.0:  # torch's rule: beta = 0 is exactly l1_loss
        return _absolute_error(input, target, reduction, "smooth_l1_loss")
    return _fused(input, target, "smooth_l1", beta, reduction, "smooth_l1_loss")


# --------------------------------------------------------------------------------------------
# Gaussian with predicted variance
# --------------------------------------------------------------------------------------------


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Union[Tensor, float],
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
        ``"none"``: the broadcast shape of ``input``, ``target`` and ``var``; ``"mean"``/``"sum"``:
        a scalar.

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
    _check_twin_args(input, target)
    reduction = check_reduction(reduction)
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"var must be >= 0, got {var!r}; pass a variance (a squared scale), not a log-variance")
        dtype = _float_dtype(input, target, "gaussian_nll_loss")
        compute = compute_dtype(dtype)
        # torch materialises the number as a tensor of input's dtype; rounding it the same way keeps
        # half-precision results identical.
        v = torch.tensor(float(var), dtype=input.dtype if input.is_floating_point() else compute)
        v = max(float(v), eps)
        d = input.to(compute) - target.to(compute)
        loss = d.square().mul_(0.5 / v).add_(0.5 * math.log(v) + (_HALF_LOG_2PI if full else 0.0))
        return _reduce(loss, reduction).to(dtype)
    check_tensor(var, "var")
    if not var.is_floating_point():
        raise TypeError(f"var must be a floating-point tensor, got dtype {var.dtype}; use var.float()")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)  # one variance per row: (N, ..., 1) broadcasts over the last dim
        elif input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass  # exactly one mismatched dimension, of size 1: broadcasts
        else:
            raise ValueError(
                f"var has shape {tuple(var.shape)}, which does not fit input of shape {tuple(input.shape)}; "
                f"pass one variance per element {tuple(input.shape)}, one per row {tuple(input.shape[:-1])} "
                f"or {tuple(input.shape[:-1]) + (1,)}, a shape with one dimension of size 1, or a float"
            )
    check_nonnegative(var, "var", fix="pass variances >= 0, e.g. softplus(raw) or exp(log_var)")
    dtype = _promote(_promote((input.dtype, input.dim() == 0), (target.dtype, target.dim() == 0)),
                     (var.dtype, var.dim() == 0))[0]
    if not dtype.is_floating_point:  # pragma: no cover - var is floating, so this cannot happen
        raise TypeError(f"gaussian_nll_loss needs floating-point tensors, got {input.dtype}")
    compute = compute_dtype(dtype)
    # torch's clamp: on a copy, in place and outside autograd, so the gradient passes through it.
    v = var.to(compute, copy=True)
    with torch.no_grad():
        v.clamp_(min=eps)
    d = input.to(compute) - target.to(compute)
    # 0.5 * (log v + d^2 / v) as one addcdiv: log v + 1 * (d^2 / v)
    loss = torch.addcdiv(torch.log(v), d.square(), v).mul_(0.5)
    if full:
        loss = loss.add_(_HALF_LOG_2PI)
    return _reduce(loss, reduction).to(dtype)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


# --------------------------------------------------------------------------------------------
# Poisson, log link
# --------------------------------------------------------------------------------------------


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: Optional[bool] = None,
    eps: float = 1e-8,
    reduce: Optional[bool] = None,
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
        ``"none"``: the broadcast shape; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import poisson_nll_loss
        >>> log_rate = torch.tensor([0.0, 1.0])
        >>> poisson_nll_loss(log_rate, torch.tensor([1.0, 3.0]))
        tensor(0.3591)

    References:
        McCullagh & Nelder, *Generalized Linear Models*, 2nd ed. (1989), ch. 6.
    """
    _check_twin_args(input, target)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    dtype = _float_dtype(input, target, "poisson_nll_loss")
    if input.shape != target.shape:
        _broadcast(input, target, ("input", "target"))
    x, y = input, target
    if dtype in (torch.float16, torch.bfloat16):
        x, y = x.float(), y.float()
    if log_input:
        loss = torch.exp(x) - y * x  # -log p = lambda - y log(lambda), lambda = e^x
    else:
        loss = x - y * torch.log(x + eps)
    if full:
        # Stirling: log y! ~ y log y - y + 0.5 log(2 pi y), used only where y > 1
        stirling = y * torch.log(y) - y + 0.5 * torch.log(2 * math.pi * y)
        loss = loss + stirling.masked_fill(y <= 1, 0)
    return _reduce(loss, reduction).to(dtype)
