"""Every catalog module exports with ``torch.export.export``, and the exported program gives the eager
module's value and gradients, on the example it was traced with and on a fresh draw of the same shapes
(so nothing of the example's values is baked into the graph).

A loss that cannot be exported goes in ``NOT_EXPORTABLE`` with the reason; the test then checks that
its export still fails, so the list is dropped from the day the loss exports.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import losskit
from examples import inputs
from helpers import assert_close
from losskit import catalog

ENTRIES = catalog.entries()
IDS = [e.name for e in ENTRIES]

# name -> why torch.export cannot trace it. Empty: every loss exports (the Lovász losses' sorts and
# the value checks too, which are left out of the graph while tracing).
NOT_EXPORTABLE: dict[str, str] = {}


def _module_and_call(entry, seed=0):
    """The entry's module built from the example's options, with the example's forward arguments."""
    args, kwargs = inputs(entry.name, seed)
    accepted = inspect.signature(entry.module.__init__).parameters
    module = entry.module(**{k: v for k, v in kwargs.items() if k in accepted})
    return module, tuple(args), {k: v for k, v in kwargs.items() if k not in accepted}


def _value_and_grads(fn, args, kwargs):
    """``fn``'s value on fresh copies of the tensors, and its gradients wrt those that require grad."""
    args = [a.detach().clone().requires_grad_(a.requires_grad) if torch.is_tensor(a) else a for a in args]
    kwargs = {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in kwargs.items()}
    out = fn(*args, **kwargs)
    leaves = [a for a in args if torch.is_tensor(a) and a.requires_grad]
    grads = torch.autograd.grad(out.sum(), leaves, allow_unused=True) if out.requires_grad else ()
    return out.detach(), grads


def test_the_list_names_catalog_losses():
    assert set(NOT_EXPORTABLE) <= set(catalog.names())


@pytest.mark.parametrize("level", ["auto", "full"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_export_gives_the_eager_value_and_gradients(entry, level):
    module, args, kwargs = _module_and_call(entry)
    if entry.name in NOT_EXPORTABLE:
        try:
            with losskit.checks(level):
                torch.export.export(module, args, kwargs)
        except Exception:
            return
        pytest.fail(f"{entry.name} exports now: take it off NOT_EXPORTABLE ({NOT_EXPORTABLE[entry.name]})")
    with losskit.checks(level):
        program = torch.export.export(module, args, kwargs)
    exported = program.module()
    for seed in (0, 1):
        _, args, kwargs = _module_and_call(entry, seed)
        out, grads = _value_and_grads(exported, args, kwargs)
        ref, ref_grads = _value_and_grads(module, args, kwargs)
        assert out.shape == ref.shape and out.dtype == ref.dtype
        assert_close(out, ref, msg=f"{entry.name}: exported value differs (seed {seed})")
        assert len(grads) == len(ref_grads)
        for i, (g, r) in enumerate(zip(grads, ref_grads, strict=True)):
            assert (g is None) == (r is None), f"{entry.name}: gradient {i} present in one only"
            if g is not None:
                assert_close(g, r, msg=f"{entry.name}: exported gradient {i} differs (seed {seed})")
