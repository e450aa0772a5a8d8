"""Base classes for losskit's ``nn.Module`` losses.

A module stores its options in ``__init__`` (tensor options as buffers, so they follow ``.to()`` and
``state_dict``) and its ``forward`` is one keyword call into :mod:`losskit.functional`. The repr
lists every option that differs from its default.
"""

from __future__ import annotations

import inspect

import torch
from torch import Tensor, nn

from .._reduction import check_reduction, legacy_reduction

__all__ = ["Loss", "WeightedLoss"]


class Loss(nn.Module):
    """Base of every losskit module: owns and validates ``reduction``, and writes the repr.

    ``size_average`` / ``reduce`` exist on the torch twins only, as torch's deprecated aliases.
    """

    _reductions: tuple[str, ...] = ("none", "mean", "sum")

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_reduction(legacy_reduction(size_average, reduce, reduction), allowed=self._reductions)

    def register_option(self, name: str, value: object) -> None:
        """Store an option: a tensor as a buffer (it follows ``.to()`` and ``state_dict``), else an attribute."""
        if isinstance(value, Tensor):
            self.register_buffer(name, value)
        else:
            setattr(self, name, value)

    def extra_repr(self) -> str:
        parts = []
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if name in ("self", "size_average", "reduce") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if not hasattr(self, name):
                continue
            value = getattr(self, name)
            if isinstance(value, Tensor):
                parts.append(f"{name}=<tensor {tuple(value.shape)}>")
            elif p.default is inspect.Parameter.empty or value != p.default:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts)


class WeightedLoss(Loss):
    """A loss with an optional per-class ``weight``, stored as a buffer."""

    weight: Tensor | None

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if weight is not None and not isinstance(weight, Tensor):
            weight = torch.as_tensor(weight, dtype=torch.get_default_dtype())
        self.register_buffer("weight", weight)
