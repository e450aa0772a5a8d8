"""The one reducer every losskit loss (and every fused kernel's result) goes through.

``reduction`` is ``"none" | "mean" | "sum"`` (``kl_div`` also takes ``"batchmean"``).

Weighted means follow torch exactly: for class-index targets with per-class ``weight`` (and
``ignore_index``), ``mean`` is ``sum_i w_{y_i} l_i / sum_i w_{y_i}`` over the items that are not
ignored -- a weighted average, not ``sum / N``. When every item is ignored that ratio is 0/0: by
default the result is NaN, as in torch; ``all_ignored="zero"`` returns 0 with a zero gradient
instead, without any host-device synchronisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ._checks import warn_user

__all__ = [
    "Reduction",
    "AllIgnored",
    "Sums",
    "check_reduction",
    "check_all_ignored",
    "reduce",
    "weighted_mean",
    "denominator",
    "legacy_reduction",
]

Reduction = Literal["none", "mean", "sum"]
AllIgnored = Literal["nan", "zero"]

_REDUCTIONS = ("none", "mean", "sum")


@dataclass(frozen=True)
class Sums:
    """What a fused kernel hands back for a scalar reduction: the total and the mean's denominator."""

    total: Tensor
    count: Tensor


def check_reduction(reduction: object, *, allowed: tuple[str, ...] = _REDUCTIONS) -> str:
    """``reduction`` if it is one of ``allowed``, else a ``ValueError`` that lists them."""
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(
            f"{reduction!r} is not a valid value for reduction: use one of {', '.join(repr(a) for a in allowed)}"
        )
    return reduction


def check_all_ignored(all_ignored: object) -> str:
    """The ``all_ignored`` option: ``"nan"`` (torch's 0/0) or ``"zero"``."""
    if not isinstance(all_ignored, str) or all_ignored not in ("nan", "zero"):
        raise ValueError(
            f"all_ignored={all_ignored!r} is not valid: use 'nan' (torch's behaviour) or 'zero' "
            "(an all-ignored batch gives 0 with a zero gradient)"
        )
    return all_ignored


def weighted_mean(numerator: Tensor, denominator: Tensor, all_ignored: str = "nan") -> Tensor:
    """``numerator / denominator`` with the all-ignored policy: ``"nan"`` lets 0/0 be NaN (torch);
    ``"zero"`` divides an empty batch (denominator exactly 0, numerator 0) by 1, so it gives 0 with
    a zero gradient (and the upstream gradient reaches the numerator unscaled, never as inf). No
    value is read on the host.

    >>> weighted_mean(torch.tensor(0.0), torch.tensor(0.0), "zero")
    tensor(0.)
    """
    if all_ignored == "zero":
        denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return numerator / denominator


def reduce(
    loss: Tensor | Sums,
    reduction: str,
    *,
    valid: Tensor | None = None,
    weight: Tensor | None = None,
    all_ignored: str = "nan",
) -> Tensor:
    """Reduce ``loss``: ``"none"`` | ``"sum"`` | ``"mean"`` | ``"batchmean"``.

    ``valid`` (bool, broadcasting to ``loss``) drops items from the sum and from the mean's
    denominator (``where``, not a product: NaN in dropped items stays out). ``weight`` is the
    denominator weight of torch's rule ``mean = Σ w_i ℓ_i / Σ w_i`` (``ℓ_i`` already carries
    ``w_i``). Without either, ``mean`` is the plain mean. ``batchmean`` is the sum over the first
    dimension's size. A fused kernel hands over :class:`Sums` instead of items.

    >>> reduce(torch.tensor([1.0, 2.0, 6.0]), "mean")
    tensor(3.)
    >>> reduce(torch.tensor([2.0, 0.0, 6.0]), "mean", weight=torch.tensor([2.0, 5.0, 2.0]),
    ...        valid=torch.tensor([True, False, True]))
    tensor(2.)
    """
    if isinstance(loss, Sums):
        if reduction == "sum":
            return loss.total
        return weighted_mean(loss.total, loss.count, all_ignored)
    if valid is not None:
        loss = torch.where(valid, loss, torch.zeros((), dtype=loss.dtype, device=loss.device))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchmean":
        return loss.sum() / loss.shape[0] if loss.dim() else loss.sum()
    if valid is None and weight is None:
        return loss.mean()
    count = denominator(loss.shape, valid=valid, weight=weight, dtype=loss.dtype, device=loss.device)
    return weighted_mean(loss.sum(), count, all_ignored)


def denominator(
    shape, *, valid: Tensor | None = None, weight: Tensor | None = None, dtype: torch.dtype = torch.float32, device=None
) -> Tensor:
    """The mean's denominator over items of ``shape``: ``Σ w_i`` over the valid items (torch's
    weighted mean), their count without ``weight``, or the number of items (a device fill on
    ``device``: no host-to-device copy, which a CUDA graph could not capture).

    >>> denominator((3,), valid=torch.tensor([True, False, True]))
    tensor(2.)
    """
    if weight is not None:
        w = weight.expand(shape)
        if valid is not None:
            w = torch.where(valid, w, torch.zeros((), dtype=w.dtype, device=w.device))
        return w.sum()
    if valid is not None:
        return torch.broadcast_to(valid, shape).sum(dtype=dtype if dtype.is_floating_point else torch.float32)
    n = 1
    for d in shape:
        n *= d
    return torch.full((), float(n), dtype=dtype if dtype.is_floating_point else torch.float32, device=device)


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """Map torch's deprecated ``size_average`` / ``reduce`` pair onto ``reduction`` (then checked).

    The torch twins keep these two positional slots so that a call written for
    ``torch.nn.functional`` works unchanged; new code passes ``reduction=`` only.
    """
    if size_average is None and reduce is None:
        return reduction
    if not torch.compiler.is_compiling():  # a warning inside a traced function breaks fullgraph compile
        warn_user("size_average and reduce are deprecated (as in torch): use reduction='none'|'mean'|'sum'")
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"
