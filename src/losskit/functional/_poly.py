r"""Poly-1 losses (Leng et al. 2022): a likelihood's polynomial expansion in :math:`1 - p_t` with its
first coefficient raised by :math:`\epsilon`.

* :func:`poly1_cross_entropy`, :func:`poly1_focal_loss` -- on the Categorical likelihood (softmax
  link), the rows of :func:`~losskit.functional.focal_loss` plus :math:`\epsilon (1 - p_c)^{\gamma+1}`;
* :func:`poly1_sigmoid_focal_loss` -- on the Bernoulli likelihood (sigmoid link), the rows of
  :func:`~losskit.functional.sigmoid_focal_loss` plus :math:`\epsilon (1 - p_t)^{\gamma+1}`.

The numerics are the focal family's (:mod:`losskit.functional._focal`).
"""

from __future__ import annotations

from torch import Tensor

from .. import _checks
from .._reduction import check_all_ignored, check_reduction
from ._cross_entropy import _reduce_rows
from ._focal import (
    Alpha,
    _gamma,
    binary_focal_inputs,
    class_alpha,
    reduce_binary,
    sigmoid_rows,
    softmax_inputs,
    softmax_rows,
)

__all__ = ["poly1_cross_entropy", "poly1_focal_loss", "poly1_sigmoid_focal_loss"]


def _epsilon(value: object, fn: str) -> float:
    return _checks.number(
        value, "epsilon", fn=fn, finite=True, hint="0 turns the Poly-1 term off; the paper tunes it in [-1, 10]"
    )


def poly1_cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Poly-1 cross-entropy (Leng et al. 2022): cross-entropy plus :math:`\epsilon (1 - p_t)`.

    .. math::

        \ell = \sum_c q'_c\, w_c \big[ -\log p_c + \epsilon\,(1 - p_c) \big]

    For a class index :math:`y` without weight or smoothing this is :math:`-\log p_y + \epsilon(1-p_y)`;
    with smoothing/probability targets and no weight the extra term is
    :math:`\epsilon(1 - \sum_c q'_c p_c)`, the paper's :math:`1 - p_t`. ``epsilon=0`` is exactly
    ``cross_entropy`` (same options, same weighted mean).

    Likelihood view: the **Categorical** NLL with the softmax link, whose expansion
    :math:`-\log p_t = \sum_{j\ge1} (1-p_t)^j / j` has its first coefficient raised by :math:`\epsilon`
    (positive: push harder on confident-but-not-certain predictions; negative, down to -1: less).
    Predict with the arg-max of :math:`z`.

    Args:
        logits: ``(C,)``, ``(N, C)`` or ``(N, C, d1..dk)``.
        target: class indices ``(N, d1..dk)`` or probabilities of the logits' shape.
        epsilon: coefficient of the Poly-1 term (any finite float; the paper tunes it in [-1, 10]).
        weight, ignore_index, label_smoothing, all_ignored: as in ``cross_entropy`` / :func:`focal_loss`.
        sample_weight: per-item weight (Keras's ``sample_weight``), ``(N, d1, ..., dk)`` or broadcasting to
            it, as in :func:`focal_loss`: it multiplies each item's loss and joins the mean's denominator.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (torch's cross-entropy mean rule).

    Returns:
        ``"none"``: ``(N, d1..dk)``; ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from losskit.functional import poly1_cross_entropy
        >>> logits, y = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]), torch.tensor([0, 1])
        >>> round(poly1_cross_entropy(logits, y, epsilon=1.0).item(), 5)
        1.75568
        >>> torch.allclose(poly1_cross_entropy(logits, y, epsilon=0.0), F.cross_entropy(logits, y))
        True

    References:
        Leng, Xu, Qi, Li, Ohn-Bar, ... Anguelov. "PolyLoss: A Polynomial Expansion Perspective of
        Classification Loss Functions", ICLR 2022 (arXiv:2204.12511).

    """
    fn = "poly1_cross_entropy"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    c, s = softmax_inputs(fn, logits, target, weight, ignore_index, label_smoothing, sample_weight)
    rows = softmax_rows(c, alpha=None, gamma=0.0, epsilon=_epsilon(epsilon, fn))
    return _reduce_rows(rows, c, s, reduction, all_ignored)


def poly1_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Poly-1 softmax focal loss (Leng et al. 2022): focal loss plus :math:`\epsilon (1 - p_t)^{\gamma+1}`.

    .. math::

        \ell = \sum_c q'_c\, w_c \big[ \alpha_c (1-p_c)^\gamma (-\log p_c) + \epsilon (1 - p_c)^{\gamma+1} \big]

    As in the paper the Poly-1 term is not multiplied by :math:`\alpha`; ``weight`` rescales all of it.
    ``epsilon=0`` is :func:`focal_loss` exactly; ``gamma=0, alpha=None`` is :func:`poly1_cross_entropy`.
    (The paper's detection experiments use the sigmoid form: :func:`poly1_sigmoid_focal_loss`.)

    Likelihood view: the **Categorical** NLL (softmax link) with focal reweighting, plus the leading
    term of its polynomial expansion in :math:`(1-p_t)` scaled by :math:`\epsilon`. Predict with the
    arg-max of :math:`z`.

    Args:
        logits: ``(C,)``, ``(N, C)`` or ``(N, C, d1..dk)``.
        target: class indices ``(N, d1..dk)`` or probabilities of the logits' shape.
        epsilon: coefficient of the Poly-1 term (``0`` = off).
        alpha, gamma, weight, ignore_index, label_smoothing, all_ignored: as in :func:`focal_loss`.
        sample_weight: per-item weight (Keras's ``sample_weight``), ``(N, d1, ..., dk)`` or broadcasting to
            it, as in :func:`focal_loss`: it multiplies each item's loss and joins the mean's denominator.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (the cross-entropy mean rule).

    Returns:
        ``"none"``: ``(N, d1..dk)``; ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import focal_loss, poly1_focal_loss
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> target = torch.tensor([0, 1])
        >>> print(f"{poly1_focal_loss(logits, target, epsilon=1.0):.5f}")  # focal loss + (1 - p_t)^3
        1.20928
        >>> bool(poly1_focal_loss(logits, target, epsilon=0.0) == focal_loss(logits, target))
        True

    References:
        Leng et al. "PolyLoss", ICLR 2022 (arXiv:2204.12511). Lin et al. "Focal Loss for Dense Object
        Detection", ICCV 2017 (arXiv:1708.02002).

    """
    fn = "poly1_focal_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    c, s = softmax_inputs(fn, logits, target, weight, ignore_index, label_smoothing, sample_weight)
    alpha, gamma, epsilon = class_alpha(alpha, c, fn), _gamma(gamma, fn), _epsilon(epsilon, fn)
    return _reduce_rows(softmax_rows(c, alpha=alpha, gamma=gamma, epsilon=epsilon), c, s, reduction, all_ignored)


def poly1_sigmoid_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    epsilon: float = 1.0,
    alpha: Alpha = None,
    gamma: float = 2.0,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: float | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Poly-1 sigmoid focal loss (Leng et al. 2022): sigmoid focal loss plus :math:`\varepsilon (1-p_t)^{\gamma+1}`.

    .. math::

        \ell = \ell_{\text{focal}} + \epsilon\, w \big[\, y' (1-p)^{\gamma+1} + (1-y')\, p^{\gamma+1} \big]

    where :math:`\ell_{\text{focal}}` is :func:`sigmoid_focal_loss`'s element loss (same options). For
    0/1 targets the bracket is :math:`(1-p_t)^{\gamma+1}`, the paper's term; as in the paper it is not
    multiplied by :math:`\alpha_t` or ``pos_weight`` (``weight`` does rescale it). ``epsilon=0`` gives
    :func:`sigmoid_focal_loss` exactly.

    Likelihood view: the **Bernoulli** NLL (sigmoid link) reweighted by focal modulation, plus the
    leading polynomial term of its expansion in :math:`(1-p_t)` with coefficient raised by
    :math:`\epsilon` (the paper's "Poly-1"). Decide by thresholding :math:`\sigma(z)`.

    Args:
        logits: raw scores, any shape (``(N, C, d1..dk)`` for multi-label).
        target: same shape, 0/1 or soft values in [0, 1].
        epsilon: coefficient of the Poly-1 term (the paper uses values in [-1, ...]; ``0`` = off).
        alpha, gamma, weight, pos_weight, label_smoothing, ignore_index, all_ignored: as in
            :func:`sigmoid_focal_loss`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (mean over non-ignored elements, as in
            :func:`sigmoid_focal_loss`).

    Returns:
        ``"none"``: shape of ``logits``; ``"mean"`` / ``"sum"``: scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import poly1_sigmoid_focal_loss
        >>> logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
        >>> target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(poly1_sigmoid_focal_loss(logits, target, epsilon=1.0).item(), 5)
        0.1661

    References:
        Leng et al. "PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions",
        ICLR 2022 (arXiv:2204.12511). Lin et al., ICCV 2017 (arXiv:1708.02002).

    """
    fn = "poly1_sigmoid_focal_loss"
    reduction, all_ignored = check_reduction(reduction), check_all_ignored(all_ignored)
    b = binary_focal_inputs(fn, logits, target, weight, pos_weight, alpha, ignore_index, label_smoothing)
    gamma, epsilon = _gamma(gamma, fn), _epsilon(epsilon, fn)
    rows = sigmoid_rows(b, alpha=b.alpha, gamma_pos=gamma, gamma_neg=gamma, epsilon=epsilon)
    return reduce_binary(rows, b, reduction, all_ignored)
