"""The regression modules: torch's constructor and forward signatures, Module == torch's Module ==
functional, options validated at construction, and their catalog entries."""

import inspect
import warnings

import pytest
import torch

import losskit
from helpers import assert_close, check_against
from losskit import catalog
from losskit import functional as LF
from losskit import nn as LN

CLASSES = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "GaussianNLLLoss", "PoissonNLLLoss"]


@pytest.mark.parametrize("cls", CLASSES)
def test_constructor_and_forward_signatures_match_torch(cls):
    for meth in ("__init__", "forward"):
        ours = list(inspect.signature(getattr(getattr(LN, cls), meth)).parameters.values())
        ref = list(inspect.signature(getattr(getattr(torch.nn, cls), meth)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], (cls, meth)
    assert getattr(losskit, cls) is getattr(LN, cls)


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    return r


# (class, positional constructor args (torch's order), forward inputs)
def _cases():
    r = _data()
    x, y = r(6, 4), r(6, 4)
    counts = torch.poisson(torch.full((6, 4), 2.0, dtype=torch.float64))
    return [
        ("MSELoss", (None, None, "sum"), (x, y)),
        ("L1Loss", (None, None, "none"), (x, y)),
        ("SmoothL1Loss", (None, None, "mean", 0.4), (x, y)),
        ("SmoothL1Loss", (None, None, "sum", 0.0), (x, y)),
        ("HuberLoss", ("sum", 0.6), (x, y)),
        ("PoissonNLLLoss", (True, True, None, 1e-8, None, "none"), (x, counts)),
        ("PoissonNLLLoss", (False, False, None, 1e-4, None, "sum"), (x.exp(), counts)),
    ]


@pytest.mark.parametrize("cls,ctor,inputs", _cases(), ids=[c[0] + str(i) for i, c in enumerate(_cases())])
def test_module_equals_torch_module_and_functional(cls, ctor, inputs):
    ours, ref = getattr(LN, cls)(*ctor), getattr(torch.nn, cls)(*ctor)
    check_against(ours, ref, *inputs, grad=[t.is_floating_point() and i < 2 for i, t in enumerate(inputs)])
    assert ours.reduction == ref.reduction


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_module(full):
    r = _data(1)
    x, y, var = r(6, 4), r(6, 4), r(6, 1).abs() + 0.1
    ours = LN.GaussianNLLLoss(full=full, eps=1e-3, reduction="sum")
    ref = torch.nn.GaussianNLLLoss(full=full, eps=1e-3, reduction="sum")
    check_against(ours, ref, x, y, var, grad=[True, False, True])
    assert_close(ours(x, y, var), LF.gaussian_nll_loss(x, y, var, full=full, eps=1e-3, reduction="sum"))


def test_legacy_constructor_arguments():
    with pytest.warns(UserWarning, match="deprecated"):
        m = LN.MSELoss(size_average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m.reduction == torch.nn.MSELoss(size_average=False).reduction == "sum"


def test_module_refusals():
    with pytest.raises(ValueError, match="reduction"):
        LN.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="delta must be > 0"):
        LN.HuberLoss(delta=0.0)(torch.randn(3), torch.randn(3))


def test_options_are_validated_at_construction():
    with pytest.raises(ValueError, match=r"HuberLoss: delta must be > 0, got -1.0"):
        LN.HuberLoss(delta=-1.0)
    with pytest.raises(ValueError, match=r"SmoothL1Loss: beta must be >= 0, got -0.5"):
        LN.SmoothL1Loss(beta=-0.5)
    with pytest.raises(TypeError, match=r"PoissonNLLLoss: full must be True or False"):
        LN.PoissonNLLLoss(full="yes")
    with pytest.raises(TypeError, match=r"GaussianNLLLoss: eps must be a Python number"):
        LN.GaussianNLLLoss(eps=torch.tensor(1e-6))


def test_repr_shows_options():
    assert "delta=0.5" in repr(LN.HuberLoss(delta=0.5))
    assert "beta=0.2" in repr(LN.SmoothL1Loss(beta=0.2))


def test_catalog_entries():
    reg = {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "gaussian_nll_loss", "poisson_nll_loss"}
    assert reg <= set(catalog.names("regression"))
    for name in reg:
        spec = catalog.get(name)
        assert spec.torch_twin == name and spec.takes == "values"
        assert hasattr(torch.nn.functional, spec.torch_twin)
        assert spec.module.__name__ in CLASSES
