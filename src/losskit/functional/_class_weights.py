r"""Per-class weights from class counts, ready for ``weight=`` or ``alpha=``.

These are not losses (they are computed once, from the training labels, not per batch), so they are
not in the catalog. Counts may be a list, a NumPy array or a tensor; :func:`class_counts`
builds them from a label tensor.

Absent classes (count 0) would get an infinite weight from either formula. losskit never returns
``inf`` or ``NaN``: with ``absent="max"`` (default) such a class gets the largest weight among the
classes that are present (it is at least as rare as the rarest seen class, and this keeps the
weights bounded so normalisation does not drown the present classes); with ``absent="zero"`` it
gets 0 (its target term is switched off). When no class is present at all every weight is 1 before
normalisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import torch
from torch import Tensor

from .. import _checks

if TYPE_CHECKING:
    import numpy

__all__ = ["class_counts", "class_balanced_weights", "inverse_frequency_weights"]

Counts = Union[Tensor, Sequence[float], "numpy.ndarray"]
_NORMALIZE = ("num_classes", "max", None)
_ABSENT = ("max", "zero")


def class_counts(labels: Tensor, num_classes: int, *, ignore_index: int | None = None) -> Tensor:
    r"""How many times each class occurs in ``labels``.

    .. math:: n_c = \sum_i [y_i = c] \quad\text{(class indices)}, \qquad n_c = \sum_i y_{i,c}
        \quad\text{(multi-label)}

    Likelihood view: not a loss; :math:`n_c / N` is the maximum-likelihood estimate of the class
    prior of a Categorical (or of each label's Bernoulli), the input of the weights below.

    Args:
        labels: either class indices (an integer tensor of any shape, values in
            ``[0, num_classes)`` or ``ignore_index``), or multi-label targets (a float or bool
            tensor ``(N, C, d1..dk)`` or ``(N, C)`` with ``C = num_classes`` on dim 1), whose
            entries are summed per class (the number of positives of each class).
        num_classes: :math:`C`.
        ignore_index: class-index value to skip (e.g. ``-100`` padding). ``None``: none.

    Returns:
        ``(C,)`` tensor: ``int64`` counts for class indices, the labels' float dtype (float32 for
        bool) for multi-label targets.

    Example:
        >>> class_counts(torch.tensor([0, 2, 2, -100, 2]), 4, ignore_index=-100)
        tensor([1, 0, 3, 0])
        >>> class_counts(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), 2)
        tensor([2., 1.])

    References:
        Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
    """
    _checks.tensor(labels, "labels")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        if labels.dim() < 1 or labels.shape[1 if labels.dim() > 1 else 0] != num_classes:
            raise ValueError(
                f"multi-label labels must have num_classes={num_classes} entries on dim 1 (shape (N, C, ...)), "
                f"got shape {tuple(labels.shape)}; for class indices pass an integer tensor"
            )
        x = labels.float() if labels.dtype == torch.bool else labels
        if x.dim() == 1:
            return x.clone()
        return x.transpose(0, 1).reshape(num_classes, -1).sum(1)
    if labels.is_complex():
        raise TypeError(
            f"labels must hold class indices (an integer tensor) or multi-label targets (float or bool), "
            f"got dtype {labels.dtype}"
        )
    ii = _checks.ignored(ignore_index, fn="class_counts")
    _checks.class_indices(labels, num_classes, ignore_index=ii, name="labels")
    flat = labels.reshape(-1).long()
    if ignore_index is not None:
        flat = flat[flat != ignore_index]
    return torch.bincount(flat, minlength=num_classes)


def _as_counts(counts: Counts) -> Tensor:
    if isinstance(counts, Tensor):
        c = counts.detach()
    else:
        try:
            c = torch.as_tensor(counts)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"counts must be a 1-D list, array or tensor of class counts, got {type(counts).__name__}: {err}"
            ) from None
    if c.dim() != 1 or c.numel() == 0:
        raise ValueError(
            f"counts must be 1-D with one entry per class, got shape {tuple(c.shape)}; "
            "build it with class_counts(labels, num_classes)"
        )
    if c.is_complex() or c.dtype == torch.bool:
        raise TypeError(f"counts must hold real numbers, got dtype {c.dtype}")
    c = c.to(torch.float64)
    bad = ~torch.isfinite(c) | (c < 0)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"counts must be finite and >= 0, got {float(c[i])!r} for class {i}")
    return c


def _finish(raw: Tensor, present: Tensor, counts: Counts, normalize: str | None, absent: str) -> Tensor:
    _checks.choice(
        normalize, "normalize", _NORMALIZE, hint="'num_classes': weights sum to C; 'max': largest 1; None: raw"
    )
    _checks.choice(
        absent,
        "absent",
        _ABSENT,
        hint="weight of a class with count 0: 'max' (that of the rarest present class) or 'zero'",
    )
    if bool(present.any()):
        fill = raw[present].max() if absent == "max" else raw.new_zeros(())
        w = torch.where(present, raw, fill)
    else:  # no class present: uniform
        w = torch.ones_like(raw)
    if normalize == "num_classes":
        w = w * (w.numel() / w.sum())  # sum(w) = C (mean 1), as in Cui et al.
    elif normalize == "max":
        w = w / w.max()  # largest weight 1: every weight in [0, 1], valid as sigmoid alpha
    dtype = counts.dtype if isinstance(counts, Tensor) and counts.is_floating_point() else torch.get_default_dtype()
    device = counts.device if isinstance(counts, Tensor) else None
    return w.to(dtype=dtype, device=device)


def class_balanced_weights(
    counts: Counts,
    *,
    beta: float = 0.999,
    normalize: str | None = "num_classes",
    absent: str = "max",
) -> Tensor:
    r"""Class-balanced weights from the effective number of samples (Cui et al. 2019).

    .. math::

        E_n = \frac{1 - \beta^{n}}{1 - \beta}, \qquad w_c = \frac{1}{E_{n_c}} = \frac{1-\beta}{1-\beta^{n_c}}

    :math:`\beta = 0` gives uniform weights; :math:`\beta \to 1` approaches inverse frequency
    :math:`1/n_c`. Computed in float64 as :math:`(1-\beta) / (-\operatorname{expm1}(n \log\beta))`,
    so :math:`\beta` close to 1 loses no precision.

    Likelihood view: not a loss. Passed as ``weight=`` to ``cross_entropy`` / :func:`focal_loss`
    (or ``alpha=``), it reweights the Categorical (or Bernoulli) NLL so that each class contributes
    in proportion to its effective — not raw — number of samples.

    Args:
        counts: ``(C,)`` non-negative class counts (list, array or tensor; see :func:`class_counts`).
        beta: :math:`\beta \in [0, 1)`; Cui et al. use 0.9 to 0.9999.
        normalize: ``"num_classes"`` (weights sum to :math:`C`, as in the paper), ``"max"`` (largest
            weight 1, so all lie in [0, 1]) or ``None`` (raw :math:`1/E_n`).
        absent: weight of a class with count 0: ``"max"`` (that of the rarest present class) or
            ``"zero"``. Never ``inf``/``NaN``.

    Returns:
        ``(C,)`` float tensor (the default dtype, or the counts' float dtype; on the counts' device).

    Example:
        >>> class_balanced_weights([1000, 100, 10], beta=0.99)
        tensor([0.2301, 0.3630, 2.4068])
        >>> class_balanced_weights([5, 0, 5], beta=0.9, absent="zero")
        tensor([1.5000, 0.0000, 1.5000])

    References:
        Cui, Jia, Lin, Song, Belongie. "Class-Balanced Loss Based on Effective Number of Samples",
        CVPR 2019 (arXiv:1901.05555).
    """
    beta = _checks.number(
        beta, "beta", low=0.0, high=1.0, high_open=True, hint="Cui et al. use 0.9 to 0.9999; 0 gives uniform weights"
    )
    n = _as_counts(counts)
    present = n > 0
    if beta == 0:
        raw = torch.ones_like(n)  # beta^n = 0 for n >= 1
    else:
        # 1 - beta^n = -expm1(n log beta); exact for beta near 1
        denom = -torch.expm1(torch.where(present, n, torch.ones_like(n)) * math.log(beta))
        raw = (1.0 - beta) / denom
    return _finish(raw, present, counts, normalize, absent)


def inverse_frequency_weights(
    counts: Counts,
    *,
    power: float = 1.0,
    normalize: str | None = "num_classes",
    absent: str = "max",
) -> Tensor:
    r"""Inverse-frequency class weights :math:`w_c = n_c^{-\text{power}}`.

    .. math:: w_c = n_c^{-\text{power}}, \quad\text{then normalised (sum } C \text{ or max } 1\text{)}

    ``power=1`` is plain inverse frequency, ``power=0.5`` the "inverse square root" variant,
    ``power=0`` uniform.

    Likelihood view: not a loss; a ``weight=`` / ``alpha=`` that rebalances the NLL so every class
    carries the same total weight (``power=1``), i.e. the loss of a class-balanced resample.

    Args:
        counts: ``(C,)`` non-negative class counts (list, array or tensor; see :func:`class_counts`).
        power: exponent :math:`\ge 0`.
        normalize: ``"num_classes"`` (sum :math:`C`), ``"max"`` (largest 1) or ``None``.
        absent: weight of a class with count 0: ``"max"`` or ``"zero"`` (see the module notes).

    Returns:
        ``(C,)`` float tensor.

    Example:
        >>> inverse_frequency_weights(torch.tensor([30, 10, 60]))
        tensor([0.6667, 2.0000, 0.3333])
        >>> inverse_frequency_weights([30, 10, 0], normalize="max")
        tensor([0.3333, 1.0000, 1.0000])

    References:
        King & Zeng. "Logistic Regression in Rare Events Data", Political Analysis 2001;
        Cui et al., CVPR 2019 (arXiv:1901.05555), section 2.
    """
    power = _checks.number(power, "power", low=0.0, hint="1 is inverse frequency, 0.5 its square root, 0 uniform")
    n = _as_counts(counts)
    present = n > 0
    raw = torch.where(present, n, torch.ones_like(n)).pow(-power)
    return _finish(raw, present, counts, normalize, absent)
