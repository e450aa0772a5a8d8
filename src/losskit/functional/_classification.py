"""Classification losses that are exact twins of ``torch.nn.functional``.

Each function here takes torch's arguments in torch's positional order (including the deprecated
``size_average`` / ``reduce`` slots), gives torch's numbers, and adds:

* errors that name the argument, the value seen and the fix (logits passed as probabilities,
  class indices out of range, the wrong target form, shape mismatches, weights of the wrong length);
* ``all_ignored="zero"`` for the losses with ``ignore_index`` (0 with a zero gradient, instead of
  torch's NaN, for a batch in which every target is ignored);
* float32 computation for float16 / bfloat16 inputs (the result has the input's dtype).

The numeric core is torch's own (``F.cross_entropy``, ``F.nll_loss``, ...), so the twins are as
fast as torch. (The binary cross-entropy losses live in :mod:`losskit.functional._binary`.)
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
    "cross_entropy",
    "nll_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
]

# --------------------------------------------------------------------------------------------
# small shared helpers (metadata only: nothing here reads tensor values); the dtype, smoothing and
# broadcast checks shared with the other topics live in losskit._checks
# --------------------------------------------------------------------------------------------


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
# margin losses
# --------------------------------------------------------------------------------------------


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Two-class logistic loss on labels :math:`y \in \{-1, +1\}`.

    The twin of :func:`torch.nn.functional.soft_margin_loss`:

    .. math:: \ell = \log(1 + e^{-y x}) = \operatorname{softplus}(-y x)

    computed as a softplus, so it stays finite where torch's :math:`\log(1 + e^{-yx})` overflows to
    ``inf`` (:math:`-yx \gtrsim 89` in float32).

    Likelihood: the Bernoulli NLL with the logistic link on ±1 labels
    (:math:`P(y \mid x) = \sigma(y x)`); it equals :func:`binary_cross_entropy_with_logits` with
    target :math:`(y+1)/2`. Predict :math:`\operatorname{sign}(x)`.

    Args:
        input: raw scores, any shape.
        target: labels ±1, ``input``'s shape (or broadcastable to it).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``input``'s shape; ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import soft_margin_loss
        >>> print(round(soft_margin_loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 1.0])).item(), 4))
        0.7201

    References:
        PyTorch, ``torch.nn.SoftMarginLoss``.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _checks.check_floating(input, "input")
    _checks.check_tensor(target, "target")
    _checks.check_broadcasts_to(target, input.shape, "target", "input")
    _checks.check_finite(input, "input")
    dtype = _checks.compute_dtype(input.dtype)
    x = input if input.dtype == dtype else input.to(dtype)
    y = target if target.dtype == dtype else target.to(dtype)
    loss = F.softplus(-y * x)  # log(1 + exp(-y x))
    loss = _reduction.reduce(loss, reduction)  # (the module, as the argument ``reduce`` shadows the function)
    return loss if loss.dtype == input.dtype else loss.to(input.dtype)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-label logistic loss: binary cross-entropy per class, averaged over the classes.

    The twin of :func:`torch.nn.functional.multilabel_soft_margin_loss`. For input
    :math:`x \in \mathbb{R}^{\ldots \times C}` (classes along the last dimension):

    .. math::
        \ell = \frac{1}{C} \sum_c w_c \left[ \operatorname{softplus}(-x_c)\, y_c
             + \operatorname{softplus}(x_c)\,(1 - y_c) \right]

    (:math:`-\log\sigma(x) = \operatorname{softplus}(-x)`).

    Likelihood: C independent Bernoulli labels with the logistic link; the loss is their joint NLL
    divided by C. Predict label c when :math:`x_c > 0`.

    Args:
        input: raw scores, shape (..., C) — e.g. (N, C) or (C,).
        target: 0/1 labels (or probabilities), ``input``'s shape (or broadcastable to it).
        weight: optional per-class weight broadcastable to ``input``'s shape, usually (C,).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``input.shape[:-1]``; ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import multilabel_soft_margin_loss
        >>> x, y = torch.tensor([[2.0, -1.0, 0.5]]), torch.tensor([[1.0, 0.0, 0.0]])
        >>> print(round(multilabel_soft_margin_loss(x, y).item(), 4))
        0.4714

    References:
        PyTorch, ``torch.nn.MultiLabelSoftMarginLoss``.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _checks.check_floating(input, "input")
    _checks.check_tensor(target, "target")
    if input.dim() == 0:
        raise ValueError(
            "multilabel_soft_margin_loss: input must have a class dimension (shape (..., C)), got a "
            "0-dimensional tensor; for one binary score use binary_cross_entropy_with_logits"
        )
    _checks.check_broadcasts_to(target, input.shape, "target", "input")
    _checks.check_broadcasts_to(weight, input.shape, "weight", "input")
    _checks.check_finite(input, "input")
    dtype = _checks.compute_dtype(input.dtype)
    x = input if input.dtype == dtype else input.to(dtype)
    y = target.to(dtype).expand_as(x)
    # -(y log σ(x) + (1-y) log σ(-x)), torch's fused stable form
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    if weight is not None:
        loss = loss * weight.to(dtype)
    loss = loss.sum(dim=-1) / input.shape[-1]
    loss = _reduction.reduce(loss, reduction)  # (the module, as the argument ``reduce`` shadows the function)
    return loss if loss.dtype == input.dtype else loss.to(input.dtype)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Optional[Tensor] = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-class hinge loss (Weston-Watkins / Crammer-Singer style margin on every wrong class).

    The exact twin of :func:`torch.nn.functional.multi_margin_loss`:

    .. math:: \ell_n = \frac{1}{C} \sum_{c \ne y_n} w_{y_n} \max(0,\, m - x_{n,y_n} + x_{n,c})^p,
        \qquad p \in \{1, 2\},

    ``mean`` is the plain mean over the N rows (the weights are not normalised, unlike
    :func:`cross_entropy`).

    Likelihood: none (a margin loss, not an NLL); it is a convex upper bound on the 0-1 loss.
    Predict ``input.argmax(-1)``.

    Args:
        input: scores, shape (N, C) or (C,). float16/bfloat16 are computed in float32.
        target: integer class indices, shape (N,) or (), in [0, C).
        p: 1 (hinge) or 2 (squared hinge).
        margin: :math:`m`, default 1.
        weight: optional per-class weight of shape (C,).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: shape (N,) or (); ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import multi_margin_loss
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(multi_margin_loss(x, torch.tensor([3])).item(), 4))
        0.325

    References:
        PyTorch, ``torch.nn.MultiMarginLoss``; Weston & Watkins, "Support Vector Machines for
        Multi-Class Pattern Recognition", ESANN 1999.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2 (as in torch), got {p!r}")
    _checks.check_floating(input, "input")
    if input.dim() not in (1, 2) or input.numel() == 0:
        raise ValueError(
            f"multi_margin_loss: input must have shape (N, C) or (C,), got {tuple(input.shape)}; "
            "flatten extra dimensions into N first (input.reshape(-1, C))"
        )
    num_classes = input.shape[-1]
    _index_target(target, input, "input", allow_probs=False, fn="multi_margin_loss")
    _checks.check_weight(weight, num_classes)
    if target.dtype != torch.long:
        target = target.long()
    _checks.check_class_target(target, num_classes)
    _checks.check_finite(input, "input")
    dtype = _checks.compute_dtype(input.dtype)
    x = input if input.dtype == dtype else input.to(dtype)
    if weight is not None and weight.dtype != dtype:
        weight = weight.to(dtype)
    out = F.multi_margin_loss(x, target, p=p, margin=margin, weight=weight, reduction=reduction)
    return out if out.dtype == input.dtype else out.to(input.dtype)


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-label hinge loss: every present label must outscore every absent one by 1.

    The exact twin of :func:`torch.nn.functional.multilabel_margin_loss`. ``target`` lists each
    row's labels first, then ``-1`` (everything after the first ``-1`` is ignored). With
    :math:`Y_n` the listed labels:

    .. math:: \ell_n = \frac{1}{C} \sum_{j \in Y_n} \sum_{i \notin Y_n} \max(0,\, 1 - (x_{n,j} - x_{n,i}))

    Likelihood: none (a margin loss). Predict the labels whose score exceeds a tuned threshold.

    Args:
        input: scores, shape (N, C) or (C,). float16/bfloat16 are computed in float32.
        target: integer tensor of ``input``'s shape holding label indices in [0, C), padded by -1.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: shape (N,) or (); ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import multilabel_margin_loss
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(multilabel_margin_loss(x, torch.tensor([[3, 0, -1, 1]])).item(), 4))
        0.85

    References:
        PyTorch, ``torch.nn.MultiLabelMarginLoss``.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _checks.check_floating(input, "input")
    _checks.check_tensor(target, "target")
    if input.dim() not in (1, 2) or input.numel() == 0:
        raise ValueError(
            f"multilabel_margin_loss: input must have shape (N, C) or (C,), got {tuple(input.shape)}; "
            "flatten extra dimensions into N first (input.reshape(-1, C))"
        )
    _checks.check_same_shape(
        input, target, ("input", "target"),
        hint="target holds each row's label indices padded with -1 to C entries",
    )
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(
            f"multilabel_margin_loss: target must hold label indices (an integer tensor padded with -1), got dtype "
            f"{target.dtype}; for 0/1 label masks use multilabel_soft_margin_loss or binary_cross_entropy_with_logits"
        )
    if target.dtype != torch.long:
        target = target.long()
    num_classes = input.shape[-1]
    try:
        _checks.check_class_target(target, num_classes, ignore_index=-1)
    except ValueError:
        lo, hi = torch.aminmax(target)
        raise ValueError(
            f"multilabel_margin_loss: target holds values in [{int(lo)}, {int(hi)}] but must hold label indices in "
            f"[0, {num_classes - 1}] for input with {num_classes} classes, padded with -1"
        ) from None
    _checks.check_finite(input, "input")
    dtype = _checks.compute_dtype(input.dtype)
    x = input if input.dtype == dtype else input.to(dtype)
    out = F.multilabel_margin_loss(x, target, reduction=reduction)
    return out if out.dtype == input.dtype else out.to(input.dtype)
