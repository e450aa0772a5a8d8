"""Input validation shared by every losskit loss.

Two kinds of check:

* **Metadata checks** (shape, dtype, option values) read nothing from the device; they always run.
* **Value checks** (are these probabilities in [0, 1]? are class indices in range? any NaN?) must
  read tensor values. On CUDA that is a host-device synchronisation, which stalls the stream and
  breaks CUDA graphs, so by default value checks run on CPU tensors only. The check level:

  - ``"auto"`` (default): value checks on CPU tensors; none on accelerators.
  - ``"full"``: value checks on every device, plus NaN/Inf detection in inputs.
  - ``"off"``: metadata checks only.

  Set it with ``losskit.checks("full")`` (a context manager that also works as a plain call) or the
  environment variable ``LOSSKIT_CHECKS``. Under ``torch.compile`` value checks are skipped.

Every error is a ``ValueError`` or ``TypeError`` whose message names the argument, the value seen
and the fix.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import warnings
from typing import Iterator, Optional, Sequence

import torch
from torch import Tensor

__all__ = [
    "checks",
    "check_level",
    "values_checkable",
    "check_tensor",
    "check_floating",
    "check_same_shape",
    "check_probs",
    "check_class_target",
    "check_finite",
    "check_weight",
    "check_option",
    "warn_probs_as_logits",
    "warn_not_log_probs",
    "check_nonnegative",
    "check_label_smoothing",
    "check_broadcasts_to",
    "compute_dtype",
    "upcast",
]

_LEVELS = ("off", "auto", "full")
_level: str = os.environ.get("LOSSKIT_CHECKS", "auto").lower()
if _level not in _LEVELS:  # pragma: no cover - depends on the environment
    warnings.warn(f"LOSSKIT_CHECKS={_level!r} is not one of {_LEVELS}; using 'auto'")
    _level = "auto"


class _ChecksContext(contextlib.AbstractContextManager):
    """Returned by :func:`checks`; restores the previous level when used as a context manager."""

    def __init__(self, previous: str) -> None:
        self._previous = previous

    def __exit__(self, *exc) -> None:
        global _level
        _level = self._previous


def checks(level: str) -> _ChecksContext:
    """Set how much losskit validates: ``"off"``, ``"auto"`` (default) or ``"full"``.

    Works as a plain call (sets the level for the process) or as a context manager (restores the
    previous level on exit).

    >>> import losskit
    >>> with losskit.checks("full"):
    ...     losskit.check_level()
    'full'
    >>> losskit.check_level()
    'auto'
    """
    global _level
    if level not in _LEVELS:
        raise ValueError(f"checks level {level!r} is not valid: use one of {', '.join(map(repr, _LEVELS))}")
    previous, _level = _level, level
    return _ChecksContext(previous)


def check_level() -> str:
    """The current check level (``"off"``, ``"auto"`` or ``"full"``)."""
    return _level


def _compiling() -> bool:
    try:
        return bool(torch.compiler.is_compiling())
    except AttributeError:  # pragma: no cover - torch < 2.3
        return False


def values_checkable(t: Tensor) -> bool:
    """True if value checks may read ``t`` now (level, device and tracing state allow it)."""
    if _level == "off" or _compiling():
        return False
    if t.device.type == "meta" or isinstance(t, torch._subclasses.FakeTensor):  # type: ignore[attr-defined]
        return False
    if _level == "full":
        return True
    return t.device.type == "cpu"


def check_tensor(x: object, name: str) -> Tensor:
    """Raise ``TypeError`` unless ``x`` is a tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; wrap it with torch.as_tensor(...)")
    return x


def check_floating(x: object, name: str, *, hint: str = "") -> Tensor:
    """Raise ``TypeError`` unless ``x`` is a floating-point tensor."""
    check_tensor(x, name)
    assert isinstance(x, Tensor)
    if not x.is_floating_point():
        fix = hint or f"convert it with {name}.float()"
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}; {fix}")
    return x


def check_same_shape(a: Tensor, b: Tensor, names: Sequence[str] = ("input", "target"), *, hint: str = "") -> None:
    """Raise ``ValueError`` printing both shapes unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        fix = hint or f"reshape one of them so both have the same shape"
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {names[0]} {tuple(a.shape)} "
            f"and {names[1]} {tuple(b.shape)}; {fix}"
        )


def check_finite(x: Tensor, name: str) -> None:
    """In ``"full"`` mode, raise ``ValueError`` if ``x`` has NaN or Inf (says how many)."""
    if _level != "full" or not x.is_floating_point() or not values_checkable(x):
        return
    bad = ~torch.isfinite(x)
    n_bad = int(bad.sum())
    if n_bad:
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"{name} has {n_bad} non-finite value(s) (NaN or Inf), the first at index {first}; "
            "find where they come from (a division by zero, log(0), an overflowing half-precision op) "
            "or mask them out"
        )


def check_probs(probs: Tensor, name: str = "input", *, logits_fn: Optional[str] = None) -> None:
    """Raise ``ValueError`` if ``probs`` has values outside [0, 1] (when values may be read)."""
    check_finite(probs, name)
    if not values_checkable(probs):
        return
    lo, hi = torch.aminmax(probs.detach()) if probs.numel() else (torch.tensor(0.0), torch.tensor(0.0))
    lo_v, hi_v = float(lo), float(hi)
    if lo_v < 0.0 or hi_v > 1.0:
        fix = (
            f"it looks like logits — use {logits_fn}, or apply torch.sigmoid first"
            if logits_fn
            else "pass probabilities in [0, 1]"
        )
        raise ValueError(
            f"{name} has values outside [0, 1] (min {lo_v:.4g}, max {hi_v:.4g}); {fix}"
        )


def check_class_target(
    target: Tensor,
    num_classes: int,
    *,
    ignore_index: Optional[int] = None,
    name: str = "target",
) -> None:
    """Check class-index targets: integer dtype always; range [0, C) (or ``ignore_index``) when values may be read."""
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold class indices (an integer tensor, e.g. torch.long), got dtype {target.dtype}; "
            f"use {name}.long() for indices, or pass class probabilities with the same shape as input"
        )
    if not values_checkable(target) or target.numel() == 0:
        return
    # One fused pass in the common case; the masked pass runs only when the raw range is off
    # (for example because ignore_index=-100 is present).
    lo_t, hi_t = torch.aminmax(target)
    lo, hi = int(lo_t), int(hi_t)
    if (lo < 0 or hi >= num_classes) and ignore_index is not None:
        t = torch.where(target == ignore_index, torch.zeros((), dtype=target.dtype), target)
        lo_t, hi_t = torch.aminmax(t)
        lo, hi = int(lo_t), int(hi_t)
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        ign = f" (ignore_index={ignore_index})" if ignore_index is not None else ""
        raise ValueError(
            f"{name} has class index {bad} outside [0, {num_classes - 1}] for input with {num_classes} classes{ign}; "
            "check the number of output classes of the model, or set ignore_index to the label used for padding"
        )


def check_weight(weight: Optional[Tensor], size: int, name: str = "weight", *, what: str = "classes") -> Optional[Tensor]:
    """Check an optional 1-D per-class weight of length ``size``."""
    if weight is None:
        return None
    check_floating(weight, name)
    if weight.dim() != 1 or weight.shape[0] != size:
        raise ValueError(
            f"{name} must be a 1-D tensor with one entry per {what[:-2] if what.endswith('es') else what} "
            f"({size} {what}), got shape {tuple(weight.shape)}"
        )
    return weight


def check_option(value: float, name: str, *, low: Optional[float] = None, high: Optional[float] = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Raise ``ValueError`` unless ``low <= value <= high`` (open ends when asked)."""
    ok = True
    if low is not None:
        ok &= value > low if low_open else value >= low
    if high is not None:
        ok &= value < high if high_open else value <= high
    if not ok:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {lb}{lo}, {hi}{rb}, got {value!r}")
    return value


def warn_probs_as_logits(logits: Tensor, target: Tensor, *, fn: str, probs_fn: Optional[str] = None) -> None:
    """Warn when a logits loss receives values that all lie in [0, 1] and targets that are 0/1.

    That pattern usually means a sigmoid was applied twice (once in the model, once in the loss).
    Only fires for at least 8 elements, so that tiny hand-written examples stay quiet.
    """
    if not values_checkable(logits) or logits.numel() < 8 or not logits.is_floating_point():
        return
    lo, hi = torch.aminmax(logits.detach())
    if float(lo) < 0.0 or float(hi) > 1.0:
        return
    if target.is_floating_point() and values_checkable(target):
        if not bool(((target == 0) | (target == 1)).all()):
            return
    alt = f" If these are probabilities, use {probs_fn}." if probs_fn else ""
    warnings.warn(
        f"{fn} received logits that all lie in [0, 1] with binary targets: was a sigmoid applied twice? "
        f"{fn} applies the sigmoid itself, so pass raw model outputs.{alt}",
        UserWarning,
        stacklevel=3,
    )


def warn_not_log_probs(input: Tensor, dim: int = 1, *, fn: str = "nll_loss") -> None:
    """Warn when ``input`` does not hold log-probabilities along ``dim`` (exp-sum far from 1)."""
    if not values_checkable(input) or input.numel() == 0 or not input.is_floating_point() or input.dim() == 0:
        return
    # A heuristic warning, read from ONE distribution (the first sample, first position): a model
    # that outputs raw logits or probabilities does so everywhere, and the cost stays a few
    # microseconds whatever the batch. Log-probabilities exponentiate to a sum of 1.
    d = dim if input.dim() > 1 else 0
    first = input.detach()[tuple(slice(None) if i == d else 0 for i in range(input.dim()))]
    if abs(float(first.float().exp().sum()) - 1.0) > 1e-2:
        warnings.warn(
            f"{fn} expects log-probabilities (rows whose exp sums to 1), but input does not look like that; "
            "apply torch.log_softmax first, or use cross_entropy on raw logits",
            UserWarning,
            stacklevel=3,
        )


@contextlib.contextmanager
def _no_warnings() -> Iterator[None]:  # used internally when one loss calls another
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def check_nonnegative(x: Tensor, name: str, *, fix: str = "") -> None:
    """Raise ``ValueError`` if ``x`` has negative entries (when values may be read; NaN passes)."""
    if not values_checkable(x) or x.numel() == 0:
        return
    lo = float(x.detach().min())
    if lo < 0.0:
        n_neg = int((x.detach() < 0).sum())
        raise ValueError(
            f"{name} has {n_neg} negative entr{'y' if n_neg == 1 else 'ies'} (min {lo:.4g}); "
            f"{fix or f'pass {name} >= 0'}"
        )


def check_label_smoothing(value: object, *, high_open: bool, name: str = "label_smoothing") -> float:
    """A Python (or NumPy) real number in [0, 1] (``[0, 1)`` with ``high_open``), returned as a float.

    A tensor is refused: reading it would be a host-device synchronisation on every call.
    """
    if isinstance(value, (bool, Tensor)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a Python number, got {type(value).__name__}; pass a float such as 0.1")
    hi = "1)" if high_open else "1]"
    value = float(value)
    if not (0.0 <= value and (value < 1.0 if high_open else value <= 1.0)):
        raise ValueError(
            f"{name} must be in [0, {hi}, got {value!r}; 0 turns smoothing off, typical values are 0.05-0.2"
        )
    return value


def check_broadcasts_to(t: Optional[Tensor], shape: torch.Size, name: str, input_name: str, *,
                        fix: str = "") -> Optional[Tensor]:
    """Raise ``ValueError`` (both shapes printed) unless ``t`` broadcasts to ``shape`` without growing it."""
    if t is None:
        return None
    check_tensor(t, name)
    try:
        ok = torch.broadcast_shapes(t.shape, shape) == shape
    except RuntimeError:
        ok = False
    if not ok:
        fix = fix or (
            f"give {name} the shape of {input_name} or one that broadcasts to it (e.g. one entry per class "
            "along the last dimension)"
        )
        raise ValueError(
            f"{name} with shape {tuple(t.shape)} does not broadcast to the shape of {input_name} {tuple(shape)}; "
            f"{fix}"
        )
    return t


_HALF = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss computes in: float32 for float16/bfloat16 (as torch's losses do), else ``dtype``."""
    return torch.float32 if dtype in _HALF else dtype


def upcast(x: Tensor) -> Tensor:
    """``x`` in :func:`compute_dtype` (float32 for half inputs, unchanged otherwise)."""
    return x.float() if x.dtype in _HALF else x
