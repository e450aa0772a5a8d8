"""Focal family: sigmoid focal, asymmetric, softmax focal, and the Poly-1 variants that share their rows.

References: torch's own cross_entropy / binary_cross_entropy_with_logits (the gamma=0 / epsilon=0
reductions), float64 transcriptions of the published formulas (torchvision's sigmoid_focal_loss,
the ASL reference code, Leng et al.'s poly-1), and kornia where installed.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import losskit
from helpers import assert_close, assert_refuses, check_against
from losskit.functional import (
    asymmetric_loss,
    focal_loss,
    poly1_cross_entropy,
    poly1_focal_loss,
    poly1_sigmoid_focal_loss,
    sigmoid_focal_loss,
)
from reference import asl_reference_code, ref_asl, ref_sigmoid_focal, ref_softmax_focal, torchvision_sigmoid_focal

REDUCTIONS = ["none", "mean", "sum"]
HALF = [torch.float16, torch.bfloat16]


# ----------------------------------------------------------------------------------------------
# float64 references, written from the papers / peers' published code (naive, direct formulas)
# ----------------------------------------------------------------------------------------------


def _binary(shape, dtype=torch.float64, soft=False, scale=2.0):
    z = scale * torch.randn(shape, dtype=dtype)
    y = torch.rand(shape, dtype=dtype) if soft else torch.randint(0, 2, shape).to(dtype)
    return z, y


def _multiclass(shape, dtype=torch.float64, scale=2.0, ignore=None):
    z = scale * torch.randn(shape, dtype=dtype)
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    t = torch.randint(0, C, tshape)
    if ignore is not None and len(tshape):
        t[torch.rand(tshape) < 0.3] = ignore
    return z, t


# ----------------------------------------------------------------------------------------------
# sigmoid focal loss
# ----------------------------------------------------------------------------------------------


def _bce_smoothed(z, y, *, weight=None, pos_weight=None, label_smoothing=0.0, reduction="mean", **_):
    return F.binary_cross_entropy_with_logits(
        z, y * (1 - label_smoothing) + label_smoothing / 2, weight=weight, pos_weight=pos_weight, reduction=reduction
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4, 5)])
@pytest.mark.parametrize("opts", ["plain", "weight", "pos_weight", "smoothing", "all", "soft"])
def test_sigmoid_focal_gamma0_is_bce(reduction, shape, opts):
    """A 1-D weight / pos_weight applies per class (dim 1 of an (N, C, d1..dk) input): torch's BCE with the
    weight viewed as (C, 1, .., 1)."""
    z, y = _binary(shape, soft=opts == "soft")
    c = shape[1] if len(shape) > 1 else shape[0]
    along = lambda w: w.view(-1, *([1] * (len(shape) - 2))) if len(shape) > 2 else w
    kw, kw_torch = {}, {}
    if opts in ("weight", "all"):
        kw["weight"] = torch.rand(c, dtype=torch.float64) + 0.5
        kw_torch["weight"] = along(kw["weight"])
    if opts in ("pos_weight", "all"):
        kw["pos_weight"] = torch.rand(c, dtype=torch.float64) * 3
        kw_torch["pos_weight"] = along(kw["pos_weight"])
    if opts in ("smoothing", "all"):
        kw["label_smoothing"] = kw_torch["label_smoothing"] = 0.2
    check_against(
        lambda *a, **k: sigmoid_focal_loss(*a, gamma=0.0, **kw, **k),
        lambda *a, **k: _bce_smoothed(*a, **kw_torch, **k),
        z,
        y,
        grad=[True, False],
        reduction=reduction,
    )


def test_per_class_tensor_that_only_fits_the_last_dimension_is_refused():
    z, y = _binary((2, 3, 4, 5))
    assert_refuses(
        lambda: sigmoid_focal_loss(z, y, weight=torch.ones(5, dtype=torch.float64)),
        match=r"a 1-D weight applies to the class dimension 1 of input \(2, 3, 4, 5\), which has 3 classes",
    )
    assert_close(sigmoid_focal_loss(z, y, weight=torch.ones(1, 1, 1, 5, dtype=torch.float64)), sigmoid_focal_loss(z, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1, 2.0), (0.5, 0.5), (0.9, 3.0), (0.25, 0.0)])
def test_sigmoid_focal_matches_torchvision(reduction, alpha, gamma):
    z, y = _binary((6, 5))
    ours = lambda z, y, reduction: sigmoid_focal_loss(
        z, y, alpha=None if alpha < 0 else alpha, gamma=gamma, reduction=reduction
    )
    ref = lambda z, y, reduction: torchvision_sigmoid_focal(z, y, alpha=alpha, gamma=gamma, reduction=reduction)
    check_against(ours, ref, z, y, grad=[True, False], reduction=reduction)


def test_sigmoid_focal_soft_targets_are_an_expectation_not_torchvision():
    # documented difference: torchvision modulates the whole soft-target BCE by (1 - p_t)^gamma
    z, y = _binary((50,), soft=True)
    ours = sigmoid_focal_loss(z, y, gamma=2.0, reduction="none")
    assert_close(ours, ref_sigmoid_focal(z, y, gamma=2.0, reduction="none"))
    assert not torch.allclose(ours, torchvision_sigmoid_focal(z, y, alpha=-1, gamma=2.0))


def test_sigmoid_focal_matches_kornia():
    kornia = pytest.importorskip("kornia")
    z, y = _binary((4, 3, 5), soft=True)
    pw = torch.rand(3, dtype=torch.float64) + 0.5
    w = torch.rand(3, dtype=torch.float64) + 0.5
    for reduction in ("none", "sum"):
        ref = lambda z, y, reduction: kornia.losses.binary_focal_loss_with_logits(
            z, y, alpha=0.3, gamma=1.5, pos_weight=pw, weight=w, reduction=reduction
        )
        ours = lambda z, y, reduction: sigmoid_focal_loss(
            z, y, alpha=0.3, gamma=1.5, pos_weight=pw.view(3, 1), weight=w.view(3, 1), reduction=reduction
        )
        check_against(ours, ref, z, y, grad=[True, False], reduction=reduction)


@given(
    shape=st.sampled_from([(5,), (3, 4), (2, 3, 2)]),
    alpha=st.one_of(st.none(), st.floats(0, 1), st.just("tensor")),
    gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]),
    smoothing=st.sampled_from([0.0, 0.1]),
    weighted=st.booleans(),
    pos_weighted=st.booleans(),
    ignore=st.booleans(),
    soft=st.booleans(),
    epsilon=st.sampled_from([0.0, 1.0, -0.5]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_sigmoid_focal_all_options_vs_float64_formula(
    shape, alpha, gamma, smoothing, weighted, pos_weighted, ignore, soft, epsilon, reduction
):
    z, y = _binary(shape, soft=soft)
    if ignore:
        y[torch.rand(shape) < 0.3] = -1.0
        y.view(-1)[0] = 1.0  # at least one element counts
    kw = dict(gamma=gamma, label_smoothing=smoothing, reduction=reduction, ignore_index=-1 if ignore else None)
    c = shape[1] if len(shape) > 1 else shape[0]  # 1-D tensors apply per class (dim 1)
    along = lambda w: w.view(-1, *([1] * (len(shape) - 2))) if len(shape) > 2 else w
    kw["alpha"] = torch.rand(c, dtype=torch.float64) if alpha == "tensor" else alpha
    if weighted:
        kw["weight"] = torch.rand(shape, dtype=torch.float64)
    if pos_weighted:
        kw["pos_weight"] = torch.rand(c, dtype=torch.float64) * 2
    kw_ref = {k: along(v) if isinstance(v, torch.Tensor) and v.dim() == 1 else v for k, v in kw.items()}
    ours = (
        (lambda *a, **k: poly1_sigmoid_focal_loss(*a, epsilon=epsilon, **kw, **k))
        if epsilon
        else (lambda *a, **k: sigmoid_focal_loss(*a, **kw, **k))
    )
    check_against(ours, lambda *a, **k: ref_sigmoid_focal(*a, epsilon=epsilon, **kw_ref, **k), z, y, grad=[True, False])


def test_sigmoid_focal_ignore_equals_slicing_and_all_ignored():
    z, y = _binary((6, 4))
    y[0, 1] = y[3, 2] = y[5, 0] = -100.0
    keep = y != -100
    for reduction in ("mean", "sum"):
        out = sigmoid_focal_loss(z, y, alpha=0.3, ignore_index=-100, reduction=reduction)
        assert_close(out, sigmoid_focal_loss(z[keep], y[keep], alpha=0.3, reduction=reduction))
    none = sigmoid_focal_loss(z, y, ignore_index=-100, reduction="none")
    assert (none[~keep] == 0).all()
    zz = z.clone().requires_grad_(True)
    allign = torch.full_like(y, -100.0)
    assert torch.isnan(sigmoid_focal_loss(zz, allign, ignore_index=-100))
    out = sigmoid_focal_loss(zz, allign, ignore_index=-100, all_ignored="zero")
    out.backward()
    assert out.item() == 0.0 and (zz.grad == 0).all()


def test_sigmoid_focal_weight_not_in_denominator():
    z, y = _binary((8,))
    w = torch.rand(8, dtype=torch.float64) * 3
    mean = sigmoid_focal_loss(z, y, weight=w)
    assert_close(mean, sigmoid_focal_loss(z, y, weight=w, reduction="sum") / 8)


@pytest.mark.parametrize("dtype", HALF)
def test_sigmoid_focal_half_vs_float64(dtype):
    z, y = _binary((16, 5), dtype=torch.float64)
    kw = dict(alpha=0.25, gamma=2.0, label_smoothing=0.1, pos_weight=torch.full((5,), 2.0, dtype=dtype))
    out = check_against(
        sigmoid_focal_loss,
        ref_sigmoid_focal,
        z.to(dtype),
        y.to(dtype),
        grad=[True, False],
        ref_dtype=torch.float64,
        **kw,
    )[0]
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("gamma", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("fn", ["sigmoid_focal_loss", "poly1_sigmoid_focal_loss", "asymmetric_loss"])
def test_sigmoid_family_extreme_logits_finite(dtype, gamma, fn):
    z = torch.tensor([-1e4, -50.0, -20.0, 0.0, 20.0, 50.0, 1e4] * 2, dtype=dtype).requires_grad_(True)
    y = torch.tensor([0.0] * 7 + [1.0] * 7, dtype=dtype)
    f = getattr(losskit.functional, fn)
    kw = dict(gamma_pos=gamma, gamma_neg=gamma) if fn == "asymmetric_loss" else dict(gamma=gamma)
    out = f(z, y, reduction="none", **kw)
    (out * torch.linspace(0.5, 1.5, 14, dtype=dtype)).sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(z.grad).all()
    if fn == "sigmoid_focal_loss":  # value of the most wrong element: |z| (-log sigma(-1e4) = 1e4)
        assert out[0].item() == 0.0 and out[6].float().item() == pytest.approx(1e4, rel=1e-2)


def test_sigmoid_focal_small_gamma_near_saturation_matches_float64():
    # fp32 sigma(20) rounds to 1; the gradient of (1 - p)^0.3 log p must still be right
    z = torch.tensor([20.0, -20.0, 30.0, 8.0])
    y = torch.tensor([1.0, 0.0, 1.0, 1.0])
    check_against(
        sigmoid_focal_loss,
        ref_sigmoid_focal,
        z,
        y,
        grad=[True, False],
        ref_dtype=torch.float64,
        gamma=0.3,
        reduction="none",
        tol=dict(rtol=1e-4, atol=1e-12),
    )


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_sigmoid_family_gradcheck(gamma):
    z, y = _binary((3, 4), soft=True)
    z.requires_grad_(True)
    w = torch.rand(3, 4, dtype=torch.float64)
    pw = torch.rand(4, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(
        lambda z: sigmoid_focal_loss(
            z, y, alpha=0.3, gamma=gamma, weight=w, pos_weight=pw, label_smoothing=0.1, reduction="none"
        ),
        (z,),
    )
    assert torch.autograd.gradcheck(lambda z: poly1_sigmoid_focal_loss(z, y, gamma=gamma, epsilon=2.0), (z,))
    assert torch.autograd.gradcheck(
        lambda z: asymmetric_loss(z, y.round(), gamma_pos=gamma, gamma_neg=4.0, clip=0.05, reduction="sum"), (z,)
    )


def test_sigmoid_focal_compiles_fullgraph():
    z, y = _binary((4, 3), dtype=torch.float32)
    fn = torch.compile(
        lambda z, y: sigmoid_focal_loss(z, y, alpha=0.25, ignore_index=-1, all_ignored="zero"),
        fullgraph=True,
        backend="eager",
    )
    assert_close(fn(z, y), sigmoid_focal_loss(z, y, alpha=0.25, ignore_index=-1))


@pytest.mark.parametrize("fn", [sigmoid_focal_loss, poly1_sigmoid_focal_loss, asymmetric_loss])
def test_sigmoid_outputs_warn_and_healthy_logits_in_unit_interval_do_not(fn):
    z = torch.sigmoid(torch.randn(4, 4, requires_grad=True))
    with pytest.warns(UserWarning, match="sigmoid applied twice"):
        fn(z, (z > 0.5).float())
    import warnings

    head = torch.zeros(4, 4, requires_grad=True) * 1.0  # a zero-initialised head: every logit 0, in [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(head, (torch.rand(4, 4) > 0.5).float())
        fn(torch.rand(4, 4), (torch.rand(4, 4) > 0.5).float())


@pytest.mark.parametrize("fn", [focal_loss, poly1_focal_loss, poly1_cross_entropy])
def test_softmax_outputs_warn(fn):
    p = torch.softmax(torch.randn(6, 3, requires_grad=True), 1)
    t = torch.tensor([0, 1, 2, 0, 1, 2])
    with pytest.warns(UserWarning, match="softmax applied twice"):
        fn(p, t)
    with pytest.warns(UserWarning, match="softmax applied twice"):
        fn(p.detach(), t)  # rows in [0, 1] that sum to 1, without a graph
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(torch.zeros(6, 3, requires_grad=True) * 1.0, t)  # zero-initialised head
        fn(torch.randn(6, 3), t)


@pytest.mark.parametrize("fn", [sigmoid_focal_loss, poly1_sigmoid_focal_loss])
def test_sigmoid_focal_errors(fn):
    z, y = _binary((4, 3))
    assert_refuses(lambda: fn(z, y, alpha=1.5), match=r"alpha must be in \[0, 1\], got 1.5")
    assert_refuses(
        lambda: fn(z, y, alpha=torch.tensor([0.2, 1.2, 0.3], dtype=torch.float64)),
        match=r"alpha has values outside \[0, 1\]",
    )
    assert_refuses(lambda: fn(z, y, gamma=-1.0), match=r"gamma must be in \[0, inf\]")
    assert_refuses(lambda: fn(z, y, label_smoothing=1.0), match=r"label_smoothing must be in \[0, 1\)")
    assert_refuses(
        lambda: fn(z, y, weight=torch.ones(4, dtype=torch.float64)),
        match=r"weight with shape \(4,\) does not broadcast to the shape of logits \(4, 3\)",
    )
    assert_refuses(lambda: fn(z, y, pos_weight=torch.ones(2)), match="pos_weight with shape")
    assert_refuses(lambda: fn(z, y[:, :2]), match=r"logits \(4, 3\) and target \(4, 2\) must have the same shape")
    assert_refuses(lambda: fn(z, y * 2), match=r"target has values outside \[0, 1\]")
    assert_refuses(lambda: fn(z, y, reduction="avg"), match="reduction")
    assert_refuses(lambda: fn(z, y, all_ignored="skip"), match="all_ignored")
    assert_refuses(lambda: fn(z.long(), y), match="logits must be a floating-point tensor")
    assert_refuses(lambda: fn(z, y, gamma="2"), match="gamma must be a Python number")


def test_sigmoid_focal_int_and_bool_targets():
    z, y = _binary((5, 2))
    ref = sigmoid_focal_loss(z, y)
    assert_close(sigmoid_focal_loss(z, y.long()), ref)
    assert_close(sigmoid_focal_loss(z, y.bool()), ref)


# ----------------------------------------------------------------------------------------------
# asymmetric loss
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "gp,gn,clip", [(0.0, 4.0, 0.05), (1.0, 4.0, 0.05), (0.0, 2.0, 0.0), (0.5, 0.3, 0.2), (0.0, 0.0, 0.1)]
)
def test_asl_vs_paper_formula(reduction, gp, gn, clip):
    z, y = _binary((6, 5))
    w = torch.rand(6, 5, dtype=torch.float64)
    check_against(
        asymmetric_loss,
        ref_asl,
        z,
        y,
        grad=[True, False],
        gamma_pos=gp,
        gamma_neg=gn,
        clip=clip,
        weight=w,
        reduction=reduction,
    )


@pytest.mark.parametrize("gp,gn,clip", [(1.0, 4.0, 0.05), (0.0, 4.0, 0.05), (0.0, 2.0, None)])
def test_asl_matches_reference_code_sum(gp, gn, clip):
    z, y = _binary((8, 6))
    ours = lambda z, y: asymmetric_loss(z, y, gamma_pos=gp, gamma_neg=gn, clip=clip or 0.0, reduction="sum")
    check_against(
        ours, lambda z, y: asl_reference_code(z, y, gamma_neg=gn, gamma_pos=gp, clip=clip), z, y, grad=[True, False]
    )
    # "mean" is the reference's sum divided by N * C
    assert_close(
        asymmetric_loss(z, y, gamma_pos=gp, gamma_neg=gn, clip=clip or 0.0),
        asl_reference_code(z, y, gamma_neg=gn, gamma_pos=gp, clip=clip) / 48,
    )


def test_asl_special_cases():
    z, y = _binary((5, 4))
    assert_close(
        asymmetric_loss(z, y, gamma_pos=0.0, gamma_neg=0.0, clip=0.0), F.binary_cross_entropy_with_logits(z, y)
    )
    assert_close(asymmetric_loss(z, y, gamma_pos=2.0, gamma_neg=2.0, clip=0.0), sigmoid_focal_loss(z, y, gamma=2.0))
    # negatives with p <= clip are discarded: zero loss and zero gradient
    zz = torch.tensor([-5.0, -4.0], dtype=torch.float64, requires_grad=True)  # sigmoid < 0.02
    out = asymmetric_loss(zz, torch.zeros(2, dtype=torch.float64), clip=0.05, reduction="sum")
    out.backward()
    assert out.item() == 0.0 and (zz.grad == 0).all()


def test_asl_ignore_index():
    z, y = _binary((5, 4))
    y[1, 1] = y[2, 3] = -1
    keep = y != -1
    assert_close(asymmetric_loss(z, y, ignore_index=-1), asymmetric_loss(z[keep], y[keep]))


def test_asl_errors():
    z, y = _binary((4, 3))
    assert_refuses(lambda: asymmetric_loss(z, y, clip=1.0), match=r"clip must be in \[0, 1\), got 1.0")
    assert_refuses(lambda: asymmetric_loss(z, y, clip=-0.1), match=r"clip must be in \[0, 1\)")
    assert_refuses(lambda: asymmetric_loss(z, y, gamma_neg=-1.0), match=r"gamma_neg must be in \[0, inf\]")
    assert_refuses(lambda: asymmetric_loss(z, y, gamma_pos=-1.0), match=r"gamma_pos must be in")
    assert_refuses(lambda: asymmetric_loss(z, y, weight=torch.ones(5)), match="weight with shape")


# ----------------------------------------------------------------------------------------------
# softmax focal loss and poly-1
# ----------------------------------------------------------------------------------------------

CE_CASES = [
    # shape, target kind, options
    ((6, 4), "index", {}),
    ((6, 4), "index", {"weight": True}),
    ((6, 4), "index", {"ignore": True}),
    ((6, 4), "index", {"smoothing": 0.15}),
    ((6, 4), "index", {"weight": True, "ignore": True, "smoothing": 0.2}),
    ((2, 3, 4, 3), "index", {"weight": True, "ignore": True, "smoothing": 0.1}),
    ((5,), "index", {"weight": True, "smoothing": 0.1}),
    ((6, 4), "probs", {}),
    ((6, 4), "probs", {"weight": True, "smoothing": 0.2}),
    ((2, 3, 4), "probs", {"weight": True, "smoothing": 0.1}),
    ((3, 1), "index", {}),
]


def _ce_inputs(shape, kind, opts):
    C = shape[1] if len(shape) > 1 else shape[0]
    z, t = _multiclass(shape, ignore=-100 if opts.get("ignore") else None)
    if kind == "probs":
        t = torch.softmax(torch.randn(shape, dtype=torch.float64), 1 if len(shape) > 1 else 0)
    kw = {}
    if opts.get("weight"):
        kw["weight"] = torch.rand(C, dtype=torch.float64) + 0.2
    if opts.get("smoothing"):
        kw["label_smoothing"] = opts["smoothing"]
    return z, t, kw


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,kind,opts", CE_CASES)
@pytest.mark.parametrize("fn", ["focal_gamma0", "poly1_ce_eps0", "poly1_focal_eps0_gamma0"])
def test_softmax_family_reduces_to_cross_entropy(reduction, shape, kind, opts, fn):
    z, t, kw = _ce_inputs(shape, kind, opts)
    ours = {
        "focal_gamma0": lambda *a, **k: focal_loss(*a, gamma=0.0, **k),
        "poly1_ce_eps0": lambda *a, **k: poly1_cross_entropy(*a, epsilon=0.0, **k),
        "poly1_focal_eps0_gamma0": lambda *a, **k: poly1_focal_loss(*a, epsilon=0.0, gamma=0.0, **k),
    }[fn]
    grad = [True, kind == "probs"]
    check_against(ours, F.cross_entropy, z, t, grad=grad, reduction=reduction, **kw)


@given(
    case=st.sampled_from(CE_CASES),
    alpha=st.one_of(st.none(), st.floats(0, 1), st.just("tensor")),
    gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0]),
    epsilon=st.sampled_from([0.0, 1.0, -1.0, 2.5]),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_softmax_family_vs_float64_formula(case, alpha, gamma, epsilon, reduction):
    shape, kind, opts = case
    z, t, kw = _ce_inputs(shape, kind, opts)
    C = shape[1] if len(shape) > 1 else shape[0]
    kw["alpha"] = torch.rand(C, dtype=torch.float64) * 2 if alpha == "tensor" else alpha
    ours = (lambda *a, **k: poly1_focal_loss(*a, epsilon=epsilon, **k)) if epsilon else focal_loss
    check_against(
        ours,
        lambda *a, **k: ref_softmax_focal(*a, epsilon=epsilon, **k),
        z,
        t,
        grad=[True, kind == "probs"],
        gamma=gamma,
        reduction=reduction,
        **kw,
    )


@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize(
    "alpha,weighted,ignore", [(None, False, None), (0.25, False, None), (0.7, True, -100), (None, True, 255)]
)
def test_focal_matches_kornia(reduction, alpha, weighted, ignore):
    kornia = pytest.importorskip("kornia")
    C = 4
    z, t = _multiclass((3, C, 5, 2), ignore=ignore)
    w = torch.rand(C, dtype=torch.float64) + 0.3 if weighted else None
    # kornia: alpha weights class 0 by 1 - alpha and every other class by alpha; its "none" is a (B, C, ...) map
    ours_alpha = None if alpha is None else torch.tensor([1 - alpha] + [alpha] * (C - 1), dtype=torch.float64)

    def ref(z, t, reduction):
        out = kornia.losses.focal_loss(z, t, alpha=alpha, gamma=2.0, weight=w, ignore_index=ignore, reduction=reduction)
        return out.sum(1) if reduction == "none" else out

    ours = lambda z, t, reduction: focal_loss(
        z, t, alpha=ours_alpha, gamma=2.0, weight=w, ignore_index=ignore, reduction=reduction
    )
    check_against(ours, ref, z, t, grad=[True, False], reduction=reduction)


def test_focal_ignore_equals_slicing_and_all_ignored():
    z, t = _multiclass((8, 3), ignore=-100)
    t[0] = 1
    keep = t != -100
    w = torch.rand(3, dtype=torch.float64) + 0.5
    for kw in ({}, {"weight": w}, {"weight": w, "label_smoothing": 0.1}):
        assert_close(focal_loss(z, t, **kw), focal_loss(z[keep], t[keep], **kw))
    zz = z.clone().requires_grad_(True)
    allign = torch.full_like(t, -100)
    for smoothing in (0.0, 0.1):
        assert torch.isnan(focal_loss(zz, allign, label_smoothing=smoothing))
        assert torch.isnan(F.cross_entropy(zz, allign, label_smoothing=smoothing))
        out = focal_loss(zz, allign, weight=w, label_smoothing=smoothing, all_ignored="zero")
        out.backward()
        assert out.item() == 0.0 and (zz.grad == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("gamma", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
@pytest.mark.parametrize("fn", [focal_loss, poly1_focal_loss])
def test_softmax_family_extreme_logits_finite(dtype, gamma, kind, fn):
    z = torch.tensor(
        [[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0], [50.0, -50.0, 0.0], [0.0, 0.0, 0.0]], dtype=dtype
    ).requires_grad_(True)
    t = torch.tensor([0, 0, 0, 2])
    kw = {"gamma": gamma}
    if kind == "smoothing":
        kw["label_smoothing"] = 0.1
    if kind == "probs":
        t = F.one_hot(t, 3).to(dtype) * 0.8 + 0.2 / 3
    out = fn(z, t, reduction="none", **kw)
    (out * torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=dtype)).sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(z.grad).all()
    if kind == "index" and fn is focal_loss:
        assert out[0].item() == 0.0 and out[1].float().item() == pytest.approx(2e4, rel=1e-2)


@pytest.mark.parametrize("kind", ["index", "smoothing"])
def test_focal_small_gamma_near_saturation_matches_float64(kind):
    # in fp32 p_t rounds to 1 for the first rows; (1 - p)^0.3 log p still has the right gradient
    z = torch.tensor([[25.0, 0.0, -3.0], [0.0, 30.0, 1.0], [2.0, 1.0, 0.5]])
    t = torch.tensor([0, 1, 2])
    kw = {"gamma": 0.3, "label_smoothing": 0.1 if kind == "smoothing" else 0.0}
    check_against(
        focal_loss,
        ref_softmax_focal,
        z,
        t,
        grad=[True, False],
        ref_dtype=torch.float64,
        reduction="none",
        tol=dict(rtol=1e-4, atol=1e-10),
        **kw,
    )


@pytest.mark.parametrize("dtype", HALF)
def test_focal_half_vs_float64(dtype):
    z, t = _multiclass((16, 5, 3), ignore=-100)
    kw = dict(alpha=torch.rand(5).to(dtype), gamma=2.0, weight=torch.rand(5).to(dtype) + 0.5, label_smoothing=0.1)
    out = check_against(
        focal_loss, ref_softmax_focal, z.to(dtype), t, grad=[True, False], ref_dtype=torch.float64, **kw
    )[0]
    assert out.dtype == dtype


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_softmax_family_gradcheck(gamma):
    z, t = _multiclass((3, 4, 2), ignore=-100)
    t[0, 0] = 1
    z.requires_grad_(True)
    w = torch.rand(4, dtype=torch.float64) + 0.5
    a = torch.rand(4, dtype=torch.float64)
    q = torch.softmax(torch.randn(3, 4, 2, dtype=torch.float64), 1)
    assert torch.autograd.gradcheck(
        lambda z: focal_loss(z, t, alpha=a, gamma=gamma, weight=w, label_smoothing=0.1), (z,)
    )
    assert torch.autograd.gradcheck(lambda z: poly1_focal_loss(z, q, gamma=gamma, weight=w, reduction="none"), (z,))
    assert torch.autograd.gradcheck(lambda z: poly1_cross_entropy(z, t, epsilon=-1.0, weight=w), (z,))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_focal_compiles_fullgraph(smoothing):
    z, t = _multiclass((4, 3, 2), dtype=torch.float32, ignore=-100)
    kw = dict(gamma=0.5, label_smoothing=smoothing, all_ignored="zero", weight=torch.ones(3))
    fn = torch.compile(lambda z, t: focal_loss(z, t, **kw), fullgraph=True, backend="eager")
    assert_close(fn(z, t), focal_loss(z, t, **kw))


def test_sigmoid_focal_gamma0_is_losskit_bce():
    bce = getattr(losskit.functional, "binary_cross_entropy_with_logits", None)
    if bce is None:
        pytest.skip("losskit.functional.binary_cross_entropy_with_logits not present")
    z, y = _binary((5, 3), soft=True)
    pw = torch.rand(3, dtype=torch.float64) + 0.5
    try:
        ref = bce(z, y, pos_weight=pw, label_smoothing=0.2)
    except TypeError:
        pytest.skip("binary_cross_entropy_with_logits has no label_smoothing")
    assert_close(sigmoid_focal_loss(z, y, gamma=0.0, pos_weight=pw, label_smoothing=0.2), ref)


@pytest.mark.parametrize("fn", [focal_loss, poly1_focal_loss, poly1_cross_entropy])
def test_softmax_family_errors(fn):
    z, t = _multiclass((4, 3))
    focal = fn is not poly1_cross_entropy
    if focal:
        assert_refuses(lambda: fn(z, t, alpha=-0.1), match=r"alpha must be in \[0, 1\], got -0.1")
        assert_refuses(lambda: fn(z, t, alpha=torch.ones(4)), match=r"alpha must be a 1-D tensor with one entry per")
        assert_refuses(
            lambda: fn(z, t, alpha=-torch.ones(3, dtype=torch.float64)), match=r"alpha has 3 entries below 0"
        )
        assert_refuses(lambda: fn(z, t, gamma=-0.5), match=r"gamma must be in \[0, inf\], got -0.5")
    else:
        assert_refuses(lambda: fn(z, t, epsilon=float("nan")), match="epsilon must be finite")
    assert_refuses(
        lambda: fn(z, t, label_smoothing=1.5),
        match=r"label_smoothing must be in \[0, 1\)",
        torch_call=lambda: F.cross_entropy(z, t, label_smoothing=1.5),
    )
    assert_refuses(
        lambda: fn(z, t, weight=torch.ones(4, dtype=torch.float64)),
        match=r"weight must be a 1-D tensor with one entry per class \(3 classes\), got shape \(4,\)",
        torch_call=lambda: F.cross_entropy(z, t, weight=torch.ones(4, dtype=torch.float64)),
    )
    assert_refuses(
        lambda: fn(z, torch.tensor([0, 1, 3, 0])),
        match="class index 3 outside",
        torch_call=lambda: F.cross_entropy(z, torch.tensor([0, 1, 3, 0])),
    )
    assert_refuses(
        lambda: fn(z, t[:3]),
        match=r"target has shape \(3,\) but logits has shape \(4, 3\); class indices are an integer tensor of shape \(4,\)",
        torch_call=lambda: F.cross_entropy(z, t[:3]),
    )
    assert_refuses(
        lambda: fn(z, torch.rand(4, 2, dtype=torch.float64)),
        match=r"class probabilities a floating tensor with the shape of logits \(4, 3\)",
        torch_call=lambda: F.cross_entropy(z, torch.rand(4, 2, dtype=torch.float64)),
    )
    assert_refuses(lambda: fn(z, t, reduction="avg"), match="reduction")
    assert_refuses(lambda: fn(z, t, ignore_index=1.5), match="ignore_index must be an int")
    assert_refuses(lambda: fn(z, -torch.rand(4, 3, dtype=torch.float64)), match=r"target has values outside \[0, 1\]")


def test_kernel_is_offered_the_normalised_inputs_and_the_formula_serves_when_it_declines(monkeypatch):
    from losskit.kernels import _dispatch

    calls = []

    def supports(b, **options):
        calls.append((b, options))
        return False

    monkeypatch.setitem(
        _dispatch._REGISTERED,
        "sigmoid_focal_rows",
        _dispatch.Kernel("sigmoid_focal_rows", lambda *a, **k: None, supports),
    )
    z, y = _binary((3, 2))
    with _dispatch.impl("triton"):
        out = sigmoid_focal_loss(z, y, alpha=0.25)
    assert calls and calls[0][1] == {"alpha": 0.25, "gamma": 2.0, "reduction": "mean"}
    assert calls[0][0].logits is z
    assert_close(out, ref_sigmoid_focal(z, y, alpha=0.25))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_sample_weight_scales_items_and_joins_the_mean(reduction):
    from reference import keras_categorical_focal_crossentropy

    g = torch.Generator().manual_seed(11)
    z = torch.randn(8, 4, dtype=torch.float64, generator=g)
    t = torch.randint(0, 4, (8,), generator=g)
    s = torch.rand(8, dtype=torch.float64, generator=g) * 2
    # Keras's CategoricalFocalCrossentropy(alpha=0.25, gamma=2) with sample_weight: sum_n s_n l_n / N
    check_against(
        lambda z: focal_loss(z, t, alpha=0.25, sample_weight=s, reduction="sum") / 8,
        lambda z: keras_categorical_focal_crossentropy(z, t, sample_weight=s),
        z,
    )
    w = torch.rand(4, dtype=torch.float64, generator=g) + 0.5
    ref = ref_softmax_focal(z, t, gamma=1.5, weight=w, reduction="none") * s
    expected = {"none": ref, "sum": ref.sum(), "mean": ref.sum() / (s * w[t]).sum()}[reduction]
    assert_close(focal_loss(z, t, gamma=1.5, weight=w, sample_weight=s, reduction=reduction), expected)
    assert_refuses(lambda: focal_loss(z, t, sample_weight=-s), match="sample_weight has .* below 0")
    assert_refuses(lambda: focal_loss(z, t, sample_weight=s[:3]), match="sample_weight with shape")


# ----------------------------------------------------------------------------------------------
# single-label asymmetric loss (timm's AsymmetricLossSingleLabel)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gp,gn,eps", [(1.0, 4.0, 0.1), (0.0, 4.0, 0.0), (0.5, 2.0, 0.2), (2.0, 0.0, 0.1)])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_asymmetric_single_label_matches_timm(gp, gn, eps, reduction):
    from losskit.functional import asymmetric_single_label_loss
    from reference import timm_asymmetric_single_label

    z, t = _multiclass((7, 5))
    check_against(
        lambda z: asymmetric_single_label_loss(
            z, t, gamma_pos=gp, gamma_neg=gn, label_smoothing=eps, reduction=reduction
        ),
        lambda z: timm_asymmetric_single_label(z, t, gamma_pos=gp, gamma_neg=gn, eps=eps, reduction=reduction),
        z,
    )


def test_asymmetric_single_label_options():
    from losskit.functional import asymmetric_single_label_loss

    z, t = _multiclass((3, 4, 5), ignore=-100)
    w = torch.rand(4, dtype=torch.float64) + 0.5
    assert_close(
        asymmetric_single_label_loss(z, t, gamma_neg=0.0, weight=w, label_smoothing=0.1),
        F.cross_entropy(z, t, weight=w, label_smoothing=0.1),
    )
    keep = t != -100
    rows = asymmetric_single_label_loss(z, t, gamma_pos=1.0, reduction="none")
    assert (rows[~keep] == 0).all()
    assert_close(asymmetric_single_label_loss(z, t, gamma_pos=1.0), rows.sum() / keep.sum())
    zs = torch.tensor([[40.0, 0.0, -3.0], [0.0, 0.0, 0.0]], requires_grad=True)  # p_y rounds to 1 in row 0
    out = asymmetric_single_label_loss(zs, torch.tensor([0, 1]), gamma_pos=0.5, reduction="none")
    (g,) = torch.autograd.grad(out.sum(), zs)
    assert out[0] > 0 and torch.isfinite(g).all()
    assert_refuses(
        lambda: asymmetric_single_label_loss(z, torch.rand(3, 4, 5, dtype=torch.float64)), match="class indices"
    )
    assert_refuses(lambda: asymmetric_single_label_loss(z, t, gamma_neg=-1.0), match=r"gamma_neg must be in \[0, inf\]")


def test_asymmetric_label_smoothing_and_pos_weight():
    z, y = _binary((6, 5))
    pw = torch.rand(5, dtype=torch.float64) * 2 + 0.5
    # with every focusing off, ASL is BCE, also with smoothing and pos_weight
    assert_close(
        asymmetric_loss(z, y, gamma_pos=0.0, gamma_neg=0.0, clip=0.0, label_smoothing=0.2, pos_weight=pw),
        F.binary_cross_entropy_with_logits(z, y * 0.8 + 0.1, pos_weight=pw),
    )
    # smoothing is the expectation of the hard-label losses; pos_weight scales the positive term only
    eps = 0.2
    hard1 = asymmetric_loss(z, torch.ones_like(y), reduction="none", pos_weight=pw)
    hard0 = asymmetric_loss(z, torch.zeros_like(y), reduction="none", pos_weight=pw)
    ys = y * (1 - eps) + eps / 2
    assert_close(
        asymmetric_loss(z, y, label_smoothing=eps, pos_weight=pw, reduction="none"), ys * hard1 + (1 - ys) * hard0
    )
    assert_close(hard1, asymmetric_loss(z, torch.ones_like(y), reduction="none") * pw)


@pytest.mark.parametrize("clip", [0.0, 0.05])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_asymmetric_focusing_gradient_false_treats_the_focusing_weights_as_constants(clip, dtype):
    z, y = _binary((6, 5))
    z = z.to(dtype).requires_grad_()
    y = y.to(dtype)
    gp, gn = 1.5, 3.0
    value = asymmetric_loss(z, y, gamma_pos=gp, gamma_neg=gn, clip=clip, reduction="sum", focusing_gradient=False)
    # the same loss written with the focusing weights computed under no_grad (timm's rule)
    p = torch.sigmoid(z)
    with torch.no_grad():
        w_pos, w_neg = (1 - p) ** gp, (p - clip).clamp_min(0) ** gn
    neg_log = -torch.log1p(clip - p).clamp(max=0.0) if clip else -F.logsigmoid(-z)
    expected = (y * w_pos * -F.logsigmoid(z) + (1 - y) * w_neg * neg_log).sum()
    assert_close(value, expected)
    (g_const,) = torch.autograd.grad(value, z)
    assert_close(g_const, torch.autograd.grad(expected, z)[0])
    full = asymmetric_loss(z, y, gamma_pos=gp, gamma_neg=gn, clip=clip, reduction="sum")
    assert_close(value, full)  # the same number; only the backward differs
    assert not torch.allclose(torch.autograd.grad(full, z)[0], g_const)
    assert_refuses(lambda: asymmetric_loss(z, y, focusing_gradient="no"), match="focusing_gradient")


def test_lower_precision_class_weights_are_widened_not_refused():
    z, t = _multiclass((6, 3))
    w = torch.rand(3, dtype=torch.float64) + 0.5
    assert_close(
        focal_loss(z, t, weight=w.float(), alpha=w.float()),
        focal_loss(z, t, weight=w.float().double(), alpha=w.float().double()),
    )


# ----------------------------------------------------------------------------------------------
# soft targets: the expectation (losskit) or the peers' BCE (1 - p_t)^gamma; smp's options
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1, 1.5), (0.6, 0.5)])
def test_peers_soft_target_form_matches_torchvision_on_soft_targets(reduction, alpha, gamma):
    z, y = _binary((6, 5), soft=True)
    check_against(
        lambda z: sigmoid_focal_loss(
            z, y, alpha=None if alpha < 0 else alpha, gamma=gamma, soft_target="peers", reduction=reduction
        ),
        lambda z: torchvision_sigmoid_focal(z, y, alpha=alpha, gamma=gamma, reduction=reduction),
        z,
    )


def test_expected_and_peers_forms_agree_on_hard_targets_and_differ_on_soft_ones():
    z, y = _binary((40, 5))
    kw = dict(alpha=0.25, gamma=2.0, label_smoothing=0.0, pos_weight=torch.rand(5, dtype=torch.float64) + 0.5)
    assert_close(sigmoid_focal_loss(z, y, soft_target="peers", **kw), sigmoid_focal_loss(z, y, **kw))
    ys = torch.rand(40, 5, dtype=torch.float64)
    expected, peers = sigmoid_focal_loss(z, ys, gamma=2.0), sigmoid_focal_loss(z, ys, gamma=2.0, soft_target="peers")
    assert peers < 0.75 * expected  # the peers' form drops most of a soft target's loss


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "opts",
    [
        dict(),
        dict(reduced_threshold=0.5),
        dict(normalized=True),
        dict(reduced_threshold=0.3, normalized=True, alpha=None),
    ],
)
def test_peers_form_with_smp_options_matches_smp(reduction, opts):
    from reference import smp_focal_loss_with_logits

    z, y = _binary((4, 3, 5))  # smp's pt = exp(-BCE) equals p_t on 0/1 targets
    kw = {"alpha": 0.25, "gamma": 2.0, **opts}
    check_against(
        lambda z: sigmoid_focal_loss(z, y, soft_target="peers", reduction=reduction, **kw),
        lambda z: smp_focal_loss_with_logits(z, y, reduction=reduction, **kw),
        z,
    )


def test_soft_target_options_are_checked():
    z, y = _binary((4, 3))
    assert_refuses(
        lambda: sigmoid_focal_loss(z, y, soft_target="torchvision"), match="soft_target='torchvision' is not valid"
    )
    assert_refuses(lambda: sigmoid_focal_loss(z, y, normalized=True), match="pass soft_target='peers'")
    assert_refuses(
        lambda: sigmoid_focal_loss(z, y, soft_target="peers", reduced_threshold=0.0),
        match=r"reduced_threshold must be in \(0, 1\]",
    )
    zs = torch.tensor([30.0, -30.0, 0.5], dtype=torch.float32, requires_grad=True)
    out = sigmoid_focal_loss(zs, torch.tensor([1.0, 0.0, 1.0]), gamma=0.5, soft_target="peers", reduction="sum")
    (g,) = torch.autograd.grad(out, zs)
    assert torch.isfinite(g).all()


# ----------------------------------------------------------------------------------------------
# focal loss on probabilities
# ----------------------------------------------------------------------------------------------


def test_binary_focal_loss_is_sigmoid_focal_on_probabilities_and_matches_keras():
    from losskit.functional import binary_focal_loss
    from reference import keras_binary_focal_crossentropy

    z, y = _binary((6, 5))
    p = torch.sigmoid(z)
    for kw in (dict(alpha=0.25, gamma=2.0), dict(gamma=0.5, label_smoothing=0.1), dict(alpha=0.6, gamma=0.0)):
        check_against(
            lambda p, kw=kw: binary_focal_loss(p, y, reduction="none", **kw),
            lambda p, kw=kw: sigmoid_focal_loss(torch.logit(p), y, reduction="none", **kw),
            p,
        )
    check_against(
        lambda p: binary_focal_loss(p, y, alpha=0.25, soft_target="peers", label_smoothing=0.1, reduction="none"),
        lambda p: keras_binary_focal_crossentropy(p, y, label_smoothing=0.1),
        p,
    )
    assert_close(binary_focal_loss(p, y, gamma=0.0), F.binary_cross_entropy(p, y))
    edge = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    assert_close(
        binary_focal_loss(edge, torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64), gamma=0.0, reduction="none"),
        F.binary_cross_entropy(edge, torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64), reduction="none"),
    )
    assert_refuses(lambda: binary_focal_loss(z, y), match=r"probs has values outside \[0, 1\].*looks like logits")


@pytest.mark.parametrize("clip", [0.05, 0.0])
@pytest.mark.parametrize("gammas", [(1.0, 4.0), (0.5, 0.0), (0.0, 2.0)])
def test_asymmetric_peers_form_is_timms_on_soft_targets(clip, gammas):
    """soft_target="peers": timm's AsymmetricLossMultiLabel on soft targets (tests/reference.py transcribes
    timm/loss/asymmetric_loss.py), values and gradients; 0/1 targets give the default form's number."""
    import reference as R

    g = torch.Generator().manual_seed(7)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64) * 2
    soft = torch.rand(6, 5, generator=g, dtype=torch.float64)
    gp, gn = gammas
    check_against(
        lambda x: asymmetric_loss(x, soft, gamma_pos=gp, gamma_neg=gn, clip=clip, soft_target="peers", reduction="sum"),
        lambda x: R.timm_asymmetric_loss_multilabel(
            x, soft, gamma_neg=gn, gamma_pos=gp, clip=clip or None, reduction="sum"
        ),
        x,
    )
    hard = (soft > 0.5).double()
    assert_close(
        asymmetric_loss(x, hard, gamma_pos=gp, gamma_neg=gn, clip=clip, soft_target="peers"),
        asymmetric_loss(x, hard, gamma_pos=gp, gamma_neg=gn, clip=clip),
    )


def test_asymmetric_peers_form_ignores_and_refuses_unknown_forms():
    x, t = torch.randn(4, 3, dtype=torch.float64), torch.tensor([[1.0, 0.0, -1.0]] * 4, dtype=torch.float64)
    out = asymmetric_loss(x, t, ignore_index=-1.0, soft_target="peers", reduction="none")
    assert torch.equal(out[:, 2], torch.zeros(4, dtype=torch.float64))
    assert_refuses(lambda: asymmetric_loss(x, t.clamp_min(0), soft_target="timm"), match="soft_target")
