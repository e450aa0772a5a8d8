"""Base classes for losskit's ``nn.Module`` losses.

A module stores its options in ``__init__`` (weights as buffers, so they follow ``.to()`` and
``state_dict``) and its ``forward`` is one call into :mod:`losskit.functional`.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from .._reduction import check_reduction, legacy_reduction

__all__ = ["Loss", "WeightedLoss"]


class Loss(nn.Module):
    """Base of every losskit module: owns and validates ``reduction``.

    ``size_average`` / ``reduce`` exist on the torch twins only, as torch's deprecated aliases.
    """

    _reductions: tuple[str, ...] = ("none", "mean", "sum")

    def __init__(self, size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction)
        self.reduction = check_reduction(reduction, allowed=self._reductions)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class WeightedLoss(Loss):
    """A loss with an optional per-class ``weight``, stored as a buffer."""

    weight: Optional[Tensor]

    def __init__(self, weight: Optional[Tensor] = None, size_average: Optional[bool] = None,
                 reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if weight is not None and not isinstance(weight, Tensor):
            weight = torch.as_tensor(weight, dtype=torch.get_default_dtype())
        self.register_buffer("weight", weight)
