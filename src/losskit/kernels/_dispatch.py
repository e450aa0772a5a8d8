"""The one dispatcher: a functional asks for the kernel of a primitive, or runs its own formula.

A functional calls :func:`kernel` with the name of a primitive (``"cross_entropy_rows"``,
``"sigmoid_focal_rows"``, ``"soft_counts"``, ``"linear_cross_entropy_chunk"``), its normalised
inputs and the options. The result is the kernel's, or ``None`` when no kernel applies -- the
PyTorch path (``impl("torch")``), a CPU tensor under ``impl("auto")``, Triton missing, or the
kernel's ``supports(...)`` declining these inputs -- and the functional then runs its formula, the
reference every kernel is tested against. A keyword the kernel does not take is a ``TypeError``.

Kernel modules register with :func:`register` when imported; they are imported on the first call
that could use them (a CUDA tensor, or ``impl("triton")``), so importing losskit never imports
Triton and a CPU call costs one attribute read. A graph traced by ``torch.compile`` cannot import
a module: call :func:`load` first (or any eager call) so that compiled code uses the kernels.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._checks import Switch

__all__ = ["impl", "current_impl", "register", "kernel", "registered", "load", "PRIMITIVES"]

_IMPL = Switch("impl", ("auto", "torch", "triton"), "LOSSKIT_IMPL", "auto")

#: primitive name -> module that registers its kernel
PRIMITIVES: dict[str, str] = {
    "cross_entropy_rows": "losskit.kernels.cross_entropy",
    "linear_cross_entropy_chunk": "losskit.kernels.linear_cross_entropy",
    "sigmoid_focal_rows": "losskit.kernels.sigmoid_focal",
    "soft_counts": "losskit.kernels.soft_counts",
}


@dataclass(frozen=True)
class Kernel:
    """A registered kernel: ``fn(*inputs, **options)``, offered only where ``supports(...)`` is True."""

    name: str
    fn: Callable
    supports: Callable[..., bool]


_REGISTERED: dict[str, Kernel] = {}
_FAILED: set = set()


def impl(mode: str):
    """Choose the implementation: ``"auto"`` (the kernel for CUDA tensors, when Triton is installed),
    ``"torch"`` (always the PyTorch formula) or ``"triton"`` (the kernel wherever it can run,
    CPU tensors included under ``TRITON_INTERPRET=1``; the formula where it declines the inputs).

    As a context manager the choice holds in the current thread until the block exits; as a plain
    call it holds in the current thread from then on. The process default is the environment
    variable ``LOSSKIT_IMPL``.

    >>> import losskit
    >>> with losskit.impl("torch"):
    ...     losskit.current_impl()
    'torch'
    """
    return _IMPL.set(mode)


def current_impl() -> str:
    """The implementation mode in force in this thread."""
    return _IMPL.value


def register(name: str, *, supports: Callable[..., bool]) -> Callable[[Callable], Callable]:
    """Decorator: register ``fn`` as the kernel of primitive ``name``, with its ``supports`` test."""
    if name not in PRIMITIVES:
        raise ValueError(f"unknown primitive {name!r}; known: {sorted(PRIMITIVES)}")

    def deco(fn: Callable) -> Callable:
        _REGISTERED[name] = Kernel(name, fn, supports)
        return fn

    return deco


def _load(name: str) -> Kernel | None:
    k = _REGISTERED.get(name)
    if k is None and name not in _FAILED:
        if _compiling():  # an import cannot be traced: this graph runs the formula (see load())
            return None
        try:
            importlib.import_module(PRIMITIVES[name])
        except ImportError:  # Triton missing or broken: the formula serves
            _FAILED.add(name)
            return None
        k = _REGISTERED.get(name)
        if k is None:
            _FAILED.add(name)
    return k


def _compiling() -> bool:
    try:
        return torch.compiler.is_compiling()
    except AttributeError:  # torch < 2.3
        return bool(torch._dynamo.is_compiling())


def load() -> list:
    """Import every kernel module now (they are otherwise imported on the first eager call that can use
    them), so that a function compiled with ``torch.compile`` before any eager call uses the kernels
    too: a graph cannot import a module while it is traced, and runs the PyTorch formula instead.
    Returns the primitives that have a kernel (none where Triton is missing).

    Example:
        >>> import losskit.kernels
        >>> isinstance(losskit.kernels.load(), list)
        True
    """
    return [name for name in PRIMITIVES if _load(name) is not None]


def registered(name: str) -> Kernel | None:
    """The kernel registered for primitive ``name`` (importing its module), or ``None``."""
    return _load(name)


def may_run(device: torch.device) -> bool:
    """Whether a kernel may be chosen for tensors on ``device`` under the current ``losskit.impl``
    (``"auto"``: CUDA only; ``"torch"``: never): where not, the caller's PyTorch formula runs."""
    mode = _IMPL.value
    return mode != "torch" and (mode != "auto" or device.type == "cuda")


def kernel(name: str, inputs, *args, **options):
    """The registered kernel's result for primitive ``name``, or ``None``: the caller runs its formula.

    ``inputs`` is the normalised input (a tensor, or a normaliser's dataclass: both have a
    ``device``); ``args``/``options`` are passed on. An option the kernel does not take raises
    ``TypeError`` (from its ``supports``).
    """
    if not may_run(inputs.device):
        return None
    k = _load(name)
    if k is None or not k.supports(inputs, *args, **options):
        return None
    return k.fn(inputs, *args, **options)
