"""Shared test helpers: compare a losskit function with a reference, forward and backward.

One tolerance table (``TOL``) for every test. References are torch's own functions, float64
computations, or peer libraries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch

# rtol / atol per dtype of the inputs being compared.
TOL: dict[torch.dtype, dict[str, float]] = {
    torch.float64: dict(rtol=1e-9, atol=1e-11),
    torch.float32: dict(rtol=2e-5, atol=2e-6),
    torch.float16: dict(rtol=2e-3, atol=2e-3),
    torch.bfloat16: dict(rtol=2e-2, atol=2e-2),
}


def tol_for(*tensors: torch.Tensor) -> dict[str, float]:
    """The loosest tolerance among the floating dtypes of ``tensors``."""
    dts = [t.dtype for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not dts:
        return TOL[torch.float64]
    return max((TOL[d] for d in dts), key=lambda d: d["rtol"])


def _clone_args(args: Sequence, grad_mask: Sequence[bool]) -> list:
    out = []
    for a, g in zip(args, grad_mask, strict=True):
        if isinstance(a, torch.Tensor):
            c = a.detach().clone()
            if g:
                c.requires_grad_(True)
            out.append(c)
        else:
            out.append(a)
    return out


def assert_close(actual, expected, *, tol: dict | None = None, msg: str = "") -> None:
    """``torch.testing.assert_close`` with the table's tolerance; NaN positions must match."""
    if not isinstance(expected, torch.Tensor):
        expected = torch.as_tensor(expected)
    tol = tol or tol_for(actual, expected)
    torch.testing.assert_close(
        actual.to(torch.float64), expected.to(torch.float64), equal_nan=True, msg=msg or None, **tol
    )


def check_against(
    ours: Callable,
    reference: Callable,
    *args,
    grad: Sequence[bool] | None = None,
    tol: dict | None = None,
    upstream: str = "random",
    ref_dtype: torch.dtype | None = None,
    **kwargs,
):
    """Run ``ours(*args, **kwargs)`` and ``reference(*args, **kwargs)``; compare values and gradients.

    ``grad`` marks which positional args get gradients (default: every floating tensor that has
    ``requires_grad`` set, or every floating tensor if none has). ``upstream="random"`` backpropagates
    a random (non-unit) gradient of the output's shape; ``"ones"`` uses ones. ``ref_dtype`` runs the
    reference on copies cast to that dtype (e.g. float64 for half-precision inputs) and compares in
    the inputs' tolerance. Returns ``(ours_out, ref_out)``.
    """
    if grad is None:
        floats = [isinstance(a, torch.Tensor) and a.is_floating_point() for a in args]
        marked = [isinstance(a, torch.Tensor) and a.requires_grad for a in args]
        grad = marked if any(marked) else floats
    tol = tol or tol_for(*[a for a in args if isinstance(a, torch.Tensor)])

    a_ours = _clone_args(args, grad)
    a_ref = _clone_args(args, grad)
    if ref_dtype is not None:
        a_ref = [
            (a.detach().to(ref_dtype).requires_grad_(g) if isinstance(a, torch.Tensor) and a.is_floating_point() else a)
            for a, g in zip(a_ref, grad, strict=True)
        ]
    out = ours(*a_ours, **kwargs)
    ref = reference(*a_ref, **kwargs)
    assert out.shape == ref.shape, f"shape {tuple(out.shape)} != reference {tuple(ref.shape)}"
    if ref_dtype is None:
        assert out.dtype == ref.dtype, f"dtype {out.dtype} != reference {ref.dtype}"
    assert_close(out.detach(), ref.detach(), tol=tol, msg="forward differs from reference")

    if any(grad) and out.requires_grad:
        g = (
            torch.ones_like(out, dtype=torch.float64)
            if upstream == "ones"
            else torch.rand(out.shape, dtype=torch.float64) + 0.5
        )
        out.backward(g.to(out.dtype))
        ref.backward(g.to(ref.dtype))
        for i, (x, y, gflag) in enumerate(zip(a_ours, a_ref, grad, strict=True)):
            if gflag:
                assert (x.grad is None) == (y.grad is None), f"arg {i}: gradient presence differs"
                if x.grad is not None:
                    assert_close(x.grad, y.grad, tol=tol, msg=f"gradient of arg {i} differs from reference")
    return out, ref


def assert_refuses(
    call: Callable, *, match: str, torch_call: Callable | None = None, exc: tuple = (ValueError, TypeError)
) -> None:
    """``call()`` raises ``ValueError``/``TypeError`` whose message matches ``match``;
    if ``torch_call`` is given, torch refuses it too (any exception)."""
    with pytest.raises(exc, match=match):
        call()
    if torch_call is not None:
        with pytest.raises(Exception):
            torch_call()
