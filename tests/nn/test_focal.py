"""Focal-family modules: forward is the functional, options validated at construction, buffers move, reprs."""

import pytest
import torch

import losskit
from helpers import assert_close, assert_refuses
from losskit import catalog
from losskit import functional as LF
from losskit import nn as LN

W = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)

CASES = [
    (
        LN.SigmoidFocalLoss,
        LF.sigmoid_focal_loss,
        "binary",
        dict(alpha=0.25, gamma=1.5, weight=W, pos_weight=W * 2, label_smoothing=0.1, ignore_index=-1),
    ),
    (LN.SigmoidFocalLoss, LF.sigmoid_focal_loss, "binary", dict(alpha=W / 2, reduction="none")),
    (LN.AsymmetricLoss, LF.asymmetric_loss, "binary", dict(gamma_pos=1.0, gamma_neg=3.0, clip=0.1, weight=W)),
    (LN.FocalLoss, LF.focal_loss, "class", dict(alpha=W, gamma=0.5, weight=W, ignore_index=-1, label_smoothing=0.1)),
    (LN.FocalLoss, LF.focal_loss, "class", dict(alpha=0.3, reduction="none", all_ignored="zero")),
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


def test_buffers_follow_to_and_state_dict():
    m = LN.SigmoidFocalLoss(alpha=W / 2, weight=W, pos_weight=W)
    assert {"alpha", "weight", "pos_weight"} <= set(m.state_dict())
    m.to(torch.float32)
    assert m.alpha.dtype == m.weight.dtype == m.pos_weight.dtype == torch.float32
    f = LN.FocalLoss(alpha=W, weight=W).to(torch.float32)
    assert f.alpha.dtype == torch.float32 and "alpha" in f.state_dict()
    assert LN.FocalLoss(alpha=0.25).alpha == 0.25


def test_module_options_validated_at_construction():
    assert_refuses(lambda: LN.FocalLoss(gamma=-1.0), match=r"gamma must be in \[0, inf\]")
    assert_refuses(lambda: LN.SigmoidFocalLoss(alpha=2.0), match=r"alpha must be in \[0, 1\], got 2.0")
    assert_refuses(lambda: LN.SigmoidFocalLoss(label_smoothing=1.0), match="label_smoothing")
    assert_refuses(lambda: LN.AsymmetricLoss(clip=1.5), match=r"clip must be in \[0, 1\)")
    assert_refuses(lambda: LN.FocalLoss(reduction="avg"), match="reduction")
    assert_refuses(lambda: LN.FocalLoss(all_ignored="skip"), match="all_ignored")


def test_catalog_entries_name_the_modules():
    for name, cls in [
        ("sigmoid_focal_loss", LN.SigmoidFocalLoss),
        ("focal_loss", LN.FocalLoss),
        ("asymmetric_loss", LN.AsymmetricLoss),
    ]:
        spec = catalog.get(name)
        assert spec.module is cls and spec.functional is getattr(LF, name)
        assert getattr(losskit, cls.__name__) is cls
    assert catalog.get("sigmoid_focal_loss").kernel == "sigmoid_focal_rows"


def test_repr_shows_the_options_set():
    assert repr(LN.FocalLoss()) == "FocalLoss()"
    assert (
        repr(LN.FocalLoss(gamma=1.0, alpha=0.25, ignore_index=None))
        == "FocalLoss(alpha=0.25, gamma=1.0, ignore_index=None)"
    )
    assert (
        repr(LN.SigmoidFocalLoss(alpha=W, reduction="sum")) == "SigmoidFocalLoss(alpha=<tensor (3,)>, reduction='sum')"
    )
    assert repr(LN.AsymmetricLoss(clip=0.0, all_ignored="zero")) == "AsymmetricLoss(clip=0.0, all_ignored='zero')"


def test_forward_takes_sample_weight():
    x, y = _inputs("class")
    y = y.clamp(min=0)
    s = torch.rand(5, dtype=torch.float64)
    assert_close(LN.FocalLoss(gamma=1.0)(x, y, sample_weight=s), LF.focal_loss(x, y, gamma=1.0, sample_weight=s))


def test_asymmetric_modules_take_the_new_options():
    x, y = _inputs("class")
    y = y.clamp(min=0)
    m = LN.AsymmetricSingleLabelLoss(gamma_pos=1.0, label_smoothing=0.1, weight=W)
    assert_close(m(x, y), LF.asymmetric_single_label_loss(x, y, gamma_pos=1.0, label_smoothing=0.1, weight=W))
    assert repr(LN.AsymmetricSingleLabelLoss()) == "AsymmetricSingleLabelLoss()"
    assert catalog.get("asymmetric_single_label_loss").module is LN.AsymmetricSingleLabelLoss
    xb, yb = _inputs("binary")
    yb = yb.clamp(min=0)
    m = LN.AsymmetricLoss(label_smoothing=0.1, pos_weight=W)
    assert "pos_weight" in m.state_dict()
    assert_close(m(xb, yb), LF.asymmetric_loss(xb, yb, label_smoothing=0.1, pos_weight=W))


def test_sigmoid_focal_module_takes_the_peers_options():
    x, y = _inputs("binary")
    y = y.clamp(min=0)
    m = LN.SigmoidFocalLoss(alpha=0.25, soft_target="peers", reduced_threshold=0.5, normalized=True)
    assert_close(
        m(x, y), LF.sigmoid_focal_loss(x, y, alpha=0.25, soft_target="peers", reduced_threshold=0.5, normalized=True)
    )
    assert repr(m) == "SigmoidFocalLoss(alpha=0.25, soft_target='peers', reduced_threshold=0.5, normalized=True)"
    assert_refuses(lambda: LN.SigmoidFocalLoss(soft_target="kornia"), match="soft_target")


def test_binary_focal_module_is_the_functional_on_probabilities():
    x, y = _inputs("binary")
    y = y.clamp(min=0)
    p = torch.sigmoid(x)
    m = LN.BinaryFocalLoss(alpha=0.25, gamma=1.5)
    assert_close(m(p, y), LF.binary_focal_loss(p, y, alpha=0.25, gamma=1.5))
    assert catalog.get("binary_focal_loss").module is LN.BinaryFocalLoss
    assert catalog.get("binary_focal_loss").takes == "probs"
