"""The segmentation (overlap) modules: one call into the functional, weight as a buffer, options checked at construction."""

from __future__ import annotations

import pytest
import torch

import losskit
from helpers import assert_close, assert_refuses, check_against
from losskit import catalog
from losskit.functional import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss
from losskit.nn import DiceLoss, FocalTverskyLoss, JaccardLoss, TverskyLoss

PAIRS = [
    (DiceLoss, dice_loss, {}),
    (JaccardLoss, jaccard_loss, {}),
    (TverskyLoss, tversky_loss, dict(alpha=0.2, beta=0.9)),
    (FocalTverskyLoss, focal_tversky_loss, dict(alpha=0.2, beta=0.9, gamma=1.3)),
]


@pytest.mark.parametrize("cls,fn,extra", PAIRS)
@pytest.mark.parametrize(
    "opts",
    [
        dict(mode="multiclass"),
        dict(
            mode="multiclass",
            per_image=True,
            include_background=False,
            ignore_index=-100,
            smooth=1.0,
            empty="include",
            reduction="none",
        ),
        dict(mode="multilabel", reduction="sum", eps=1e-5),
    ],
)
def test_module_matches_functional(cls, fn, extra, opts):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 4, generator=g, requires_grad=True)
    if opts["mode"] == "multiclass":
        t = torch.randint(0, 3, (2, 4, 4), generator=g)
        if "ignore_index" in opts:
            t[0, 0] = -100
    else:
        t = (torch.rand(2, 3, 4, 4, generator=g) < 0.5).float()
    _module_equals_functional(cls, fn, x, t, **opts, **extra, weight=torch.tensor([1.0, 2.0, 0.5]))


def _module_equals_functional(cls, fn, x, t, **options):
    """``cls(**options)(x, t)`` against ``fn(x, t, **options)``: value and gradient wrt ``x``; returns the module."""
    module = cls(**options)
    out = module(x, t)
    expected = fn(x, t, **options)
    assert_close(out, expected)
    (gm,) = torch.autograd.grad(out.sum(), x)
    (gf,) = torch.autograd.grad(expected.sum(), x)
    assert_close(gm, gf)
    return module


OPTIONS = [
    dict(squared_pred=True),
    dict(smooth=0.5, smooth_denominator=2.0),
    dict(log_loss=True, smooth=0.1),
    dict(average="micro", per_image=True, reduction="none"),
    dict(log_loss=True, average="micro", ignore_index=-100),
]
WITH_OPTIONS = [
    (DiceLoss, dice_loss, {}),
    (JaccardLoss, jaccard_loss, {}),
    (TverskyLoss, tversky_loss, dict(alpha=0.2, beta=0.9)),
]


@pytest.mark.parametrize("cls,fn,extra", WITH_OPTIONS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_module_options_match_functional(cls, fn, extra, opts):
    if "squared_pred" in opts and cls is TverskyLoss:
        pytest.skip("tversky_loss has no squared_pred")
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 3, (2, 4, 4), generator=g)
    if "ignore_index" in opts:
        t[0, 0] = -100
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    r = repr(_module_equals_functional(cls, fn, x, t, **opts, **extra, weight=w))
    for name, value in opts.items():
        assert f"{name}={value!r}" in r, (name, r)


@pytest.mark.parametrize("cls", [DiceLoss, JaccardLoss, TverskyLoss])
def test_repr_leaves_out_the_unset_options_and_the_constructor_checks_them(cls):
    r = repr(cls())
    assert "log_loss" not in r and "average" not in r and "smooth_denominator" not in r
    assert_refuses(lambda: cls(average="weighted"), match="average='weighted' is not valid")
    assert_refuses(lambda: cls(log_loss=1), match="log_loss")
    assert_refuses(lambda: cls(smooth_denominator=-1.0), match="smooth_denominator must be in")


def test_squared_pred_is_refused_where_the_functional_has_none():
    with pytest.raises(TypeError):
        TverskyLoss(squared_pred=True)
    with pytest.raises(TypeError):
        FocalTverskyLoss(log_loss=True)


def test_mode_is_the_positional_argument():
    x = torch.randn(2, 1, 5)
    t = (torch.rand(2, 1, 5) < 0.5).float()
    assert_close(DiceLoss("binary")(x, t), dice_loss(x, t, mode="binary"))
    with pytest.raises(TypeError):
        DiceLoss("binary", True)  # everything after mode is keyword-only


def test_weight_is_a_buffer_that_follows_to():
    m = DiceLoss(weight=torch.tensor([1.0, 2.0, 3.0]))
    assert "weight" in dict(m.named_buffers()) and "weight" in m.state_dict()
    m = m.to(torch.float64)
    assert m.weight.dtype == torch.float64
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    t = torch.randint(0, 3, (2, 4))
    assert_close(m(x, t), dice_loss(x, t, weight=m.weight))
    assert DiceLoss(weight=[1.0, 2.0, 3.0]).weight.dtype == torch.get_default_dtype()


def test_repr_lists_options():
    r = repr(FocalTverskyLoss("multilabel", gamma=2.0, per_image=True))
    assert "mode='multilabel'" in r and "gamma=2.0" in r and "per_image=True" in r and "alpha=0.3" in r


@pytest.mark.parametrize("cls", [DiceLoss, JaccardLoss, TverskyLoss, FocalTverskyLoss])
def test_constructor_validates(cls):
    assert_refuses(lambda: cls("soft"), match="mode='soft' is not valid")
    assert_refuses(lambda: cls(reduction="avg"), match="reduction")
    assert_refuses(lambda: cls(empty="drop"), match="empty='drop' is not valid")
    assert_refuses(lambda: cls(smooth=-1.0), match="smooth must be in")
    assert_refuses(lambda: cls("binary", include_background=False), match="include_background=False")


def test_constructor_validates_tversky_options():
    assert_refuses(lambda: TverskyLoss(alpha=-1.0), match="alpha must be in")
    assert_refuses(lambda: TverskyLoss(alpha=0.0, beta=0.0), match="alpha=0 and beta=0")
    assert_refuses(lambda: FocalTverskyLoss(gamma=0.0), match=r"gamma must be in \(0, inf\]")


def test_catalog_entries():
    assert set(catalog.names("overlap")) >= {"dice_loss", "tversky_loss", "focal_tversky_loss", "jaccard_loss"}
    for name, cls in [
        ("dice_loss", DiceLoss),
        ("tversky_loss", TverskyLoss),
        ("focal_tversky_loss", FocalTverskyLoss),
        ("jaccard_loss", JaccardLoss),
    ]:
        spec = catalog.get(name)
        assert spec.family == "overlap" and spec.takes == "logits" and spec.torch_twin is None
        assert spec.functional is getattr(losskit.functional, name)
        assert spec.module is getattr(losskit.nn, cls.__name__) is getattr(losskit, cls.__name__)


def test_generalized_dice_module_matches_functional():
    from losskit.functional import generalized_dice_loss
    from losskit.nn import GeneralizedDiceLoss

    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 4, 4, generator=g, requires_grad=True)
    t = torch.randint(0, 3, (2, 4, 4), generator=g)
    opts = dict(weighting="simple", per_image=True, include_background=False, smooth=0.5, reduction="none")
    assert_close(GeneralizedDiceLoss(**opts)(x, t), generalized_dice_loss(x, t, **opts))
    t[1] = 0  # image 1: every kept class empty
    opts.update(smooth_denominator=2.0, empty="include")
    assert_close(GeneralizedDiceLoss(**opts)(x, t), generalized_dice_loss(x, t, **opts))
    assert "empty='include'" in repr(GeneralizedDiceLoss(**opts))
    r = repr(GeneralizedDiceLoss("multilabel", weighting="uniform"))
    assert "mode='multilabel'" in r and "weighting='uniform'" in r
    assert_refuses(lambda: GeneralizedDiceLoss(weighting="cube"), match="weighting='cube' is not valid")
    assert_refuses(lambda: GeneralizedDiceLoss("soft"), match="mode='soft' is not valid")
    assert catalog.get("generalized_dice_loss").module is GeneralizedDiceLoss is losskit.GeneralizedDiceLoss


@pytest.mark.parametrize("name", ["lovasz_softmax_loss", "lovasz_hinge_loss", "mcc_loss"])
def test_lovasz_and_mcc_modules_match_functional_and_catalog(name):
    from losskit import functional as LF
    from losskit import nn as LN

    cls = {
        "lovasz_softmax_loss": LN.LovaszSoftmaxLoss,
        "lovasz_hinge_loss": LN.LovaszHingeLoss,
        "mcc_loss": LN.MCCLoss,
    }[name]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 9, generator=g, dtype=torch.float64)
    t = (torch.rand(2, 1, 9, generator=g) < 0.5).double()
    mode = "binary"
    assert_close(cls(mode, reduction="sum")(x, t), getattr(LF, name)(x, t, mode=mode, reduction="sum"))
    assert "mode='binary'" in repr(cls(mode))
    assert_refuses(lambda: cls("soft"), match="mode='soft' is not valid")
    assert catalog.get(name).module is cls is getattr(losskit, cls.__name__)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", [[0, 2], (3,), [1, 1, 3], [0, 1, 2, 3]], ids=str)
def test_lovasz_softmax_takes_a_list_of_classes_as_berman_and_smp(classes, per_image):
    import reference as R
    from losskit.nn import LovaszSoftmaxLoss

    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 3, (2, 5, 6), generator=g)  # class 3 absent: listed, it counts (as in Berman's loop)
    y[0, :2] = -1

    def reference(x, y):
        p = torch.softmax(x, 1)
        units = [(p[i : i + 1], y[i : i + 1]) for i in range(2)] if per_image else [(p, y)]
        losses = []
        for pu, yu in units:
            flat_p, flat_y = pu.movedim(1, -1).reshape(-1, 4), yu.reshape(-1)
            keep = flat_y != -1
            losses.append(R.lovasz_softmax_flat(flat_p[keep], flat_y[keep], list(classes)))
        return torch.stack(losses).mean()

    module = LovaszSoftmaxLoss(per_image=per_image, ignore_index=-1, classes=classes)
    assert f"classes={classes!r}" in repr(module)
    check_against(lambda x, y: module(x, y), reference, x, y, grad=[True, False])


def test_lovasz_softmax_refuses_a_bad_list_of_classes():
    from losskit.functional import lovasz_softmax_loss
    from losskit.nn import LovaszSoftmaxLoss

    x, y = torch.randn(2, 3, 4), torch.randint(0, 3, (2, 4))
    assert_refuses(lambda: LovaszSoftmaxLoss(classes=[]), match=r"classes=\[\] is not valid")
    assert_refuses(lambda: LovaszSoftmaxLoss(classes=[0, -1]), match="class indices >= 0")
    assert_refuses(lambda: LovaszSoftmaxLoss("multilabel", classes=[0]), match="mode='multiclass'")
    assert_refuses(lambda: lovasz_softmax_loss(x, y, classes=[0, 3]), match="names class 3, but the input has 3")
