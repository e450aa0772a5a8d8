r"""Focal-family losses: reweightings of the Bernoulli and Categorical negative log-likelihoods.

* :func:`sigmoid_focal_loss`, :func:`asymmetric_loss` sit on the **Bernoulli** likelihood with the
  sigmoid link (one independent yes/no per element: binary and multi-label problems); with every
  extra option off they are exactly ``binary_cross_entropy_with_logits``.
* :func:`focal_loss` sits on the **Categorical** likelihood with the softmax link (one class per
  position); with every extra option off it is exactly ``cross_entropy`` (same ``weight`` /
  ``ignore_index`` / ``label_smoothing`` / probability-target rules, same weighted mean).

The Poly-1 variants (:mod:`losskit.functional._poly`) add one term to the same rows.

Soft targets, label smoothing and probability targets enter every loss the same way: the loss of a
soft target is the *expectation* of the hard-label loss under the target distribution. For the
softmax family that is the per-class sum :math:`\sum_c q_c\,\ell_c`; for the sigmoid family it is
:math:`y\,\ell^+ + (1-y)\,\ell^-`, so focal modulation is applied to each term separately
(``(1-p)^\gamma`` on the positive term, ``p^\gamma`` on the negative one). For 0/1 targets this is
the usual :math:`(1-p_t)^\gamma` formula.

Numerics (float32 for half inputs): the sigmoid terms use :math:`\log p = \operatorname{logsigmoid}(z)`,
:math:`\log(1-p) = \operatorname{logsigmoid}(-z)` and :math:`(1-p)^\gamma = \exp(\gamma\log(1-p))`, whose
derivative :math:`-\gamma(1-p)^\gamma p` is finite for every :math:`\gamma \ge 0`. The softmax terms use
:func:`~losskit.functional._primitives.softmax_log_p_and_one_minus_p` (exact :math:`1 - p` and
:math:`\log p` at the arg-max, where :math:`p` rounds to 1) and
:func:`~losskit.functional._primitives.focal_power` (finite gradients for :math:`\gamma < 1`). Every
path is plain autograd: second-order gradients, ``torch.func`` and ``torch.compile`` work through it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import check_all_ignored, check_reduction
from ..kernels import _dispatch
from ._cross_entropy import _item_shape, _reduce_rows
from ._primitives import focal_power, signature_cached, softmax_log_p_and_one_minus_p

__all__ = ["sigmoid_focal_loss", "binary_focal_loss", "focal_loss", "asymmetric_loss", "asymmetric_single_label_loss"]

Alpha = float | Tensor | None


# --------------------------------------------------------------------------------------------
# sigmoid family (Bernoulli likelihood)
# --------------------------------------------------------------------------------------------


def _gamma(value: object, fn: str, name: str = "gamma") -> float:
    return _checks.number(value, name, low=0.0, fn=fn, hint="0 turns the focusing off; the paper uses 2")


def binary_focal_inputs(
    fn: str, x, target, weight, pos_weight, alpha, ignore_index, label_smoothing, *, takes: str = "logits"
):
    """:func:`~losskit._checks.binary_inputs` of the sigmoid family: ``weight``, ``pos_weight`` and ``alpha``
    along the class dimension 1 (a ``(C,)`` tensor applies per class), ``x`` the logits or (``takes="probs"``)
    the probabilities."""
    return _checks.binary_inputs(
        fn,
        x,
        target,
        weight=weight,
        pos_weight=pos_weight,
        alpha=alpha,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        takes=takes,
    )


def _focusing(fn: str, gamma: object, soft_target: object, reduced_threshold: object, normalized: object):
    """The focusing options of the sigmoid focal losses, checked: ``(gamma, peers, reduced_threshold)``, where
    ``peers`` says ``soft_target="peers"`` (smp's ``reduced_threshold`` and ``normalized`` need it)."""
    gamma, peers = _gamma(gamma, fn), _soft_target(soft_target, reduced_threshold, normalized, fn) == "peers"
    if reduced_threshold is not None:
        reduced_threshold = _checks.number(
            reduced_threshold,
            "reduced_threshold",
            low=0.0,
            high=1.0,
            low_open=True,
            fn=fn,
            hint="smp uses 0.5; None turns it off",
        )
    return gamma, peers, reduced_threshold


def _log_p_and_log_q(b, probs: bool) -> tuple[Tensor, Tensor]:
    """``(log p, log(1 - p))`` in the compute dtype: log-sigmoid of logits (exact for any z), or the logs of
    probabilities clamped at -100 as torch's ``binary_cross_entropy`` does (gradient 0 where p is 0 or 1)."""
    x = _checks.upcast(b.logits)
    if not probs:
        return F.logsigmoid(x), F.logsigmoid(-x)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    floor = torch.full((), -100.0, dtype=x.dtype, device=x.device)
    q = 1.0 - x
    # (conditions written so that a NaN probability stays NaN: NaN in, NaN out)
    log_p = torch.where(x <= 0, floor, torch.log(torch.where(x <= 0, one, x))).clamp(min=-100.0)
    log_q = torch.where(q <= 0, floor, torch.log1p(-torch.where(q <= 0, torch.zeros_like(one), x))).clamp(min=-100.0)
    return log_p, log_q


def sigmoid_rows(
    b,
    *,
    alpha: Alpha,
    gamma_pos: float,
    gamma_neg: float,
    clip: float = 0.0,
    epsilon: float = 0.0,
    probs: bool = False,
    focusing_gradient: bool = True,
) -> Tensor:
    """Elementwise ``w [y l_pos + (1 - y) l_neg] (+ poly)`` of normalised binary inputs ``b`` (0 where ignored).

    l_pos = alpha pos_weight (1 - p)^g+ (-log p)
    l_neg = (1 - alpha) p_m^g- (-log(1 - p_m)),   p_m = max(p - clip, 0)
    poly  = epsilon [y (1 - p)^(g+ + 1) + (1 - y) p^(g- + 1)]   (not scaled by alpha or pos_weight)

    ``focusing_gradient=False``: the factors (1 - p)^g+ and p_m^g- are constants in the backward.
    """

    def focus(factor: Tensor) -> Tensor:
        return factor if focusing_gradient else factor.detach()

    dt = _checks.compute_dtype(b.logits.dtype)
    y = b.smoothed_target(dt)
    if (
        focusing_gradient
        and not clip
        and not epsilon
        and not probs
        and b.pos_weight is None
        and not isinstance(alpha, Tensor)
        and not y.requires_grad
    ):
        rows = _SigmoidFocalRows.apply(_checks.upcast(b.logits), y, gamma_pos, gamma_neg, alpha)[0]
        return rows if b.weight is None else b.weight.to(dt) * rows
    log_p, log_q = _log_p_and_log_q(b, probs)
    if focusing_gradient and not clip and not epsilon:  # the same rows under autograd (probabilities, pos_weight)
        pw = None if b.pos_weight is None else b.pos_weight.to(dt)
        rows = _focal_terms(log_p, log_q, y, gamma_pos, gamma_neg, alpha, pos_weight=pw)[0]
        return rows if b.weight is None else b.weight.to(dt) * rows
    z = _checks.upcast(b.logits)
    pos = -log_p if not gamma_pos else -log_p * focus(torch.exp(gamma_pos * log_q))  # (1-p)^g = exp(g log(1-p))
    if clip:
        # 1 - p_m = min(1 - p + m, 1), so log(1 - p_m) = min(log1p(m - p), 0); p_m^g = 0 where p <= m
        p = z if probs else torch.sigmoid(z)
        neg = -torch.log1p(clip - p).clamp(max=0.0)
        if gamma_neg:
            keep = p > clip
            d = torch.where(keep, p - clip, torch.ones((), dtype=dt, device=z.device))  # (no log 0 in the backward)
            neg = neg * focus(
                torch.where(keep, torch.exp(gamma_neg * torch.log(d)), torch.zeros((), dtype=dt, device=z.device))
            )
    else:
        neg = -log_q if not gamma_neg else -log_q * focus(torch.exp(gamma_neg * log_p))  # p^g = exp(g log p)
    if alpha is not None:
        a = alpha.to(dt) if isinstance(alpha, Tensor) else alpha
        pos, neg = a * pos, (1.0 - a) * neg
    if b.pos_weight is not None:
        pos = b.pos_weight.to(dt) * pos
    rows = y * pos + (1.0 - y) * neg  # expectation under y ~ Bernoulli(target)
    if epsilon:
        # Poly-1 (Leng et al. 2022): eps (1 - p_t)^(g + 1), per target side
        rows = rows + epsilon * (
            y * torch.exp((gamma_pos + 1.0) * log_q) + (1.0 - y) * torch.exp((gamma_neg + 1.0) * log_p)
        )
    if b.weight is not None:
        rows = b.weight.to(dt) * rows
    return rows


def _focal_terms(
    log_p: Tensor,
    log_q: Tensor,
    y: Tensor,
    gamma_pos: float,
    gamma_neg: float,
    alpha: Alpha,
    pos_weight: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(rows, alpha (1-p)^g+, (1-alpha) p^g-)`` of the focal rows from ``log p`` and ``log(1-p)``: each
    factor one ``exp(g log x + log a)``, and the expectation ``y A + (1 - y) B`` one lerp (exact at y = 0
    and y = 1)."""
    one = torch.ones((), dtype=log_p.dtype, device=log_p.device)
    pos_f = _scaled_power(log_q, gamma_pos, alpha, positive=True)
    neg_f = _scaled_power(log_p, gamma_neg, alpha, positive=False)
    pos_f = one if pos_f is None else pos_f
    neg_f = one if neg_f is None else neg_f
    pos = log_p * pos_f if pos_weight is None else pos_weight * (log_p * pos_f)
    return -torch.lerp(log_q * neg_f, pos, y), pos_f, neg_f


def _logit_focal_terms(z: Tensor, y: Tensor, gamma_pos: float, gamma_neg: float, alpha: float | None):
    """``(rows, log p, log(1-p), the two factors)`` of the focal rows on logits ``z``."""
    log_p, log_q = F.logsigmoid(z), F.logsigmoid(-z)
    rows, pos_f, neg_f = _focal_terms(log_p, log_q, y, gamma_pos, gamma_neg, alpha)
    return rows, log_p, log_q, pos_f, neg_f


def _focal_slope(y, log_p, log_q, pos_f, neg_f, gamma_pos: float, gamma_neg: float) -> Tensor:
    r""":math:`\partial \ell / \partial z` of the focal rows, written out: with :math:`A = \alpha q^{g_+} \log p`,
    :math:`B = (1-\alpha) p^{g_-} \log q` and :math:`\ell = -[yA + (1-y)B]`,
    :math:`dA/dz = \alpha q^{g_+} (q - g_+ p \log p)` and :math:`-dB/dz = (1-\alpha) p^{g_-} (p - g_- q \log q)`, so
    :math:`\partial\ell/\partial z = (1 - y) D + y (-dA/dz)` with :math:`D = -dB/dz`, one lerp: exact at
    :math:`y = 0` and :math:`y = 1` (no cancellation of the two sides near saturation)."""
    p, q = log_p.exp(), log_q.exp()
    d_pos = pos_f * torch.addcmul(q, p, log_p, value=-gamma_pos)
    d_neg = neg_f * torch.addcmul(p, q, log_q, value=-gamma_neg)
    return torch.lerp(d_neg, -d_pos, y)


@signature_cached
class _SigmoidFocalRows(torch.autograd.Function):
    r"""The focal rows :math:`-[y \alpha (1-p)^{g_+} \log p + (1-y)(1-\alpha) p^{g_-} \log(1-p)]` on logits,
    with the gradient written out (:func:`_focal_slope`: about half the passes of autograd's chain).
    Saved: :math:`\log p`, :math:`\log(1-p)` and the two factors. Under ``create_graph=True`` (or
    compile) the backward recomputes them from the logits with differentiable ops, so that the
    written-out gradient is itself differentiated: double backward is exact."""

    generate_vmap_rule = True

    @staticmethod
    def forward(z: Tensor, y: Tensor, gamma_pos: float, gamma_neg: float, alpha: float | None):
        return _logit_focal_terms(z, y, gamma_pos, gamma_neg, alpha)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        z, y, ctx.gamma_pos, ctx.gamma_neg, ctx.alpha = inputs
        ctx.mark_non_differentiable(*output[1:])
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(z, y, *output[1:])

    @staticmethod
    def backward(ctx, grad: Tensor | None, *_unused):
        if grad is None:
            return None, None, None, None, None
        z, y, log_p, log_q, pos_f, neg_f = ctx.saved_tensors
        if torch.is_grad_enabled() or torch.compiler.is_compiling():  # a graph from z
            _, log_p, log_q, pos_f, neg_f = _logit_focal_terms(z, y, ctx.gamma_pos, ctx.gamma_neg, ctx.alpha)
        slope = _focal_slope(y, log_p, log_q, pos_f, neg_f, ctx.gamma_pos, ctx.gamma_neg)
        return slope * grad, None, None, None, None


def _scaled_power(log_x: Tensor, gamma: float, alpha: Alpha, *, positive: bool) -> Tensor | None:
    """``a x^gamma`` as one ``exp(gamma log x + log a)``, with ``a = alpha`` (``positive``) or ``1 - alpha``
    (a float or a tensor; ``None``: 1); ``None`` when the factor is 1 (``gamma = 0``, no alpha)."""
    if alpha is None:
        return None if not gamma else torch.exp(gamma * log_x)
    if isinstance(alpha, Tensor):
        at = alpha.to(log_x.dtype)
        log_a = torch.log(at) if positive else torch.log1p(-at)
        return torch.exp(log_a if not gamma else torch.add(log_a, log_x, alpha=gamma))
    a = float(alpha) if positive else 1.0 - float(alpha)
    if not gamma or a <= 0:
        return torch.full((), a, dtype=log_x.dtype, device=log_x.device)
    log_a = torch.full((), math.log(a), dtype=log_x.dtype, device=log_x.device)
    return torch.exp(torch.add(log_a, log_x, alpha=gamma))  # one pass: log a + gamma log x


def reduce_binary(rows, b, reduction: str, all_ignored: str) -> Tensor:
    """The sigmoid family's reduction: ``mean`` over the counted (non-ignored) elements, ``weight`` not in it."""
    return _reduction.reduce(rows, reduction, valid=b.valid, all_ignored=all_ignored).to(b.out_dtype)


def sigmoid_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: float | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
    soft_target: str = "expected",
    reduced_threshold: float | None = None,
    normalized: bool = False,
) -> Tensor:
    r"""Sigmoid focal loss (Lin et al. 2017) for binary and multi-label targets, from logits.

    With :math:`p = \sigma(z)` and the (smoothed) target :math:`y' = y(1-\varepsilon) + \varepsilon/2`,
    each element's loss is

    .. math::

        \ell = w \Big[\, y'\, \alpha\, \omega\, (1-p)^{\gamma} \big(-\log p\big)
               + (1-y')\,(1-\alpha)\, p^{\gamma} \big(-\log(1-p)\big) \Big]

    with :math:`w` = ``weight``, :math:`\omega` = ``pos_weight`` (1 when ``None``), and
    :math:`\alpha` terms dropped when ``alpha=None``. For 0/1 targets this is
    :math:`-\alpha_t (1-p_t)^\gamma \log p_t`, torchvision's ``sigmoid_focal_loss`` exactly; for soft
    targets it is the expected focal loss under :math:`y \sim \text{Bernoulli}(y')`, which is what
    kornia's ``binary_focal_loss_with_logits`` computes (torchvision instead multiplies the whole
    soft-target BCE by :math:`(1-p_t)^\gamma`, :math:`p_t = py + (1-p)(1-y)`; the two agree on 0/1
    targets).

    Likelihood view: the **Bernoulli** negative log-likelihood with the sigmoid link
    (``binary_cross_entropy_with_logits``), reweighted per element by :math:`(1-p_t)^\gamma` (down-weights
    easy, well-classified elements) and by the class-balance factor :math:`\alpha_t`. With ``gamma=0``
    and ``alpha=None`` it *is* ``binary_cross_entropy_with_logits`` (including ``weight``,
    ``pos_weight``, ``label_smoothing``). For ``gamma > 0`` it is no longer a proper scoring rule:
    :math:`\sigma(z)` is pulled towards 1/2, so recalibrate (temperature scaling) before reading it
    as a probability; decide by thresholding :math:`\sigma(z)` (0.5, or a tuned threshold).

    Args:
        logits: raw scores, any shape, e.g. ``(N,)`` (binary) or ``(N, C, d1..dk)`` (multi-label).
        target: same shape as ``logits``, 0/1 or soft values in [0, 1] (float, int or bool).
        alpha: weight of the positive term in [0, 1]; the negative term gets ``1 - alpha``. A float,
            or a tensor that broadcasts to ``logits`` (e.g. ``(C,)`` per class). ``None``: off.
        gamma: focusing parameter :math:`\gamma \ge 0` (``0`` = no focusing).
        weight: rescaling of each element's loss; broadcasts to ``logits``.
        pos_weight: extra weight of the positive term (as in torch's BCE); broadcasts to ``logits``.
        label_smoothing: :math:`\varepsilon \in [0, 1)`; targets become :math:`y(1-\varepsilon) + \varepsilon/2`.
        ignore_index: elements whose target equals this value contribute 0 and are left out of the
            mean. ``None``: no element is ignored.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        all_ignored: when every element is ignored, ``"nan"`` (like torch) or ``"zero"`` (0 with a
            zero gradient, no host sync).
        soft_target: how a soft (or smoothed) target enters: ``"expected"`` (default) -- the expected
            focal loss under :math:`y \sim \text{Bernoulli}(y')` above; ``"peers"`` -- the peers' form
            :math:`\alpha_t (1-p_t)^\gamma\,\mathrm{BCE}(z, y')` with :math:`p_t = p y' + (1-p)(1-y')` and
            :math:`\alpha_t = \alpha y' + (1-\alpha)(1-y')` (torchvision ``sigmoid_focal_loss``, smp
            ``focal_loss_with_logits``, Keras ``BinaryFocalCrossentropy``). Both agree on 0/1 targets; on
            random soft targets the peers' value is about half of the expectation (it also vanishes at
            :math:`p = y'`, where the expectation keeps the target's entropy). ``pos_weight`` scales the
            BCE's positive term in both.
        reduced_threshold: smp's reduced focal loss (Sergievskiy & Ponamarev 2018), ``soft_target="peers"``
            only: the factor is :math:`((1-p_t)/r)^\gamma` where :math:`p_t \ge r` and 1 where
            :math:`p_t < r` (``None``: off).
        normalized: smp's normalised focal loss, ``soft_target="peers"`` only: every element is divided
            by the sum of the focal factors over the counted elements (clamped at 1e-6).

    Returns:
        ``"none"``: the loss per element, shape of ``logits`` (0 where ignored). ``"sum"``: scalar
        :math:`\sum_i \ell_i`. ``"mean"``: scalar :math:`\sum_i \ell_i / n`, where :math:`n` counts the
        non-ignored elements. ``weight`` does **not** enter the denominator: as in torch's
        ``binary_cross_entropy_with_logits`` it rescales each element's term, so ``"mean"`` with
        ``weight`` equals ``"sum" / n``, not a weighted average.

    Example:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from losskit.functional import sigmoid_focal_loss
        >>> logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
        >>> target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(sigmoid_focal_loss(logits, target, alpha=0.25).item(), 5)
        0.07513
        >>> bce = F.binary_cross_entropy_with_logits(logits, target)
        >>> torch.allclose(sigmoid_focal_loss(logits, target, gamma=0.0), bce)
        True

    References:
        Lin, Goyal, Girshick, He, Dollár. "Focal Loss for Dense Object Detection", ICCV 2017
        (arXiv:1708.02002). Mukhoti et al. "Calibrating Deep Neural Networks using Focal Loss",
        NeurIPS 2020.

    """
    fn = "sigmoid_focal_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    b = binary_focal_inputs(fn, logits, target, weight, pos_weight, alpha, ignore_index, label_smoothing)
    gamma, peers, threshold = _focusing(fn, gamma, soft_target, reduced_threshold, normalized)
    if peers:
        rows = peers_rows(b, alpha=b.alpha, gamma=gamma, reduced_threshold=threshold, normalized=normalized)
    else:
        rows = _dispatch.kernel("sigmoid_focal_rows", b, alpha=b.alpha, gamma=gamma, reduction=reduction)
        if rows is None:
            rows = sigmoid_rows(b, alpha=b.alpha, gamma_pos=gamma, gamma_neg=gamma)
    return reduce_binary(rows, b, reduction, all_ignored)


def _soft_target(value: object, reduced_threshold: object, normalized: object, fn: str) -> str:
    value = _checks.choice(
        value,
        "soft_target",
        ("expected", "peers"),
        fn=fn,
        hint="'expected': E[focal loss] under Bernoulli(target); 'peers': BCE (1 - p_t)^gamma",
    )
    if (reduced_threshold is not None or _checks.flag(normalized, "normalized", fn=fn)) and value != "peers":
        raise ValueError(
            f"{fn}: reduced_threshold and normalized are smp's options of the peers' form; pass "
            "soft_target='peers' with them (they are not defined for the expected focal loss)"
        )
    return value


def binary_focal_loss(
    probs: Tensor,
    target: Tensor,
    *,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    pos_weight: Tensor | float | None = None,
    label_smoothing: float = 0.0,
    ignore_index: float | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
    soft_target: str = "expected",
    reduced_threshold: float | None = None,
    normalized: bool = False,
) -> Tensor:
    r"""Binary focal loss from probabilities: :func:`sigmoid_focal_loss` for a model that outputs :math:`p`.

    The same formula, options and reductions as :func:`sigmoid_focal_loss` with :math:`p` given instead
    of :math:`\sigma(z)`; the logs are those of :func:`~losskit.functional.binary_cross_entropy`
    (:math:`\log p` and :math:`\log(1-p)` clamped at :math:`-100`, so :math:`p \in \{0, 1\}` gives a finite
    loss). A separate function, as ``binary_cross_entropy`` is separate from
    ``binary_cross_entropy_with_logits``: the first argument's name says what it takes, and
    probabilities are checked to lie in [0, 1] (logits there are refused with the fix). Prefer
    :func:`sigmoid_focal_loss` on logits where the model has them: :math:`\log(1-p)` computed from a
    saturated probability has lost its precision.

    Likelihood view: the Bernoulli NLL with probability :math:`p` (no link), focal-reweighted; with
    ``gamma=0`` and ``alpha=None`` it is ``binary_cross_entropy``. Keras's
    ``BinaryFocalCrossentropy(from_logits=False)`` is ``soft_target="peers"`` with ``alpha=0.25``
    (Keras clips :math:`p` to :math:`[10^{-7}, 1 - 10^{-7}]` instead of clamping the logs).

    Args:
        probs: probabilities in [0, 1], any shape.
        **options: ``target``, ``alpha``, ``gamma``, ``weight``, ``pos_weight``, ``label_smoothing``,
            ``ignore_index``, ``reduction``, ``all_ignored``, ``soft_target``, ``reduced_threshold`` and
            ``normalized``, as in :func:`sigmoid_focal_loss`.

    Returns:
        ``"none"``: the shape of ``probs`` (0 where ignored); ``"mean"`` (over the counted elements) /
        ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import binary_focal_loss, sigmoid_focal_loss
        >>> z, y = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])
        >>> torch.allclose(binary_focal_loss(torch.sigmoid(z), y, alpha=0.25), sigmoid_focal_loss(z, y, alpha=0.25))
        True

    References:
        Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017; Keras ``BinaryFocalCrossentropy``.
    """
    fn = "binary_focal_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    b = binary_focal_inputs(fn, probs, target, weight, pos_weight, alpha, ignore_index, label_smoothing, takes="probs")
    gamma, peers, threshold = _focusing(fn, gamma, soft_target, reduced_threshold, normalized)
    if peers:
        rows = peers_rows(b, alpha=b.alpha, gamma=gamma, reduced_threshold=threshold, normalized=normalized, probs=True)
    else:
        rows = sigmoid_rows(b, alpha=b.alpha, gamma_pos=gamma, gamma_neg=gamma, probs=True)
    return reduce_binary(rows, b, reduction, all_ignored)


def peers_rows(
    b,
    *,
    alpha: Alpha,
    gamma: float,
    reduced_threshold: float | None = None,
    normalized: bool = False,
    probs: bool = False,
) -> Tensor:
    """``alpha_t (1 - p_t)^g BCE(z, y')`` per element (torchvision / smp / Keras), 0 where ignored.

    ``1 - p_t = y' (1 - p) + (1 - y') p`` (a sum of two non-negative terms: no cancellation), its power
    through :func:`focal_power` (finite gradient for g < 1 where 1 - p_t underflows)."""
    dt = _checks.compute_dtype(b.logits.dtype)
    z, y = _checks.upcast(b.logits), b.smoothed_target(dt)
    log_p, log_q = _log_p_and_log_q(b, probs)
    pw = 1.0 if b.pos_weight is None else b.pos_weight.to(dt)
    bce = -(pw * y * log_p + (1.0 - y) * log_q)
    one_minus = y * log_q.exp() + (1.0 - y) * log_p.exp()  # 1 - p_t
    if reduced_threshold is None:
        focus = focal_power(one_minus, gamma)
    else:  # smp: ((1 - p_t) / r)^g where p_t >= r, 1 where p_t < r
        focus = torch.where(
            one_minus > 1.0 - reduced_threshold,
            torch.ones((), dtype=dt, device=z.device),
            focal_power(one_minus / reduced_threshold, gamma),
        )
    rows = focus * bce
    if alpha is not None:
        a = alpha.to(dt) if isinstance(alpha, Tensor) else alpha
        rows = (a * y + (1.0 - a) * (1.0 - y)) * rows  # alpha_t
    if b.weight is not None:
        rows = b.weight.to(dt) * rows
    if normalized:  # smp: divided by the sum of the focal factors (counted elements), clamped at 1e-6
        kept = focus if b.valid is None else torch.where(b.valid, focus, torch.zeros((), dtype=dt, device=z.device))
        rows = rows / kept.sum().clamp_min(1e-6)
    return rows


def asymmetric_loss(
    logits: Tensor,
    target: Tensor,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    weight: Tensor | None = None,
    ignore_index: float | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
    label_smoothing: float = 0.0,
    pos_weight: Tensor | None = None,
    focusing_gradient: bool = True,
    soft_target: str = "expected",
) -> Tensor:
    r"""Asymmetric loss (ASL, Ridnik et al. 2021) for multi-label classification, from logits.

    With :math:`p = \sigma(z)`, the shifted probability :math:`p_m = \max(p - m, 0)` (:math:`m` =
    ``clip``) and :math:`w` = ``weight``:

    .. math::

        \ell = w \Big[\, y\,(1-p)^{\gamma_+}\big(-\log p\big)
               + (1-y)\, p_m^{\gamma_-}\big(-\log(1-p_m)\big) \Big]

    Negatives with :math:`p \le m` are discarded (loss and gradient 0); easy negatives are
    down-weighted by :math:`p_m^{\gamma_-}`. Soft targets take the expectation over
    :math:`y \sim \text{Bernoulli}(y)`; ``soft_target="peers"`` is the reference code's (timm's) form,
    which mixes the two exponents on the soft target instead (both agree on 0/1 targets). Logs are exact (log-sigmoid), where the reference clamps :math:`p` at
    ``1e-8``; the two differ only for positives with :math:`p < 10^{-8}`.

    Likelihood view: the **Bernoulli** NLL with the sigmoid link (``binary_cross_entropy_with_logits``)
    with separate focusing for positives and negatives and a hard shift of the negatives'
    probability. ``gamma_pos=gamma_neg=0, clip=0`` is exactly BCE-with-logits; ``clip=0,
    gamma_pos=gamma_neg=gamma`` is :func:`sigmoid_focal_loss` without ``alpha``. Decide by
    thresholding :math:`\sigma(z)` (ASL-trained scores are shifted upwards; tune the threshold).

    Args:
        logits: raw scores ``(N, C)`` or any shape (one independent label per element).
        target: same shape, 0/1 (or soft in [0, 1]).
        gamma_pos: focusing exponent :math:`\gamma_+ \ge 0` of positives.
        gamma_neg: focusing exponent :math:`\gamma_- \ge 0` of negatives.
        clip: probability margin :math:`m \in [0, 1)` of the negatives (``0`` = no shifting).
        weight: rescaling of each element's loss; broadcasts to ``logits``.
        ignore_index: elements whose target equals this value are left out. ``None``: none.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``. The reference implementation returns the
            **sum** over the batch (``-loss.sum()``): use ``reduction="sum"`` to reproduce its numbers.
            ``"mean"`` divides the sum by the number of non-ignored elements (``N * C`` without
            ignores), so it is the reference's value / ``(N * C)`` — scale the learning rate
            accordingly. ``weight`` does not enter the denominator.
        all_ignored: ``"nan"`` | ``"zero"``, for a batch in which every element is ignored.
        label_smoothing: :math:`\varepsilon \in [0, 1)`; targets become :math:`y(1-\varepsilon) + \varepsilon/2`
            (losskit's one binary definition; the loss of the soft target is the expectation above).
        pos_weight: extra weight of the positive term (as in torch's BCE), broadcasting to ``logits`` (a
            1-D ``(C,)`` applies per class, dim 1); ``None``: off.
        focusing_gradient: ``True`` (default; timm's ``disable_torch_grad_focal_loss=False``): the whole
            loss is differentiated. ``False``: the focusing weights :math:`(1-p)^{\gamma_+}` and
            :math:`p_m^{\gamma_-}` are constants in the backward (the same value; the gradient is that of
            the weighted log terms only), timm's ``disable_torch_grad_focal_loss=True`` (it computes the
            weights under ``torch.no_grad``).
        soft_target: ``"expected"`` (default): the expectation above, linear in the target;
            ``"peers"``: timm's ``AsymmetricLossMultiLabel`` on a soft (or smoothed) target :math:`y`,
            :math:`-(1-p_t)^{\gamma_+ y + \gamma_- (1-y)} \big[y \log p + (1-y) \log(1-p_m)\big]` with
            :math:`1 - p_t = y (1-p) + (1-y) p_m` (``pos_weight`` on the positive log term).

    Returns:
        ``"none"``: shape of ``logits`` (0 where ignored); ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from losskit.functional import asymmetric_loss
        >>> logits = torch.tensor([[2.0, -1.0, 0.0], [-3.0, 1.0, 4.0]])
        >>> target = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        >>> round(asymmetric_loss(logits, target, reduction="sum").item(), 5)
        0.41602

    References:
        Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor. "Asymmetric Loss For
        Multi-Label Classification", ICCV 2021 (arXiv:2009.14119).

    """
    fn = "asymmetric_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    b = binary_focal_inputs(fn, logits, target, weight, pos_weight, None, ignore_index, label_smoothing)  # no alpha
    gp, gn = _gamma(gamma_pos, fn, "gamma_pos"), _gamma(gamma_neg, fn, "gamma_neg")
    clip = _checks.number(clip, "clip", low=0.0, high=1.0, high_open=True, fn=fn, hint="0 turns the shift off")
    grad = _checks.flag(focusing_gradient, "focusing_gradient", fn=fn)
    if _soft_target(soft_target, None, False, fn) == "peers":
        rows = _asymmetric_peers_rows(b, gamma_pos=gp, gamma_neg=gn, clip=clip, focusing_gradient=grad)
    else:
        rows = sigmoid_rows(b, alpha=None, gamma_pos=gp, gamma_neg=gn, clip=clip, focusing_gradient=grad)
    return reduce_binary(rows, b, reduction, all_ignored)


def _asymmetric_peers_rows(b, *, gamma_pos: float, gamma_neg: float, clip: float, focusing_gradient: bool) -> Tensor:
    """timm's ASL per element on the (smoothed) target ``y``: ``-(1 - p_t)^(g+ y + g- (1 - y)) [pw y log p +
    (1 - y) log(1 - p_m)]`` with ``1 - p_t = y (1 - p) + (1 - y) p_m`` (two non-negative terms, no
    cancellation); 0 where ignored. The logs are exact (log-sigmoid; ``log1p(m - p)`` capped at 0)."""
    dt = _checks.compute_dtype(b.logits.dtype)
    z, y = _checks.upcast(b.logits), b.smoothed_target(dt)
    log_p, log_q = F.logsigmoid(z), F.logsigmoid(-z)
    p = torch.sigmoid(z)
    if clip:
        log_qm, p_m = torch.log1p(clip - p).clamp(max=0.0), (p - clip).clamp_min(0.0)
    else:
        log_qm, p_m = log_q, p
    pw = 1.0 if b.pos_weight is None else b.pos_weight.to(dt)
    log_lik = pw * y * log_p + (1.0 - y) * log_qm
    one_minus = y * log_q.exp() + (1.0 - y) * p_m  # 1 - p_t
    exponent = gamma_pos * y + gamma_neg * (1.0 - y)
    # the power's gradient stays finite where 1 - p_t underflows (both branches of where() are differentiated)
    small = one_minus < torch.finfo(dt).tiny
    safe = torch.where(small, torch.ones((), dtype=dt, device=z.device), one_minus)
    focus = torch.where(small, one_minus.detach().pow(exponent), safe.pow(exponent))
    rows = -(focus if focusing_gradient else focus.detach()) * log_lik
    if b.weight is not None:
        rows = b.weight.to(dt) * rows
    return rows if b.valid is None else torch.where(b.valid, rows, torch.zeros((), dtype=dt, device=z.device))


# --------------------------------------------------------------------------------------------
# softmax family (Categorical likelihood)
# --------------------------------------------------------------------------------------------


def _widened(t, logits):
    """A class tensor of lower precision than the logits, widened (exact): unlike torch's twins, the
    focal family takes a float32 ``weight`` with float64 logits (a module moved with ``.to()``)."""
    if isinstance(t, Tensor) and isinstance(logits, Tensor) and t.is_floating_point() and logits.is_floating_point():
        dt = _checks.autocast_dtype(logits)
        if torch.finfo(t.dtype).bits < torch.finfo(dt).bits:
            return t.to(dt)
    return t


def class_alpha(alpha: Alpha, c, fn: str) -> Alpha:
    """``alpha`` of the softmax family: a float in [0, 1], a ``(C,)`` tensor of values >= 0, or ``None``."""
    if isinstance(alpha, Tensor):
        alpha = _checks.class_weight(_widened(alpha, c.logits), c.num_classes, "alpha")
        return _checks.like_dtype(alpha, _checks.autocast_dtype(c.logits), "alpha", "logits", fn=fn)
    return None if alpha is None else _checks.number(alpha, "alpha", low=0.0, high=1.0, fn=fn)


def softmax_rows(c, *, alpha: Alpha, gamma: float, epsilon: float = 0.0) -> Tensor:
    """Per position ``sum_c q'_c t_c`` with ``t_c = w_c [alpha_c (1 - p_c)^g (-log p_c) + eps (1 - p_c)^(g + 1)]``
    (``q'``: one-hot of the class index or the probabilities, smoothed by torch's rule); 0 where ignored."""
    d = c.class_dim
    x = _checks.upcast(c.logits)
    log_p, one_minus = softmax_log_p_and_one_minus_p(x, d)  # exact where p rounds to 1
    per_class = (-1,) + (1,) * (x.dim() - 1 - d)  # a (C,) tensor along the class dimension
    t = focal_power(one_minus, gamma) * -log_p  # (1 - p)^g (-log p)
    if isinstance(alpha, Tensor):
        t = alpha.to(x.dtype).view(per_class) * t
    elif alpha is not None:
        t = alpha * t
    if epsilon:
        t = t + epsilon * focal_power(one_minus, gamma + 1.0)  # Poly-1: eps (1 - p)^(g + 1), not scaled by alpha
    if c.weight is not None:
        t = c.weight.to(x.dtype).view(per_class) * t
    eps, k = c.label_smoothing, c.num_classes
    if c.probs:
        q = c.target.to(x.dtype)
        q = q * (1.0 - eps) + eps / k if eps else q  # q' = q (1 - eps) + eps / C
        return (q * t).sum(d)
    y = (c.target if c.valid is None else c.target.masked_fill(~c.valid, 0)).unsqueeze(d)
    rows = t.gather(d, y).squeeze(d)
    if eps:
        rows = (1.0 - eps) * rows + (eps / k) * t.sum(d)  # q' = (1 - eps) onehot(y) + eps / C
    if c.valid is not None:
        rows = torch.where(c.valid, rows, torch.zeros((), dtype=rows.dtype, device=rows.device))
    return rows


def softmax_inputs(
    fn: str, logits, target, weight, ignore_index, label_smoothing, sample_weight, *, probs_allowed: bool = True
):
    """``(class_inputs, sample weights or None)`` of the softmax family: smoothing in [0, 1), probability
    targets in [0, 1], a lower-precision ``weight`` widened, ``sample_weight`` of the shape of the loss per item."""
    c = _checks.class_inputs(
        fn,
        logits,
        target,
        weight=_widened(weight, logits),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        smoothing_high_open=True,
        probs_allowed=probs_allowed,
    )
    if c.probs:
        _checks.values_in(c.target, "target", low=0.0, high=1.0, fix="class probabilities lie in [0, 1]")
    return c, _checks.sample_weights(sample_weight, _item_shape(c) if c.probs else c.target.shape, fn=fn)


def focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Multi-class (softmax) focal loss from logits, with class-index or probability targets.

    With :math:`p = \operatorname{softmax}(z)` over the class dimension and the target distribution
    :math:`q` (one-hot of the class index, or the given probabilities; with label smoothing
    :math:`q' = q(1-\varepsilon) + \varepsilon/C`), each position's loss is

    .. math::

        \ell = \sum_{c} q'_c\, w_c\, \alpha_c\, (1-p_c)^{\gamma}\, \big(-\log p_c\big)

    — the focal term of each class, weighted by how much target mass that class has. For a class
    index :math:`y` without smoothing this is :math:`-w_y \alpha_y (1-p_y)^\gamma \log p_y`.
    :math:`w` = ``weight`` and :math:`\alpha` = ``alpha`` (1 when ``None``).

    Likelihood view: the **Categorical** negative log-likelihood with the softmax link
    (``cross_entropy``), reweighted per position and class by :math:`(1-p_c)^\gamma` and
    :math:`\alpha_c`. With ``gamma=0`` and ``alpha=None`` it is exactly ``cross_entropy`` for every
    option (``weight``, ``ignore_index``, ``label_smoothing``, probability targets, weighted mean).
    Predict with the arg-max of :math:`z`; for ``gamma > 0`` the softmax is under-confident, so
    recalibrate (temperature scaling) before using it as probabilities.

    Args:
        logits: ``(C,)`` or ``(N, C)`` or ``(N, C, d1, ..., dk)`` raw scores, classes on dim 1.
        target: class indices of shape ``(N, d1, ..., dk)`` (integer, values in [0, C) or
            ``ignore_index``), or class probabilities of the logits' shape (float).
        alpha: class balance. A float in [0, 1] multiplies every class's term (a constant scale,
            kept for parity with :func:`sigmoid_focal_loss` configurations); a ``(C,)`` tensor of
            non-negative values gives one factor per class (e.g. from
            :func:`class_balanced_weights`; kornia's convention is ``[1 - a, a, ..., a]``). ``alpha``
            does not enter the mean's denominator. ``None``: off.
        gamma: focusing parameter :math:`\gamma \ge 0`.
        weight: ``(C,)`` class weights, exactly as in ``cross_entropy``.
        ignore_index: class-index targets equal to it contribute 0 and are left out of the mean
            (``None``: none). Not used with probability targets (as in torch).
        label_smoothing: :math:`\varepsilon \in [0, 1)`, torch's rule.
        sample_weight: per-item weight (Keras's ``sample_weight``), the shape of the loss per item
            ``(N, d1, ..., dk)`` or broadcasting to it, values >= 0 (``None``: off); ``weight`` stays per
            class. It multiplies each item's loss and joins the mean's denominator, as in
            :func:`~losskit.functional.cross_entropy`: ``mean`` is :math:`\sum_n s_n \ell_n / \sum_n s_n w_{y_n}`
            (:math:`\sum_n s_n` for probability targets). Keras divides by the number of items instead
            (``reduction="sum"``, then divide by N).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        all_ignored: ``"nan"`` (torch) | ``"zero"``, for a batch in which every target is ignored.

    Returns:
        ``"none"``: shape ``(N, d1, ..., dk)`` (``()`` for ``(C,)`` logits), 0 where ignored.
        ``"sum"``: scalar. ``"mean"``: scalar, torch's cross-entropy rule: for class indices
        :math:`\sum_i \ell_i / \sum_i w_{y_i}` over non-ignored positions (the count of them without
        ``weight``); for probability targets :math:`\sum_i \ell_i / N\!\cdot\!d_1\cdots d_k`.

    Example:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from losskit.functional import focal_loss
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> target = torch.tensor([0, 1])
        >>> round(focal_loss(logits, target, gamma=2.0).item(), 5)
        0.85683
        >>> torch.allclose(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target))
        True

    References:
        Lin et al. "Focal Loss for Dense Object Detection", ICCV 2017 (arXiv:1708.02002).
        Mukhoti et al. "Calibrating Deep Neural Networks using Focal Loss", NeurIPS 2020.

    """
    fn = "focal_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    c, s = softmax_inputs(fn, logits, target, weight, ignore_index, label_smoothing, sample_weight)
    alpha, gamma = class_alpha(alpha, c, fn), _gamma(gamma, fn)
    return _reduce_rows(softmax_rows(c, alpha=alpha, gamma=gamma), c, s, reduction, all_ignored)


def asymmetric_single_label_loss(
    logits: Tensor,
    target: Tensor,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Single-label asymmetric loss (timm's ``AsymmetricLossSingleLabel``): softmax cross-entropy with the
    target class focused by :math:`(1-p_y)^{\gamma_+}` and every other class by :math:`p_c^{\gamma_-}`.

    With :math:`p = \operatorname{softmax}(z)` over the class dimension, the class index :math:`y`, the
    smoothed target :math:`q' = (1-\varepsilon)\,\text{onehot}(y) + \varepsilon/C` and class weights :math:`w`:

    .. math::
        \ell = \sum_c q'_c\, w_c\, m_c\, (-\log p_c), \qquad
        m_y = (1 - p_y)^{\gamma_+}, \quad m_c = p_c^{\gamma_-}\ (c \ne y).

    The focusing weight of a class depends on whether it is the labelled class, not on its smoothed
    mass (timm's definition): the smoothing mass :math:`\varepsilon/C` on the other classes is
    down-weighted by :math:`p_c^{\gamma_-}`, so confident wrong classes are pushed down hardest.
    :math:`1 - p_y` and :math:`\log p_y` are exact where :math:`p_y` rounds to 1, and the gradient is
    finite for every :math:`\gamma \ge 0` (see :mod:`losskit.functional._primitives`).

    Likelihood view: the **Categorical** NLL with the softmax link (``cross_entropy``), reweighted per
    class; ``gamma_pos = gamma_neg = 0`` is exactly :func:`~losskit.functional.cross_entropy` (with the
    same ``weight``, ``ignore_index``, ``label_smoothing`` and weighted mean). Predict with the arg-max
    of :math:`z`; the softmax is not calibrated for :math:`\gamma > 0`.

    Args:
        logits: ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``, classes on dim 1.
        target: class indices ``(N, d1, ..., dk)`` in [0, C) or ``ignore_index``.
        gamma_pos: :math:`\gamma_+ \ge 0`, focusing of the labelled class (timm's default 1).
        gamma_neg: :math:`\gamma_- \ge 0`, focusing of the other classes (timm's default 4).
        weight: per-class weight ``(C,)``, as in ``cross_entropy``.
        ignore_index: class index that contributes neither loss nor gradient (``None``: none).
        label_smoothing: :math:`\varepsilon \in [0, 1)` (timm's ``eps``, default 0.1 there).
        sample_weight: per-item weight, as in :func:`~losskit.functional.focal_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``; ``mean`` is torch's weighted mean
            :math:`\sum_n \ell_n / \sum_n w_{y_n}` over non-ignored items (timm: the plain mean, equal without weights).
        all_ignored: ``"nan"`` | ``"zero"``, as in ``cross_entropy``.

    Returns:
        ``"none"``: ``(N, d1, ..., dk)`` (0 where ignored); ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import asymmetric_single_label_loss, cross_entropy
        >>> logits, y = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]), torch.tensor([0, 1])
        >>> round(asymmetric_single_label_loss(logits, y, gamma_pos=1.0, gamma_neg=4.0, label_smoothing=0.1).item(), 4)
        0.9226
        >>> torch.allclose(asymmetric_single_label_loss(logits, y, gamma_neg=0.0), cross_entropy(logits, y))
        True

    References:
        Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV 2021 (arXiv:2009.14119);
        timm ``timm/loss/asymmetric_loss.py`` (``AsymmetricLossSingleLabel``).
    """
    fn = "asymmetric_single_label_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    c, s = softmax_inputs(fn, logits, target, weight, ignore_index, label_smoothing, sample_weight, probs_allowed=False)
    gp, gn = _gamma(gamma_pos, fn, "gamma_pos"), _gamma(gamma_neg, fn, "gamma_neg")
    d, x = c.class_dim, _checks.upcast(c.logits)
    log_p, one_minus = softmax_log_p_and_one_minus_p(x, d)
    y = (c.target if c.valid is None else c.target.masked_fill(~c.valid, 0)).unsqueeze(d)
    is_y = torch.arange(c.num_classes, device=x.device).view(-1, *([1] * (x.dim() - 1 - d))) == y
    focus = torch.where(is_y, focal_power(one_minus, gp), torch.exp(gn * log_p))  # (1-p_y)^g+, p_c^g- = exp(g- log p_c)
    t = focus * -log_p
    if c.weight is not None:
        t = c.weight.to(x.dtype).view(-1, *([1] * (x.dim() - 1 - d))) * t
    eps = c.label_smoothing
    rows = t.gather(d, y).squeeze(d)
    if eps:
        rows = (1.0 - eps) * rows + (eps / c.num_classes) * t.sum(d)  # q' = (1 - eps) onehot(y) + eps / C
    if c.valid is not None:
        rows = torch.where(c.valid, rows, torch.zeros((), dtype=rows.dtype, device=rows.device))
    return _reduce_rows(rows, c, s, reduction, all_ignored)
