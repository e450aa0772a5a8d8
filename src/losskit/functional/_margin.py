r"""Margin (hinge) losses and their logistic counterparts: drop-in twins of torch's.

Two groups:

* **classification margins** -- :func:`soft_margin_loss` (logistic loss on ±1 labels),
  :func:`multilabel_soft_margin_loss`, :func:`multi_margin_loss` (the multi-class SVM hinge) and
  :func:`multilabel_margin_loss`; and, beyond torch, the binary SVM hinges :func:`hinge_loss` and
  :func:`squared_hinge_loss` and the Crammer-Singer :func:`categorical_hinge_loss` (Keras' and optax's);
* **ranking and metric-learning margins** -- :func:`margin_ranking_loss`,
  :func:`hinge_embedding_loss`, :func:`cosine_embedding_loss`, :func:`triplet_margin_loss` and
  :func:`triplet_margin_with_distance_loss`.

The hinges are **not** negative log-likelihoods: each is :math:`\max(0, m - \text{score})` on a
difference of scores or distances, zero once an ordering or a gap is met by the margin :math:`m`.
The two soft-margin losses are the Bernoulli NLL with the logistic link.

Every function keeps torch's positional signature (the deprecated ``size_average`` / ``reduce``
slots included), its values and gradients, and computes float16/bfloat16 inputs in float32; the
result has torch's dtype (float32 under ``torch.autocast``, as torch's losses are on autocast's
float32 list; the input's dtype otherwise). Each is its formula under autograd (so second-order
gradients, ``torch.func`` and ``torch.compile`` work), except :func:`multi_margin_loss` and
:func:`multilabel_margin_loss`, behind twice-differentiable ``autograd.Function``\ s that save only
the inputs, so their peak memory is torch's: ``_MultiMarginRows`` computes the hinge in one
``(N, C)`` buffer each way (vectorised passes, where torch's kernel walks the rows value by value),
:func:`losskit.functional._primitives.multilabel_margin_rows` runs torch's kernel. Unlike torch, a
NaN in the input always gives a NaN loss (torch's two multi-class margin kernels skip NaN terms).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import check_reduction, legacy_reduction
from ._primitives import multilabel_margin_rows, signature_cached

__all__ = [
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "hinge_loss",
    "squared_hinge_loss",
    "categorical_hinge_loss",
]

_up = _checks.upcast  # float32 for half inputs: torch has no half CPU kernel for these formulas


def _like_torch(x: Tensor) -> Tensor:
    """``x`` in the dtype torch computes its twin in: half stays half (torch's elementwise kernels
    compute each term in float32 and round once; no float32 copy), float32 under ``torch.autocast``."""
    dtype = _checks.autocast_dtype(x)
    return x if x.dtype == dtype else x.to(dtype)


# added to squared norms in cosine_embedding_loss: ATen's `static const float EPSILON = 1e-12`, i.e. 1e-12
# rounded to float32 (it matters for zero vectors, where the gradient scales like 1/sqrt(EPSILON))
_COS_EPS = 9.999999960041972e-13


def _out(loss: Tensor, like: Tensor, dtype: torch.dtype) -> Tensor:
    """``loss`` in torch's result dtype: float32 for half ``dtype`` under autocast, else ``dtype``."""
    dtype = _checks.autocast_dtype(like, dtype)
    return loss if loss.dtype == dtype else loss.to(dtype)


def _margin(value: object, fn: str) -> float:
    return _checks.number(value, "margin", fn=fn)


# --------------------------------------------------------------------------------------------
# classification margins
# --------------------------------------------------------------------------------------------


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
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
        target: labels ±1, ``input``'s shape (or broadcastable to it without enlarging it).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``input``'s shape; ``"sum"``: the sum; ``"mean"``: the sum divided by
        ``input.numel()``.

    Example:
        >>> import torch
        >>> from losskit.functional import soft_margin_loss
        >>> print(round(soft_margin_loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 1.0])).item(), 4))
        0.7201

    References:
        PyTorch, ``torch.nn.SoftMarginLoss``.
    """
    fn = "soft_margin_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _checks.pointwise_inputs(fn, {"input": input, "target": target})
    _checks.floating(input, "input")
    _checks.broadcasts_to(target, input.shape, "target", "input", floating_only=False)
    loss = F.softplus(-_like_torch(input) * _like_torch(target))  # log(1 + exp(-x y)), finite for any x y; saves only y
    return _out(_reduction.reduce(loss, reduction), input, input.dtype)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
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
        input: raw scores, shape (..., C) -- e.g. (N, C) or (C,).
        target: 0/1 labels (or probabilities), ``input``'s shape (or broadcastable to it).
        weight: optional per-class weight broadcastable to ``input``'s shape, usually (C,).
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``input.shape[:-1]``; ``"sum"``: the sum over rows; ``"mean"``: that sum divided
        by the number of rows (the weights are not normalised).

    Example:
        >>> import torch
        >>> from losskit.functional import multilabel_soft_margin_loss
        >>> x, y = torch.tensor([[2.0, -1.0, 0.5]]), torch.tensor([[1.0, 0.0, 0.0]])
        >>> print(round(multilabel_soft_margin_loss(x, y).item(), 4))
        0.4714

    References:
        PyTorch, ``torch.nn.MultiLabelSoftMarginLoss``.
    """
    fn = "multilabel_soft_margin_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _checks.floating(input, "input")
    _checks.tensor(target, "target")
    if input.dim() == 0:
        raise ValueError(
            f"{fn}: input must have a class dimension (shape (..., C)), got a 0-dimensional tensor; "
            "for one binary score use binary_cross_entropy_with_logits"
        )
    _checks.pointwise_inputs(fn, {"input": input, "target": target})
    _checks.broadcasts_to(target, input.shape, "target", "input", floating_only=False)
    _checks.broadcasts_to(
        weight, input.shape, "weight", "input", fix="give one weight per class along the last dimension, shape (C,)"
    )
    x = _like_torch(input)
    dtype = x.dtype
    # -(y log σ(x) + (1-y) log σ(-x)), torch's fused stable form
    loss = F.binary_cross_entropy_with_logits(x, target.to(dtype).expand_as(x), reduction="none")
    if weight is not None:
        loss = loss * weight.to(dtype)
    rows = loss.sum(dim=-1) / input.shape[-1]
    out = _reduction.reduce(rows, reduction)
    return out if out.dtype == input.dtype else out.to(input.dtype)


def _class_scores(fn: str, input: object, target: object, *, same_shape: bool) -> tuple[Tensor, Tensor, tuple]:
    """``(x, target, out_shape)``: the (N, C) / (C,) scores of the two multi-class margin losses, with
    torch's edge shapes folded in (a 0-dim input is one class; ``multi_margin_loss`` takes a (C,)
    input with a (1,) target as one row); ``out_shape`` is the shape of the unreduced loss."""
    x = _checks.floating(input, "input")
    t = _checks.tensor(target, "target")
    if x.dim() > 2:
        raise ValueError(
            f"{fn}: input must have shape (N, C) or (C,), got {tuple(x.shape)}; flatten extra "
            "dimensions into N first (input.reshape(-1, C))"
        )
    if x.dim() == 0:  # one class, as torch reads a 0-dim input
        x = x.reshape(1)
        if same_shape:
            if t.dim() != 0:
                raise ValueError(
                    f"{fn}: a 0-dimensional input takes a 0-dimensional target, got target {tuple(t.shape)}"
                )
            t = t.reshape(1)
        elif t.dim() == 0:
            return x, t, ()
    if not same_shape and x.dim() == 1 and tuple(t.shape) == (1,):
        x = x.unsqueeze(0)  # torch: a (C,) input with a (1,) target is a batch of one
    return x, t, (tuple(x.shape[:-1]) if x.dim() == 2 else ())


def _hinge_buffer(x: Tensor, y1: Tensor, margin: float) -> Tensor:
    """A new ``(N, C)`` buffer of :math:`z_c = (m - x_y) + x_c` (torch's order of the sums)."""
    return torch.add(x, margin - x.gather(-1, y1))


@signature_cached
class _MultiMarginRows(torch.autograd.Function):
    r"""The multi-class hinge without weights (rows, or their mean or sum: torch's ``reduction``
    0/1/2), in one ``(N, C)`` buffer each way, with a twice-differentiable backward.

    Row :math:`n` of ``x`` ``(N, C)`` with target :math:`y` and :math:`z_c = m - x_y + x_c`:
    :math:`\ell_n = \frac{1}{C} \sum_{c \ne y} \max(0, z_c)^p`, so
    :math:`\partial \ell_n / \partial x_c = D_c = [z_c > 0]\, p\, z_c^{p-1} / C` for :math:`c \ne y` and
    :math:`\partial \ell_n / \partial x_y = -\sum_{c \ne y} D_c` (no gradient at the corner :math:`z_c = 0`,
    torch's ``z > 0``; none where :math:`z_c` is NaN, as torch's kernel).

    Forward: :math:`z` in one buffer, clipped at 0 and the :math:`y` column zeroed in place, then
    summed (squared for :math:`p = 2`): vectorised passes where torch's kernel walks the rows one
    value at a time (about 3x faster on CPU), and a NaN anywhere in a row gives a NaN row (torch's
    kernel skips NaN terms). Only the inputs are saved. Backward without a graph to build: :math:`D`
    in place in a new buffer of :math:`z`, scaled by :math:`g_n / C`, with :math:`-\sum_c D_c` written
    into the :math:`y` column -- the one ``(N, C)`` gradient torch's backward allocates too. With a graph
    (``create_graph=True``, or under compile) it is the formula under autograd, whose derivative is the
    second one (0 for :math:`p = 1`, :math:`2 [z_c > 0] / C` times :math:`\partial z_c` for :math:`p = 2`),
    where torch's op has no double backward.
    """

    @staticmethod
    def forward(x: Tensor, target: Tensor, p: int, margin: float, reduction: int) -> Tensor:
        y1 = target.unsqueeze(-1)
        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            # traced (torch.export inlines the forward, and autograd then differentiates it): out of place
            z = torch.relu(_hinge_buffer(x, y1, margin)).scatter(-1, y1, 0.0)
            z = z.square() if p == 2 and reduction == 0 else z
        else:
            z = _hinge_buffer(x, y1, margin).relu_()  # relu keeps NaN
            z.scatter_(-1, y1, 0.0)  # the y column has no term
            z = z.square_() if p == 2 and reduction == 0 else z
        n, c = z.shape
        if reduction == 0:
            return z.sum(-1) / c
        flat = z.view(-1)
        total = torch.dot(flat, flat) if p == 2 else flat.sum()  # one pass for the squares, no second buffer
        return total / c / n if reduction == 1 else total / c

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, target, ctx.p, ctx.margin, ctx.reduction = inputs
        ctx.save_for_backward(x, target)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, target = ctx.saved_tensors
        p, margin, reduction = ctx.p, ctx.margin, ctx.reduction
        n, c = x.shape
        grad_rows = grad_out if reduction == 0 else grad_out.expand(n) / (n if reduction == 1 else 1)
        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            return _multi_margin_grad(x, target, p, margin, grad_rows), None, None, None, None
        y1 = target.unsqueeze(-1)
        d = _hinge_buffer(x, y1, margin)
        if p == 1:
            d.gt_(0)  # [z > 0] as 1/0 in x's dtype (NaN: 0)
        else:
            d.relu_().nan_to_num_(nan=0.0, posinf=math.inf).mul_(2)  # 2 max(0, z), NaN: 0
        d.scatter_(-1, y1, 0.0)
        scale = (grad_rows / c).unsqueeze(-1)
        col = d.sum(-1, keepdim=True).mul_(scale).neg_()
        return d.mul_(scale).scatter_(-1, y1, col), None, None, None, None

    @staticmethod
    def vmap(info, in_dims, x: Tensor, target: Tensor, p: int, margin: float, reduction: int):
        # fold the vmapped dimension into the rows: (B, N, C) -> (B*N, C), then reduce each sample's rows
        x_dim, t_dim = in_dims[:2]
        b = info.batch_size
        x = x.movedim(x_dim, 0) if x_dim is not None else x.expand(b, *x.shape)
        target = target.movedim(t_dim, 0) if t_dim is not None else target.expand(b, *target.shape)
        rows = _MultiMarginRows.apply(x.reshape(-1, x.shape[-1]), target.reshape(-1), p, margin, 0)
        rows = rows.reshape(x.shape[:-1])
        return (rows if reduction == 0 else rows.mean(1) if reduction == 1 else rows.sum(1)), 0


def _multi_margin_grad(x: Tensor, target: Tensor, p: int, margin: float, grad_rows: Tensor) -> Tensor:
    r""":math:`g_n\, \partial \ell_n / \partial x` of :class:`_MultiMarginRows` under autograd (differentiable
    in ``x`` and ``grad_rows``)."""
    y1 = target.unsqueeze(-1)
    z = margin - x.gather(-1, y1) + x
    hit = (z > 0).scatter(-1, y1, False)  # the y column has no term
    d = hit.to(x.dtype) if p == 1 else torch.where(hit, 2 * z, 0)
    d = d * (grad_rows / x.shape[-1]).unsqueeze(-1)
    return d.scatter_add(-1, y1, -d.sum(-1, keepdim=True))  # d_y = 0 before: the y column gets -sum_c D_c


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-class hinge loss (Weston-Watkins): a margin against every wrong class.

    The exact twin of :func:`torch.nn.functional.multi_margin_loss`:

    .. math:: \ell_n = \frac{1}{C} \sum_{c \ne y_n} w_{y_n} \max(0,\, m - x_{n,y_n} + x_{n,c})^p,
        \qquad p \in \{1, 2\}

    (the gradient at the hinge's corner is 0, as in torch).

    Likelihood: none (a margin loss, not an NLL); it is a convex upper bound on the 0-1 loss, and
    :func:`cross_entropy` is its smooth likelihood counterpart. Predict ``input.argmax(-1)``.

    Args:
        input: scores, shape (N, C) or (C,) (a 0-dim input is one class, as in torch).
            float16/bfloat16 are computed in float32.
        target: integer class indices, shape (N,) or () in [0, C); a (C,) input also takes a (1,)
            target (a batch of one, as in torch).
        p: 1 (hinge) or 2 (squared hinge).
        margin: :math:`m`, default 1.
        weight: optional per-class weight of shape (C,), applied at the target class.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: shape (N,) or (); ``"sum"``: the sum; ``"mean"``: the plain mean over the N rows
        (the weights are not normalised, unlike :func:`cross_entropy`); an empty batch gives 0 for
        both, as torch does.

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
    fn = "multi_margin_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"{fn}: p must be 1 or 2 (as in torch), got {p!r}")
    margin = _margin(margin, fn)
    x, t, out_shape = _class_scores(fn, input, target, same_shape=False)
    c = _checks.class_inputs(
        fn, x, t, weight=weight, ignore_index=None, probs_allowed=False, name="input", link=None, range_by_torch=True
    )
    x, y = _up(c.logits), c.target
    w = None if c.weight is None else c.weight.to(x.dtype)
    x2, y2 = x.reshape(-1, x.shape[-1]), y.reshape(-1)
    one_class = x2.shape[-1] == 1  # no term at all: NaN is kept by reading the rows (a NaN row gives NaN)
    if w is None and reduction != "none" and x2.shape[0]:  # the Function's own mean / sum
        out = _checks.torch_range_checked(c, _MultiMarginRows.apply, x2, y2, p, margin, 1 if reduction == "mean" else 2)
        if one_class:
            out = torch.where(x2.isnan().any(), float("nan"), out)
        return _out(out, input, input.dtype)
    rows = _checks.torch_range_checked(c, _MultiMarginRows.apply, x2, y2, p, margin, 0)
    if w is not None:
        rows = rows * w[y2]
    if one_class:
        rows = torch.where(x2.isnan().any(-1), float("nan"), rows)
    rows = rows.reshape(out_shape)
    empty_mean = reduction == "mean" and rows.numel() == 0  # torch: 0 for an empty batch, not 0/0
    return _out(_reduction.reduce(rows, "sum" if empty_mean else reduction), input, input.dtype)


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-label hinge loss: every present label must outscore every absent one by 1.

    The exact twin of :func:`torch.nn.functional.multilabel_margin_loss`. ``target`` lists each
    row's labels first, then ``-1`` (everything after the first ``-1`` is ignored). With
    :math:`Y_n` the listed labels (a label listed twice counts twice, as in torch):

    .. math:: \ell_n = \frac{1}{C} \sum_{j \in Y_n} \sum_{i \notin Y_n} \max(0,\, 1 - (x_{n,j} - x_{n,i}))

    The pairwise sum is torch's kernel (memory linear in C) behind
    :func:`losskit.functional._primitives.multilabel_margin_rows`, which makes it twice
    differentiable; a row holding NaN gives NaN.

    Likelihood: none (a margin loss). Predict the labels whose score exceeds a tuned threshold.

    Args:
        input: scores, shape (N, C) or (C,) (a 0-dim input is one class). float16/bfloat16 are
            computed in float32.
        target: integer tensor of ``input``'s shape holding label indices in [0, C), padded by -1.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: shape (N,) or (); ``"sum"``: the sum; ``"mean"``: the plain mean over the N rows
        (an empty batch gives 0 for both, as torch does).

    Example:
        >>> import torch
        >>> from losskit.functional import multilabel_margin_loss
        >>> x = torch.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> print(round(multilabel_margin_loss(x, torch.tensor([[3, 0, -1, 1]])).item(), 4))
        0.85

    References:
        PyTorch, ``torch.nn.MultiLabelMarginLoss``.
    """
    fn = "multilabel_margin_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    x, t, out_shape = _class_scores(fn, input, target, same_shape=True)
    if t.shape != x.shape:
        raise ValueError(
            f"{fn}: input and target must have the same shape, got input {tuple(x.shape)} and target "
            f"{tuple(t.shape)}; target holds each row's label indices padded with -1 to C entries"
        )
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(
            f"{fn}: target must hold label indices (an integer tensor padded with -1), got dtype "
            f"{t.dtype}; for 0/1 label masks use multilabel_soft_margin_loss or "
            "binary_cross_entropy_with_logits"
        )
    t = t.long()
    num_classes = x.shape[-1]
    if t.numel() and _checks.values_checkable(t):  # label indices in [0, C) or the padding -1: one range read
        lo, hi = (int(v) for v in torch.aminmax(t))
        if lo < -1 or hi >= num_classes:
            raise ValueError(
                f"{fn}: target holds values in [{lo}, {hi}] but must hold label indices in "
                f"[0, {num_classes - 1}] for input with {num_classes} classes, padded with -1"
            )
    _checks.finite(x, "input")
    x2, t2 = _up(x).reshape(-1, num_classes), t.reshape(-1, num_classes)
    rows = multilabel_margin_rows(x2, t2)
    rows = torch.where(x2.amax(-1).isnan(), float("nan"), rows).reshape(
        out_shape
    )  # torch skips NaN terms; amax keeps them
    empty_mean = reduction == "mean" and rows.numel() == 0  # torch: 0 for an empty batch, not 0/0
    return _out(_reduction.reduce(rows, "sum" if empty_mean else reduction), input, input.dtype)


# --------------------------------------------------------------------------------------------
# ranking and metric-learning margins
# --------------------------------------------------------------------------------------------


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Pairwise ranking hinge: ``input1`` should score ``margin`` above ``input2`` when ``target`` is 1.

    .. math::
        \ell_i = \max\big(0,\; -y_i\,(x^{(1)}_i - x^{(2)}_i) + m\big), \qquad y_i \in \{1, -1\}

    Likelihood: none. A margin (hinge) loss on the score difference, used for learning to rank
    from preference pairs (RankSVM-style). Its logistic counterpart, the NLL of a Bradley-Terry
    model, is ``binary_cross_entropy_with_logits(x1 - x2, (y + 1) / 2)``. Rank by score.

    A drop-in twin of :func:`torch.nn.functional.margin_ranking_loss`.

    Args:
        input1: scores of the first items, ``(N,)`` or ``()``.
        input2: scores of the second items, same number of dimensions (broadcastable).
        target: ``1`` where ``input1`` should rank higher, ``-1`` where ``input2`` should; same
            number of dimensions.
        margin: the required score gap.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the broadcast shape; ``"sum"``: the sum; ``"mean"``: the plain mean over it.

    Example:
        >>> import torch
        >>> from losskit.functional import margin_ranking_loss
        >>> s1, s2 = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
        >>> margin_ranking_loss(s1, s2, torch.tensor([1.0, 1.0]), margin=0.5)
        tensor(0.7500)

    References:
        Herbrich, Graepel & Obermayer, "Large margin rank boundaries for ordinal regression" (2000).
    """
    fn = "margin_ranking_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    p = _checks.pointwise_inputs(
        fn, {"input1": input1, "input2": input2, "target": target}, same_ndim=True, require_float=False
    )
    margin = _margin(margin, fn)
    # -y (x1 - x2) + m == y (x2 - x1) + m (negation is exact); clamp keeps torch's gradient at the corner
    loss = torch.clamp_min(_like_torch(target) * (_like_torch(input2) - _like_torch(input1)) + margin, 0)
    return _out(_reduction.reduce(loss, reduction), input1, p.dtype)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Hinge embedding loss: small distances for similar pairs, at least ``margin`` for dissimilar ones.

    .. math::
        \ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, m - x_i) & y_i = -1 \end{cases}

    (torch's rule for other target values: both terms are added.)

    Likelihood: none. A margin loss on a distance :math:`x_i` (often an L1 or L2 distance between
    two embeddings): similar pairs are pulled together, dissimilar pairs pushed beyond the margin.
    Used for siamese networks and semi-supervised embedding learning; threshold the distance.

    A drop-in twin of :func:`torch.nn.functional.hinge_embedding_loss`.

    Args:
        input: distances (or any scores), any shape.
        target: ``1`` (similar) or ``-1`` (dissimilar), broadcastable with ``input``.
        margin: the distance dissimilar pairs must exceed.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the broadcast shape; ``"sum"``: the sum; ``"mean"``: the plain mean over it.

    Example:
        >>> import torch
        >>> from losskit.functional import hinge_embedding_loss
        >>> dist = torch.tensor([0.2, 0.3, 1.5])
        >>> hinge_embedding_loss(dist, torch.tensor([1, -1, -1]), reduction="none")
        tensor([0.2000, 0.7000, 0.0000])

    References:
        Hadsell, Chopra & LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR 2006.
    """
    fn = "hinge_embedding_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    _checks.pointwise_inputs(fn, {"input": input, "target": target}, require_float=False)
    margin = _margin(margin, fn)
    x = _like_torch(input)
    # where(y != 1, max(0, m - x), 0) + where(y != -1, x, 0), as ATen writes it
    loss = torch.where(target != 1, torch.clamp_min(margin - x, 0), 0.0) + torch.where(target != -1, x, 0.0)
    return _out(_reduction.reduce(loss, reduction), input, input.dtype)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Cosine embedding loss: pairs with ``target`` 1 should align, pairs with -1 should not.

    .. math::
        \cos_i = \frac{\langle x^{(1)}_i, x^{(2)}_i\rangle}
                      {\sqrt{(\lVert x^{(1)}_i\rVert^2 + 10^{-12})(\lVert x^{(2)}_i\rVert^2 + 10^{-12})}},\qquad
        \ell_i = \begin{cases} 1 - \cos_i & y_i = 1 \\ \max(0, \cos_i - m) & y_i = -1 \end{cases}

    (0 for other target values, as in torch; the formula is ATen's, op for op.)

    Likelihood: none. A margin loss on cosine similarity, used to learn embeddings where direction
    carries meaning (text/image similarity, siamese networks); threshold the cosine similarity.
    ``margin`` in :math:`[-1, 1]`; 0 to 0.5 is typical.

    A drop-in twin of :func:`torch.nn.functional.cosine_embedding_loss`.

    Args:
        input1: ``(N, D)`` embeddings, or ``(D,)`` with a 0-d ``target``.
        input2: the same shape as ``input1`` (broadcastable).
        target: ``(N,)`` (or ``()``) of ``1`` / ``-1``.
        margin: how far below the margin a dissimilar pair's cosine must be.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``(N,)`` (or ``()``); ``"sum"``: the sum; ``"mean"``: the plain mean over the pairs.

    Example:
        >>> import torch
        >>> from losskit.functional import cosine_embedding_loss
        >>> a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> b = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
        >>> cosine_embedding_loss(a, b, torch.tensor([1, -1]), reduction="none")
        tensor([0.2929, 0.7071])

    References:
        Bromley et al., "Signature Verification using a Siamese Time Delay Neural Network", NIPS 1993.
    """
    fn = "cosine_embedding_loss"
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    t = _checks.tensor(target, "target")
    if t.dim() > 1:
        raise ValueError(
            f"{fn}: target must be 0-d or 1-d (one label per pair), got shape {tuple(t.shape)}; "
            "flatten the pairs into a batch of shape (N, D) with target (N,)"
        )
    want = 2 if t.dim() == 1 else 1
    for x, n in ((input1, "input1"), (input2, "input2")):
        if _checks.tensor(x, n).dim() != want:
            raise ValueError(
                f"{fn}: a {t.dim()}-d target needs {want}-d inputs, got input1 {tuple(input1.shape)} "
                f"and input2 {tuple(input2.shape)}; use (N, D) inputs with an (N,) target or (D,) "
                "inputs with a 0-d target"
            )
    p = _checks.pointwise_inputs(fn, {"input1": input1, "input2": input2}, require_float=False)
    if t.dim() == 1 and _checks.broadcast_shape(p.shape[:1], t.shape) is None:
        raise ValueError(
            f"{fn}: shapes do not broadcast together: pairs {tuple(p.shape[:1])}, target "
            f"{tuple(t.shape)}; give target one label per pair"
        )
    x1, x2 = _like_torch(input1), _like_torch(input2)
    dim = t.dim()
    prod = (x1 * x2).sum(dim)  # ATen's composite, op for op (torch's values bit for bit)
    mag1 = (x1 * x1).sum(dim) + _COS_EPS
    mag2 = (x2 * x2).sum(dim) + _COS_EPS
    cos = prod / (mag1 * mag2).sqrt()
    loss = torch.where(t == 1, 1 - cos, 0.0) + torch.where(t == -1, torch.clamp_min(cos - margin, 0), 0.0)
    return _out(_reduction.reduce(loss, reduction), input1, p.dtype)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    # || x1 - x2 + eps ||_p over the last dimension: torch's own op (what its triplet losses call)
    return F.pairwise_distance(x1, x2, p, eps)


def _triplet(fn: str, anchor: object, positive: object, negative: object, margin: object):
    p = _checks.pointwise_inputs(
        fn, {"anchor": anchor, "positive": positive, "negative": negative}, same_ndim=True, require_float=False
    )
    margin = _margin(margin, fn)
    if not margin > 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin!r}; a typical value is 1.0")
    dtype = p.dtype if p.dtype.is_floating_point else torch.get_default_dtype()  # integer embeddings: float distances
    return p, margin, dtype


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Triplet margin loss: the anchor should be closer to the positive than to the negative by ``margin``.

    .. math::
        \ell_i = \max\big(0,\; d(a_i, p_i) - d(a_i, n_i) + m\big),\qquad
        d(u, v) = \lVert u - v + \epsilon \rVert_p

    With ``swap=True``, :math:`d(a_i, n_i)` is replaced by :math:`\min(d(a_i, n_i), d(p_i, n_i))`
    (the "distance swap" of Balntas et al.).

    Likelihood: none. A margin loss on distances, used for metric learning: face recognition
    (FaceNet), person re-identification, retrieval embeddings. Compare embeddings by distance.

    A drop-in twin of :func:`torch.nn.functional.triplet_margin_loss`.

    Args:
        anchor: ``(N, D)`` or ``(D,)`` embeddings (any number of dimensions; the distance is over
            the last one).
        positive: same number of dimensions as ``anchor`` (broadcastable).
        negative: same number of dimensions as ``anchor`` (broadcastable).
        margin: the required distance gap; must be > 0.
        p: the norm degree of the distance (any real, ``inf`` included, as ``torch.linalg.vector_norm``).
        eps: added to the difference before the norm (torch's rule), avoiding a NaN gradient at 0.
        swap: use the distance swap.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the batch shape (input shape without its last dimension); ``"sum"``: the sum;
        ``"mean"``: the plain mean over the triplets.

    Example:
        >>> import torch
        >>> from losskit.functional import triplet_margin_loss
        >>> a, pos, neg = torch.zeros(1, 2), torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]])
        >>> round(triplet_margin_loss(a, pos, neg, margin=1.0).item(), 4)
        0.5858

    References:
        Schroff, Kalenichenko & Philbin, "FaceNet", CVPR 2015; Balntas et al., "Learning local
        feature descriptors with triplets and shallow convolutional neural networks", BMVC 2016.
    """
    fn = "triplet_margin_loss"
    _, margin, dtype = _triplet(fn, anchor, positive, negative, margin)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    p = _checks.number(p, "p", fn=fn)
    eps = _checks.number(eps, "eps", fn=fn)
    swap = _checks.flag(swap, "swap", fn=fn)
    a, pos, neg = _like_torch(anchor), _like_torch(positive), _like_torch(negative)
    d_pos = _pairwise_distance(a, pos, p, eps)
    d_neg = _pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = torch.minimum(d_neg, _pairwise_distance(pos, neg, p, eps))
    loss = torch.clamp_min(margin + d_pos - d_neg, 0)
    return _out(_reduction.reduce(loss, reduction), anchor, dtype)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    r"""Triplet margin loss with any distance function (cosine distance, a learned metric...).

    .. math::
        \ell_i = \max\big(0,\; d(a_i, p_i) - d(a_i, n_i) + m\big)

    with :math:`d` = ``distance_function`` (default: the Euclidean pairwise distance,
    ``torch.pairwise_distance``); ``swap=True`` uses :math:`\min(d(a_i, n_i), d(p_i, n_i))`.

    Likelihood: none. A margin loss for metric learning, like :func:`triplet_margin_loss`, when
    the geometry is not an :math:`L_p` norm. The distance function must return non-negative
    values, one per triplet.

    A drop-in twin of :func:`torch.nn.functional.triplet_margin_with_distance_loss`.

    Args:
        anchor: ``(N, D)`` or ``(D,)`` embeddings.
        positive: same number of dimensions as ``anchor``.
        negative: same number of dimensions as ``anchor``.
        distance_function: ``f(x1, x2) -> distances``; ``None`` for the Euclidean distance.
        margin: the required distance gap; must be > 0.
        swap: use the distance swap.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the shape ``distance_function`` returns; ``"sum"``: the sum; ``"mean"``: the
        plain mean over it.

    Example:
        >>> import torch
        >>> from losskit.functional import triplet_margin_with_distance_loss
        >>> a, pos, neg = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 1.0]])
        >>> cos_dist = lambda x, y: 1 - torch.cosine_similarity(x, y)
        >>> triplet_margin_with_distance_loss(a, pos, neg, distance_function=cos_dist, margin=1.0)
        tensor(0.2929)

    References:
        Schroff, Kalenichenko & Philbin, "FaceNet", CVPR 2015.
    """
    fn = "triplet_margin_with_distance_loss"
    reduction = check_reduction(reduction)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(
            f"{fn}: distance_function must be callable (x1, x2) -> distances or None, got "
            f"{type(distance_function).__name__}"
        )
    _, margin, dtype = _triplet(fn, anchor, positive, negative, margin)
    swap = _checks.flag(swap, "swap", fn=fn)
    dist: Callable[[Tensor, Tensor], Tensor]
    if distance_function is None:
        a, pos, neg = _like_torch(anchor), _like_torch(positive), _like_torch(negative)

        def dist(x: Tensor, y: Tensor) -> Tensor:
            return _pairwise_distance(x, y, 2.0, 1e-6)
    else:
        a, pos, neg = anchor, positive, negative
        dist = distance_function
    d_pos = dist(a, pos)
    d_neg = dist(a, neg)
    if swap:
        d_neg = torch.minimum(d_neg, dist(pos, neg))
    loss = _reduction.reduce(torch.clamp_min(margin + d_pos - d_neg, 0), reduction)
    # torch's result here is not autocast's float32: it keeps the input's dtype
    return loss if distance_function is not None or loss.dtype == dtype else loss.to(dtype)


# --------------------------------------------------------------------------------------------
# SVM hinges beyond torch (Keras, optax)
# --------------------------------------------------------------------------------------------

_LABELS = ("pm1", "01")


def _binary_hinge(
    fn: str, logits: object, target: object, labels: object, margin: object, squared: bool, reduction: str
) -> Tensor:
    reduction = check_reduction(reduction)
    labels = _checks.choice(
        labels,
        "labels",
        _LABELS,
        fn=fn,
        hint="'pm1': targets are -1/+1; '01': targets are 0/1, read as 2y - 1 (Keras' conversion)",
    )
    margin = _checks.number(margin, "margin", fn=fn)
    x = _checks.floating(logits, "logits", hint="pass the model's float scores")
    t = _checks.tensor(target, "target")
    if t.shape != x.shape:
        raise ValueError(
            f"{fn}: logits and target must have the same shape, got {tuple(x.shape)} and "
            f"{tuple(t.shape)}; give one label per score"
        )
    _checks.pointwise_inputs(fn, {"logits": x, "target": t})
    if _checks.values_checkable(t) and t.numel():
        lo, hi = (-1, 1) if labels == "pm1" else (0, 1)
        bad = (t != lo) & (t != hi)
        if bool(bad.any()):
            other = "'01'" if labels == "pm1" else "'pm1'"
            raise ValueError(
                f"{fn}: labels={labels!r} takes targets in {{{lo}, {hi}}}, but target holds "
                f"{t[bad].flatten()[0].item()!r}; pass labels={other} if your labels are coded that way"
            )
    y = _up(t) if t.is_floating_point() else t.to(_checks.compute_dtype(x.dtype))
    if labels == "01":
        y = 2 * y - 1  # {0, 1} -> {-1, +1}
    h = torch.relu(margin - y * _up(x))  # max(0, m - y z); no gradient at the corner
    if squared:
        h = h * h
    return _out(_reduction.reduce(h, reduction), x, x.dtype)


def hinge_loss(
    logits: Tensor, target: Tensor, *, labels: str = "pm1", margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    r"""Binary SVM hinge loss on scores and ±1 (or 0/1) labels.

    .. math:: \ell = \max(0,\; m - y z), \qquad y \in \{-1, +1\}

    (``labels="01"`` reads a 0/1 target as :math:`y = 2t - 1`). The gradient at the corner
    :math:`y z = m` is 0.

    Likelihood: none. A margin loss, the convex upper bound of the 0-1 loss that linear SVMs
    minimise; its logistic counterpart is :func:`soft_margin_loss`. Predict :math:`\operatorname{sign}(z)`.

    How 0/1 and ±1 labels are told apart: by the explicit ``labels`` option, never by looking at
    the values. Keras converts a target to ±1 when every value is 0 or 1, which silently changes
    the loss of a batch whose labels happen to be all 1 (or all 0 and 1 in a ±1 problem); losskit
    refuses a target outside the chosen coding (on tensors whose values may be read, see
    :func:`losskit.checks`) and says which option to pass.

    Args:
        logits: raw scores, any shape.
        target: labels of ``logits``' shape: -1/+1 (``labels="pm1"``, default, optax's coding) or 0/1
            (``labels="01"``); floating, integer or bool.
        labels: ``"pm1"`` or ``"01"``.
        margin: :math:`m`, default 1.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``logits``' shape; ``"sum"``: the sum; ``"mean"``: the mean over every element
        (Keras' ``hinge`` first averages the last axis, then the batch: the same number when the
        rows have equal length; optax returns the elements).

    Example:
        >>> import torch
        >>> from losskit.functional import hinge_loss
        >>> z = torch.tensor([0.6, -0.7, -0.5])
        >>> hinge_loss(z, torch.tensor([-1.0, 1.0, 1.0]))
        tensor(1.6000)
        >>> hinge_loss(z, torch.tensor([0, 1, 1]), labels="01")
        tensor(1.6000)

    References:
        Cortes & Vapnik, "Support-vector networks", Machine Learning 20 (1995); Keras
        ``keras.losses.Hinge``; optax ``optax.losses.hinge_loss``.
    """
    return _binary_hinge("hinge_loss", logits, target, labels, margin, False, reduction)


def squared_hinge_loss(
    logits: Tensor, target: Tensor, *, labels: str = "pm1", margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    r"""Squared binary hinge loss (the L2-SVM loss): differentiable everywhere, quadratic inside the margin.

    .. math:: \ell = \max(0,\; m - y z)^2, \qquad y \in \{-1, +1\}

    (``labels="01"`` reads a 0/1 target as :math:`y = 2t - 1`; see :func:`hinge_loss` for why the
    coding is an explicit option).

    Likelihood: none (a margin loss). Predict :math:`\operatorname{sign}(z)`.

    Args:
        logits: raw scores, any shape.
        target: labels of ``logits``' shape: -1/+1 (``labels="pm1"``, default) or 0/1 (``labels="01"``).
        labels: ``"pm1"`` or ``"01"``.
        margin: :math:`m`, default 1.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``logits``' shape; ``"sum"``: the sum; ``"mean"``: the mean over every element
        (Keras' ``squared_hinge`` averages the last axis, then the batch).

    Example:
        >>> import torch
        >>> from losskit.functional import squared_hinge_loss
        >>> squared_hinge_loss(torch.tensor([0.5, 2.0]), torch.tensor([1.0, -1.0]), reduction="none")
        tensor([0.2500, 9.0000])

    References:
        Keras ``keras.losses.SquaredHinge``; Lee & Lin, "A Study on L2-Loss (Squared Hinge-Loss)
        Multiclass SVM", Neural Computation 25 (2013).
    """
    return _binary_hinge("squared_hinge_loss", logits, target, labels, margin, True, reduction)


def categorical_hinge_loss(logits: Tensor, target: Tensor, *, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    r"""Crammer-Singer multi-class hinge: the true class must beat the best wrong class by ``margin``.

    .. math:: \ell_n = \max\big(0,\; m + \max_{j \ne y_n} z_{n,j} - z_{n,y_n}\big)

    Only the most offending wrong class counts (:func:`multi_margin_loss`, torch's Weston-Watkins
    hinge, sums over every wrong class instead).

    Likelihood: none (a margin loss); :func:`cross_entropy` is its smooth likelihood counterpart
    (:math:`\operatorname{logsumexp}` for the max). Predict ``logits.argmax(1)``.

    Peers: optax's ``multiclass_hinge_loss`` is this formula with :math:`m = 1`. Keras'
    ``categorical_hinge`` computes :math:`\max_j (1 - t_j) z_j` for the wrong classes, which reads the
    true class as a score of 0: it differs from this one when every wrong class scores below 0 (it
    is then not invariant to adding a constant to all scores).

    Args:
        logits: scores, shape (C,), (N, C) or (N, C, d1, ..., dk) (classes along dim 1).
        target: class indices of shape (), (N) or (N, d1, ..., dk), or one-hot rows of ``logits``'
            shape (Keras' form; the hot class is taken).
        margin: :math:`m`, default 1.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the target's (class-index) shape; ``"sum"``: the sum; ``"mean"``: the plain mean
        over the items.

    Example:
        >>> import torch
        >>> from losskit.functional import categorical_hinge_loss
        >>> z = torch.tensor([[0.6, 0.4, -0.2], [0.4, 0.6, 0.1]])
        >>> categorical_hinge_loss(z, torch.tensor([1, 1]), reduction="none")
        tensor([1.2000, 0.8000])

    References:
        Crammer & Singer, "On the Algorithmic Implementation of Multiclass Kernel-based Vector
        Machines", JMLR 2 (2001); Keras ``keras.losses.CategoricalHinge``; optax
        ``optax.losses.multiclass_hinge_loss``.
    """
    fn = "categorical_hinge_loss"
    reduction = check_reduction(reduction)
    margin = _checks.number(margin, "margin", fn=fn)
    c = _checks.class_inputs(fn, logits, target, ignore_index=None, name="logits", link=None)
    d = c.class_dim
    if c.probs:
        _checks.values_in(c.target, "target", low=0.0, high=1.0, fix="one-hot targets hold one 1 per row, else 0")
        if _checks.values_checkable(c.target) and c.target.numel():
            if not bool((c.target.sum(d) == 1).all()) or not bool(((c.target == 0) | (c.target == 1)).all()):
                raise ValueError(
                    f"{fn}: a target of logits' shape must be one-hot (a single 1 per row); for soft "
                    "targets use cross_entropy, or pass class indices"
                )
        y = c.target.argmax(d)
    else:
        y = c.target
    z = _up(c.logits)
    idx = y.unsqueeze(d)
    z_y = z.gather(d, idx).squeeze(d)
    is_y = torch.zeros_like(z, dtype=torch.bool).scatter(d, idx, True)
    best_wrong = torch.where(is_y, float("-inf"), z).amax(d)  # max_{j != y} z_j (-inf for a single class)
    rows = torch.relu(margin + best_wrong - z_y)
    return _out(_reduction.reduce(rows, reduction), c.logits, c.logits.dtype)
