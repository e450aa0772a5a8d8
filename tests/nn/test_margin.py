"""The margin modules: torch's constructor signatures, Module == torch's Module == functional, buffers,
reprs that show the options set, refusals at construction, and their catalog entries."""

import inspect

import pytest
import torch
from torch import nn

import losskit
from helpers import assert_close, check_against
from losskit import catalog
from losskit import functional as LF
from losskit import nn as LN

CLASSES = [
    "SoftMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "MultiLabelMarginLoss",
    "MarginRankingLoss",
    "HingeEmbeddingLoss",
    "CosineEmbeddingLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]
W3 = torch.tensor([0.5, 1.0, 2.0])


@pytest.mark.parametrize("cls", CLASSES)
def test_constructor_and_forward_signatures_match_torch(cls):
    for meth in ("__init__", "forward"):
        ours = list(inspect.signature(getattr(getattr(LN, cls), meth)).parameters.values())
        ref = list(inspect.signature(getattr(getattr(torch.nn, cls), meth)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], (cls, meth)
    assert getattr(losskit, cls) is getattr(LN, cls)


def _classification_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g)
    y = torch.tensor([0, 2, 0, 1])
    yb = torch.randint(0, 2, (4, 3), generator=g).float()
    yl = torch.tensor([[0, 1, -1], [2, -1, 0], [-1, 0, 0], [0, 1, 2]])
    return [
        # (ours, torch's, positional constructor args in torch's order, inputs)
        (losskit.SoftMarginLoss, nn.SoftMarginLoss, (None, None, "none"), (x, yb * 2 - 1)),
        (losskit.MultiLabelSoftMarginLoss, nn.MultiLabelSoftMarginLoss, (W3, None, None, "mean"), (x, yb)),
        (losskit.MultiMarginLoss, nn.MultiMarginLoss, (2, 0.5, W3, None, None, "sum"), (x, y)),
        (losskit.MultiLabelMarginLoss, nn.MultiLabelMarginLoss, (None, None, "none"), (x, yl)),
    ]


@pytest.mark.parametrize(
    "ours, theirs, ctor, inputs", _classification_cases(), ids=lambda v: getattr(v, "__name__", "")
)
def test_classification_module_is_a_drop_in_for_torch(ours, theirs, ctor, inputs):
    m, t = ours(*ctor), theirs(*ctor)
    x = inputs[0].clone().requires_grad_()
    xt = inputs[0].clone().requires_grad_()
    out, ref = m(x, *inputs[1:]), t(xt, *inputs[1:])
    assert_close(out, ref)
    g = torch.rand_like(out) + 0.5
    out.backward(g)
    ref.backward(g)
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize(
    "ours, theirs, ctor, inputs", _classification_cases(), ids=lambda v: getattr(v, "__name__", "")
)
def test_classification_module_equals_functional(ours, theirs, ctor, inputs):
    m = ours(*ctor)
    name = {
        "SoftMarginLoss": "soft_margin_loss",
        "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss",
        "MultiMarginLoss": "multi_margin_loss",
        "MultiLabelMarginLoss": "multilabel_margin_loss",
    }[ours.__name__]
    kwargs = {"reduction": m.reduction}
    if getattr(m, "weight", None) is not None:
        kwargs["weight"] = m.weight
    for attr in ("p", "margin"):
        if hasattr(m, attr):
            kwargs[attr] = getattr(m, attr)
    assert torch.equal(m(*inputs), getattr(LF, name)(*inputs, **kwargs))


def _ranking_cases():
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    s = (torch.randint(0, 2, (6,), generator=g) * 2 - 1).double()
    x, y = r(6, 4), r(6, 4)
    a, p, n = r(6, 5), r(6, 5), r(6, 5)
    return [
        ("MarginRankingLoss", (0.3, None, None, "sum"), (x[:, 0], y[:, 0], s)),
        ("HingeEmbeddingLoss", (0.7, None, None, "none"), (x.abs(), torch.ones(6, 4))),
        ("CosineEmbeddingLoss", (0.2, None, None, "mean"), (a, p, s)),
        ("TripletMarginLoss", (0.5, 1.0, 1e-6, True, None, None, "none"), (a, p, n)),
    ]


@pytest.mark.parametrize("cls,ctor,inputs", _ranking_cases(), ids=[c[0] for c in _ranking_cases()])
def test_ranking_module_equals_torch_module_and_functional(cls, ctor, inputs):
    ours, ref = getattr(LN, cls)(*ctor), getattr(torch.nn, cls)(*ctor)
    check_against(ours, ref, *inputs, grad=[t.is_floating_point() and i < 2 for i, t in enumerate(inputs)])
    assert ours.reduction == ref.reduction


def test_triplet_with_distance_module():
    g = torch.Generator().manual_seed(2)
    a, p, n = (torch.randn(6, 5, generator=g, dtype=torch.float64) for _ in range(3))
    dist = lambda u, v: 1 - torch.cosine_similarity(u, v)
    ours = LN.TripletMarginWithDistanceLoss(distance_function=dist, margin=0.5, swap=True, reduction="none")
    ref = torch.nn.TripletMarginWithDistanceLoss(distance_function=dist, margin=0.5, swap=True, reduction="none")
    check_against(ours, ref, a, p, n)


def test_weight_buffers_follow_to_and_state_dict():
    m = LN.MultiMarginLoss(weight=W3.clone())
    assert set(m.state_dict()) == {"weight"}
    m.double()
    assert m.weight.dtype == torch.float64
    theirs = nn.MultiMarginLoss(weight=torch.ones(3))
    theirs.load_state_dict(m.state_dict())
    assert torch.equal(theirs.weight, m.weight.float())


def test_module_refusals():
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        losskit.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        LN.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        LN.TripletMarginWithDistanceLoss(margin=-1)
    with pytest.raises(TypeError, match="distance_function must be callable"):
        LN.TripletMarginWithDistanceLoss(distance_function="cosine")
    with pytest.raises(TypeError, match="margin must be a Python number"):
        LN.MarginRankingLoss(margin="0.5")
    with pytest.raises(TypeError, match="swap must be True or False"):
        LN.TripletMarginLoss(swap="yes")


@pytest.mark.parametrize(
    "module, shown",
    [
        (LN.SoftMarginLoss(reduction="sum"), "SoftMarginLoss(reduction='sum')"),
        (LN.MultiLabelSoftMarginLoss(W3), "MultiLabelSoftMarginLoss(weight=<tensor (3,)>)"),
        (LN.MultiMarginLoss(p=2, margin=0.5, weight=W3), "MultiMarginLoss(p=2, margin=0.5, weight=<tensor (3,)>)"),
        (LN.MultiLabelMarginLoss(reduction="none"), "MultiLabelMarginLoss(reduction='none')"),
        (LN.MarginRankingLoss(margin=0.3), "MarginRankingLoss(margin=0.3)"),
        (LN.HingeEmbeddingLoss(margin=2.0, reduction="sum"), "HingeEmbeddingLoss(margin=2.0, reduction='sum')"),
        (LN.CosineEmbeddingLoss(margin=0.1), "CosineEmbeddingLoss(margin=0.1)"),
        (
            LN.TripletMarginLoss(margin=0.5, p=1.0, eps=0.0, swap=True),
            "TripletMarginLoss(margin=0.5, p=1.0, eps=0.0, swap=True)",
        ),
        (
            LN.TripletMarginWithDistanceLoss(margin=2.0, swap=True, reduction="none"),
            "TripletMarginWithDistanceLoss(margin=2.0, swap=True, reduction='none')",
        ),
        (LN.TripletMarginLoss(), "TripletMarginLoss()"),
    ],
)
def test_repr_shows_the_options_set(module, shown):
    assert repr(module) == shown


def test_catalog_entries():
    rank = {
        "margin_ranking_loss",
        "hinge_embedding_loss",
        "cosine_embedding_loss",
        "triplet_margin_loss",
        "triplet_margin_with_distance_loss",
    }
    assert rank <= set(catalog.names("ranking"))
    for name in rank | {
        "soft_margin_loss",
        "multilabel_soft_margin_loss",
        "multi_margin_loss",
        "multilabel_margin_loss",
    }:
        spec = catalog.get(name)
        assert spec.torch_twin == name and spec.functional is getattr(LF, name)
        assert hasattr(torch.nn.functional, spec.torch_twin)
        assert spec.module.__name__ in CLASSES
    for name in rank:
        assert catalog.get(name).takes == "values"


def test_svm_hinge_modules_are_the_functionals():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(5, 3, generator=g, dtype=torch.float64)
    t = torch.randint(0, 2, (5, 3), generator=g)
    assert torch.equal(
        LN.HingeLoss(labels="01", margin=0.5, reduction="sum")(z, t),
        LF.hinge_loss(z, t, labels="01", margin=0.5, reduction="sum"),
    )
    assert torch.equal(
        LN.SquaredHingeLoss(reduction="none")(z, 2 * t - 1), LF.squared_hinge_loss(z, 2 * t - 1, reduction="none")
    )
    y = torch.randint(0, 3, (5,), generator=g)
    assert torch.equal(LN.CategoricalHingeLoss(margin=2.0)(z, y), LF.categorical_hinge_loss(z, y, margin=2.0))
    assert repr(LN.CategoricalHingeLoss(margin=2.0)) == "CategoricalHingeLoss(margin=2.0)"
    assert repr(LN.SquaredHingeLoss(labels="01")) == "SquaredHingeLoss(labels='01')"
    with pytest.raises(ValueError, match="labels='x' is not valid"):
        LN.HingeLoss(labels="x")
    for name, cls in [
        ("hinge_loss", LN.HingeLoss),
        ("squared_hinge_loss", LN.SquaredHingeLoss),
        ("categorical_hinge_loss", LN.CategoricalHingeLoss),
    ]:
        spec = catalog.get(name)
        assert spec.module is cls and spec.functional is getattr(LF, name) and spec.torch_twin is None
        assert getattr(losskit, cls.__name__) is cls
