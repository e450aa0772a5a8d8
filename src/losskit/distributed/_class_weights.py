"""Class counts and class-balanced weights from the labels of every rank of a group.

Each rank counts its own labels with :func:`losskit.functional.class_counts`; one all-reduce sums
the counts over the group, so every rank derives the same weights from the whole data set.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import functional as LF
from . import _comm

__all__ = ["class_counts", "class_balanced_weights"]


def class_counts(labels: Tensor, num_classes: int, *, ignore_index: int | None = None, group=None) -> Tensor:
    r"""How many times each class occurs in the labels of every rank of ``group``.

    .. math:: n_c = \sum_r \sum_i [y_{r,i} = c]

    :func:`losskit.functional.class_counts` on this rank's ``labels`` (class indices, or
    multi-label targets summed per class), then one all-reduce (sum) over ``group``.

    Likelihood view: not a loss; :math:`n_c / N` over the whole data set is the maximum-likelihood
    estimate of the class prior, the input of :func:`class_balanced_weights`.

    Args:
        labels, num_classes, ignore_index: as in :func:`losskit.functional.class_counts`.
        group: the process group (``None``: the default group); ``labels`` on a device its
            backend serves (CPU for gloo, CUDA for NCCL).

    Returns:
        ``(C,)`` counts (``int64`` for class indices), the same on every rank.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import class_counts
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> class_counts(torch.tensor([0, 2, 2, -100]), 3, ignore_index=-100)
        tensor([1, 0, 2])
        >>> dist.destroy_process_group()

    References:
        Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
    """
    group = _comm.check_group(group, "class_counts")
    return _comm.all_reduce(LF.class_counts(labels, num_classes, ignore_index=ignore_index), group)


def class_balanced_weights(
    counts, *, group=None, beta: float = 0.999, normalize: str | None = "num_classes", absent: str = "max"
) -> Tensor:
    r"""Class-balanced weights (Cui et al. 2019) from class counts summed over the ranks of ``group``.

    .. math:: w_c = \frac{1 - \beta}{1 - \beta^{n_c}}, \qquad n_c = \sum_r n_{r,c}

    This rank's ``counts`` are summed over the group (one all-reduce), then
    :func:`losskit.functional.class_balanced_weights` turns the totals into weights: every rank
    gets the weights of the whole data set, as one process holding all the labels would.

    Likelihood view: not a loss; a ``weight=`` that reweights the Categorical NLL by the inverse
    effective number of samples of each class.

    Args:
        counts: this rank's ``(C,)`` class counts (a tensor, list or array; e.g.
            ``losskit.functional.class_counts(local_labels, C)``).
        group: the process group (``None``: the default group).
        beta, normalize, absent: as in :func:`losskit.functional.class_balanced_weights`.

    Returns:
        ``(C,)`` float weights, the same on every rank.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import class_balanced_weights
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> class_balanced_weights([1000, 100, 10], beta=0.99)
        tensor([0.2301, 0.3630, 2.4068])
        >>> dist.destroy_process_group()

    References:
        Cui, Jia, Lin, Song, Belongie. "Class-Balanced Loss Based on Effective Number of Samples",
        CVPR 2019 (arXiv:1901.05555).
    """
    group = _comm.check_group(group, "class_balanced_weights")
    local = counts.detach().clone() if isinstance(counts, Tensor) else torch.as_tensor(counts)
    if local.dtype == torch.bool or local.is_complex():
        raise TypeError(f"class_balanced_weights: counts must hold real numbers, got dtype {local.dtype}")
    return LF.class_balanced_weights(_comm.all_reduce(local, group), beta=beta, normalize=normalize, absent=absent)
