"""Base classes for losskit's ``nn.Module`` losses, and the checks their constructors run.

A module stores its options in ``__init__`` (tensor options as buffers, so they follow ``.to()`` and
``state_dict``) and its ``forward`` is one keyword call into :mod:`losskit.functional`. The repr
lists every option that differs from its default.

The plumbing lives here once. A module names the functional it wraps (``_functional``) and the
check of each option (``_option_checks``, by option name); its ``__init__`` keeps its own explicit
signature (torch's, for the twins) and its body is ``super().__init__(**given(locals()))``. The
options are the parameters of that signature, read once per class: :meth:`Loss._call` passes each
stored option to the functional by name, so ``forward`` is one line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .. import _checks
from .._reduction import check_all_ignored, check_reduction, legacy_reduction

__all__ = ["Loss", "WeightedLoss"]

Check = Callable[[Any, str, str], Any]
"""The check of one option: ``check(value, name, fn) -> value as stored``, ``fn`` naming the loss in messages."""

_LEGACY = ("self", "size_average", "reduce")  # constructor parameters that are not options
_TENSOR_OPTIONS = ("weight", "pos_weight")  # always buffers, ``None`` too (assigning a tensor later keeps it one)


def given(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A constructor's arguments, from ``locals()`` taken on the first line of its body, as keywords for
    :class:`Loss`: without ``self`` and the parameters the class lists in ``_not_options``."""
    leave_out = ("self", "__class__", *type(arguments["self"])._not_options)
    return {name: value for name, value in arguments.items() if name not in leave_out}


# ---------------------------------------------------------------------------------------------
# option checks (each returns the value to store)
# ---------------------------------------------------------------------------------------------


def option_checks(*tables: Mapping[str, Check], **by_name: Check) -> Mapping[str, Check]:
    """A read-only table ``{option name: check}`` (a class's ``_option_checks``): ``tables`` merged,
    then ``by_name`` over them."""
    merged: dict[str, Check] = {}
    for table in tables:
        merged.update(table)
    return MappingProxyType({**merged, **by_name})


def number(**bounds: Any) -> Check:
    """A number within ``bounds`` (those of :func:`losskit._checks.number`)."""
    return lambda value, name, fn: _checks.number(value, name, fn=fn, **bounds)


def positive(**options: Any) -> Check:
    """A number above 0 (or at 0 with ``zero_ok``), as :func:`losskit._checks.positive` checks it."""
    return lambda value, name, fn: _checks.positive(value, name, fn=fn, **options)


def optional(check: Check) -> Check:
    """``None``, or a value that passes ``check``."""
    return lambda value, name, fn: None if value is None else check(value, name, fn)


def smoothing(*, high_open: bool) -> Check:
    """A label-smoothing amount in ``[0, 1)`` (``high_open``) or ``[0, 1]``."""
    return lambda value, name, fn: _checks.smoothing(value, high_open=high_open, fn=fn)


def choice(*choices: str) -> Check:
    """One of ``choices``."""
    return lambda value, name, fn: _checks.choice(value, name, choices, fn=fn)


def ignored(*, floats: bool = False) -> Check:
    """``None`` or the ignored target value (an int; a float too with ``floats``)."""
    return lambda value, name, fn: _checks.ignored(value, fn=fn, floats=floats)


def flag(value: object, name: str, fn: str) -> bool:
    """A bool."""
    return _checks.flag(value, name, fn=fn)


def fraction(value: object, name: str, fn: str) -> object:
    """``None``, a tensor, or a number in ``[0, 1]``."""
    return (
        value if value is None or isinstance(value, Tensor) else _checks.number(value, name, low=0.0, high=1.0, fn=fn)
    )


def tensor(value: object, name: str, fn: str) -> Tensor | None:
    """``None`` or a tensor (a list or a number becomes one, in the default dtype)."""
    if value is None or isinstance(value, Tensor):
        return value
    return torch.as_tensor(value, dtype=torch.get_default_dtype())


def all_ignored(value: object, name: str, fn: str) -> str:
    """What a mean over no counted element is: ``"nan"`` or ``"zero"``."""
    return check_all_ignored(value)


SHARED_CHECKS = option_checks(weight=tensor, pos_weight=tensor, all_ignored=all_ignored)
"""The checks of the options that mean the same in every loss."""


# ---------------------------------------------------------------------------------------------
# base classes
# ---------------------------------------------------------------------------------------------


class Loss(nn.Module):
    """Base of every losskit module: owns and validates ``reduction``, stores and checks the options,
    calls the functional, and writes the repr.

    ``size_average`` / ``reduce`` exist on the torch twins only, as torch's deprecated aliases.

    A subclass sets:

    * ``_functional``: the function of :mod:`losskit.functional` it wraps (a ``staticmethod``);
    * ``_option_checks``: ``{option name: check}``, over ``SHARED_CHECKS`` (an option with
      neither is stored as given);
    * ``_not_options``: constructor parameters that are not options of the functional;
    * ``_always_shown``: the options its repr lists whatever their value (by default the repr lists
      those that differ from their default).
    """

    _reductions: tuple[str, ...] = ("none", "mean", "sum")
    _functional: ClassVar[Callable[..., Tensor]]
    _option_checks: ClassVar[Mapping[str, Check]] = option_checks()
    _not_options: ClassVar[tuple[str, ...]] = ()
    _always_shown: ClassVar[tuple[str, ...]] = ()
    _option_names: ClassVar[tuple[str, ...]] = ("reduction",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = inspect.signature(cls.__init__).parameters.values()
        cls._option_names = tuple(
            p.name
            for p in params
            if p.name not in (*_LEGACY, *cls._not_options) and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean", **options: Any
    ) -> None:
        super().__init__()
        self.reduction = check_reduction(legacy_reduction(size_average, reduce, reduction), allowed=self._reductions)
        for name, value in self.check_options(options).items():
            self.register_option(name, value)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The options as stored: each passed through its check in ``_option_checks`` (or in
        ``SHARED_CHECKS``), if it has one. A subclass whose options are checked together (as its
        functional checks them) extends this."""
        fn = type(self).__name__
        checks = {**SHARED_CHECKS, **self._option_checks}
        return {name: checks[name](value, name, fn) if name in checks else value for name, value in options.items()}

    def check_together(
        self, check: Callable[..., None], options: Mapping[str, Any], *, fn: str = "", **fixed: Any
    ) -> None:
        """Run ``check(fn, **keywords)``, a check of several options at once (as
        :func:`losskit._options.overlap_options`), on the options (and ``reduction``) it takes."""
        takes = inspect.signature(check).parameters
        values = {"reduction": self.reduction, **options, **fixed}
        check(fn or type(self).__name__, **{name: value for name, value in values.items() if name in takes})

    def register_option(self, name: str, value: object) -> None:
        """Store an option: a tensor as a buffer (it follows ``.to()`` and ``state_dict``), else an attribute."""
        if isinstance(value, Tensor) or name in _TENSOR_OPTIONS:
            self.register_buffer(name, value)  # type: ignore[arg-type]  # a tensor option, or None
        else:
            setattr(self, name, value)

    def _call(self, *inputs: Any, **per_call: Any) -> Tensor:
        """The wrapped functional on ``inputs``, with every stored option and the ``per_call`` keywords."""
        options = {name: getattr(self, name) for name in self._option_names}
        return self._functional(*inputs, **options, **per_call)

    def extra_repr(self) -> str:
        if self._always_shown:
            return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._always_shown)
        parts = []
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if name in _LEGACY or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
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
        **options: Any,
    ) -> None:
        super().__init__(size_average, reduce, reduction, weight=weight, **options)
