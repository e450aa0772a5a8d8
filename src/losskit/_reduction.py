"""The one reduction helper every losskit loss goes through.

``reduction`` is one of ``"none" | "mean" | "sum"`` (``kl_div`` also takes ``"batchmean"``).

Weighted means follow torch exactly: for class-index targets with per-class ``weight`` (and
``ignore_index``), ``mean`` is ``sum_i w_{y_i} l_i / sum_i w_{y_i}`` over the items that are not
ignored -- a weighted average, not ``sum / N``. When every item is ignored that ratio is 0/0: by
default the result is NaN, as in torch; ``all_ignored="zero"`` returns 0 with a zero gradient
instead, without any host-device synchronisation.
"""

from __future__ import annotations

import warnings
from typing import Literal, Optional

import torch
from torch import Tensor

from ._checks import _compiling

__all__ = [
    "Reduction",
    "AllIgnored",
    "check_reduction",
    "reduce",
    "weighted_mean",
    "legacy_reduction",
    "class_weight_sum",
]

Reduction = Literal["none", "mean", "sum"]
AllIgnored = Literal["nan", "zero"]

_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str, *, allowed: tuple[str, ...] = _REDUCTIONS) -> str:
    """Return ``reduction`` if it is one of ``allowed``, else raise a ``ValueError`` that lists them."""
    if not isinstance(reduction, str) or reduction not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(
            f"{reduction!r} is not a valid value for reduction: use one of {choices}"
        )
    return reduction


def check_all_ignored(all_ignored: str) -> str:
    """Validate the ``all_ignored`` option (``"nan"`` like torch, or ``"zero"``)."""
    if all_ignored not in ("nan", "zero"):
        raise ValueError(
            f"all_ignored={all_ignored!r} is not valid: use 'nan' (torch's behaviour) or 'zero' "
            "(an all-ignored batch gives 0 with a zero gradient)"
        )
    return all_ignored


def reduce(loss: Tensor, reduction: str) -> Tensor:
    """Apply ``"none"`` / ``"mean"`` / ``"sum"`` to an unreduced loss tensor.

    >>> reduce(torch.tensor([1.0, 2.0, 6.0]), "mean")
    tensor(3.)
    """
    check_reduction(reduction)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def weighted_mean(numerator: Tensor, denominator: Tensor, *, all_ignored: str = "nan") -> Tensor:
    """``numerator / denominator`` for a weighted mean, with the all-ignored policy applied.

    ``numerator`` is ``sum(w * l)`` and ``denominator`` is ``sum(w)`` over the items that count.
    With ``all_ignored="nan"`` a zero denominator gives NaN (torch's result); with ``"zero"`` the
    denominator is clamped away from 0, so an empty batch (numerator exactly 0) gives 0 and its
    gradient is 0. No value is read on the host.

    >>> weighted_mean(torch.tensor(0.0), torch.tensor(0.0), all_ignored="zero")
    tensor(0.)
    """
    check_all_ignored(all_ignored)
    if all_ignored == "zero":
        tiny = torch.finfo(denominator.dtype).tiny if denominator.is_floating_point() else 1
        denominator = denominator.clamp_min(tiny)
    return numerator / denominator


def legacy_reduction(
    size_average: Optional[bool], reduce: Optional[bool], reduction: str
) -> str:
    """Map torch's deprecated ``size_average`` / ``reduce`` pair onto ``reduction``.

    The losses that are torch twins keep these two positional slots so that a call written for
    ``torch.nn.functional`` works unchanged; new code should pass ``reduction=`` only.
    """
    if size_average is None and reduce is None:
        return reduction
    if not _compiling():  # a warning inside a traced function breaks torch.compile(fullgraph=True)
        warnings.warn(
            "size_average and reduce are deprecated (as in torch): use reduction='none'|'mean'|'sum'",
            UserWarning,
            stacklevel=3,
        )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def class_weight_sum(target: Tensor, weight: Optional[Tensor], ignore_index: Optional[int], *,
                     dtype: torch.dtype) -> Tensor:
    """The denominator of torch's weighted mean for class-index targets, on the device (no host sync).

    ``sum_i w_{y_i}`` over the items whose target is not ``ignore_index`` (their count when
    ``weight`` is None); pass it to :func:`weighted_mean` with ``sum_i w_{y_i} l_i``.

    >>> class_weight_sum(torch.tensor([0, 2, -100, 2]), torch.tensor([1.0, 5.0, 0.5]), -100, dtype=torch.float32)
    tensor(2.)
    """
    valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    if weight is None:
        return valid.sum(dtype=dtype)
    # ignored labels read w_0 (in range whatever ignore_index is) and are then zeroed
    y = torch.where(valid, target, torch.zeros((), dtype=target.dtype, device=target.device))
    return (weight.to(dtype)[y] * valid).sum()
