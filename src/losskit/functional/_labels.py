r"""Target helpers: the library's one definition of label smoothing, as targets.

The losses with a ``label_smoothing`` option smooth internally; :func:`smooth_labels` returns the same
smoothed targets for code that needs them as tensors (a custom loss, mixup, distillation, logging).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks

__all__ = ["smooth_labels"]


def smooth_labels(
    target: Tensor,
    *,
    smoothing: float,
    num_classes: int | None = None,
    binary: bool = False,
    ignore_index: int | None = -100,
    dtype: torch.dtype | None = None,
) -> Tensor:
    r"""Smoothed targets, with the definitions losskit's losses use.

    .. math::
        \text{categorical: } t' = (1-\varepsilon)\, t + \varepsilon / C, \qquad
        \text{binary: } y' = y\,(1-\varepsilon) + \varepsilon / 2

    Categorical: ``target`` is class indices (then one-hot encoded over ``num_classes``, the classes
    on dimension 1 as :func:`cross_entropy` takes probability targets: ``(N,)`` → ``(N, C)``,
    ``(N, d1, ..., dk)`` → ``(N, C, d1, ..., dk)``) or class probabilities (classes on dimension 1,
    dimension 0 for a 1-D tensor). Positions whose index is ``ignore_index`` get an all-zero row.
    Binary (``binary=True``): ``target`` holds 0/1 or soft values in [0, 1] for independent labels.

    Likelihood view: not a loss. The cross-entropy against :math:`t'` is the NLL of the mixture
    :math:`(1-\varepsilon)\,\text{Categorical}(t) + \varepsilon\,\text{Uniform}(C)`:
    ``cross_entropy(x, smooth_labels(y, smoothing=e, num_classes=C))`` equals
    ``cross_entropy(x, y, label_smoothing=e)`` without class weights or ignored positions (with them
    torch's two target forms normalise the mean differently). The binary rule is exactly the
    two-class case of the categorical one, and what ``binary_cross_entropy_with_logits(...,
    label_smoothing=e)`` uses.

    Args:
        target: class indices (an integer tensor), class probabilities, or binary targets.
        smoothing: :math:`\varepsilon \in [0, 1]`.
        num_classes: :math:`C`; required for class indices.
        binary: smooth independent binary targets towards 1/2.
        ignore_index: class index whose rows come out all zero (``None``: none).
        dtype: the result's floating dtype (default: the target's, or the default dtype for indices).

    Returns:
        The smoothed targets: ``(N, C, d1, ..., dk)`` for class indices, else ``target``'s shape.

    Example:
        >>> import torch
        >>> from losskit.functional import smooth_labels
        >>> smooth_labels(torch.tensor([2, 0]), smoothing=0.1, num_classes=3)
        tensor([[0.0333, 0.0333, 0.9333],
                [0.9333, 0.0333, 0.0333]])
        >>> smooth_labels(torch.tensor([1.0, 0.0]), smoothing=0.1, binary=True)
        tensor([0.9500, 0.0500])

    References:
        Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016;
        Müller, Kornblith & Hinton, "When Does Label Smoothing Help?", NeurIPS 2019.
    """
    fn = "smooth_labels"
    _checks.tensor(target, "target")
    eps = _checks.smoothing(smoothing, high_open=False, name="smoothing", fn=fn)
    if binary:
        t = target.to(dtype or (target.dtype if target.is_floating_point() else torch.get_default_dtype()))
        _checks.values_in(target, "target", low=0.0, high=1.0, fix="binary targets are 0/1 or in [0, 1]")
        return t * (1.0 - eps) + 0.5 * eps  # y' = y(1-ε) + ε/2
    if target.is_floating_point():
        if target.dim() == 0:
            raise ValueError(f"{fn}: class probabilities need a class dimension, got a 0-dimensional tensor")
        c = target.shape[1] if target.dim() > 1 else target.shape[0]
        return target.to(dtype or target.dtype) * (1.0 - eps) + eps / c  # t' = t(1-ε) + ε/C
    if num_classes is None:
        raise TypeError(f"{fn}: class indices need num_classes (the number of classes C)")
    c = int(_checks.number(num_classes, "num_classes", low=1, integer=True, fn=fn))
    ii = _checks.ignored(ignore_index, fn=fn)
    y = target.long()
    _checks.class_indices(y, c, ignore_index=ii)
    valid = None if ii is None else y != ii
    onehot = F.one_hot(y if valid is None else y.masked_fill(~valid, 0), c).to(dtype or torch.get_default_dtype())
    t = onehot * (1.0 - eps) + eps / c  # t' = (1-ε) onehot(y) + ε/C
    if valid is not None:
        t = t * valid.unsqueeze(-1)
    return t.movedim(-1, 1) if t.dim() > 1 else t
