r"""Exact means over the ranks of a group and over gradient-accumulation steps.

When each rank (or each micro-batch) takes its own mean over its non-ignored tokens and the
means are then averaged, the result is not the mean over all tokens: the ranks hold different
numbers of real tokens. The exact loss of one optimizer step is

.. math:: L = \frac{\sum_{r} \sum_{m} s_{r,m}}{\sum_{r} \sum_{m} n_{r,m}}

over ranks :math:`r` and micro-batches :math:`m`, with :math:`s` the summed loss and :math:`n` the
count (the number of non-ignored targets, or the sum of their class weights). Its gradient with
respect to one micro-batch's sum is :math:`1 / \sum n`, the same for every micro-batch and rank:
divide each micro-batch's summed loss by the global count of the whole step.

Recipe (data parallel with ``DistributedDataParallel``, which *averages* gradients over its
``world_size`` ranks, so the loss of each rank is multiplied by ``world_size``):

.. code-block:: python

    n = losskit.distributed.target_count([y for _, y in micro_batches], group=dp_group)
    for i, (x, y) in enumerate(micro_batches):
        with model.no_sync() if i < len(micro_batches) - 1 else contextlib.nullcontext():
            s = losskit.functional.cross_entropy(model(x), y, reduction="sum")
            (s * dist.get_world_size(dp_group) / n).backward()
    optimizer.step(); optimizer.zero_grad()

The gradients are then those of one process on the whole step's batch. Without accumulation,
``global_mean(s, count)`` does the same in one call (its gradient is ``1 / global count``) and its
value is the exact loss on every rank, for logging.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

from .. import _checks, _reduction
from . import _comm

__all__ = ["global_mean", "target_count"]


def _count(fn: str, count: object, like: Tensor) -> Tensor:
    if isinstance(count, Tensor):
        if count.dim() != 0 or count.is_complex() or count.dtype == torch.bool:
            raise ValueError(
                f"{fn}: count must be a 0-dimensional real tensor or a number (this rank's number of "
                f"counted targets), got shape {tuple(count.shape)} and dtype {count.dtype}"
            )
        _checks.values_in(count, "count", low=0.0, fix="count is a number of targets (or a sum of weights)")
        return count.detach().to(device=like.device, dtype=torch.float64)
    if isinstance(count, bool) or not isinstance(count, numbers.Real):
        raise TypeError(f"{fn}: count must be a tensor or a number, got {type(count).__name__} ({count!r})")
    c = _checks.number(count, "count", low=0.0, fn=fn, hint="count is a number of targets (or a sum of weights)")
    return torch.full((), c, dtype=torch.float64, device=like.device)


def mean_over_groups(loss_sum: Tensor, count: object, groups: Sequence, all_ignored: str, fn: str) -> Tensor:
    """:func:`global_mean` over the product of ``groups`` (summed over each in turn)."""
    s = _checks.floating(loss_sum, "loss_sum")
    if s.dim() != 0:
        raise ValueError(
            f"{fn}: loss_sum must be a scalar (this rank's summed loss, e.g. reduction='sum'), got "
            f"shape {tuple(s.shape)}"
        )
    mine = _checks.upcast(s.detach()).to(torch.float64)
    both = torch.stack([mine, _count(fn, count, s)])
    for g in groups:  # one all-reduce of (sum, count) per group
        _comm.all_reduce(both, g)
    dt = _checks.compute_dtype(s.dtype)
    others = (both[0] - mine).to(dt)  # the other ranks' sum: a constant, so the gradient stays local
    return _reduction.weighted_mean(_checks.upcast(s) + others, both[1].to(dt), all_ignored).to(s.dtype)


def global_mean(loss_sum: Tensor, count: Tensor | float, group=None, *, all_ignored: str = "nan") -> Tensor:
    r"""The mean over every rank of ``group``: the sum of ``loss_sum`` over the group divided by the sum of ``count``.

    .. math:: \bar\ell = \frac{\sum_r s_r}{\sum_r n_r}, \qquad
        \frac{\partial \bar\ell}{\partial s_{\text{this rank}}} = \frac{1}{\sum_r n_r}

    The value is the same on every rank; the gradient with respect to this rank's ``loss_sum`` is
    ``1 / global count`` -- the global mean's own gradient, formed without a collective in the
    backward (the other ranks' sum enters as a constant). One all-reduce (of two float64 numbers)
    in the forward. Under ``DistributedDataParallel``, which averages gradients over its ranks,
    multiply the result by the world size before ``backward`` (see :mod:`losskit.distributed`'s
    recipe); the gradients then equal one process's on the whole batch.

    Likelihood: not a loss of its own; it turns per-rank sums of any losskit NLL
    (``reduction="sum"``) into the mean NLL per counted target over the whole batch, the quantity
    whose minimiser is the maximum-likelihood estimate.

    Args:
        loss_sum: this rank's summed loss, a scalar (e.g. ``cross_entropy(..., reduction="sum")``).
        count: this rank's denominator: the number of counted targets (or the sum of their class
            weights, torch's weighted mean), a 0-d tensor or a number >= 0; see :func:`target_count`.
        group: the process group (``None``: the default group).
        all_ignored: when the global count is 0: ``"nan"`` (0/0, as torch) or ``"zero"`` (the sum
            divided by 1, as losskit's losses do: 0 for a sum of ignored targets, whose gradient is 0).

    Returns:
        A scalar in ``loss_sum``'s dtype (computed in float32 for half precision), the same on every rank.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import global_mean
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> s = torch.tensor(6.0, requires_grad=True)
        >>> m = global_mean(s, 4)
        >>> m.backward()
        >>> m.item(), s.grad.item()  # the value, and d(mean)/d(this rank's sum) = 1/count
        (1.5, 0.25)
        >>> global_mean(torch.tensor(0.0), 0, all_ignored="zero")
        tensor(0.)
        >>> dist.destroy_process_group()

    References:
        Hugging Face Transformers, ``num_items_in_batch`` (the 2024 gradient-accumulation fix);
        PyTorch, ``torch.nn.parallel.DistributedDataParallel`` (gradients averaged over ranks).
    """
    fn = "global_mean"
    all_ignored = _reduction.check_all_ignored(all_ignored)
    return mean_over_groups(loss_sum, count, [_comm.check_group(group, fn)], all_ignored, fn)


def target_count(
    target: Tensor | Sequence[Tensor], *, ignore_index: int | None = -100, weight: Tensor | None = None, group=None
) -> Tensor:
    r"""The mean's denominator of class-index targets over the micro-batches of a step and the ranks of ``group``.

    .. math:: n = \sum_{r} \sum_{m} \sum_{i} [y_{r,m,i} \ne \text{ignore\_index}]\; w_{y_{r,m,i}}

    (:math:`w = 1` without ``weight``): exactly the denominator of ``cross_entropy``'s ``mean``
    (torch's weighted mean), summed over the micro-batches of one optimizer step and over the
    ranks of ``group`` (one all-reduce). Divide each micro-batch's ``reduction="sum"`` loss by it
    (times the world size under DDP) and the gradients are those of one process on the whole batch.

    Likelihood: not a loss; the number of observations (or their total weight) of the Categorical
    NLL being averaged.

    Args:
        target: class indices, a tensor of any shape or a sequence of them (this rank's
            micro-batches), every tensor on the same device.
        ignore_index: the ignored label (``None``: none ignored).
        weight: optional per-class weight ``(C,)`` (the full one, not a shard).
        group: the process group (``None``: the default group).

    Returns:
        A 0-d float64 tensor on the targets' device, the same on every rank.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import target_count
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> target_count([torch.tensor([1, -100, 2]), torch.tensor([-100, 0])])
        tensor(3., dtype=torch.float64)
        >>> target_count(torch.tensor([1, -100, 2]), weight=torch.tensor([1.0, 0.5, 2.0]))
        tensor(2.5000, dtype=torch.float64)
        >>> dist.destroy_process_group()

    References:
        Hugging Face Transformers, ``num_items_in_batch``.
    """
    fn = "target_count"
    group = _comm.check_group(group, fn)
    ts = [target] if isinstance(target, Tensor) else list(target)
    if not ts:
        raise ValueError(f"{fn}: target is an empty sequence; pass the targets of the step's micro-batches")
    ii = _checks.ignored(ignore_index, fn=fn)
    for t in ts:
        _checks.tensor(t, "target")
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise TypeError(
                f"{fn}: target must hold class indices (an integer tensor), got dtype {t.dtype}; for "
                "probability targets the mean divides by the number of positions"
            )
    if weight is not None:
        _checks.floating(weight, "weight")
        for t in ts:
            _checks.class_indices(t, weight.shape[0], ignore_index=None if ii is None else int(ii))
    total = torch.zeros((), dtype=torch.float64, device=ts[0].device)
    for t in ts:
        valid = None if ii is None else t != ii
        w_y = None
        if weight is not None:
            w_y = weight[t if valid is None else t.masked_fill(~valid, 0)]  # ignored positions read class 0
        total = total + _reduction.denominator(
            t.shape, valid=valid, weight=w_y, dtype=torch.float64, device=t.device
        ).to(torch.float64)
    return _comm.all_reduce(total, group)
