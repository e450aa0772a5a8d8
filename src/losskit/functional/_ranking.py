r"""Margin (hinge) losses for ranking and metric learning: exact twins of torch's.

These are **not** negative log-likelihoods. Each is a hinge :math:`\max(0, m - \text{score})` on a
difference of scores or distances: it is zero once an ordering or a distance gap is satisfied by
the margin :math:`m`, and linear otherwise. They train rankers (``margin_ranking_loss``), siamese
networks on similar/dissimilar pairs (``hinge_embedding_loss``, ``cosine_embedding_loss``) and
embeddings for retrieval, face or person re-identification (``triplet_margin_loss`` and its
custom-distance form). There is nothing to "predict" with beyond the scores or embeddings
themselves: rank by score, or compare distances.

Every function keeps torch 2.13's positional signature (legacy ``size_average`` / ``reduce``
slots included), values, gradients and refusals; refusals are ``ValueError`` / ``TypeError`` with
a message that says what to change.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Optional

import torch
from torch import Tensor

from .._checks import check_tensor, upcast
from .._reduction import check_reduction, legacy_reduction

__all__ = [
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

# added to squared norms in cosine_embedding_loss: ATen's `static const float EPSILON = 1e-12`, i.e. 1e-12
# rounded to float32 (it matters for zero vectors, where the gradient scales like 1/sqrt(EPSILON))
_COS_EPS = 9.999999960041972e-13


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


_up = upcast  # half-precision tensors are computed in float32 (the result is cast back)


def _out_dtype(*ts: Tensor) -> torch.dtype:
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def _broadcast_shape(*shapes) -> Optional[tuple]:
    """The broadcast of ``shapes``, or None if they do not broadcast (plain Python: torch's
    ``broadcast_shapes`` costs tens of microseconds per call)."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for shape in shapes:
        for i, n in enumerate(shape, ndim - len(shape)):
            if n != 1:
                if out[i] != 1 and out[i] != n:
                    return None
                out[i] = n
    return tuple(out)


def _check_broadcast(shapes: dict, fn: str) -> tuple:
    out = _broadcast_shape(*shapes.values())
    if out is None:
        desc = ", ".join(f"{k} {tuple(v)}" for k, v in shapes.items())
        raise ValueError(f"{fn}: shapes do not broadcast together: {desc}; give them matching shapes")
    return out


def _check_number(value: object, name: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    return float(value)


# --------------------------------------------------------------------------------------------


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Pairwise ranking hinge: ``input1`` should score ``margin`` above ``input2`` when ``target`` is 1.

    .. math::
        \ell_i = \max\big(0,\; -y_i\,(x^{(1)}_i - x^{(2)}_i) + m\big), \qquad y_i \in \{1, -1\}

    **Not a likelihood.** A margin (hinge) loss on the score difference, used for learning to rank
    from preference pairs (RankSVM-style). Its logistic counterpart, the NLL of a Bradley-Terry
    model, is ``binary_cross_entropy_with_logits(x1 - x2, (y + 1) / 2)``.

    A drop-in twin of :func:`torch.nn.functional.margin_ranking_loss`.

    Args:
        input1: scores of the first items, ``(N,)`` or ``()``.
        input2: scores of the second items, same number of dimensions (broadcastable).
        target: ``1`` where ``input1`` should rank higher, ``-1`` where ``input2`` should; same
            number of dimensions.
        margin: the required score gap.
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the broadcast shape; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import margin_ranking_loss
        >>> s1, s2 = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
        >>> margin_ranking_loss(s1, s2, torch.tensor([1.0, 1.0]), margin=0.5)
        tensor(0.7500)

    References:
        Herbrich, Graepel & Obermayer, "Large margin rank boundaries for ordinal regression" (2000).
    """
    for t, n in ((input1, "input1"), (input2, "input2"), (target, "target")):
        check_tensor(t, n)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    margin = _check_number(margin, "margin", "margin_ranking_loss")
    if not (input1.dim() == input2.dim() == target.dim()):
        raise ValueError(
            f"margin_ranking_loss: input1, input2 and target must have the same number of dimensions, got "
            f"input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)}, target {tuple(target.shape)}; "
            "pass one score per pair in each, e.g. all of shape (N,)"
        )
    if not (input1.shape == input2.shape == target.shape):
        _check_broadcast({"input1": input1.shape, "input2": input2.shape, "target": target.shape},
                         "margin_ranking_loss")
    dtype = _out_dtype(input1, input2, target)
    # -y (x1 - x2) + m  ==  y (x2 - x1) + m  (negation is exact)
    loss = torch.mul(_up(target), _up(input2) - _up(input1)).add_(margin).clamp_min_(0)
    return _reduce(loss, reduction).to(dtype)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Hinge embedding loss: small distances for similar pairs, at least ``margin`` for dissimilar ones.

    .. math::
        \ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, m - x_i) & y_i = -1 \end{cases}

    (torch's rule for other target values: both terms are added.)

    **Not a likelihood.** A margin loss on a distance :math:`x_i` (often an L1 or L2 distance
    between two embeddings): similar pairs are pulled together, dissimilar pairs pushed beyond the
    margin. Used for siamese networks and semi-supervised embedding learning.

    A drop-in twin of :func:`torch.nn.functional.hinge_embedding_loss`.

    Args:
        input: distances (or any scores), any shape.
        target: ``1`` (similar) or ``-1`` (dissimilar), broadcastable to ``input``.
        margin: the distance dissimilar pairs must exceed.
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the broadcast shape; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import hinge_embedding_loss
        >>> dist = torch.tensor([0.2, 0.3, 1.5])
        >>> hinge_embedding_loss(dist, torch.tensor([1, -1, -1]), reduction="none")
        tensor([0.2000, 0.7000, 0.0000])

    References:
        Hadsell, Chopra & LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR 2006.
    """
    check_tensor(input, "input")
    check_tensor(target, "target")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    margin = _check_number(margin, "margin", "hinge_embedding_loss")
    if input.shape != target.shape:
        _check_broadcast({"input": input.shape, "target": target.shape}, "hinge_embedding_loss")
    dtype = input.dtype
    x = _up(input)
    # where(y != 1, max(0, m - x), 0) + where(y != -1, x, 0), as ATen writes it
    loss = torch.where(target != 1, (margin - x).clamp_min_(0), 0.0) + torch.where(target != -1, x, 0.0)
    return _reduce(loss, reduction).to(dtype)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Cosine embedding loss: pairs with ``target`` 1 should align, pairs with -1 should not.

    .. math::
        \cos_i = \frac{\langle x^{(1)}_i, x^{(2)}_i\rangle}
                      {\sqrt{(\lVert x^{(1)}_i\rVert^2 + 10^{-12})(\lVert x^{(2)}_i\rVert^2 + 10^{-12})}},\qquad
        \ell_i = \begin{cases} 1 - \cos_i & y_i = 1 \\ \max(0, \cos_i - m) & y_i = -1 \end{cases}

    (0 for other target values, as in torch.)

    **Not a likelihood.** A margin loss on cosine similarity, used to learn embeddings where
    direction carries meaning (text/image similarity, siamese networks). ``margin`` in
    :math:`[-1, 1]`; 0 to 0.5 is typical.

    A drop-in twin of :func:`torch.nn.functional.cosine_embedding_loss`.

    Args:
        input1: ``(N, D)`` embeddings, or ``(D,)`` with a 0-d ``target``.
        input2: the same shape as ``input1`` (broadcastable).
        target: ``(N,)`` (or ``()``) of ``1`` / ``-1``.
        margin: how far below the margin a dissimilar pair's cosine must be.
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: ``(N,)`` (or ``()``); ``"mean"``/``"sum"``: a scalar.

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
    for t, n in ((input1, "input1"), (input2, "input2"), (target, "target")):
        check_tensor(t, n)
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    margin = _check_number(margin, "margin", "cosine_embedding_loss")
    tdim = target.dim()
    if tdim > 1:
        raise ValueError(
            f"cosine_embedding_loss: target must be 0-d or 1-d (one label per pair), got shape {tuple(target.shape)}; "
            "flatten the pairs into a batch of shape (N, D) with target (N,)"
        )
    want = 2 if tdim == 1 else 1
    if input1.dim() != want or input2.dim() != want:
        raise ValueError(
            f"cosine_embedding_loss: a {tdim}-d target needs {want}-d inputs, got input1 {tuple(input1.shape)} "
            f"and input2 {tuple(input2.shape)}; use (N, D) inputs with an (N,) target or (D,) inputs with a 0-d target"
        )
    shape = input1.shape
    if input2.shape != shape:
        shape = _check_broadcast({"input1": input1.shape, "input2": input2.shape}, "cosine_embedding_loss")
    if tdim == 1 and target.shape[0] != shape[0]:
        _check_broadcast({"pairs": (shape[0],), "target": target.shape}, "cosine_embedding_loss")
    dtype = _out_dtype(input1, input2)
    x1, x2 = _up(input1), _up(input2)
    if x1.shape != x2.shape:
        x1, x2 = torch.broadcast_tensors(x1, x2)
    loss = _CosineEmbedding.apply(x1, x2, target, margin, reduction)
    return loss.to(dtype)


def _cosine_forward(x1: Tensor, x2: Tensor, target: Tensor, margin: float, dim: int):
    # ATen's composite, op for op (so the values are torch's bit for bit)
    prod = (x1 * x2).sum(dim)
    mag1 = (x1 * x1).sum(dim) + _COS_EPS
    mag2 = (x2 * x2).sum(dim) + _COS_EPS
    denom = (mag1 * mag2).sqrt()
    cos = prod / denom
    loss = torch.where(target == 1, 1 - cos, 0.0) + torch.where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return loss, cos, mag1, mag2, denom


class _CosineEmbedding(torch.autograd.Function):
    r"""cosine_embedding_loss with a two-operation backward per input.

    With :math:`D = \sqrt{m_1 m_2}`, :math:`m_k = \lVert x_k\rVert^2 + \epsilon` and
    :math:`\cos = \langle x_1, x_2\rangle / D`:
    :math:`\partial\cos/\partial x_1 = x_2 / D - \cos\, x_1 / m_1` (and symmetrically for
    :math:`x_2`), so each input's gradient is ``addcmul(other * a, self, b)`` with per-row scalars
    ``a, b``: four full-size operations where autograd through the composite takes about nine.
    ``d loss / d cos`` is -1 for ``target == 1`` and 1 for ``target == -1`` where
    ``cos - margin >= 0`` (torch's clamp keeps the gradient at equality).
    Under ``create_graph=True`` the backward differentiates the composite instead (double backward).
    """

    @staticmethod
    def forward(ctx, x1: Tensor, x2: Tensor, target: Tensor, margin: float, reduction: str) -> Tensor:
        dim = target.dim()
        loss, cos, mag1, mag2, denom = _cosine_forward(x1, x2, target, margin, dim)
        ctx.save_for_backward(x1, x2, target, cos, mag1, mag2, denom)
        ctx.margin, ctx.reduction, ctx.dim = margin, reduction, dim
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x1, x2, target, cos, mag1, mag2, denom = ctx.saved_tensors
        need1, need2 = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if torch.is_grad_enabled():  # create_graph=True: differentiate the composite itself
            with torch.enable_grad():
                inputs = [t for t, need in ((x1, need1), (x2, need2)) if need]
                loss = _reduce(_cosine_forward(x1, x2, target, ctx.margin, ctx.dim)[0], ctx.reduction)
                grads = iter(torch.autograd.grad(loss, inputs, grad, create_graph=True))
            return (next(grads) if need1 else None), (next(grads) if need2 else None), None, None, None
        if ctx.reduction == "mean":
            grad = grad / cos.numel() if cos.numel() else grad * math.nan
        # d loss / d cos per pair
        dcos = torch.where(target == 1, -1.0, 0.0).to(cos.dtype) + ((target == -1) & (cos - ctx.margin >= 0)).to(cos.dtype)
        gcos = dcos * grad
        a = gcos / denom  # coefficient of the other input
        col = (lambda t: t.unsqueeze(-1)) if ctx.dim == 1 else (lambda t: t)
        g1 = g2 = None
        if need1:
            g1 = torch.addcmul(x2 * col(a), x1, col(gcos * cos / mag1), value=-1)
        if need2:
            g2 = torch.addcmul(x1 * col(a), x2, col(gcos * cos / mag2), value=-1)
        return g1, g2, None, None, None


# --------------------------------------------------------------------------------------------


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    # torch.pairwise_distance: || x1 - x2 + eps ||_p over the last dimension
    diff = torch.sub(x1, x2).add_(eps)
    return torch.linalg.vector_norm(diff, ord=p, dim=-1)


def _check_triplet(anchor: object, positive: object, negative: object, margin: object, fn: str) -> float:
    for t, n in ((anchor, "anchor"), (positive, "positive"), (negative, "negative")):
        check_tensor(t, n)
    margin = _check_number(margin, "margin", fn)
    if not margin > 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin!r}; a typical value is 1.0")
    if not (anchor.dim() == positive.dim() == negative.dim()):  # type: ignore[union-attr]
        raise ValueError(
            f"{fn}: anchor, positive and negative must have the same number of dimensions, got anchor "
            f"{tuple(anchor.shape)}, positive {tuple(positive.shape)}, negative {tuple(negative.shape)}; "  # type: ignore[union-attr]
            "pass (N, D) batches (or (D,) single triplets) for all three"
        )
    return margin


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Triplet margin loss: the anchor should be closer to the positive than to the negative by ``margin``.

    .. math::
        \ell_i = \max\big(0,\; d(a_i, p_i) - d(a_i, n_i) + m\big),\qquad
        d(u, v) = \lVert u - v + \epsilon \rVert_p

    With ``swap=True``, :math:`d(a_i, n_i)` is replaced by :math:`\min(d(a_i, n_i), d(p_i, n_i))`
    (the "distance swap" of Balntas et al.).

    **Not a likelihood.** A margin loss on distances, used for metric learning: face recognition
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
        size_average: deprecated (as in torch); use ``reduction``.
        reduce: deprecated (as in torch); use ``reduction``.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``"none"``: the batch shape (input shape without its last dimension); ``"mean"``/``"sum"``:
        a scalar.

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
    margin = _check_triplet(anchor, positive, negative, margin, "triplet_margin_loss")
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    p = _check_number(p, "p", "triplet_margin_loss")
    eps = _check_number(eps, "eps", "triplet_margin_loss")
    if not (anchor.shape == positive.shape == negative.shape):
        _check_broadcast({"anchor": anchor.shape, "positive": positive.shape, "negative": negative.shape},
                         "triplet_margin_loss")
    dtype = _out_dtype(anchor, positive, negative)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()  # integer embeddings: the distances are floating point (as in torch)
    a, pos, neg = _up(anchor), _up(positive), _up(negative)
    d_pos = _pairwise_distance(a, pos, p, eps)
    d_neg = _pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = torch.minimum(d_neg, _pairwise_distance(pos, neg, p, eps))
    loss = torch.clamp_min(margin + d_pos - d_neg, 0)
    return _reduce(loss, reduction).to(dtype)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Optional[Callable[[Tensor, Tensor], Tensor]] = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    r"""Triplet margin loss with any distance function (cosine distance, a learned metric...).

    .. math::
        \ell_i = \max\big(0,\; d(a_i, p_i) - d(a_i, n_i) + m\big)

    with :math:`d` = ``distance_function`` (default: the Euclidean pairwise distance,
    ``torch.pairwise_distance``); ``swap=True`` uses :math:`\min(d(a_i, n_i), d(p_i, n_i))`.

    **Not a likelihood.** A margin loss for metric learning, like :func:`triplet_margin_loss`,
    when the geometry is not an :math:`L_p` norm. The distance function must return non-negative
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
        ``"none"``: the shape ``distance_function`` returns; ``"mean"``/``"sum"``: a scalar.

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
    reduction = check_reduction(reduction)
    margin = _check_triplet(anchor, positive, negative, margin, "triplet_margin_with_distance_loss")
    if distance_function is None:
        if not (anchor.shape == positive.shape == negative.shape):
            _check_broadcast({"anchor": anchor.shape, "positive": positive.shape, "negative": negative.shape},
                             "triplet_margin_with_distance_loss")
        dtype = _out_dtype(anchor, positive, negative)
        a, pos, neg = _up(anchor), _up(positive), _up(negative)

        def dist(x: Tensor, y: Tensor) -> Tensor:
            return _pairwise_distance(x, y, 2.0, 1e-6)

    elif callable(distance_function):
        dtype = None
        a, pos, neg = anchor, positive, negative
        dist = distance_function
    else:
        raise TypeError(
            f"distance_function must be callable (x1, x2) -> distances or None, got {type(distance_function).__name__}"
        )
    d_pos = dist(a, pos)
    d_neg = dist(a, neg)
    if swap:
        d_neg = torch.minimum(d_neg, dist(pos, neg))
    loss = torch.clamp_min(margin + d_pos - d_neg, 0)
    loss = _reduce(loss, reduction)
    return loss if dtype is None or not dtype.is_floating_point else loss.to(dtype)
