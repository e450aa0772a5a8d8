"""Guarantees every catalog loss meets, tested by iterating the catalog (a new loss is covered the day
it lands): second-order gradients, torch.func, dynamic-shape compile without recompiles, NaN in ->
NaN out, and torch's dtype under autocast for the torch twins."""

from __future__ import annotations

import inspect

import pytest
import torch

from examples import inputs
from helpers import TOL, assert_close
from losskit import catalog

ENTRIES = catalog.entries()
IDS = [e.name for e in ENTRIES]


def _differentiable(args):
    return [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]


def _bind(entry, args, kwargs, idx):
    """``f(*diff) -> loss`` with the differentiable positional tensors ``idx`` as arguments."""

    def f(*diff):
        full = list(args)
        for i, t in zip(idx, diff, strict=True):
            full[i] = t
        return entry.functional(*full, **kwargs)

    return f


# ---------------------------------------------------------------------------------------------
# second-order gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_second_order_gradients_are_right(entry):
    """``gradgradcheck`` in float64 (finite differences of the gradient): a constant or detached
    gradient under ``create_graph=True`` fails it."""
    for reduction in entry.reductions:
        if reduction == "mean" and "batchmean" in entry.reductions:
            continue  # kl_div's warned-about mean is batchmean / C
        args, kwargs = inputs(entry.name)
        kwargs = {**kwargs, "reduction": reduction}
        idx = _differentiable(args)
        f = _bind(entry, args, kwargs, idx)
        assert torch.autograd.gradgradcheck(f, [args[i] for i in idx], atol=1e-6, rtol=1e-4), (
            f"{entry.name}: second-order gradient differs (reduction={reduction})"
        )


# ---------------------------------------------------------------------------------------------
# torch.func
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_torch_func_grad_equals_autograd(entry):
    args, kwargs = inputs(entry.name)
    idx = _differentiable(args)
    f = _bind(entry, args, kwargs, idx)
    diff = [args[i].detach() for i in idx]
    got = torch.func.grad(f, argnums=tuple(range(len(diff))))(*diff)
    leaves = [d.clone().requires_grad_() for d in diff]
    expected = torch.autograd.grad(f(*leaves), leaves)
    for g, e in zip(got, expected, strict=True):
        assert_close(g, e)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_vmap_of_grad_equals_a_loop(entry):
    """``vmap(grad(loss))`` over a stack of independent inputs equals the gradients one by one
    (per-sample gradients, the common use of vmap)."""
    examples = [inputs(entry.name, seed) for seed in (0, 1, 2)]
    kwargs = examples[0][1]
    idx = _differentiable(examples[0][0])
    positions = [i for i, a in enumerate(examples[0][0]) if isinstance(a, torch.Tensor)]

    def per_input(*tensors):
        full = list(examples[0][0])
        for i, t in zip(positions, tensors, strict=True):
            full[i] = t
        return entry.functional(*full, **kwargs)

    stacked = [torch.stack([ex[0][i].detach() for ex in examples]) for i in positions]
    argnums = tuple(positions.index(i) for i in idx)
    got = torch.func.vmap(torch.func.grad(per_input, argnums=argnums))(*stacked)
    for k, seed_args in enumerate(ex[0] for ex in examples):
        leaves = [seed_args[i].detach().clone().requires_grad_() for i in idx]
        full = [a.detach() if isinstance(a, torch.Tensor) else a for a in seed_args]
        for i, t in zip(idx, leaves, strict=True):
            full[i] = t
        expected = torch.autograd.grad(entry.functional(*full, **kwargs), leaves)
        for g, e in zip(got, expected, strict=True):
            assert_close(g[k], e, msg=f"{entry.name}: vmap'd gradient of input {k} differs")


# ---------------------------------------------------------------------------------------------
# torch.compile(dynamic=True, fullgraph=True)
# ---------------------------------------------------------------------------------------------


def _resized(args, n):
    """The example with its batch dimension (that of the first argument) tiled to ``n``."""
    n0 = args[0].shape[0] if args[0].dim() else None
    out = []
    for a in args:
        if isinstance(a, torch.Tensor) and n0 is not None and a.dim() and a.shape[0] == n0:
            reps = -(-n // n0)
            a = a.detach().repeat(reps, *([1] * (a.dim() - 1)))[:n].requires_grad_(a.requires_grad)
        out.append(a)
    return out


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_dynamic_compile_traces_once_for_every_batch_size(entry):
    import torch._dynamo.testing

    args, kwargs = inputs(entry.name)
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounter()
    compiled = torch.compile(lambda *a: entry.functional(*a, **kwargs), backend=counter, dynamic=True, fullgraph=True)
    try:
        for n in (17, 23):  # (sizes no other dimension of the examples has: duck sizing would tie them)
            a = _resized(args, n)
            out = compiled(*a)
            expected = entry.functional(*[t.detach() if isinstance(t, torch.Tensor) else t for t in a], **kwargs)
            assert_close(out.detach(), expected)
            out.sum().backward()
        assert counter.frame_count == 1, f"{entry.name} recompiled for a new batch size"
    finally:
        torch._dynamo.reset()


# ---------------------------------------------------------------------------------------------
# NaN in, NaN out
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_nan_in_gives_nan_out(entry):
    """A NaN in the prediction shows in the loss for every reduction (never masked to a finite value)."""
    for reduction in entry.reductions:
        args, kwargs = inputs(entry.name)
        x = args[0].detach().clone()
        x.view(-1)[-1] = float("nan")
        out = entry.functional(x, *args[1:], **{**kwargs, "reduction": reduction})
        assert torch.isnan(out).any(), f"{entry.name}: NaN input gave a finite loss (reduction={reduction})"


# ---------------------------------------------------------------------------------------------
# autocast: the twins return torch's dtype, with torch's accuracy or better
# ---------------------------------------------------------------------------------------------

TWINS = [e for e in ENTRIES if e.torch_twin is not None and hasattr(torch.nn.functional, e.torch_twin)]


@pytest.mark.parametrize("entry", TWINS, ids=[e.name for e in TWINS])
def test_twins_under_autocast_match_torchs_dtype_and_accuracy(entry):
    torch_fn = getattr(torch.nn.functional, entry.torch_twin)
    accepted = set(inspect.signature(torch_fn).parameters)
    args, kwargs = inputs(entry.name)
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    half = [a.detach().to(torch.bfloat16) if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
    kw_half = {
        k: (v.to(torch.bfloat16) if isinstance(v, torch.Tensor) and v.is_floating_point() else v)
        for k, v in kwargs.items()
    }
    with torch.autocast("cpu", dtype=torch.bfloat16):
        try:
            theirs = torch_fn(*half, **kw_half)
        except (RuntimeError, NotImplementedError, TypeError):
            pytest.skip(f"torch's {entry.torch_twin} has no bfloat16 autocast kernel on the CPU")
        ours = entry.functional(*half, **kw_half)
    assert ours.dtype == theirs.dtype, f"{entry.name}: {ours.dtype} under autocast, torch gives {theirs.dtype}"
    exact = entry.functional(
        *[a.double() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in half],
        **{k: (v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v) for k, v in kw_half.items()},
    )
    err_ours = (ours.double() - exact).abs().max()
    err_theirs = (theirs.double() - exact).abs().max()
    assert err_ours <= err_theirs * 1.01 + TOL[torch.bfloat16]["atol"] * 1e-3, (
        f"{entry.name}: error {float(err_ours):.3g} under autocast, torch's {float(err_theirs):.3g}"
    )


# ---------------------------------------------------------------------------------------------
# forward-mode AD
# ---------------------------------------------------------------------------------------------


# twins without forward-mode AD where torch's has it, and why (the test fails once one gains it)
NO_FORWARD_AD = {
    # one torch.library custom op (compiled once for every batch size, torch.func, double backward):
    # torch.library registers a backward for a custom op, but no forward-mode (jvp) rule
    "linear_cross_entropy": "a torch.library custom op: no jvp registration exists",
}


@pytest.mark.parametrize("entry", TWINS, ids=[e.name for e in TWINS])
def test_twins_give_torchs_forward_mode_tangent(entry):
    """Dual tensors (``torch.autograd.forward_ad``): where torch's twin computes a tangent, losskit's
    gives the same one (where torch's has no forward AD, losskit's need not either)."""
    import torch.autograd.forward_ad as fwAD

    torch_fn = getattr(torch.nn.functional, entry.torch_twin)
    accepted = set(inspect.signature(torch_fn).parameters)
    for reduction in entry.reductions:
        args, kwargs = inputs(entry.name)
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        if "reduction" in accepted:
            kwargs["reduction"] = reduction
        idx = _differentiable(args)
        g = torch.Generator().manual_seed(1)
        tangents = {i: torch.randn(args[i].shape, generator=g, dtype=args[i].dtype) for i in idx}

        def tangent(fn, args=args, kwargs=kwargs, idx=idx, tangents=tangents):
            with fwAD.dual_level():
                dual = list(args)
                for i in idx:
                    dual[i] = fwAD.make_dual(args[i].detach(), tangents[i])
                return fwAD.unpack_dual(fn(*dual, **kwargs)).tangent

        try:
            theirs = tangent(torch_fn)
        except (NotImplementedError, RuntimeError):
            continue  # torch's twin has no forward AD here
        if entry.name in NO_FORWARD_AD:
            with pytest.raises(NotImplementedError, match="jvp"):
                tangent(entry.functional)
            continue
        ours = tangent(entry.functional)
        assert ours is not None and theirs is not None, f"{entry.name}: no tangent (reduction={reduction})"
        assert_close(ours, theirs, msg=f"{entry.name}: forward-mode tangent differs (reduction={reduction})")
