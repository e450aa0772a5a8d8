"""Small helpers shared by the Triton kernels: optional Triton import, lazy compilation, shapes.

Kernel modules import ``tl`` from here, so they import cleanly without Triton (the dispatcher then
falls back to PyTorch, and the doctest collector can still read them). A kernel is declared with
:func:`kernel` instead of ``@triton.jit`` and compiled on its first launch.

On the CPU the kernels run in Triton's interpreter, which must be switched on *before* Triton is
first imported (``TRITON_INTERPRET=1``: Triton's own ``tl.zeros``, ``tl.sum``, ... are decorated at
import time). :func:`can_run` says whether a launch on a given tensor can work.

Only ``tl.*`` calls present in both Triton 3.6 and 3.9 are used (no tensor descriptors, no TMA,
no libdevice); kernels call no other ``@triton.jit`` function of ours (their shared math is inline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

try:
    import triton
    import triton.language as tl

    HAS_TRITON = True
except ImportError:  # pragma: no cover - exercised only without triton
    triton = None

    class _NoTriton:
        """Stands in for ``triton.language`` so that kernel signatures still evaluate."""

        constexpr = object

    tl = _NoTriton()
    HAS_TRITON = False

__all__ = ["HAS_TRITON", "tl", "kernel", "interpreter_active", "can_run", "next_pow2", "mergeable", "as_ncs", "cdiv"]


def interpreter_active() -> bool:
    """True if Triton was imported with ``TRITON_INTERPRET=1`` (its library functions are interpreted)."""
    if not HAS_TRITON:
        return False
    try:
        from triton.runtime.interpreter import InterpretedFunction
    except ImportError:  # pragma: no cover
        return False
    return isinstance(getattr(tl, "zeros", None), InterpretedFunction)


def can_run(t: Tensor) -> bool:
    """True if a kernel launch on ``t`` can run: a CUDA tensor with Triton, or the interpreter on."""
    if not HAS_TRITON:
        return False
    if interpreter_active():
        return True
    return t.is_cuda


def interpreting(t: Tensor) -> bool:
    """True when a launch on ``t`` runs in Triton's interpreter (slow: tests pick tiny blocks)."""
    return interpreter_active() or t.device.type == "cpu"


class _Kernel:
    """A kernel source, handed to ``triton.jit`` on its first launch."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self._jit: Any = None

    def __getitem__(self, grid):
        if self._jit is None:
            self._jit = triton.jit(self.fn)  # an InterpretedFunction under TRITON_INTERPRET=1
        return self._jit[grid]


def kernel(fn: Callable) -> _Kernel:
    """Declare a Triton kernel (use in place of ``@triton.jit``)."""
    return _Kernel(fn)


def cdiv(a: int, b: int) -> int:
    """Ceiling division."""
    return (a + b - 1) // b


def check_runnable(t: Tensor, fn: str) -> None:
    """Raise ``RuntimeError`` with the fix when a kernel cannot run on ``t``."""
    if not HAS_TRITON:
        raise RuntimeError(f"{fn} needs Triton: pip install triton (or use the losskit.functional loss)")
    if not can_run(t):
        raise RuntimeError(
            f"{fn} got a tensor on {t.device}; Triton kernels run on CUDA tensors, or on CPU tensors in "
            "Triton's interpreter (set TRITON_INTERPRET=1 before triton is first imported)"
        )


def next_pow2(n: int) -> int:
    """Smallest power of two >= n (and >= 1)."""
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


def mergeable(shape: tuple, stride: tuple) -> bool:
    """True if dims with these sizes/strides can be flattened into one dim by a view (no copy)."""
    dims = [(s, st) for s, st in zip(shape, stride, strict=True) if s != 1]
    return all(dims[i][1] == dims[i + 1][1] * dims[i + 1][0] for i in range(len(dims) - 1))


def as_ncs(x: Tensor) -> Tensor:
    """View ``(N, C, d1..dk)`` as ``(N, C, S)``, ``S = d1*..*dk``, without a copy whenever the
    trailing dims are mergeable (contiguous and channels-last layouts both are); else one copy."""
    n, c = x.shape[0], x.shape[1]
    s = 1
    for d in x.shape[2:]:
        s *= d
    if mergeable(tuple(x.shape[2:]), tuple(x.stride()[2:])):
        return x.view(n, c, s) if x.dim() != 3 else x
    return x.reshape(n, c, s)
