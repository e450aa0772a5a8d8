"""The catalog contract: every loss in the catalog handles every reduction, gives finite gradients
on random valid input, rejects a bad reduction, and has a documented module in losskit.nn."""

import inspect

import pytest
import torch

import losskit
from examples import EXAMPLES
from examples import inputs as example_inputs
from losskit import catalog

SPECS = catalog.entries()
IDS = [s.name for s in SPECS]


def _inputs(spec, seed=0):
    return example_inputs(spec.name, seed)


def test_catalog_is_filled():
    assert len(SPECS) >= 20, catalog.names()


def test_catalog_names_are_unique_and_sorted_lookup_works():
    assert len(set(catalog.names())) == len(catalog.ENTRIES)
    with pytest.raises(KeyError, match="did you mean focal_loss"):
        catalog.get("focal_los")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_spec_is_complete(spec):
    assert spec.name in EXAMPLES, f"{spec.name} has no example factory in tests/examples.py"
    assert spec.takes in catalog.TAKES
    assert spec.family in catalog.FAMILIES
    assert spec.view.name == spec.name
    assert getattr(losskit.functional, spec.name) is spec.functional
    doc = inspect.getdoc(spec.functional) or ""
    assert ">>>" in doc and "Args" in doc, f"{spec.name}: docstring needs Args and a doctest example"
    assert getattr(losskit.nn, spec.module.__name__) is spec.module
    assert spec.module.__name__.endswith("Loss")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_reduction_gives_finite_gradients(spec):
    for reduction in spec.reductions:
        args, kwargs = _inputs(spec)
        out = spec.functional(*args, **{**kwargs, "reduction": reduction})
        assert torch.is_tensor(out)
        if reduction in ("mean", "sum", "batchmean"):
            assert out.dim() == 0, f"{spec.name}: reduction={reduction} must give a scalar"
        assert torch.isfinite(out).all(), f"{spec.name}: non-finite output for reduction={reduction}"
        diff = [a for a in args if torch.is_tensor(a) and a.requires_grad]
        assert diff, f"{spec.name}: example has no input that requires grad"
        grads = torch.autograd.grad(out.sum(), diff, allow_unused=True)
        for g in grads:
            if g is not None:
                assert torch.isfinite(g).all(), f"{spec.name}: non-finite gradient for reduction={reduction}"
        assert any(g is not None and g.abs().sum() > 0 for g in grads), f"{spec.name}: all-zero gradient"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_reduction_is_refused(spec):
    args, kwargs = _inputs(spec)
    with pytest.raises(ValueError, match="reduction"):
        spec.functional(*args, **{**kwargs, "reduction": "avg"})


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_module_matches_functional(spec):
    args, kwargs = _inputs(spec)
    sig = inspect.signature(spec.module.__init__).parameters
    init_kwargs = {k: v for k, v in kwargs.items() if k in sig}
    call_kwargs = {k: v for k, v in kwargs.items() if k not in sig}
    module = spec.module(**init_kwargs)
    out_m = module(*args, **call_kwargs)
    out_f = spec.functional(*args, **kwargs)
    torch.testing.assert_close(out_m, out_f)


# (every loss traces under torch.compile(fullgraph=True, dynamic=True), compiled once for two batch sizes,
# with its value and backward checked: tests/test_guarantees.py)
