"""Input validation shared by every losskit loss: one normaliser per kind of input, and the
primitives under them.

A public loss spends about three lines on validation: it calls the normaliser for its kind of
input, which does the metadata checks, the value checks and the dtype handling once and returns a
small frozen dataclass the formula reads from:

* :func:`class_inputs` -- logits with a class dimension and class-index or class-probability
  targets (cross-entropy, NLL, softmax focal, Poly-1, linear + cross-entropy);
* :func:`binary_inputs` -- one logit (or probability) and one 0/1 or soft target per element
  (binary cross-entropy, sigmoid focal, asymmetric loss);
* :func:`pointwise_inputs` -- predictions and targets combined element by element (regression and
  margin losses): the one place that knows torch's broadcasting and type-promotion rules;
* :func:`mask_inputs` -- segmentation logits and masks (the overlap losses).

Two kinds of check:

* **Metadata checks** (shape, dtype, option values) read nothing from the device; they always run.
* **Value checks** (are these probabilities in [0, 1]? class indices in range? any NaN?) must read
  tensor values. On CUDA that is a host-device synchronisation, which stalls the stream and breaks
  CUDA graphs, so by default value checks run on CPU tensors only. The check level:

  - ``"auto"`` (default): value checks on CPU tensors; none on accelerators.
  - ``"full"``: value checks on every device, plus NaN/Inf detection in every input.
  - ``"off"``: metadata checks only.

  Set it with ``losskit.checks("full")`` or the environment variable ``LOSSKIT_CHECKS``. Value
  checks never run under ``torch.compile``, ``torch.func`` transforms (``grad``, ``vmap``) or on
  meta/fake tensors.

Every error is a ``ValueError`` or ``TypeError`` whose message names the argument, the value seen
and the fix; messages are built only when raising.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import os
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict, TypeVar, cast, overload

import torch
from torch import Tensor

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

_T = TypeVar("_T")

__all__ = [
    "Switch",
    "checks",
    "check_level",
    "values_checkable",
    "tracing",
    "tensor",
    "floating",
    "number",
    "positive",
    "choice",
    "flag",
    "smoothing",
    "ignored",
    "broadcast_shape",
    "broadcasts_to",
    "class_weight",
    "like_dtype",
    "values_in",
    "finite",
    "class_indices",
    "sample_weights",
    "class_mask",
    "warn_activated",
    "warn_user",
    "caller_site",
    "warn_not_log_probs",
    "read_log_probs",
    "log_probs_read_due",
    "plain_class_indices",
    "range_checked",
    "compute_dtype",
    "upcast",
    "autocast_dtype",
    "result_type",
    "ClassInputs",
    "class_inputs",
    "BinaryInputs",
    "binary_inputs",
    "PointwiseInputs",
    "pointwise_inputs",
    "MaskInputs",
    "mask_inputs",
]


# ---------------------------------------------------------------------------------------------
# The switches: checks(...) here, impl(...) in losskit.kernels._dispatch
# ---------------------------------------------------------------------------------------------


class _Scope:
    """Returned by :meth:`Switch.set`. As a plain call the new value holds in the current thread from
    then on (like ``torch.set_grad_enabled``); as a context manager it holds in the current thread
    until the block exits (blocks may exit in any order)."""

    __slots__ = ("_local", "_previous_base", "_value")

    def __init__(self, switch: Switch, value: str) -> None:
        self._local, self._value = switch._local, value
        self._previous_base = self._local.base
        self._local.base = value

    def __enter__(self) -> _Scope:
        self._local.base = self._previous_base  # inside a block the value is the block's
        self._local.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        stack = self._local.stack
        # remove this scope wherever it sits: blocks left out of order restore correctly
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is self:
                del stack[i]
                break


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.stack: list = []
        self.base: str | None = None


class Switch:
    """A named setting, local to each thread: the innermost active ``with`` block of the thread wins,
    then the thread's last plain call, then the process default (an environment variable).

    ``value`` only reads plain attributes of a ``threading.local`` and of the switch, so
    ``torch.compile`` guards on it (a change re-traces the compiled function), and one thread's
    setting never reaches another.
    """

    def __init__(self, name: str, choices: Sequence[str], env: str, default: str) -> None:
        self.name, self.choices = name, tuple(choices)
        value = os.environ.get(env, default).lower()
        if value not in self.choices:  # pragma: no cover - depends on the environment
            warnings.warn(f"{env}={value!r} is not one of {self.choices}; using {default!r}", stacklevel=1)
            value = default
        self.default = value
        self._local = _ThreadState()

    @property
    def value(self) -> str:
        local = self._local
        if local.stack:
            return local.stack[-1]._value
        return self.default if local.base is None else local.base

    def set(self, value: str) -> _Scope:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(f"{self.name} {value!r} is not valid: use one of {', '.join(map(repr, self.choices))}")
        return _Scope(self, value)


_CHECKS = Switch("checks level", ("off", "auto", "full"), "LOSSKIT_CHECKS", "auto")


def checks(level: str) -> _Scope:
    """Set how much losskit validates: ``"off"``, ``"auto"`` (default) or ``"full"``.

    * ``"off"``: types, shapes and options only; no value is read.
    * ``"auto"``: also the values that decide whether the result is right, on CPU tensors (class
      indices in range, targets in [0, 1], weights >= 0), and the warnings that read a sample
      ("applied twice?" on logits; "not log-probabilities", whose read runs on the first call with
      each kind of input and then at most once every 10 ms).
    * ``"full"``: also NaN and Inf in the inputs, on every device (a host read each), and every
      sampled warning read on every call.

    As a context manager the level holds in the current thread until the block exits; as a plain
    call it holds in the current thread from then on (like ``torch.set_grad_enabled``). Other threads
    keep theirs; the process default is the environment variable ``LOSSKIT_CHECKS``.

    >>> import losskit
    >>> with losskit.checks("full"):
    ...     losskit.check_level()
    'full'
    >>> losskit.check_level()
    'auto'
    """
    return _CHECKS.set(level)


class _Seen(threading.local):
    def __init__(self) -> None:
        self.tensors: dict | None = None


_SEEN = _Seen()


@contextlib.contextmanager
def checked_once() -> Iterator[None]:
    """Inside the block (in this thread), a value check that reads a tensor reads it once: the parts
    of a combined loss, which get the same logits and target, share their checks (the sampled
    "applied twice?" read, the class-index range read). Each tensor seen is held until the block ends,
    so an id is never reused within it; a tensor changed in place (a new ``_version``) is read again."""
    if _SEEN.tensors is not None:  # nested: the outer block's record holds
        yield
        return
    _SEEN.tensors = {}
    try:
        yield
    finally:
        _SEEN.tensors = None


class _Shared(threading.local):
    def __init__(self) -> None:
        self.activations: object | None = None


_SHARED = _Shared()


@contextlib.contextmanager
def shared_activations(activations: object) -> Iterator[None]:
    """Inside the block (in this thread), the parts of a combined loss that take ``activations.logits``
    (an :class:`losskit.functional.Activations`) read its class log-probabilities from it: see
    :func:`shared_log_softmax`."""
    previous = _SHARED.activations
    _SHARED.activations = activations
    try:
        yield
    finally:
        _SHARED.activations = previous


def shared_log_softmax(logits: Tensor, *, computed_only: bool = False) -> Tensor | None:
    """``log_softmax(logits, 1)`` shared by the parts of a combined loss (cross-entropy computes it,
    a multiclass overlap loss takes ``exp`` of it instead of a second softmax: one softmax pass and its
    backward fewer), or ``None`` outside :func:`shared_activations`, for other tensors, for half
    precision and under autocast (their parts keep their own float32 softmax). ``computed_only``:
    ``None`` unless a part computed it already (a lone overlap loss keeps its single softmax)."""
    acts = _SHARED.activations
    if (
        acts is None
        or getattr(acts, "logits", None) is not logits
        or logits.dim() < 2
        or logits.dtype not in (torch.float32, torch.float64)
        or torch.is_autocast_enabled(logits.device.type)
    ):
        return None
    if computed_only and not acts.computed("log_probs", "softmax"):  # type: ignore[attr-defined]
        return None
    return acts.get("log_probs", "softmax")  # type: ignore[attr-defined]


def _first_read(kind: tuple, t: Tensor) -> tuple | None:
    """The record key of check ``kind`` on ``t`` when this read is the first in a :func:`checked_once`
    block (the caller records it with :func:`_record` once the check passed), ``()`` outside one, and
    ``None`` when the same check already passed on ``t`` in the block (skip it)."""
    seen = _SEEN.tensors
    if seen is None:
        return ()
    key = (*kind, id(t), t._version)
    return None if key in seen else key


def _record(key: tuple, t: Tensor) -> None:
    if key and _SEEN.tensors is not None:
        _SEEN.tensors[key] = t


def check_level() -> str:
    """The check level in force in this thread (``"off"``, ``"auto"`` or ``"full"``)."""
    return _CHECKS.value


def _compiling() -> bool:
    try:
        return bool(torch.compiler.is_compiling())
    except AttributeError:  # pragma: no cover - torch < 2.3
        return False


def _transforming() -> bool:
    """True inside ``torch.func.grad`` / ``vmap`` / ``jvp`` (functorch's interpreter stack)."""
    try:
        return torch._C._functorch.peek_interpreter_stack() is not None
    except AttributeError:  # pragma: no cover - very old torch
        return False


def tracing() -> bool:
    """True under ``torch.compile`` tracing or a ``torch.func`` transform: no host reads allowed."""
    return _compiling() or _transforming()


# frames of losskit and of torch (a module's __call__), skipped when a warning names its caller
_OWN_FRAMES = (os.path.dirname(os.path.abspath(__file__)) + os.sep, os.path.dirname(torch.__file__) + os.sep)


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the caller's line: the first frame outside
    losskit and torch, whether the loss was called as a function or as a module (so the default
    filter shows it once per line of the user's code, and the location points at that line)."""
    _, stacklevel = _user_frame()
    warnings.warn(message, category, stacklevel=stacklevel)


def caller_site() -> tuple[object, int]:
    """The code object and line of the first frame outside losskit and torch (the line of the
    user's code that called the loss, as :func:`warn_user` finds it); ``(None, 0)`` if none."""
    frame, _ = _user_frame()
    return (None, 0) if frame is None else (frame.f_code, frame.f_lineno)


def _user_frame() -> tuple[types.FrameType | None, int]:
    """The first frame above this function's caller that lies outside losskit and torch, and the
    ``stacklevel`` that names it in a ``warnings.warn`` made by this function's caller."""
    stacklevel, frame = 2, cast("types.FrameType | None", sys._getframe(2))
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_FRAMES):
        frame, stacklevel = frame.f_back, stacklevel + 1
    return frame, stacklevel


def values_checkable(t: Tensor) -> bool:
    """True if value checks may read ``t`` now (level, device, tracing and transforms allow it)."""
    if _compiling():
        return False
    level = _CHECKS.value
    if level == "off" or _transforming():
        return False
    if t.is_meta or isinstance(t, torch._subclasses.FakeTensor):
        return False
    return level == "full" or t.is_cpu


# ---------------------------------------------------------------------------------------------
# Primitives: one check each
# ---------------------------------------------------------------------------------------------


def tensor(x: object, name: str) -> Tensor:
    """``x`` if it is a tensor, else a ``TypeError`` that says how to make one."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; wrap it with torch.as_tensor(...)")
    return x


def floating(x: object, name: str, *, hint: str = "") -> Tensor:
    """``x`` if it is a floating-point tensor, else a ``TypeError``."""
    t = tensor(x, name)
    if not t.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {t.dtype}; {hint or f'convert it with {name}.float()'}"
        )
    return t


def _interval(low, high, low_open, high_open) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"


def _within(v: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    """``v`` lies in the interval (NaN never does)."""
    return (
        v == v
        and (low is None or (v > low if low_open else v >= low))
        and (high is None or (v < high if high_open else v <= high))
    )


class _NumberOptions(TypedDict, total=False):
    """The keywords of :func:`number` other than ``integer`` (its overloads differ only there)."""

    low: float | None
    high: float | None
    low_open: bool
    high_open: bool
    hint: str
    fn: str
    finite: bool


@overload
def number(value: object, name: str, *, integer: Literal[True], **options: Unpack[_NumberOptions]) -> int: ...
@overload
def number(value: object, name: str, *, integer: Literal[False] = ..., **options: Unpack[_NumberOptions]) -> float: ...
def number(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    hint: str = "",
    fn: str = "",
    finite: bool = False,
) -> float:
    """A Python (or NumPy) real number in the interval given, returned as ``float`` (``int`` with
    ``integer``; ``finite``: not ±inf either). Tensors are refused (reading one is a host-device sync
    on every call), as are ``bool`` and NaN. Under tracing a symbolic float is passed through unchecked."""
    if type(value) is float and not finite and not integer and _within(value, low, high, low_open, high_open):
        return value  # the common case, checked without the ABC machinery
    if _compiling() and not isinstance(value, Tensor):
        return value  # type: ignore[return-value]  # checked in eager; under torch.compile it may be symbolic
    where = f"{fn}: " if fn else ""
    if isinstance(value, (bool, Tensor)) or not isinstance(value, numbers.Real):
        kind = "an int" if integer else "a Python number"
        raise TypeError(
            f"{where}{name} must be {kind}, got {type(value).__name__} ({value!r}); "
            f"{hint or 'pass a plain float or int'}"
        )
    v: float
    if integer:
        whole = value if isinstance(value, int) else math.trunc(float(value))  # what int(value) gives
        if value != whole:
            raise ValueError(f"{where}{name} must be a whole number, got {value!r}")
        v = whole
    else:
        v = float(value)
    if finite and not math.isfinite(v):
        raise ValueError(f"{where}{name} must be finite, got {value!r}" + (f"; {hint}" if hint else ""))
    if not _within(v, low, high, low_open, high_open):
        raise ValueError(
            f"{where}{name} must be in {_interval(low, high, low_open, high_open)}, got {value!r}"
            + (f"; {hint}" if hint else "")
        )
    return v


def positive(value: object, name: str, *, zero_ok: bool = False, fn: str = "", hint: str = "") -> float:
    """A Python (or NumPy) real number ``> 0`` (``>= 0`` with ``zero_ok``), returned as ``float``: a
    scale such as Huber's ``delta``. Tensors, ``bool`` and NaN are refused; under ``torch.compile`` a
    symbolic float is passed through unchecked (checked in eager; no ``math.isnan`` on a traced value)."""
    if type(value) is float or type(value) is int:  # the common case, checked without the ABC machinery
        if value > 0 or (zero_ok and value == 0):
            return float(value)
    elif _compiling() and not isinstance(value, Tensor):
        return value  # type: ignore[return-value]
    where = f"{fn}: " if fn else ""
    need = ">= 0" if zero_ok else "> 0"
    if isinstance(value, (bool, Tensor)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{where}{name} must be a Python number {need}, got {type(value).__name__} ({value!r})"
            + (f"; {hint}" if hint else "")
        )
    v = float(value)
    if not (v >= 0.0 if zero_ok else v > 0.0):  # NaN fails both comparisons
        raise ValueError(f"{where}{name} must be {need}, got {v!r}" + (f"; {hint}" if hint else ""))
    return v


def choice(value: object, name: str, choices: Sequence[_T], *, fn: str = "", hint: str = "") -> _T:
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    if isinstance(value, Tensor) or value not in choices:
        where = f"{fn}: " if fn else ""
        raise ValueError(
            f"{where}{name}={value!r} is not valid: use one of {', '.join(map(repr, choices))}"
            + (f" ({hint})" if hint else "")
        )
    return cast(_T, value)  # equal to one of choices (returned as given)


def flag(value: object, name: str, *, fn: str = "") -> bool:
    """A ``bool`` option (``True``/``False``; NumPy bools accepted)."""
    if not isinstance(value, bool):
        if type(value).__name__ == "bool_":
            return bool(value)
        where = f"{fn}: " if fn else ""
        raise TypeError(f"{where}{name} must be True or False, got {type(value).__name__} ({value!r})")
    return value


def smoothing(value: object, *, high_open: bool, name: str = "label_smoothing", fn: str = "") -> float:
    """A smoothing amount in [0, 1] (``[0, 1)`` with ``high_open``); 0 turns smoothing off."""
    return number(
        value,
        name,
        low=0.0,
        high=1.0,
        high_open=high_open,
        fn=fn,
        hint="0 turns smoothing off, typical values are 0.05-0.2",
    )


@overload
def ignored(value: object, *, fn: str, floats: Literal[False] = ...) -> int | None: ...
@overload
def ignored(value: object, *, fn: str, floats: bool) -> int | float | None: ...
def ignored(value: object, *, fn: str, floats: bool = False) -> int | float | None:
    """``None`` (no target ignored) or the ignored target value: an int (a float too with ``floats``,
    for 0/1-or-soft targets)."""
    if value is None:
        return None
    if type(value) is int:  # the common case, checked without the ABC machinery
        return value
    ok = isinstance(value, numbers.Integral) or (floats and isinstance(value, numbers.Real))
    if isinstance(value, (bool, Tensor)) or not ok:
        kind = "a number" if floats else "an int (the padding label, torch's default -100)"
        raise TypeError(f"{fn}: ignore_index must be {kind} or None, got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    return cast(float, value)  # a numbers.Real (a NumPy float too), kept as given


def broadcast_shape(*shapes: Sequence[int]) -> tuple | None:
    """The broadcast of ``shapes``, or ``None`` if they do not broadcast (plain Python: a few
    microseconds, where ``torch.broadcast_shapes`` costs tens)."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for shape in shapes:
        for i, n in enumerate(shape, ndim - len(shape)):
            if n != 1:
                if out[i] != 1 and out[i] != n:
                    return None
                out[i] = n
    return tuple(out)


def broadcasts_to(
    t: Tensor | None, shape: Sequence[int], name: str, input_name: str, *, fix: str = "", floating_only: bool = True
) -> Tensor | None:
    """``t`` (or ``None``) if it broadcasts to ``shape`` without enlarging it; else a ``ValueError``
    printing both shapes."""
    if t is None:
        return None
    floating(t, name) if floating_only else tensor(t, name)
    if broadcast_shape(t.shape, shape) != tuple(shape):
        raise ValueError(
            f"{name} with shape {tuple(t.shape)} does not broadcast to the shape of {input_name} {tuple(shape)}; "
            + (fix or f"give {name} the shape of {input_name} or one that broadcasts to it")
        )
    return t


def class_weight(
    weight: Tensor | None, num_classes: int, name: str = "weight", *, what: str = "class"
) -> Tensor | None:
    """An optional 1-D weight with one non-negative entry per class."""
    if weight is None:
        return None
    floating(weight, name)
    if weight.dim() != 1 or weight.shape[0] != num_classes:
        raise ValueError(
            f"{name} must be a 1-D tensor with one entry per {what} ({num_classes} {what}es), "
            f"got shape {tuple(weight.shape)}"
        )
    values_in(weight, name, low=0.0, fix=f"{name} scales each {what}'s term; pass values >= 0")
    return weight


def like_dtype(t: Tensor | None, dtype: torch.dtype, name: str, input_name: str, *, fn: str = "") -> Tensor | None:
    """``t`` (an option tensor such as a class weight) in ``dtype``, the dtype the loss computes in.

    A tensor of lower precision than ``dtype`` (a float16 weight for float32 logits) is refused, as
    torch refuses it, rather than silently widened -- except under ``torch.autocast``, which casts
    both to float32 as torch does; a wider one is rounded to ``dtype``.
    """
    if t is None or t.dtype == dtype:
        return t
    if torch.finfo(t.dtype).bits < torch.finfo(dtype).bits and not torch.is_autocast_enabled(t.device.type):
        where = f"{fn}: " if fn else ""
        raise TypeError(
            f"{where}{name} has dtype {t.dtype}, of lower precision than {input_name} ({dtype}); "
            f"pass {name}.to({dtype}) (torch refuses mixed dtypes here too)"
        )
    return t.to(dtype)


_SAME_WIDTH_INT = {
    torch.float64: torch.int64,
    torch.float32: torch.int32,
    torch.float16: torch.int16,
    torch.bfloat16: torch.int16,
}


@functools.lru_cache(maxsize=64)
def _bits_of(value: float, dtype: torch.dtype) -> int | None:
    """The bits of ``value`` in ``dtype`` read as a signed integer, or ``None`` where ``value`` is not
    exactly representable (it would round)."""
    t = torch.tensor(value, dtype=dtype)
    return int(t.view(_SAME_WIDTH_INT[dtype])) if float(t) == value else None


def _in_range_by_bits(d: Tensor, high: float | None) -> bool:
    """True when every value of the floating ``d`` lies in ``[0, high]`` (``[0, inf]`` for ``None``), none
    NaN, decided from the bits read as signed integers (an integer ``aminmax`` runs at memory speed,
    about a third faster than the floating one, which propagates NaN): IEEE floats with the sign bit
    clear order like their bits, any set sign bit (a negative value, -0.0, a negative NaN) reads
    negative, and a positive NaN reads above ``+inf``. False means "not shown" (the caller reads the
    floats for its message: -0.0 lands there too)."""
    cap = _bits_of(math.inf if high is None else float(high), d.dtype)
    if cap is None:
        return False
    lo, hi = torch.aminmax(d.view(_SAME_WIDTH_INT[d.dtype]))
    return int(lo) >= 0 and int(hi) <= cap


def values_in(
    t: Tensor,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    fix: str = "",
    skip: float | None = None,
) -> bool:
    """Value check: every entry of ``t`` in ``[low, high]`` (entries equal to ``skip`` aside).

    Runs when values may be read (see :func:`values_checkable`); NaN is left to :func:`finite`.
    Returns whether every value was read and none is NaN (``False`` when nothing was read).
    """
    if t.numel() == 0 or not values_checkable(t):
        return False
    d = t.detach()
    if skip is not None:
        d = d[d != skip]
        if d.numel() == 0:
            return False
    if d.dtype == torch.bool:
        return True
    if low == 0.0 and d.dtype in _SAME_WIDTH_INT and _in_range_by_bits(d, high):
        return True
    lo, hi = torch.aminmax(d)
    lo_v, hi_v = float(lo), float(hi)
    if math.isnan(lo_v) or math.isnan(hi_v):
        return False
    if (low is not None and lo_v < low) or (high is not None and hi_v > high):
        if low is not None and high is None:
            n_bad = int((d < low).sum())
            what = f"{n_bad} entr{'y' if n_bad == 1 else 'ies'} below {low:g} (min {lo_v:.4g})"
        else:
            what = f"values outside {_interval(low, high, False, False)} (min {lo_v:.4g}, max {hi_v:.4g})"
        raise ValueError(f"{name} has {what}" + (f"; {fix}" if fix else ""))
    return True


def finite(t: Tensor, name: str, *, neginf_ok: bool = False) -> None:
    """Under ``checks("full")``: a ``ValueError`` if ``t`` holds NaN or Inf (how many, and the first).

    ``neginf_ok``: ``-inf`` is allowed (log-probabilities of impossible outcomes); NaN and ``+inf`` are not.
    """
    if _CHECKS.value != "full" or not t.is_floating_point() or not values_checkable(t):
        return
    d = t.detach()
    bad = ~(torch.isfinite(d) | (d == -math.inf)) if neginf_ok else ~torch.isfinite(d)
    n_bad = int(bad.sum())
    if n_bad:
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"{name} has {n_bad} non-finite value(s) (NaN or Inf), the first at index {first}; find where they "
            "come from (a division by zero, log(0), an overflowing half-precision op) or mask them out"
        )


def class_indices(target: Tensor, num_classes: int, *, ignore_index: int | None = None, name: str = "target") -> bool:
    """Value check: class indices in ``[0, C)`` or equal to ``ignore_index``.

    Returns ``True`` when the values were read and none equals ``ignore_index`` (it lies outside
    their range), so that a caller may skip building the mask of counted positions; ``False`` when
    unknown or when ignored positions may be present."""
    if target.numel() == 0 or not values_checkable(target):
        return False
    key = _first_read(("class_indices", num_classes, ignore_index), target)
    if key is None:
        return False  # read in this combined call already (and in range)
    lo_t, hi_t = torch.aminmax(target)
    lo, hi = int(lo_t), int(hi_t)
    absent = ignore_index is None or not lo <= ignore_index <= hi
    if (lo < 0 or hi >= num_classes) and ignore_index is not None:
        # a second, masked pass only when the raw range is off (e.g. because -100 is present)
        kept = target[target != ignore_index]
        if kept.numel() == 0:
            return False
        lo_t, hi_t = torch.aminmax(kept)
        lo, hi = int(lo_t), int(hi_t)
    if lo < 0 or hi >= num_classes:
        ign = f" (ignore_index={ignore_index})" if ignore_index is not None else ""
        raise ValueError(
            f"{name} has class index {lo if lo < 0 else hi} outside [0, {num_classes - 1}] for input with "
            f"{num_classes} classes{ign}; check the number of output classes of the model, or set ignore_index to "
            "the label used for padding"
        )
    _record(key, target)
    return absent


def sample_weights(
    weight: Tensor | None, shape: Sequence[int], *, fn: str, name: str = "sample_weight"
) -> Tensor | None:
    """Per-item weights (one per position of ``shape``, the loss's unreduced shape, or broadcasting to
    it), floating and >= 0; ``None`` is off."""
    if weight is None:
        return None
    broadcasts_to(
        weight,
        shape,
        name,
        "the loss per item",
        fix=f"give one weight per item: shape {tuple(shape)} (the target's shape for class indices)",
    )
    values_in(weight, name, low=0.0, fix=f"{name} scales each item's loss; pass values >= 0")
    return weight


def class_mask(
    mask: Tensor | None, logits: Tensor, *, fn: str, target: Tensor | None = None, ignore_index: int | None = None
) -> Tensor | None:
    """A bool mask of the classes that take part (``(C,)`` for every position, or ``logits``' shape); the
    softmax runs over the kept classes only. Every position must keep at least one class, and a
    class-index ``target`` (ignored positions aside) must be a kept class."""
    if mask is None:
        return None
    tensor(mask, "class_mask")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{fn}: class_mask must be a bool tensor (True for the classes that take part), got dtype "
            f"{mask.dtype}; use class_mask.bool()"
        )
    dim = 1 if logits.dim() > 1 else 0
    if mask.dim() == 1 and logits.dim() > 1:
        if mask.shape[0] != logits.shape[1]:
            raise ValueError(
                f"{fn}: class_mask of shape {tuple(mask.shape)} needs one entry per class ({logits.shape[1]} classes)"
            )
        mask = mask.view(1, -1, *([1] * (logits.dim() - 2)))
    if broadcast_shape(mask.shape, logits.shape) != tuple(logits.shape):
        raise ValueError(
            f"{fn}: class_mask of shape {tuple(mask.shape)} does not broadcast to logits "
            f"{tuple(logits.shape)}; pass (C,) or the logits' shape"
        )
    if values_checkable(mask) and not bool(mask.any(dim).all()):
        raise ValueError(f"{fn}: class_mask leaves a position with no class; keep at least one class everywhere")
    if target is not None and not target.is_floating_point() and values_checkable(target):
        valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
        y = target.masked_fill(~valid, 0).unsqueeze(dim)
        hit = torch.broadcast_to(mask, logits.shape).gather(dim, y).squeeze(dim)
        if not bool((hit | ~valid).all()):
            bad = int(target[valid & ~hit].flatten()[0])
            raise ValueError(
                f"{fn}: target class {bad} is masked out by class_mask (its loss would be infinite); "
                "keep every target class, or ignore those positions"
            )
    return mask


# activations whose output reaching a loss that applies its own link is almost always a mistake
_VIEWLIKE = {
    "ViewBackward0",
    "ReshapeAliasBackward0",
    "UnsafeViewBackward0",
    "SqueezeBackward0",
    "SqueezeBackward1",
    "SqueezeBackward2",
    "UnsqueezeBackward0",
    "PermuteBackward0",
    "TransposeBackward0",
    "TransposeBackward1",
    "TBackward0",
    "CloneBackward0",
    "ExpandBackward0",
    "ToCopyBackward0",
    "FlattenBackward0",
    "SliceBackward0",
    "SelectBackward0",
}


def _produced_by(t: Tensor, names: frozenset) -> bool:
    """True if ``t``'s autograd node (through view-like nodes) is one of ``names`` (e.g. a sigmoid)."""
    node = t.grad_fn
    for _ in range(6):
        if node is None:
            return False
        kind = type(node).__name__
        if kind in names:
            return True
        if kind not in _VIEWLIKE:
            return False
        nxt = [f for f, _ in node.next_functions if f is not None]
        if len(nxt) != 1:
            return False
        node = nxt[0]
    return False


_SIGMOID = frozenset({"SigmoidBackward0"})
_SOFTMAX = frozenset({"SoftmaxBackward0", "SigmoidBackward0"})
_LOG_SOFTMAX = frozenset({"LogSoftmaxBackward0"})


def _sample_rows(x: Tensor, dim: int, rows: int = 32) -> Tensor:
    """Up to ``rows`` distributions along ``dim`` (the class dim), spread over the other dims: a view
    ``(m1, ..., mk, C)`` with the class dim last.

    Each other dim is read with a stride (a grid of positions: every ``ceil(N / rows)``-th row of an
    ``(N, C)`` input; about ``rows ** (1/k)`` positions along each of ``k`` dims), so the sample is a
    view of ``x`` whatever its layout: nothing is copied (half inputs aside, whose few rows are cast
    to float32), and building it costs one indexing call and no host read."""
    # a plain tensor's .data: the same values without a graph, and no dispatched detach op (a few
    # microseconds on a cold cache, which is where a loss on a large input reads its sample)
    d = x.data if type(x) is Tensor else x.detach()
    picked = d[_sample_grid(tuple(d.shape), dim, rows)]
    if dim != d.dim() - 1:
        picked = picked.movedim(dim, -1)
    return picked.float() if picked.dtype in _HALF else picked


@functools.lru_cache(maxsize=256)
def _sample_grid(shape: tuple[int, ...], dim: int, rows: int) -> tuple[slice, ...]:
    """The strided index of :func:`_sample_rows` for ``shape`` (computed once per shape)."""
    others = [i for i in range(len(shape)) if i != dim]
    budget, index = rows, [slice(None)] * len(shape)
    for j, i in enumerate(others):
        size = shape[i]
        want = max(1, min(size, int(budget ** (1.0 / (len(others) - j)) + 1e-9)))
        step = -(-size // want)
        index[i] = slice(None, None, step)
        budget = max(1, budget // max(1, -(-size // step)))
    return tuple(index)


def warn_activated(
    logits: Tensor, *, fn: str, link: str, dim: int = 1, fix: str = "", target: Tensor | None = None
) -> None:
    """Warn when logits were already passed through the loss's own link (a sigmoid or softmax applied twice).

    The sign is read from the autograd graph (``logits`` produced by ``sigmoid``/``softmax``, through
    views): free on every device and silent on healthy logits, whatever their values (a
    zero-initialised head gives all-zero logits). For softmax links, on tensors whose values may be
    read, rows that lie in [0, 1] and sum to 1 warn too (probabilities computed without a graph); for
    sigmoid links given 0/1 ``target`` (at least 8 values), values that all lie in [0, 1] warn.
    """
    if tracing() or not logits.is_floating_point():
        return
    key = _first_read(("activated", link, dim, None if target is None else (id(target), target._version)), logits)
    if key is None:
        return  # read in this combined call already
    _record(key, logits)
    hit = _produced_by(logits, _SIGMOID if link == "sigmoid" else _SOFTMAX) if logits.requires_grad else False
    if not hit and link == "softmax" and logits.dim() > 0 and logits.numel() and values_checkable(logits):
        d = dim if logits.dim() > 1 else 0
        if logits.shape[d] > 1:
            rows = _sample_rows(logits, d)
            lo, hi = torch.aminmax(rows)  # logits nearly always leave [0, 1]: one read decides
            hit = float(lo) >= 0.0 and float(hi) <= 1.0 and bool(((rows.sum(-1) - 1).abs() < 1e-3).all())
    if (
        not hit
        and link == "sigmoid"
        and target is not None
        and logits.numel() >= 8
        and values_checkable(logits)
        and values_checkable(target)
    ):
        # probabilities computed without a graph: every value in [0, 1] against 0/1 targets
        lo, hi = torch.aminmax(logits.detach())
        hit = float(lo) >= 0.0 and float(hi) <= 1.0
        if hit and target.is_floating_point():
            hit = bool(((target == 0) | (target == 1)).all())
    if hit:
        warn_user(
            f"{fn} received {'sigmoid' if link == 'sigmoid' else 'softmax'} outputs: was the {link} applied twice? "
            f"{fn} applies the {link} itself, so pass raw model outputs (logits)." + (f" {fix}" if fix else "")
        )


_SUM_EXP_LOW, _SUM_EXP_HIGH = math.exp(-1e-2), math.exp(1e-2)


# the read of warn_not_log_probs: up to 32 distributions and about this many values (4 rows of 1000
# classes, one of a larger vocabulary): below the size from which torch splits an exp over threads,
# whose wake-up after a backward costs more than the read
_LOG_PROBS_SAMPLE_VALUES = 4096


def warn_not_log_probs(log_probs: Tensor, dim: int = 1, *, fn: str = "nll_loss", plain: bool = False) -> None:
    """Warn when ``log_probs`` do not hold log-probabilities along ``dim``: a row whose exp sums to
    more than 1% away from 1 (``|logsumexp| > 0.01``).

    Reads up to 32 distributions spread over the batch, and no more than about 4096 values (at
    least one whole distribution): a model that outputs logits or probabilities does so everywhere,
    and the read stays a few small ops. Silent when the autograd graph shows a ``log_softmax``.

    How often: under ``checks("full")`` on every call; under ``checks("auto")`` at most once every
    10 ms for each line of the caller's code and kind of input (the loss, the number of classes, the
    dtype, whether they require grad and the op that produced them), and always on the first such
    call -- so a loop's every call site is read within 10 ms, and the read costs well under 1% of the
    step (see :func:`log_probs_read_due`). ``plain``: the caller has found, by :func:`plain_class_indices`,
    that ``log_probs`` is a non-empty floating tensor whose values may be read.
    """
    if plain:
        if _CHECKS.value == "off":
            return
    elif log_probs.dim() == 0 or log_probs.numel() == 0 or not log_probs.is_floating_point():
        return
    elif not values_checkable(log_probs):
        return
    if _produced_by(log_probs, _LOG_SOFTMAX):
        return
    d = dim if log_probs.dim() > 1 else 0
    if log_probs_read_due(log_probs, d, fn):
        read_log_probs(log_probs, d, fn=fn)


# log_probs_read_due: the last read per kind of input and call site (monotonic ns), and the least
# time between reads
_LAST_READ: dict[tuple, int] = {}
_READ_INTERVAL_NS = 10_000_000


def log_probs_read_due(log_probs: Tensor, dim: int, fn: str) -> bool:
    """Whether :func:`warn_not_log_probs` reads ``log_probs`` now: always under ``checks("full")``;
    under ``checks("auto")`` when no input of the same kind, from the same line of the caller's
    code (:func:`caller_site`), was read in the last 10 ms.

    The read costs a few ops (10-40 microseconds on a CPU with a cold cache), which is 10% of a small
    loss's step; a model that outputs logits or probabilities does so on every step, so one read
    per 10 ms finds it as surely, at a bounded cost: at most about 0.4% of any loop's time per call
    site. A new kind of input (another loss, number of classes, dtype, producing op) or a new call
    site is read on its first call; two calls on one line with inputs of one kind (a loop over heads
    inside one step) share their reads.
    """
    if _CHECKS.value == "full":
        return True
    node = log_probs.grad_fn
    code, line = caller_site()
    key = (fn, log_probs.shape[dim], log_probs.dtype, log_probs.requires_grad, type(node), code, line)
    now = time.monotonic_ns()
    last = _LAST_READ.get(key)
    if last is not None and now - last < _READ_INTERVAL_NS:
        return False
    if len(_LAST_READ) >= 4096:  # (bounded: kinds and sites are few in a program, but classes or dtypes may vary)
        _LAST_READ.clear()
    _LAST_READ[key] = now
    return True


def read_log_probs(log_probs: Tensor, dim: int, *, fn: str) -> None:
    """The read of :func:`warn_not_log_probs`, for a caller that has checked that ``log_probs`` is a
    non-empty floating tensor whose values may be read."""
    rows = max(1, min(32, _LOG_PROBS_SAMPLE_VALUES // max(1, log_probs.shape[dim])))
    # |logsumexp| > 0.01 read as the sum of exps outside [e^-0.01, e^0.01]: without logsumexp's shift by
    # the row max (two ops, not eight), and the same answer -- an exp that overflows gives an inf sum,
    # rows that all underflow a zero one, both far from 1, and a NaN row fails neither bound (as before)
    sums = _sample_rows(log_probs, dim, rows).exp().sum(-1)
    if sums.dim() != 1:
        sums = sums.reshape(-1)
    if any(s < _SUM_EXP_LOW or s > _SUM_EXP_HIGH for s in sums.tolist()):
        warn_user(
            f"{fn} expects log-probabilities (rows whose exp sums to 1), but input does not look like that; "
            "apply torch.log_softmax first, or use cross_entropy on raw logits"
        )


_PLAIN_FLOATS = (torch.float32, torch.float64)


def plain_class_indices(x: object, target: object) -> bool:
    """True for the commonest call of a loss over classes: ``x`` a non-empty ``(N, C)`` float32 or
    float64 CPU tensor, ``target`` ``(N,)`` int64 class indices on CPU, plain tensors (no subclass),
    under ``checks("auto")`` or ``checks("off")``, outside ``torch.compile`` and ``torch.func``.

    For that call :func:`class_inputs` checks only what torch's own kernel checks again (an index out
    of range: see :func:`range_checked`), and under ``"auto"`` the values of ``x`` may be read; a
    loss may then skip the general checks. Its tests compare the short path with the general one."""
    return (
        type(x) is Tensor
        and type(target) is Tensor
        and x.dim() == 2
        and target.dim() == 1
        and target.dtype == torch.long
        and x.dtype in _PLAIN_FLOATS
        and x.shape[0] == target.shape[0]
        and x.shape[0] > 0
        and x.shape[1] > 0
        and x.is_cpu
        and target.is_cpu
        and _CHECKS.value != "full"
        and not _compiling()
        and not _transforming()
    )


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------

_HALF = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a formula computes in: float32 for float16/bfloat16 (as torch's losses accumulate),
    else ``dtype``."""
    return torch.float32 if dtype in _HALF else dtype


def upcast(x: Tensor) -> Tensor:
    """``x`` in :func:`compute_dtype` (float32 for half inputs, unchanged otherwise)."""
    return x.float() if x.dtype in _HALF else x


def autocast_dtype(x: Tensor, dtype: torch.dtype | None = None) -> torch.dtype:
    """The dtype torch's losses return for ``x`` (or ``dtype``): float32 for a half dtype under
    ``torch.autocast`` of ``x``'s device (torch's losses are on autocast's float32 list), else unchanged."""
    dtype = x.dtype if dtype is None else dtype
    if dtype in _HALF and torch.is_autocast_enabled(x.device.type):
        return torch.float32
    return dtype


def _category(dtype: torch.dtype) -> int:
    return 3 if dtype.is_complex else 2 if dtype.is_floating_point else 0 if dtype == torch.bool else 1


def result_type(*ts: Tensor) -> torch.dtype:
    """``torch.result_type`` over tensors, written with ``promote_types`` (which ``torch.compile``
    traces): a 0-d tensor takes part only when its category (bool < int < float < complex) is
    higher than the other operands', as in torch."""
    dims = [t.dtype for t in ts if t.dim() > 0]
    zero = [t.dtype for t in ts if t.dim() == 0]
    out = None
    for d in dims:
        out = d if out is None else torch.promote_types(out, d)
    for d in zero:
        if out is None:
            out = d
        elif _category(d) > _category(out):
            out = torch.promote_types(out, d)
    if out is None:  # pragma: no cover - called with no tensor
        raise ValueError("result_type needs at least one tensor")
    if not any(t.dim() > 0 for t in ts):
        out = zero[0]
        for d in zero[1:]:
            out = torch.promote_types(out, d)
    return out


# ---------------------------------------------------------------------------------------------
# Normaliser: class-index or class-probability targets
# ---------------------------------------------------------------------------------------------

# passed to torch as ignore_index when nothing is ignored: no label can equal it (a -100 label is then
# an out-of-range index, refused by the value check, or by torch's kernel where values are not read)
NO_IGNORE = -(2**63)


@dataclass(frozen=True)
class ClassInputs:
    """Validated inputs of a loss over classes (dim 1, or dim 0 for an unbatched ``(C,)`` input).

    Attributes:
        logits: the input as given (logits, or log-probabilities for ``nll_loss``).
        target: class indices as ``torch.long`` (shape of ``logits`` without dim 1), or class
            probabilities (the shape of ``logits``).
        probs: True for class-probability targets.
        weight: per-class weight ``(C,)`` or ``None``.
        ignore_index: the ignored label, or ``None``; ``torch_ignore_index`` is what torch gets.
        label_smoothing: in [0, 1].
        num_classes: ``C``.
        valid: counted positions (class indices not equal to ``ignore_index``), or ``None`` for all.
        weight_at_target: ``weight[y]`` per position (class indices with a weight; ignored positions
            read class 0's weight, and ``valid`` drops them), or ``None``.
        range_deferred: the class-index range check was left to torch's CPU kernel (see
            ``class_inputs(range_by_torch=True)`` and :func:`torch_range_checked`).
    """

    logits: Tensor
    target: Tensor
    probs: bool
    weight: Tensor | None
    ignore_index: int | None
    label_smoothing: float
    num_classes: int

    @property
    def device(self) -> torch.device:
        return self.logits.device

    @property
    def torch_ignore_index(self) -> int:
        return NO_IGNORE if self.ignore_index is None else self.ignore_index

    @property
    def class_dim(self) -> int:
        return 1 if self.logits.dim() > 1 else 0

    valid: Tensor | None = None
    weight_at_target: Tensor | None = None
    range_deferred: bool = False


def torch_range_checked(
    c: ClassInputs | MaskInputs, call: Callable[..., Tensor], *args: object, **kwargs: object
) -> Tensor:
    """``call(*args, **kwargs)``: a torch op that refuses out-of-range class indices on CPU itself
    (``nll_loss``, ``cross_entropy``, ``multi_margin_loss``, the one-hot ``scatter_`` of the overlap
    losses). When :func:`class_inputs` / :func:`mask_inputs` left the range check to it
    (``c.range_deferred``), its error becomes losskit's message (which names the index and the fix);
    the check costs nothing when the indices are in range."""
    if not c.range_deferred:
        return call(*args, **kwargs)
    ii = None if c.ignore_index is None else int(c.ignore_index)
    return range_checked(c.target, c.num_classes, ii, call, *args, **kwargs)


def range_checked(
    target: Tensor, num_classes: int, ignore_index: int | None, call: Callable[..., Tensor], /, *args, **kwargs
) -> Tensor:
    """``call(*args, **kwargs)``, a torch op that refuses an index of ``target`` out of
    ``[0, num_classes)`` (``ignore_index`` aside) itself; its error becomes losskit's message."""
    try:
        return call(*args, **kwargs)
    except (IndexError, RuntimeError) as err:
        torch_error = err
    class_indices(target, num_classes, ignore_index=ignore_index)  # raises when an index is out of range
    raise torch_error


def _target_form(fn: str, logits: Tensor, target: Tensor, name: str, probs_allowed: bool) -> bool:
    """True for class probabilities, False for class indices (decided by shape, like torch)."""
    idx_shape = () if logits.dim() == 1 else (logits.shape[0], *logits.shape[2:])

    def both() -> str:
        s = (
            f"class indices are an integer tensor of shape {tuple(idx_shape)} ({name} without its class "
            f"dimension {0 if logits.dim() == 1 else 1})"
        )
        if probs_allowed:
            s += f", class probabilities a floating tensor with the shape of {name} {tuple(logits.shape)}"
        return s

    if probs_allowed and target.shape == logits.shape:
        if not target.is_floating_point():
            raise TypeError(
                f"{fn}: target has the shape of {name} {tuple(logits.shape)} (the class-probability "
                f"form) but dtype {target.dtype}; {both()}. Use target.float() for probabilities, "
                "or pass indices"
            )
        return True
    if tuple(target.shape) != tuple(idx_shape):
        raise ValueError(
            f"{fn}: target has shape {tuple(target.shape)} but {name} has shape {tuple(logits.shape)}; {both()}"
        )
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        extra = "" if probs_allowed else "; for class probabilities use cross_entropy with probability targets"
        raise TypeError(
            f"{fn}: target has the shape of class indices {tuple(idx_shape)} but dtype {target.dtype}; "
            f"{both()}. Use target.long() for indices{extra}"
        )
    return False


def class_inputs(
    fn: str,
    logits: object,
    target: object,
    *,
    weight: Tensor | None = None,
    ignore_index: object = -100,
    label_smoothing: object = 0.0,
    smoothing_high_open: bool = False,
    probs_allowed: bool = True,
    name: str = "logits",
    link: str | None = "softmax",
    shape_only: bool = False,
    range_by_torch: bool = False,
) -> ClassInputs:
    """Validate the inputs of a loss over classes and return them as :class:`ClassInputs`.

    Metadata: ``logits`` floating with a class dimension (``(C,)``, ``(N, C)`` or
    ``(N, C, d1..dk)``); ``target`` class indices (any integer dtype, returned as ``long``) or, if
    ``probs_allowed``, probabilities of ``logits``' shape; ``weight`` ``(C,)``; ``ignore_index`` an
    int or ``None`` (indices only). Values (see :func:`values_checkable`): indices in range,
    ``weight >= 0``, finite inputs under ``checks("full")``, and a warning when the logits are
    already softmax outputs (``link``). ``weight`` is returned in the dtype the loss computes in
    (torch's result dtype for ``logits``); a weight of lower precision than that is refused, as
    torch refuses it. ``shape_only``: ``logits`` stands for the shape and dtype only (its values
    are not read). ``range_by_torch``: the caller hands ``target`` straight to a torch kernel that
    refuses an out-of-range index on CPU, through :func:`torch_range_checked`; for a CPU target the
    range read is left to that kernel, and no ``valid`` mask is built (that caller does not read it).
    """
    x = floating(logits, name)
    tensor(target, "target")
    if x.dim() == 0:
        raise ValueError(
            f"{fn}: {name} must have a class dimension — shape (C,), (N, C) or (N, C, d1, ..., dk) — "
            "got a 0-dimensional tensor; for one binary score use binary_cross_entropy_with_logits"
        )
    num_classes = x.shape[1] if x.dim() > 1 else x.shape[0]
    probs = _target_form(fn, x, target, name, probs_allowed)  # type: ignore[arg-type]
    eps = smoothing(label_smoothing, high_open=smoothing_high_open, fn=fn)
    weight = like_dtype(class_weight(weight, num_classes), autocast_dtype(x), "weight", name, fn=fn)
    ii = ignored(ignore_index, fn=fn)
    ii_present, deferred = True, False
    t: Tensor = target  # type: ignore[assignment]
    if probs:
        if ii is not None and ii != -100:
            raise ValueError(
                f"{fn}: ignore_index={ii} applies to class-index targets only, but target holds class "
                "probabilities; give ignored items a zero probability row instead"
            )
        ii = None
        finite(t, "target")
    else:
        if t.dtype != torch.long:
            t = t.long()
        if range_by_torch and t.is_cpu and values_checkable(t):
            deferred, ii_present = True, False
        elif class_indices(t, num_classes, ignore_index=ii):
            ii_present = False  # no mask of counted positions: the range read saw no label equal to ignore_index
    if not shape_only:
        finite(x, name)
        if link is not None:
            warn_activated(x, fn=fn, link=link)
    valid = None if probs or ii is None or not ii_present else t != ii
    w_y = None
    if weight is not None and not probs and not deferred:  # (a deferring caller's kernel weighs itself)
        w_y = weight[t if valid is None else t.masked_fill(~valid, 0)]  # ignored positions read class 0
    return ClassInputs(x, t, probs, weight, ii, eps, num_classes, valid, w_y, deferred)


# ---------------------------------------------------------------------------------------------
# Normaliser: binary (one 0/1 or soft target per element)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BinaryInputs:
    """Validated inputs of a loss on one Bernoulli per element.

    Attributes:
        logits: the input as given (logits, or probabilities for ``binary_cross_entropy``).
        target: as given (float, int or bool; same shape as ``logits``).
        weight, pos_weight, alpha: broadcastable to ``logits`` (a 1-D ``(C,)`` of a non-twin loss on
            an ``(N, C, d1..dk)`` input is reshaped to apply along the class dimension 1), or ``None``.
        ignore_index: the ignored target value, or ``None``.
        label_smoothing: ε in [0, 1): targets become ``y(1 - ε) + ε/2``.
        out_dtype: the dtype of the result.
        nan_free: ``True`` when the checks read every value of ``logits`` and found no NaN (the
            probabilities of ``binary_cross_entropy``), else ``False`` (unknown).
    """

    logits: Tensor
    target: Tensor
    weight: Tensor | None
    pos_weight: Tensor | None
    alpha: float | Tensor | None
    ignore_index: float | None
    label_smoothing: float
    out_dtype: torch.dtype
    nan_free: bool = False

    @property
    def device(self) -> torch.device:
        return self.logits.device

    @property
    def valid(self) -> Tensor | None:
        """Counted elements (target not equal to ``ignore_index``), or ``None`` for all."""
        if self.ignore_index is None:
            return None
        return self.target != self.ignore_index

    def smoothed_target(self, dtype: torch.dtype) -> Tensor:
        """The target in ``dtype``, ignored elements read as 0, smoothed to ``y(1-ε) + ε/2``."""
        y = self.target.to(dtype)
        if self.valid is not None:
            y = y.masked_fill(~self.valid, 0)
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing  # y' = y(1-ε) + ε/2
        return y


def _along_class_dim(t: Tensor | None, shape: torch.Size, name: str) -> Tensor | None:
    """A 1-D per-class ``(C,)`` tensor for an ``(N, C, d1..dk)`` input, viewed as ``(C, 1, .., 1)``."""
    if t is None or t.dim() != 1 or len(shape) < 3:
        return t
    if t.shape[0] != shape[1]:
        if t.shape[0] in (shape[-1], 1):
            return t if t.shape[0] == 1 else _class_dim_error(t, shape, name)
        return _class_dim_error(t, shape, name)
    return t.view(-1, *([1] * (len(shape) - 2)))


def _class_dim_error(t: Tensor, shape: torch.Size, name: str):
    raise ValueError(
        f"{name} of shape {tuple(t.shape)}: a 1-D {name} applies to the class dimension 1 of input "
        f"{tuple(shape)}, which has {shape[1]} classes; pass {shape[1]} values, or a tensor of "
        f"{len(shape)} dimensions that broadcasts to the input (e.g. shape {(1,) * (len(shape) - 1) + (shape[-1],)} "
        "for the last dimension)"
    )


def _binary_target(fn: str, x: Tensor, t: Tensor, index_targets: bool, target_threshold: object) -> Tensor:
    """A target of ``x``'s shape: one squeezed or unsqueezed trailing 1 (Keras's rule: ``(N, 1)`` labels
    for ``(N,)`` scores and back), integer class indices ``x.shape[:-1]`` as one-hot rows over the last
    dimension (``index_targets``), then ``target > target_threshold`` when a threshold is given."""
    if (
        t.shape != x.shape
        and t.numel() == x.numel()
        and (tuple(t.shape) == (*x.shape, 1) or tuple(x.shape) == (*t.shape, 1))
    ):
        t = t.reshape(x.shape)
    elif (
        index_targets
        and t.shape != x.shape
        and x.dim() >= 1
        and tuple(t.shape) == tuple(x.shape[:-1])
        and not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)
    ):
        class_indices(t, x.shape[-1])
        t = t.unsqueeze(-1) == torch.arange(x.shape[-1], device=t.device)  # one-hot (no device assert off range)
    if target_threshold is not None:
        thr = number(
            target_threshold,
            "target_threshold",
            low=0.0,
            high=1.0,
            high_open=True,
            fn=fn,
            hint="targets above it become 1, the others 0 (timm's BinaryCrossEntropy)",
        )
        t = t > thr
    return t


def binary_inputs(
    fn: str,
    logits: object,
    target: object,
    *,
    weight: Tensor | None = None,
    pos_weight: object = None,
    alpha: object = None,
    ignore_index: object = None,
    label_smoothing: object = 0.0,
    twin: bool = False,
    takes: str = "logits",
    alternative: str = "",
    probs_fn: str = "",
    index_targets: bool = False,
    target_threshold: object = None,
) -> BinaryInputs:
    """Validate the inputs of a loss on one Bernoulli per element and return :class:`BinaryInputs`.

    ``twin``: torch's broadcasting of ``weight``/``pos_weight`` (against the trailing dimensions)
    and torch's result dtype; otherwise a 1-D ``(C,)`` ``weight``/``pos_weight``/``alpha`` applies to
    the class dimension 1 of an ``(N, C, d1..dk)`` input. ``takes="probs"`` checks ``logits`` (then
    probabilities) lie in [0, 1]. Targets must lie in [0, 1] (ignored elements aside); a target with
    one extra or one missing trailing 1 is reshaped to ``logits`` (Keras's rule). ``index_targets``:
    integer class indices of shape ``logits.shape[:-1]`` become one-hot rows over the last dimension;
    ``target_threshold``: targets become ``target > target_threshold``. ``pos_weight`` may be a
    Python number (>= 0).
    """
    xname = "probs" if takes == "probs" else "logits"
    x = floating(logits, xname)
    t = tensor(target, "target")
    if t.is_complex():
        raise TypeError(f"{fn}: target must be real (0/1 or probabilities), got dtype {t.dtype}")
    if t.shape != x.shape or target_threshold is not None:
        t = _binary_target(fn, x, t, index_targets, target_threshold)
    if pos_weight is not None and not isinstance(pos_weight, Tensor):
        pw = number(pos_weight, "pos_weight", low=0.0, fn=fn, hint="pass a float >= 0, or a tensor per class")
        pos_weight = torch.full((), pw, dtype=compute_dtype(x.dtype), device=x.device)
    if t.shape != x.shape:
        name = xname
        raise ValueError(
            f"{fn}: {name} {tuple(x.shape)} and target {tuple(t.shape)} must have the same shape; binary targets "
            f"have one entry per {'probability' if takes == 'probs' else 'logit'} (reshape target, e.g. "
            f"target.view_as({name}))" + (f"; {alternative}" if alternative else "")
        )
    eps = smoothing(label_smoothing, high_open=True, fn=fn)
    ii = ignored(ignore_index, fn=fn, floats=True)
    fix = "pass one value per element, or a shape that broadcasts (e.g. (C,) for the classes)"
    if not twin:
        weight = _along_class_dim(weight, x.shape, "weight")
        pos_weight = _along_class_dim(pos_weight, x.shape, "pos_weight")
        if isinstance(alpha, Tensor):
            alpha = _along_class_dim(alpha, x.shape, "alpha")
    broadcasts_to(weight, x.shape, "weight", xname, fix=fix)
    broadcasts_to(pos_weight, x.shape, "pos_weight", xname, fix=fix)
    if weight is not None and not twin:
        values_in(weight, "weight", low=0.0, fix="weight scales each element's term; pass values >= 0")
    if pos_weight is not None and not twin:
        values_in(pos_weight, "pos_weight", low=0.0, fix="pos_weight scales the positive term; pass values >= 0")
    a: float | Tensor | None = None
    if alpha is not None:
        if isinstance(alpha, Tensor):
            broadcasts_to(alpha, x.shape, "alpha", xname, fix=fix)
            values_in(alpha, "alpha", low=0.0, high=1.0, fix="alpha weighs the positive term, 1 - alpha the negative")
            a = alpha
        else:
            a = number(alpha, "alpha", low=0.0, high=1.0, fn=fn)
    finite(x, xname)
    nan_free = False
    if takes == "probs":
        nan_free = values_in(
            x,
            "probs",
            low=0.0,
            high=1.0,
            fix="it looks like logits — use binary_cross_entropy_with_logits, or apply torch.sigmoid first",
        )
    if t.dtype != torch.bool:
        values_in(
            t, "target", low=0.0, high=1.0, skip=ii, fix="binary targets are 0/1 labels or probabilities in [0, 1]"
        )
    if takes == "logits":
        warn_activated(x, fn=fn, link="sigmoid", fix=f"If these are probabilities, use {probs_fn}." if probs_fn else "")
    out = result_type(x, t) if twin and t.is_floating_point() else x.dtype
    out = autocast_dtype(x, out)  # torch's losses are on autocast's float32 list
    return BinaryInputs(x, t, weight, pos_weight, a, ii, eps, out, nan_free)


# ---------------------------------------------------------------------------------------------
# Normaliser: pointwise (regression and margin losses)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointwiseInputs:
    """Validated inputs of a loss that combines its tensors element by element.

    Attributes:
        tensors: the inputs, in the order given, unchanged (not broadcast).
        shape: their broadcast shape.
        dtype: torch's result dtype (type promotion of the inputs).
    """

    tensors: tuple
    shape: tuple
    dtype: torch.dtype

    @property
    def device(self) -> torch.device:
        return self.tensors[0].device

    def broadcast(self) -> tuple:
        """The tensors expanded to the broadcast shape (views, no copy)."""
        ts = self.tensors
        if all(tuple(t.shape) == self.shape for t in ts):
            return ts
        return tuple(torch.broadcast_tensors(*ts))


def pointwise_inputs(
    fn: str,
    tensors: dict,
    *,
    warn_broadcast: bool = False,
    same_ndim: bool = False,
    require_float: bool = True,
    float_hint: str = "",
    allow_complex: bool = True,
    neginf_ok: Sequence[str] = (),
) -> PointwiseInputs:
    """Validate tensors combined element by element (``{name: tensor}``, prediction first).

    Checks each is a tensor, that they broadcast (``same_ndim``: and have the same number of
    dimensions, torch's rule for the pair losses), warns with torch's own text when a target's
    shape differs from the input's (``warn_broadcast``, torch's rule for the regression losses; the
    warning names the caller's line: :func:`warn_user`), and computes
    torch's result dtype (refused unless floating -- or complex, with ``allow_complex`` -- when
    ``require_float``). Under ``checks("full")`` every floating input must be finite (the names in
    ``neginf_ok`` may hold ``-inf``: log-probabilities of impossible outcomes).
    """
    names = list(tensors)
    ts = tuple(tensors.values())
    for n, t in zip(names, ts, strict=True):
        if not isinstance(t, Tensor):
            tensor(t, n)
    shapes = [t.shape for t in ts]
    if same_ndim and len({len(s) for s in shapes}) > 1:
        desc = ", ".join(f"{n} {s}" for n, s in zip(names, shapes, strict=True))
        raise ValueError(
            f"{fn}: {', '.join(names)} must have the same number of dimensions, got {desc}; "
            f"give them matching shapes, e.g. all of shape (N,)"
        )
    same = all(s == shapes[0] for s in shapes[1:])
    shape = tuple(shapes[0]) if same else broadcast_shape(*shapes)
    if shape is None:
        if len(names) == 2:
            raise ValueError(
                f"{fn}: {names[0]} of shape {tuple(shapes[0])} and {names[1]} of shape "
                f"{tuple(shapes[1])} cannot be "
                f"broadcast together (the shapes do not broadcast); give {names[1]} the shape of {names[0]}"
            )
        desc = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes, strict=True))
        raise ValueError(f"{fn}: shapes do not broadcast together: {desc}; give {names[1]} the shape of {names[0]}")
    if warn_broadcast and shapes[1] != shapes[0] and not tracing():
        # torch's own text, so that filters written for torch keep working
        warn_user(
            f"Using a target size ({ts[1].size()}) that is different to the input size ({ts[0].size()}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size."
        )
    d0 = ts[0].dtype
    dtype = d0 if all(t.dtype == d0 for t in ts[1:]) else result_type(*ts)
    if require_float and not (dtype.is_floating_point or (allow_complex and dtype.is_complex)):
        raise TypeError(
            f"{fn} needs floating-point inputs, got "
            + ", ".join(f"{n} {t.dtype}" for n, t in zip(names, ts, strict=True))
            + f"; {float_hint or f'convert the prediction with {names[0]}.float()'}"
        )
    if _CHECKS.value == "full":
        for n, t in zip(names, ts, strict=True):
            finite(t, n, neginf_ok=n in neginf_ok)
    return PointwiseInputs(ts, shape, dtype)


# ---------------------------------------------------------------------------------------------
# Normaliser: segmentation masks (overlap losses)
# ---------------------------------------------------------------------------------------------

_MODES = ("binary", "multiclass", "multilabel")
_LINK = {"binary": "sigmoid", "multiclass": "softmax over dim 1", "multilabel": "sigmoid"}


@dataclass(frozen=True)
class MaskInputs:
    """Validated inputs of an overlap loss, as ``(N, C, L)`` views (no copy for contiguous inputs).

    Attributes:
        input: logits (or probabilities), ``(N, C, L)`` (``C = 1`` in binary mode).
        target: ``(N, 1, L)`` class indices (multiclass with index targets) or ``(N, C, L)`` masks
            (0/1, bool or soft values in [0, 1]).
        index_target: True for class-index targets.
        mode, from_logits, ignore_index, include_background: as passed.
        weight: per-class weight ``(C,)`` of every input channel, or ``None``.
        out_dtype: the result's dtype (the input's; float32 for half inputs under ``torch.autocast``).
        range_deferred: the class-index range check was left to the one-hot ``scatter_`` (see
            ``mask_inputs(range_by_torch=True)`` and :func:`torch_range_checked`).
        source: the input as given, ``(N, C, d1..dk)`` (``input`` is its ``(N, C, L)`` view).
    """

    input: Tensor
    target: Tensor
    index_target: bool
    mode: str
    from_logits: bool
    weight: Tensor | None
    ignore_index: float | None
    include_background: bool
    out_dtype: torch.dtype
    range_deferred: bool = False
    source: Tensor | None = None

    @property
    def device(self) -> torch.device:
        return self.input.device

    @property
    def num_classes(self) -> int:
        return self.input.shape[1]

    @property
    def valid(self) -> Tensor | None:
        """The pixels that count (bool, ``target``'s shape), ``None`` without ``ignore_index``."""
        return None if self.ignore_index is None else self.target != self.ignore_index


def _shape_error(fn: str, mode: str, input: Tensor, target: Tensor, expects: str) -> ValueError:
    return ValueError(
        f"{fn}: mode={mode!r} expects {expects}; got input {tuple(input.shape)} and target {tuple(target.shape)}"
    )


_EXPECTS = {
    "binary": "input (N, 1, *) or (N, *) logits and a 0/1 target of the same shape (or (N, *) for an (N, 1, *) input)",
    "multilabel": "input (N, C, *) logits and a 0/1 target (N, C, *) of the same shape",
    "multiclass": "input (N, C, *) logits and target (N, *) class indices or (N, C, *) one-hot/probabilities",
}


def _multiclass_shape_error(fn: str, x: Tensor, t: Tensor) -> ValueError:
    expects = (
        _EXPECTS["multiclass"] + f"; for this input that is target {(x.shape[0], *x.shape[2:])} or {tuple(x.shape)}"
    )
    return _shape_error(fn, "multiclass", x, t, expects)


def mask_inputs(
    fn: str,
    input: object,
    target: object,
    *,
    mode: str,
    from_logits: bool,
    weight: Tensor | None,
    ignore_index: object,
    include_background: bool,
    range_by_torch: bool = False,
) -> MaskInputs:
    """Validate the inputs of an overlap loss and return them as ``(N, C, L)`` :class:`MaskInputs`.

    Modes: ``"binary"`` -- input ``(N, 1, *)`` or ``(N, *)``, a 0/1 target of the same shape (or
    ``(N, *)`` for ``(N, 1, *)``); ``"multiclass"`` -- input ``(N, C, *)`` with ``C >= 2``, target
    class indices ``(N, *)`` or one-hot/probabilities ``(N, C, *)``; ``"multilabel"`` -- input and
    target ``(N, C, *)``. A single-channel input in multiclass mode is refused (its softmax is 1:
    a constant loss) with the fix ``mode="binary"``. ``weight`` is one value >= 0 per channel
    ``C``: it applies along the class dimension 1 whatever the spatial sizes. Messages are built
    only when raising (nothing formats a shape on the happy path, which ``torch.compile`` traces).
    ``range_by_torch``: the caller builds the one-hot target with ``scatter_`` through
    :func:`torch_range_checked`; for CPU class indices the range read is left to it.
    """
    choice(
        mode,
        "mode",
        _MODES,
        fn=fn,
        hint="binary: one sigmoid channel; multiclass: softmax over C channels, "
        "class-index or one-hot targets; multilabel: a sigmoid per channel",
    )
    flag(from_logits, "from_logits", fn=fn)
    flag(include_background, "include_background", fn=fn)
    x = floating(input, "input", hint="pass the model's float logits (or probabilities with from_logits=False)")
    t = tensor(target, "target")
    ii = ignored(ignore_index, fn=fn, floats=True)
    if mode == "binary" and not include_background:
        raise ValueError(
            f"{fn}: include_background=False drops channel 0, but mode='binary' has a single (foreground) "
            "channel; keep include_background=True, or use mode='multiclass'/'multilabel' with a "
            "background channel"
        )
    index = deferred = False
    if mode == "binary":
        ok = x.dim() >= 1 and (
            t.shape == x.shape or (x.dim() >= 2 and x.shape[1] == 1 and t.shape == x.shape[:1] + x.shape[2:])
        )
        if not ok:
            raise _shape_error(fn, mode, x, t, _EXPECTS["binary"])
        n = x.shape[0]
        x3, t3 = x.reshape(n, 1, -1), t.reshape(n, 1, -1)
    elif mode == "multilabel":
        if x.dim() < 2 or t.shape != x.shape:
            raise _shape_error(fn, mode, x, t, _EXPECTS["multilabel"])
        x3, t3 = x.reshape(x.shape[0], x.shape[1], -1), t.reshape(x.shape[0], x.shape[1], -1)
    else:
        if x.dim() < 2:
            raise _shape_error(fn, mode, x, t, _EXPECTS["multiclass"])
        n, c = x.shape[0], x.shape[1]
        if t.dim() == x.dim():
            if t.shape != x.shape:
                raise _multiclass_shape_error(fn, x, t)
            if c == 1:
                raise _single_channel_error(fn, x)
            if ii is not None:
                raise ValueError(
                    f"{fn}: ignore_index={ii} needs class-index targets (N, *), but target "
                    f"{tuple(t.shape)} is one-hot/probabilities like input; pass class indices with "
                    "ignore_index at the ignored pixels, or drop ignore_index"
                )
            x3, t3 = x.reshape(n, c, -1), t.reshape(n, c, -1)
        elif t.shape != x.shape[:1] + x.shape[2:]:
            raise _multiclass_shape_error(fn, x, t)
        else:
            if c == 1:
                raise _single_channel_error(fn, x)
            if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
                raise TypeError(
                    f"{fn}: target must hold class indices (an integer tensor, e.g. torch.long) for its "
                    f"shape {tuple(t.shape)}, got dtype {t.dtype}; use target.long(), or pass one-hot "
                    "masks of the input's shape"
                )
            index = True
            deferred = range_by_torch and t.is_cpu and values_checkable(t)
            if not deferred:
                class_indices(t, c, ignore_index=None if ii is None else int(ii))
            x3, t3 = x.reshape(n, c, -1), t.reshape(n, 1, -1)
    c = x3.shape[1]
    weight = class_weight(weight, c)
    if not include_background and c < 2:
        raise ValueError(
            f"{fn}: include_background=False drops channel 0, which leaves no class for input "
            f"{tuple(x.shape)} with {c} channel; keep include_background=True"
        )
    if not from_logits:
        values_in(
            x,
            "input",
            low=0.0,
            high=1.0,
            fix=f"with from_logits=False input must hold probabilities — these look like logits: use "
            f"from_logits=True (the default), which applies the {_LINK[mode]}",
        )
    finite(x, "input")
    if from_logits:
        warn_activated(
            x,
            fn=fn,
            link="softmax" if mode == "multiclass" else "sigmoid",
            target=None if mode == "multiclass" else t,
            fix=f"If these are probabilities, use {fn}(..., from_logits=False).",
        )
    if not index and t.dtype != torch.bool:
        values_in(t, "target", low=0.0, high=1.0, skip=ii, fix="masks are 0/1 (or soft values in [0, 1])")
    return MaskInputs(x3, t3, index, mode, from_logits, weight, ii, include_background, autocast_dtype(x), deferred, x)


def _single_channel_error(fn: str, x: Tensor) -> ValueError:
    return ValueError(
        f"{fn}: input {tuple(x.shape)} has a single channel, but mode='multiclass' (the default) takes a softmax over "
        "the channels, which is 1 for one channel: the loss would be constant with a zero gradient. For one "
        'foreground channel with a 0/1 mask pass mode="binary" (a sigmoid)'
    )
