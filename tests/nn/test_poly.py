"""Poly-1 modules: forward is the functional, options validated at construction, reprs."""

import pytest
import torch

import losskit
from helpers import assert_close, assert_refuses
from losskit import catalog
from losskit import functional as LF
from losskit import nn as LN

W = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)

CASES = [
    (LN.Poly1SigmoidFocalLoss, LF.poly1_sigmoid_focal_loss, "binary", dict(epsilon=-0.5, gamma=2.0, reduction="sum")),
    (LN.Poly1CrossEntropyLoss, LF.poly1_cross_entropy, "class", dict(epsilon=2.0, weight=W, label_smoothing=0.2)),
    (LN.Poly1FocalLoss, LF.poly1_focal_loss, "class", dict(epsilon=1.0, alpha=W, gamma=2.0, ignore_index=-1)),
]


def _inputs(kind):
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    if kind == "binary":
        y = torch.randint(0, 2, (5, 3)).double()
        y[0, 0] = -1.0
    else:
        y = torch.randint(0, 3, (5,))
        y[0] = -1
    return x, y


@pytest.mark.parametrize("cls,fn,kind,kw", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_module_is_the_functional(cls, fn, kind, kw):
    x, y = _inputs(kind)
    if "ignore_index" not in kw:
        y = y.clamp(min=0)
    m = cls(**kw)
    assert_close(m(x, y), fn(x, y, **kw))
    assert isinstance(repr(m), str)


def test_module_options_validated_at_construction():
    assert_refuses(lambda: LN.Poly1FocalLoss(epsilon=float("inf")), match="epsilon must be finite")
    assert_refuses(lambda: LN.Poly1CrossEntropyLoss(label_smoothing=1.0), match="label_smoothing")
    assert_refuses(lambda: LN.Poly1SigmoidFocalLoss(gamma=-1.0), match=r"gamma must be in \[0, inf\]")


def test_catalog_entries_name_the_modules():
    for name, cls in [
        ("poly1_cross_entropy", LN.Poly1CrossEntropyLoss),
        ("poly1_focal_loss", LN.Poly1FocalLoss),
        ("poly1_sigmoid_focal_loss", LN.Poly1SigmoidFocalLoss),
    ]:
        spec = catalog.get(name)
        assert spec.module is cls and spec.functional is getattr(LF, name)
        assert getattr(losskit, cls.__name__) is cls


def test_repr_shows_the_options_set():
    assert repr(LN.Poly1CrossEntropyLoss()) == "Poly1CrossEntropyLoss()"
    assert repr(LN.Poly1FocalLoss(epsilon=2.0, weight=W)) == "Poly1FocalLoss(epsilon=2.0, weight=<tensor (3,)>)"
