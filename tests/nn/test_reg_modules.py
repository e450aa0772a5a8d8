"""The ranking modules: torch's constructor signatures, Module == functional, Module == torch's
Module, and the catalog entries (the regression modules are tested in tests/nn/test_regression.py)."""

import inspect

import pytest
import torch

import losskit
from losskit import nn as LN
from losskit import catalog
from helpers import check_against

CLASSES = ["MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
           "TripletMarginWithDistanceLoss"]


@pytest.mark.parametrize("cls", CLASSES)
def test_constructor_and_forward_signatures_match_torch(cls):
    for meth in ("__init__", "forward"):
        ours = list(inspect.signature(getattr(getattr(LN, cls), meth)).parameters.values())
        ref = list(inspect.signature(getattr(getattr(torch.nn, cls), meth)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], (cls, meth)
    assert getattr(losskit, cls) is getattr(LN, cls)


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    signs = (torch.randint(0, 2, (6,), generator=g) * 2 - 1).double()
    return r, signs


# (class, positional constructor args (torch's order), forward inputs builder)
def _cases():
    r, s = _data()
    x, y = r(6, 4), r(6, 4)
    a, p, n = r(6, 5), r(6, 5), r(6, 5)
    return [
        ("MarginRankingLoss", (0.3, None, None, "sum"), (x[:, 0], y[:, 0], s)),
        ("HingeEmbeddingLoss", (0.7, None, None, "none"), (x.abs(), torch.ones(6, 4))),
        ("CosineEmbeddingLoss", (0.2, None, None, "mean"), (a, p, s)),
        ("TripletMarginLoss", (0.5, 1.0, 1e-6, True, None, None, "none"), (a, p, n)),
    ]


@pytest.mark.parametrize("cls,ctor,inputs", _cases(), ids=[c[0] + str(i) for i, c in enumerate(_cases())])
def test_module_equals_torch_module_and_functional(cls, ctor, inputs):
    ours, ref = getattr(LN, cls)(*ctor), getattr(torch.nn, cls)(*ctor)
    check_against(ours, ref, *inputs, grad=[t.is_floating_point() and i < 2 for i, t in enumerate(inputs)])
    assert ours.reduction == ref.reduction


def test_triplet_with_distance_module():
    r, _ = _data(2)
    a, p, n = r(6, 5), r(6, 5), r(6, 5)
    dist = lambda u, v: 1 - torch.cosine_similarity(u, v)  # noqa: E731
    ours = LN.TripletMarginWithDistanceLoss(distance_function=dist, margin=0.5, swap=True, reduction="none")
    ref = torch.nn.TripletMarginWithDistanceLoss(distance_function=dist, margin=0.5, swap=True, reduction="none")
    check_against(ours, ref, a, p, n)


def test_module_refusals():
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        LN.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        LN.TripletMarginWithDistanceLoss(margin=-1)
    with pytest.raises(TypeError, match="distance_function must be callable"):
        LN.TripletMarginWithDistanceLoss(distance_function="cosine")


def test_repr_shows_options():
    assert "swap=True" in repr(LN.TripletMarginLoss(swap=True))


def test_catalog_entries():
    rank = {"margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
            "triplet_margin_with_distance_loss"}
    assert rank <= set(catalog.names("ranking"))
    for name in rank:
        spec = catalog.get(name)
        assert spec.torch_twin == name and spec.takes == "values"
        assert hasattr(torch.nn.functional, spec.torch_twin)
        assert spec.module.__name__ in CLASSES
