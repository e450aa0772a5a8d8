"""Classification losses that are exact twins of ``torch.nn.functional``.

Each function here takes torch's arguments in torch's positional order (including the deprecated
``size_average`` / ``reduce`` slots), gives torch's numbers, and adds:

* errors that name the argument, the value seen and the fix (logits passed as probabilities,
  class indices out of range, the wrong target form, shape mismatches, weights of the wrong length);
* ``label_smoothing`` for the binary losses, defined once for the whole library (see
  :func:`binary_cross_entropy_with_logits`);
* ``all_ignored="zero"`` for the losses with ``ignore_index`` (0 with a zero gradient, instead of
  torch's NaN, for a batch in which every target is ignored);
* float32 computation for float16 / bfloat16 inputs (the result has the input's dtype).

The numeric core is torch's own (``F.cross_entropy``, ``F.nll_loss``, the fused
binary-cross-entropy-with-logits op, ...), so the twins are as fast as torch; on CUDA tensors
:func:`cross_entropy` and :func:`binary_cross_entropy_with_logits` first offer the call to a fused
Triton kernel (:mod:`losskit.kernels`).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import check_all_ignored, check_reduction, legacy_reduction, weighted_mean
from ..kernels import _dispatch

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
]

# --------------------------------------------------------------------------------------------
# small shared helpers (metadata only: nothing here reads tensor values); the dtype, smoothing and
# broadcast checks shared with the other topics live in losskit._checks
# --------------------------------------------------------------------------------------------


def _leading_slice(t: Tensor, limit: int = 1 << 16) -> Tensor:
    """A view of the first rows of ``t`` holding at most about ``limit`` elements (``t`` itself if small)."""
    if t.dim() == 0 or t.numel() <= limit:
        return t
    rows = max(1, limit // max(1, t.numel() // t.shape[0]))
    return t[:rows]


def _index_shape(input: Tensor) -> tuple[int, ...]:
    """Shape of class-index targets for ``input`` of shape (C,) or (N, C, d1, ..., dk)."""
    if input.dim() == 1:
        return ()
    return (input.shape[0], *input.shape[2:])


def _check_class_input(input: Tensor, name: str, fn: str) -> int:
    _checks.check_floating(input, name)
    if input.dim() == 0:
        raise ValueError(
            f"{fn}: {name} must have a class dimension — shape (C,), (N, C) or (N, C, d1, ..., dk) — "
            f"got a 0-dimensional tensor; for one binary score use binary_cross_entropy_with_logits"
        )
    return input.shape[1] if input.dim() > 1 else input.shape[0]


def _index_target(target: Tensor, input: Tensor, name: str, *, allow_probs: bool, fn: str) -> bool:
    """Validate the target of a class loss; return True for class probabilities, False for indices.

    The form is decided by shape, like torch: ``target.shape == input.shape`` means probabilities.
    """
    _checks.check_tensor(target, "target")
    idx_shape = _index_shape(input)
    both = (
        f"class indices are an integer tensor of shape {idx_shape} ({name} without its class "
        f"dimension {0 if input.dim() == 1 else 1})"
    )
    if allow_probs:
        both += f", class probabilities a floating tensor with the shape of {name} {tuple(input.shape)}"
    if allow_probs and target.shape == input.shape:
        if not target.is_floating_point():
            raise TypeError(
                f"{fn}: target has the shape of {name} {tuple(input.shape)} (the class-probability form) but dtype "
                f"{target.dtype}; {both}. Use target.float() for probabilities, or pass indices"
            )
        return True
    if tuple(target.shape) != idx_shape:
        raise ValueError(
            f"{fn}: target has shape {tuple(target.shape)} but {name} has shape {tuple(input.shape)}; {both}"
        )
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        extra = "" if allow_probs else "; for class probabilities use cross_entropy with probability targets"
        raise TypeError(
            f"{fn}: target has the shape of class indices {idx_shape} but dtype {target.dtype}; {both}. "
            f"Use target.long() for indices{extra}"
        )
    return False


def _ignore_index(ignore_index: Optional[int], fn: str) -> tuple[int, Optional[int]]:
    """``(value passed to torch, value for the range check)``; ``None`` means no label is ignored."""
    if ignore_index is None:
        # torch needs an int: its default. No label is ignored, so the range check (CPU, or
        # losskit.checks("full")) refuses a -100 in target like any other out-of-range index.
        return -100, None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(
            f"{fn}: ignore_index must be an int (the padding label, torch's default -100) or None, got "
            f"{type(ignore_index).__name__} {ignore_index!r}"
        )
    return ignore_index, ignore_index


def _index_mean_zero(num: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int,
                     dtype: torch.dtype) -> Tensor:
    """``all_ignored="zero"`` weighted mean: ``sum(w_y l) / sum(w_y)`` over non-ignored items."""
    return weighted_mean(num, _reduction.class_weight_sum(target, weight, ignore_index, dtype=dtype),
                         all_ignored="zero")


# --------------------------------------------------------------------------------------------
# cross-entropy family
# --------------------------------------------------------------------------------------------


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    ignore_index: Optional[int] = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    all_ignored: str = "nan",
) -> Tensor:
    r"""Cross-entropy between softmax(logits) and class-index or class-probability targets.

    The exact twin of :func:`torch.nn.functional.cross_entropy` (same arguments in the same order,
    same numbers), with clearer errors and ``all_ignored``.

    With :math:`\log p_{n,c} = \operatorname{log\_softmax}(x_n)_c`, weights :math:`w` (ones if not
    given), :math:`C` classes and smoothing :math:`\varepsilon`, for **class indices** :math:`y_n`:

    .. math::
        \ell_n = (1-\varepsilon)\, w_{y_n} (-\log p_{n,y_n})
               + \frac{\varepsilon}{C} \sum_c w_c (-\log p_{n,c}),
        \qquad \ell_n = 0 \text{ if } y_n = \text{ignore\_index}

    and ``mean`` is the weighted mean :math:`\sum_n \ell_n / \sum_{n:\,y_n \ne \text{ignore}} w_{y_n}`
    (the smoothing term is weighted and normalised the same way — torch's semantics since
    pytorch#73205 / #104776). For **class probabilities** :math:`t_{n,c}` (smoothed to
    :math:`t(1-\varepsilon) + \varepsilon/C`):

    .. math:: \ell_n = -\sum_c w_c\, t_{n,c} \log p_{n,c},

    and ``mean`` divides by the number of items (:math:`N d_1 \cdots d_k`), not by the weights.

    Likelihood: the negative log-likelihood of a Categorical distribution with the softmax link
    :math:`p = \operatorname{softmax}(x)`; predict with ``logits.argmax(1)`` (the mode), or
    ``softmax`` for probabilities. Label smoothing is the cross-entropy against the mixture
    :math:`(1-\varepsilon)\,\text{onehot}(y) + \varepsilon\,\text{Uniform}(C)`.

    Args:
        logits: unnormalised scores, shape (C,), (N, C) or (N, C, d1, ..., dk). float16/bfloat16 are
            computed in float32 and the result is returned in the input's dtype.
        target: class indices, an integer tensor of shape (), (N) or (N, d1, ..., dk) with values
            in [0, C) or ``ignore_index``; or class probabilities, a float tensor of ``logits``'
            shape.
        weight: optional per-class weight of shape (C,).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        ignore_index: target value that contributes neither loss nor gradient (indices only);
            ``None``: no label is ignored.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        all_ignored: what ``mean`` gives when every target is ignored (or all weights of the present
            classes are 0): ``"nan"`` (torch's 0/0) or ``"zero"`` (0 with zero gradient, no host sync).

    Returns:
        ``"none"``: shape (), (N) or (N, d1, ..., dk); ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import cross_entropy
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
        >>> print(round(cross_entropy(logits, torch.tensor([0, 2])).item(), 4))
        0.8964
        >>> print(round(cross_entropy(logits, torch.tensor([0, -100]), label_smoothing=0.1).item(), 4))
        0.3913
        >>> cross_entropy(logits, torch.tensor([-100, -100]), all_ignored="zero")
        tensor(0.)

    References:
        PyTorch, ``torch.nn.CrossEntropyLoss``; Szegedy et al., "Rethinking the Inception
        Architecture for Computer Vision", CVPR 2016 (label smoothing).
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    num_classes = _check_class_input(logits, "logits", "cross_entropy")
    probs_target = _index_target(target, logits, "logits", allow_probs=True, fn="cross_entropy")
    label_smoothing = _checks.check_label_smoothing(label_smoothing, high_open=False)
    check_all_ignored(all_ignored)
    _checks.check_weight(weight, num_classes)
    ignore_index, checked_ignore = _ignore_index(ignore_index, "cross_entropy")
    if probs_target:
        if ignore_index != -100:
            raise ValueError(
                f"cross_entropy: ignore_index={ignore_index} applies to class-index targets only, but target "
                "holds class probabilities; give ignored items a zero probability row instead"
            )
        _checks.check_finite(target, "target")
    else:
        if target.dtype != torch.long:
            target = target.long()
        _checks.check_class_target(target, num_classes, ignore_index=checked_ignore)
    _checks.check_finite(logits, "logits")

    out = _dispatch.call_kernel(
        "cross_entropy", logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
        label_smoothing=label_smoothing, all_ignored=all_ignored,
    )
    if out is not None:
        return out

    dtype = _checks.compute_dtype(logits.dtype)
    x = logits if logits.dtype == dtype else logits.to(dtype)
    if weight is not None and weight.dtype != dtype:
        weight = weight.to(dtype)
    if probs_target and target.dtype != dtype:
        target = target.to(dtype)
    if all_ignored == "zero" and reduction == "mean" and not probs_target:
        num = F.cross_entropy(x, target, weight, ignore_index=ignore_index, reduction="sum",
                              label_smoothing=label_smoothing)
        out = _index_mean_zero(num, target, weight, ignore_index, dtype)
    else:
        out = F.cross_entropy(x, target, weight, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=label_smoothing)
    return out if out.dtype == logits.dtype else out.to(logits.dtype)


def nll_loss(
    log_probs: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    ignore_index: Optional[int] = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    *,
    all_ignored: str = "nan",
) -> Tensor:
    r"""Negative log-likelihood of class indices given log-probabilities.

    The exact twin of :func:`torch.nn.functional.nll_loss`:

    .. math:: \ell_n = -w_{y_n} \log p_{n, y_n}, \qquad \ell_n = 0 \text{ if } y_n = \text{ignore\_index},

    with ``mean`` the weighted mean :math:`\sum_n \ell_n / \sum_{n:\,y_n \ne \text{ignore}} w_{y_n}`.
    ``cross_entropy(x, y) == nll_loss(log_softmax(x, 1), y)``.

    Likelihood: the Categorical NLL with the probabilities given in log space (no link applied);
    predict with ``log_probs.argmax(1)``. A warning is raised when ``log_probs`` do not look like
    log-probabilities (a positive entry, or rows whose exp does not sum to 1) on tensors whose
    values may be read (see :func:`losskit.checks`).

    Args:
        log_probs: shape (C,), (N, C) or (N, C, d1, ..., dk).
        target: integer class indices of shape (), (N) or (N, d1, ..., dk), in [0, C) or
            ``ignore_index``.
        weight: optional per-class weight of shape (C,).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        ignore_index: target value that contributes neither loss nor gradient; ``None``: none.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        all_ignored: ``"nan"`` (torch) or ``"zero"``, as in :func:`cross_entropy`.

    Returns:
        ``"none"``: the target's shape; ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import nll_loss
        >>> log_probs = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
        >>> print(round(nll_loss(log_probs, torch.tensor([0, 2])).item(), 4))
        0.2899

    References:
        PyTorch, ``torch.nn.NLLLoss``.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    num_classes = _check_class_input(log_probs, "log_probs", "nll_loss")
    _index_target(target, log_probs, "log_probs", allow_probs=False, fn="nll_loss")
    check_all_ignored(all_ignored)
    _checks.check_weight(weight, num_classes)
    ignore_index, checked_ignore = _ignore_index(ignore_index, "nll_loss")
    if target.dtype != torch.long:
        target = target.long()
    _checks.check_class_target(target, num_classes, ignore_index=checked_ignore)
    _checks.check_finite(log_probs, "log_probs")
    _checks.warn_not_log_probs(log_probs, dim=1, fn="nll_loss")

    dtype = _checks.compute_dtype(log_probs.dtype)
    x = log_probs if log_probs.dtype == dtype else log_probs.to(dtype)
    if weight is not None and weight.dtype != dtype:
        weight = weight.to(dtype)
    if all_ignored == "zero" and reduction == "mean":
        num = F.nll_loss(x, target, weight, ignore_index=ignore_index, reduction="sum")
        out = _index_mean_zero(num, target, weight, ignore_index, dtype)
    else:
        out = F.nll_loss(x, target, weight, ignore_index=ignore_index, reduction=reduction)
    return out if out.dtype == log_probs.dtype else out.to(log_probs.dtype)


# --------------------------------------------------------------------------------------------
# binary cross-entropy family
# --------------------------------------------------------------------------------------------

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


@_with_smoothing_doc
def binary_cross_entropy_with_logits(
    logits: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    pos_weight: Optional[Tensor] = None,
    *,
    label_smoothing: float = 0.0,
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
    ``pos_weight`` scales the positive term (:math:`q > 1` raises recall). Passing probabilities
    (all values in [0, 1] with 0/1 targets) raises a warning: the sigmoid was probably applied
    twice.
    <<SMOOTHING>>
    Args:
        logits: raw scores, any shape. float16/bfloat16 are computed in float32.
        target: same shape as ``logits``, values in [0, 1] (floating, or integer/bool 0/1).
        weight: optional rescaling weight broadcastable to ``logits``' shape.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        pos_weight: optional weight of the positive term, broadcastable to ``logits``' shape
            (typically shape (C,) for C labels along the last dimension).
        label_smoothing: :math:`\varepsilon \in [0, 1)`, see above.

    Returns:
        ``"none"``: ``logits``' shape; ``"mean"`` / ``"sum"``: a scalar.

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
    _checks.check_floating(logits, "logits")
    _checks.check_tensor(target, "target")
    _checks.check_same_shape(
        logits, target, ("logits", "target"),
        hint="binary targets have one entry per logit (reshape target, e.g. target.view_as(logits))",
    )
    label_smoothing = _checks.check_label_smoothing(label_smoothing, high_open=True)
    _checks.check_broadcasts_to(weight, logits.shape, "weight", "logits")
    _checks.check_broadcasts_to(pos_weight, logits.shape, "pos_weight", "logits")
    _checks.check_finite(logits, "logits")
    # the sigmoid-applied-twice guard looks at a leading slice (a view, at most ~64k values): a model
    # that outputs probabilities does so everywhere, and the check stays a small fraction of the loss
    head, head_target = _leading_slice(logits), _leading_slice(target)
    _checks.warn_probs_as_logits(head, head_target, fn="binary_cross_entropy_with_logits",
                                 probs_fn="binary_cross_entropy")

    out = _dispatch.call_kernel(
        "binary_cross_entropy_with_logits", logits, target, weight=weight, pos_weight=pos_weight,
        reduction=reduction, label_smoothing=label_smoothing,
    )
    if out is not None:
        return out

    out_dtype = torch.promote_types(logits.dtype, target.dtype) if target.is_floating_point() else logits.dtype
    dtype = _checks.compute_dtype(out_dtype)
    x = logits if logits.dtype == dtype else logits.to(dtype)
    y = target if target.dtype == dtype else target.to(dtype)
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing  # y' = y(1-ε) + ε/2
    if weight is not None and weight.dtype != dtype:
        weight = weight.to(dtype)
    if pos_weight is not None and pos_weight.dtype != dtype:
        pos_weight = pos_weight.to(dtype)
    out = F.binary_cross_entropy_with_logits(x, y, weight, reduction=reduction, pos_weight=pos_weight)
    return out if out.dtype == out_dtype else out.to(out_dtype)


@_with_smoothing_doc
def binary_cross_entropy(
    probs: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    *,
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Binary cross-entropy between probabilities and targets in [0, 1].

    The exact twin of :func:`torch.nn.functional.binary_cross_entropy`, plus ``label_smoothing``:

    .. math:: \ell = -w \left[ y \log p + (1-y) \log(1-p) \right],

    each log clamped to :math:`\ge -100` as torch does (so :math:`p \in \{0, 1\}` gives a finite
    loss). Prefer :func:`binary_cross_entropy_with_logits` on raw scores: it is stable for saturated
    predictions, where :math:`\log(1 - \sigma(z))` computed from probabilities loses all precision.

    Likelihood: the negative log-likelihood of a Bernoulli distribution with probability
    :math:`p` (no link applied); predict :math:`p > 1/2`, or tune the threshold. Values outside
    [0, 1] are refused (they look like logits).
    <<SMOOTHING>>
    Args:
        probs: probabilities in [0, 1], any shape. float16/bfloat16 are computed in float32.
        target: same shape as ``probs``, values in [0, 1] (floating, or integer/bool 0/1).
        weight: optional rescaling weight broadcastable to ``probs``' shape.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: :math:`\varepsilon \in [0, 1)`, see above.

    Returns:
        ``"none"``: ``probs``' shape; ``"mean"`` / ``"sum"``: a scalar.

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
    _checks.check_floating(probs, "probs")
    _checks.check_tensor(target, "target")
    _checks.check_same_shape(
        probs, target, ("probs", "target"),
        hint="binary targets have one entry per probability (reshape target, e.g. target.view_as(probs))",
    )
    label_smoothing = _checks.check_label_smoothing(label_smoothing, high_open=True)
    _checks.check_broadcasts_to(weight, probs.shape, "weight", "probs")
    _checks.check_probs(probs, "probs", logits_fn="binary_cross_entropy_with_logits")

    dtype = _checks.compute_dtype(probs.dtype)
    p = probs if probs.dtype == dtype else probs.to(dtype)
    y = target if target.dtype == dtype else target.to(dtype)
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing  # y' = y(1-ε) + ε/2
    if weight is not None and weight.dtype != dtype:
        weight = weight.to(dtype)
    out = F.binary_cross_entropy(p, y, weight, reduction=reduction)
    return out if out.dtype == probs.dtype else out.to(probs.dtype)
