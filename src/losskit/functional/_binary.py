r"""Binary cross-entropy: the negative log-likelihood of a Bernoulli distribution.

* :func:`binary_cross_entropy_with_logits` -- from logits, the exact twin of
  ``torch.nn.functional.binary_cross_entropy_with_logits``, plus ``label_smoothing``;
* :func:`binary_cross_entropy` -- from probabilities, the twin of
  ``torch.nn.functional.binary_cross_entropy``, plus ``label_smoothing``.

The numeric core is torch's own op (so the twins give torch's numbers and gradients); on CUDA
tensors :func:`binary_cross_entropy_with_logits` first offers its rows to the fused
``sigmoid_focal_rows`` kernel (:mod:`losskit.kernels.sigmoid_focal`: BCE is its ``gamma = 0`` case).
Its backward (``_BinaryCrossEntropyWithLogits``) writes torch's gradient into one buffer in place of
the three torch's backward allocates, and stays twice differentiable.
"""

from __future__ import annotations

from typing import overload

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import check_reduction, legacy_reduction
from ..kernels import _dispatch
from ._primitives import signature_cached

__all__ = ["binary_cross_entropy_with_logits", "binary_cross_entropy"]

_BCE_SMOOTHING_DOC = r"""
    **Label smoothing** (one definition for all of losskit): each binary target is smoothed toward
    Bernoulli(1/2),

    .. math:: y' = y\,(1-\varepsilon) + \varepsilon/2, \qquad \varepsilon \in [0, 1),

    which is exactly what ``cross_entropy(..., label_smoothing=ε)`` does with two classes (a logit
    :math:`z` here equals two-class logits :math:`[0, z]` there). Other conventions, mapped onto it:

    * Keras ``BinaryCrossentropy(label_smoothing=ε)``: :math:`y(1-\varepsilon) + \varepsilon/2` — the
      same; pass the same ε.
    * timm ``BinaryCrossEntropy(smoothing=ε)`` over :math:`C` classes (one-hot of a class index):
      off value :math:`\varepsilon/C`, on value :math:`1-\varepsilon+\varepsilon/C`, i.e.
      :math:`y' = y(1-\varepsilon) + \varepsilon/C`. With :math:`\varepsilon_{ours} = 2\varepsilon/C`
      the off (negative) targets agree for every :math:`C`, but the on targets
      (:math:`1-\varepsilon/C` here) agree only when :math:`C = 2` (then :math:`\varepsilon_{ours}
      = \varepsilon`). For :math:`C \ne 2` no :math:`\varepsilon_{ours}` reproduces timm, whose two
      targets do not sum to 1; pass its smoothed targets yourself with ``label_smoothing=0``.
    * One-sided :math:`y' = y(1-\varepsilon)` (positives lowered, negatives kept at 0): not a special
      case of this one (ours also raises negatives to :math:`\varepsilon/2`); pass
      ``target * (1 - ε)`` yourself.
"""


def _with_smoothing_doc(fn):
    """Insert the shared label-smoothing section where the docstring says ``<<SMOOTHING>>``."""
    fn.__doc__ = fn.__doc__.replace("    <<SMOOTHING>>\n", _BCE_SMOOTHING_DOC.lstrip("\n") + "\n")
    return fn


@overload
def _in(t: Tensor, dtype: torch.dtype) -> Tensor: ...
@overload
def _in(t: Tensor | None, dtype: torch.dtype) -> Tensor | None: ...
def _in(t: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    return t if t is None or t.dtype == dtype else t.to(dtype)


@signature_cached
class _BinaryCrossEntropyWithLogits(torch.autograd.Function):
    r"""torch's ``binary_cross_entropy_with_logits`` (no ``pos_weight``, a weight that takes no
    gradient), whose backward writes the gradient in one buffer.

    Forward: torch's op, so the loss is torch's to the bit. Backward: with upstream gradient
    :math:`g` (a scalar for ``mean``/``sum``, divided by the element count for ``mean``),
    :math:`\partial \ell / \partial z = (\sigma(z) - y)\, w\, g`: without a graph to build, computed
    in place in the buffer of :math:`\sigma(z)` (torch's backward allocates three buffers of the
    input's size for the same numbers); with one (``create_graph=True``) the same formula under
    autograd, whose derivative is torch's double backward (:math:`\sigma'(z)\, w\, g`, and
    :math:`(\sigma(z) - y)\, w` for :math:`g`). Targets take no gradient here: a target that requires
    one goes to torch's op instead.
    """

    @staticmethod
    def forward(x: Tensor, y: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
        return F.binary_cross_entropy_with_logits(x, y, weight, reduction=reduction)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, y, weight, ctx.reduction = inputs
        ctx.save_for_backward(x, y, weight)
        ctx.save_for_forward(x, y, weight)

    @staticmethod
    def jvp(ctx, x_t: Tensor | None, y_t: Tensor | None, weight_t: Tensor | None, _reduction: None) -> Tensor:
        # forward-mode AD (dual tensors): the tangent (sigma(z) - y) w dz - z w dy, reduced like the loss
        x, y, weight = ctx.saved_tensors
        t = torch.zeros_like(x) if x_t is None else (torch.sigmoid(x) - y) * x_t
        if y_t is not None:
            t = t - x * y_t
        if weight is not None:
            t = t * weight
        return t.mean() if ctx.reduction == "mean" else t.sum() if ctx.reduction == "sum" else t

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, y, weight = ctx.saved_tensors
        scale = grad_out / x.numel() if ctx.reduction == "mean" else grad_out
        if torch.is_grad_enabled():  # create_graph=True: the formula under autograd (twice differentiable)
            d = torch.sigmoid(x) - y
            d = d * scale if weight is None else d * weight * scale
            return d, None, None, None
        d = torch.sigmoid(x).sub_(y)
        if weight is not None:
            d.mul_(weight)
        return d.mul_(scale), None, None, None


def _fused_backward_applies(x: Tensor, y: Tensor, weight: Tensor | None, pos_weight: Tensor | None) -> bool:
    """:class:`_BinaryCrossEntropyWithLogits` serves the call: plain eager autograd (no compile, no
    ``torch.func`` transform, no autocast), no ``pos_weight``, and neither target nor weight needing a
    gradient (torch's op serves those)."""
    return (
        pos_weight is None
        and x.requires_grad
        and torch.is_grad_enabled()
        and not y.requires_grad
        and (weight is None or not weight.requires_grad)
        and x.shape == y.shape
        and not _checks.tracing()
        and not torch.is_autocast_enabled(x.device.type)
        and type(x) in (Tensor, torch.nn.Parameter)
        and type(y) is Tensor
    )


@_with_smoothing_doc
def binary_cross_entropy_with_logits(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | float | None = None,
    *,
    label_smoothing: float = 0.0,
    target_threshold: float | None = None,
) -> Tensor:
    r"""Binary cross-entropy between sigmoid(logits) and targets in [0, 1], computed from the logits.

    The exact twin of :func:`torch.nn.functional.binary_cross_entropy_with_logits`, plus
    ``label_smoothing``. With weight :math:`w`, positive-class weight :math:`q` (``pos_weight``):

    .. math::
        \ell = -w \left[ q\, y \log\sigma(z) + (1-y) \log\sigma(-z) \right]
             = w \left[ q\, y\, \operatorname{softplus}(-z) + (1-y)\, \operatorname{softplus}(z) \right]

    (:math:`-\log\sigma(z) = \operatorname{softplus}(-z)`, stable for any :math:`z`).

    Likelihood: the negative log-likelihood of a Bernoulli distribution with the logistic link
    :math:`p = \sigma(z)`; predict :math:`z > 0` (i.e. :math:`p > 1/2`), or tune the threshold.
    ``pos_weight`` scales the positive term (:math:`q > 1` raises recall). Logits produced by a
    ``sigmoid`` (read from the autograd graph, so healthy logits are never flagged, whatever their
    values) raise a warning: the sigmoid was probably applied twice.
    <<SMOOTHING>>
    Args:
        logits: raw scores, any shape. float16/bfloat16 go to torch's kernel as they are (it computes
            each term in float32 and accumulates the mean in float32, with no float32 copy of the
            input); float32 results under ``torch.autocast``, as torch.
        target: same shape as ``logits``, values in [0, 1] (floating, or integer/bool 0/1). Also
            accepted: one trailing 1 more or less (``(N, 1)`` labels for ``(N,)`` logits, Keras's rule),
            and integer class indices of shape ``logits.shape[:-1]``, read as one-hot rows over the
            last dimension (timm's ``BinaryCrossEntropy``; losskit's ``label_smoothing`` then applies
            to those 0/1 rows -- timm's off/on values :math:`\varepsilon/C`, :math:`1-\varepsilon+\varepsilon/C`
            differ, see above).
        weight: optional rescaling weight broadcastable to ``logits``' shape.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        pos_weight: optional weight of the positive term, broadcastable to ``logits``' shape
            (typically shape (C,) for C labels along the last dimension), or a Python float for
            every label (torch takes tensors only).
        label_smoothing: :math:`\varepsilon \in [0, 1)`, see above.
        target_threshold: ``None`` (off) or :math:`\theta \in [0, 1)`: targets become
            :math:`[t > \theta]` before smoothing (timm's ``target_threshold``, for mixup/cutmix soft
            targets; timm smooths first, so its smoothing is undone by the threshold).

    Returns:
        ``"none"``: ``logits``' shape; ``"sum"``: :math:`\sum_i \ell_i`; ``"mean"``:
        :math:`\sum_i \ell_i / n` over all :math:`n` elements (``weight`` rescales the terms, it does
        not enter the denominator -- torch's rule).

    Example:
        >>> import torch
        >>> from losskit.functional import binary_cross_entropy_with_logits
        >>> z, y = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])
        >>> print(round(binary_cross_entropy_with_logits(z, y).item(), 4))
        0.4714
        >>> print(round(binary_cross_entropy_with_logits(z, y, label_smoothing=0.1).item(), 4))
        0.5131

    References:
        PyTorch, ``torch.nn.BCEWithLogitsLoss``; pytorch#91545 (label smoothing for BCE).
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    b = _checks.binary_inputs(
        "binary_cross_entropy_with_logits",
        logits,
        target,
        weight=weight,
        pos_weight=pos_weight,
        label_smoothing=label_smoothing,
        twin=True,
        probs_fn="binary_cross_entropy",
        index_targets=True,
        target_threshold=target_threshold,
    )
    rows = _dispatch.kernel("sigmoid_focal_rows", b, alpha=None, gamma=0.0, reduction=reduction)
    if rows is None:  # torch's op in torch's dtype, its reduction included (one pass forward, one backward)
        dt = b.out_dtype  # half inputs stay half: torch's kernel computes each term in float32, no copy
        x, y, w, pw = _in(b.logits, dt), b.smoothed_target(dt), _in(b.weight, dt), _in(b.pos_weight, dt)
        if _fused_backward_applies(x, y, w, pw):
            return _BinaryCrossEntropyWithLogits.apply(x, y, w, reduction)
        return F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw)
    return _reduction.reduce(rows, reduction).to(b.out_dtype)


@_with_smoothing_doc
def binary_cross_entropy(
    probs: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    *,
    label_smoothing: float = 0.0,
    target_threshold: float | None = None,
) -> Tensor:
    r"""Binary cross-entropy between probabilities and targets in [0, 1].

    The exact twin of :func:`torch.nn.functional.binary_cross_entropy`, plus ``label_smoothing``:

    .. math:: \ell = -w \left[ y \log p + (1-y) \log(1-p) \right],

    each log clamped to :math:`\ge -100` as torch does (so :math:`p \in \{0, 1\}` gives a finite
    loss). Prefer :func:`binary_cross_entropy_with_logits` on raw scores: it is stable for saturated
    predictions, where :math:`\log(1 - \sigma(z))` computed from probabilities loses all precision.

    Likelihood: the negative log-likelihood of a Bernoulli distribution with probability
    :math:`p` (no link applied); predict :math:`p > 1/2`, or tune the threshold. Values outside
    [0, 1] are refused with losskit's message (they look like logits), as are targets outside
    [0, 1]; a NaN probability gives a NaN loss (torch's op refuses it).
    <<SMOOTHING>>
    Args:
        probs: probabilities in [0, 1], any shape. float16/bfloat16 go to torch's kernel as they are
            (float32 per term and in the mean, no float32 copy); float32 results under
            ``torch.autocast``, as torch.
        target: same shape as ``probs``, values in [0, 1] (floating, or integer/bool 0/1); one trailing
            1 more or less, or class indices ``probs.shape[:-1]``, as in
            :func:`binary_cross_entropy_with_logits`.
        weight: optional rescaling weight broadcastable to ``probs``' shape.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: :math:`\varepsilon \in [0, 1)`, see above.
        target_threshold: ``None`` or :math:`\theta \in [0, 1)`: targets become :math:`[t > \theta]`, as in
            :func:`binary_cross_entropy_with_logits`.

    Returns:
        ``"none"``: ``probs``' shape; ``"sum"``: :math:`\sum_i \ell_i`; ``"mean"``:
        :math:`\sum_i \ell_i / n` over all :math:`n` elements (``weight`` not in the denominator).

    Example:
        >>> import torch
        >>> from losskit.functional import binary_cross_entropy
        >>> p, y = torch.tensor([0.9, 0.2, 0.6]), torch.tensor([1.0, 0.0, 1.0])
        >>> print(round(binary_cross_entropy(p, y).item(), 4))
        0.2798

    References:
        PyTorch, ``torch.nn.BCELoss``.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    b = _checks.binary_inputs(
        "binary_cross_entropy",
        probs,
        target,
        weight=weight,
        label_smoothing=label_smoothing,
        twin=True,
        takes="probs",
        index_targets=True,
        target_threshold=target_threshold,
    )
    dt = _checks.autocast_dtype(b.logits)  # torch's dtype: its kernel computes half inputs in float32 per element
    p, y, w = _in(b.logits, dt), b.smoothed_target(dt), _in(b.weight, dt)
    if b.nan_free:  # the range check read every value: torch's own call, fused reduction
        return F.binary_cross_entropy(p, y, w, reduction=reduction)
    nan = torch.isnan(p)  # torch's op refuses NaN (it checks 0 <= p <= 1): route it around, NaN in -> NaN out
    rows = torch.where(nan, p, F.binary_cross_entropy(p.masked_fill(nan, 0.5), y, w, reduction="none"))
    return _reduction.reduce(rows, reduction)
