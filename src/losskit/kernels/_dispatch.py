"""Choose between a fused Triton kernel and the functional's PyTorch path.

A functional loss asks :func:`call_kernel` first; it returns ``None`` whenever no kernel applies
(CPU tensors, Triton missing, ``impl("torch")`` in force, or an option the kernel lacks), and the
functional then runs its PyTorch path, which is the reference the kernels are tested against.
The check for the common case (a CPU tensor) is a single attribute read.

Kernel modules register themselves with :func:`register_kernel`; they are imported lazily, on the
first CUDA call, so importing losskit never imports Triton.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import Callable, Iterator, Optional

from torch import Tensor

__all__ = ["impl", "current_impl", "call_kernel", "register_kernel", "triton_available"]

_IMPLS = ("auto", "torch", "triton")
_impl: str = os.environ.get("LOSSKIT_IMPL", "auto")

# loss name -> module that registers its kernel when imported
_KERNEL_MODULES: dict[str, str] = {
    "cross_entropy": "losskit.kernels.cross_entropy",
    "linear_cross_entropy": "losskit.kernels.linear_cross_entropy",
    "sigmoid_focal_loss": "losskit.kernels.focal",
    "binary_cross_entropy_with_logits": "losskit.kernels.focal",
    "dice_loss": "losskit.kernels.dice",
}
_KERNELS: dict[str, Callable] = {}
_triton: Optional[bool] = None


def triton_available() -> bool:
    """True if Triton imports (checked once)."""
    global _triton
    if _triton is None:
        try:
            import triton  # noqa: F401

            _triton = True
        except Exception:
            _triton = False
    return _triton


class _ImplContext(contextlib.AbstractContextManager):
    def __init__(self, previous: str) -> None:
        self._previous = previous

    def __exit__(self, *exc) -> None:
        global _impl
        _impl = self._previous


def impl(mode: str) -> _ImplContext:
    """Choose the implementation: ``"auto"`` (kernel for CUDA tensors when available), ``"torch"``
    (always the PyTorch path) or ``"triton"`` (kernel wherever it can run, including CPU tensors
    under ``TRITON_INTERPRET=1``). A plain call sets it; ``with impl(...)`` restores it on exit."""
    global _impl
    if mode not in _IMPLS:
        raise ValueError(f"impl {mode!r} is not valid: use one of {', '.join(map(repr, _IMPLS))}")
    previous, _impl = _impl, mode
    return _ImplContext(previous)


def current_impl() -> str:
    """The implementation mode in force."""
    return _impl


def register_kernel(name: str, fn: Callable) -> None:
    """Register ``fn`` as the kernel entry point for loss ``name``.

    ``fn`` takes the functional's arguments (already validated) and returns the loss, or ``None``
    when it does not support the options given.
    """
    _KERNELS[name] = fn


def _lookup(name: str) -> Optional[Callable]:
    fn = _KERNELS.get(name)
    if fn is None and name in _KERNEL_MODULES:
        try:
            importlib.import_module(_KERNEL_MODULES[name])
        except ImportError:
            return None
        fn = _KERNELS.get(name)
    return fn


def call_kernel(name: str, input: Tensor, /, *args, **kwargs):
    """Run the kernel for ``name`` if one applies; return its result, or ``None`` to fall back."""
    if _impl == "torch":
        return None
    if _impl == "auto" and not input.is_cuda:
        return None
    if not triton_available():
        return None
    fn = _lookup(name)
    if fn is None:
        return None
    return fn(input, *args, **kwargs)
