"""cross_entropy and nll_loss against torch.nn.functional: every option, shape, dtype and error."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import losskit
import losskit.functional as LF
import reference
from helpers import TOL, assert_close, assert_refuses, check_against


def _ce_inputs(g, *, n, c, kdims, prob, weighted, ignore_index, ignore_frac, dtype=torch.float64):
    shape = (c,) if n is None else (n, c, *kdims)
    logits = torch.randn(shape, generator=g, dtype=torch.float64).mul(3).to(dtype)
    if prob:
        target = torch.softmax(torch.randn(shape, generator=g, dtype=torch.float64), 0 if n is None else 1).to(dtype)
    else:
        tshape = () if n is None else (n, *kdims)
        target = torch.randint(0, c, tshape, generator=g)
        drop = torch.rand(tshape, generator=g) < ignore_frac
        target = torch.where(drop, torch.full_like(target, ignore_index), target)
    weight = (torch.rand(c, generator=g, dtype=torch.float64) + 0.2).to(dtype) if weighted else None
    return logits, target, weight


@given(
    n=st.one_of(st.none(), st.integers(1, 4)),
    c=st.integers(1, 5),
    kdims=st.lists(st.integers(1, 3), max_size=2),
    prob=st.booleans(),
    weighted=st.booleans(),
    ignore_index=st.sampled_from([-100, 0, 2]),
    ignore_frac=st.sampled_from([0.0, 0.3]),
    label_smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_matches_torch(
    n, c, kdims, prob, weighted, ignore_index, ignore_frac, label_smoothing, reduction, dtype, seed
):
    g = torch.Generator().manual_seed(seed)
    if n is None:
        kdims = []
    logits, target, weight = _ce_inputs(
        g,
        n=n,
        c=c,
        kdims=kdims,
        prob=prob,
        weighted=weighted,
        ignore_index=ignore_index,
        ignore_frac=ignore_frac,
        dtype=dtype,
    )
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    if not prob:
        kw["ignore_index"] = ignore_index
    check_against(LF.cross_entropy, F.cross_entropy, logits, target, weight, grad=[True, prob, False], **kw)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("prob", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_half_precision_vs_float64(dtype, prob, reduction):
    g = torch.Generator().manual_seed(1)
    logits, target, weight = _ce_inputs(
        g, n=6, c=7, kdims=[3], prob=prob, weighted=True, ignore_index=-100, ignore_frac=0.2, dtype=dtype
    )
    kw = dict(reduction=reduction, label_smoothing=0.1)
    out, _ = check_against(
        LF.cross_entropy,
        F.cross_entropy,
        logits,
        target,
        weight,
        grad=[True, False, False],
        ref_dtype=torch.float64,
        **kw,
    )
    assert out.dtype == dtype


def test_cross_entropy_large_half_logits_stay_finite():
    logits = torch.tensor([[30000.0, -30000.0, 0.0]], dtype=torch.float16, requires_grad=True)
    out = LF.cross_entropy(logits, torch.tensor([1]))
    out.backward()
    assert_close(out, torch.tensor(60000.0))
    assert_close(logits.grad, torch.tensor([[1.0, -1.0, 0.0]]))


def test_weight_ignore_smoothing_formula_float64():
    """pytorch#73205 / #104776: the smoothing term is weighted and normalised by sum(w_y) too."""
    g = torch.Generator().manual_seed(3)
    logits, target, weight = _ce_inputs(
        g, n=8, c=5, kdims=[], prob=False, weighted=True, ignore_index=-100, ignore_frac=0.3
    )
    eps, c = 0.2, 5
    logp = torch.log_softmax(logits, 1)
    keep = target != -100
    t = target.clamp_min(0)
    per = (1 - eps) * weight[t] * -logp.gather(1, t[:, None])[:, 0] + eps / c * (weight * -logp).sum(1)
    per = per * keep
    expected = per.sum() / weight[t][keep].sum()
    assert_close(LF.cross_entropy(logits, target, weight, label_smoothing=eps), expected)
    assert_close(LF.cross_entropy(logits, target, weight, label_smoothing=eps, reduction="none"), per)


def test_cross_entropy_gradcheck():
    g = torch.Generator().manual_seed(4)
    logits, target, weight = _ce_inputs(
        g, n=3, c=4, kdims=[2], prob=False, weighted=True, ignore_index=1, ignore_frac=0.3
    )
    logits.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: LF.cross_entropy(x, target, weight, ignore_index=1, label_smoothing=0.3), (logits,)
    )
    logits, probs, _ = _ce_inputs(g, n=3, c=4, kdims=[], prob=True, weighted=False, ignore_index=-100, ignore_frac=0)
    logits.requires_grad_(), probs.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, p: LF.cross_entropy(x, p, weight, label_smoothing=0.1, reduction="none"), (logits, probs)
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_ignored_nan_like_torch_and_zero_option(reduction, weighted):
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    target = torch.full((4,), -100)
    weight = torch.rand(3, dtype=torch.float64) if weighted else None
    ours = LF.cross_entropy(logits, target, weight, reduction=reduction)
    ref = F.cross_entropy(logits, target, weight, reduction=reduction)
    assert_close(ours, ref)  # NaN for mean, like torch
    zero = LF.cross_entropy(logits, target, weight, reduction=reduction, all_ignored="zero")
    assert torch.equal(zero, torch.zeros_like(zero))
    (grad,) = torch.autograd.grad(zero.sum(), logits)
    assert torch.equal(grad, torch.zeros_like(grad))


def test_all_ignored_zero_matches_torch_when_something_counts():
    g = torch.Generator().manual_seed(5)
    logits, target, weight = _ce_inputs(
        g, n=6, c=4, kdims=[2], prob=False, weighted=True, ignore_index=3, ignore_frac=0.5
    )
    target[0, 0] = 1
    check_against(
        lambda *a, **k: LF.cross_entropy(*a, all_ignored="zero", **k),
        F.cross_entropy,
        logits,
        target,
        weight,
        grad=[True, False, False],
        ignore_index=3,
        label_smoothing=0.2,
    )
    check_against(
        lambda *a, **k: LF.nll_loss(*a, all_ignored="zero", **k),
        F.nll_loss,
        torch.log_softmax(logits, 1),
        target,
        weight,
        grad=[True, False, False],
        ignore_index=3,
    )


def test_integer_target_dtypes_and_weight_dtype_are_accepted():
    logits = torch.randn(5, 3)
    target = torch.tensor([0, 1, 2, 1, 0])
    ref = F.cross_entropy(logits, target, torch.tensor([1.0, 2.0, 3.0]))
    for t in (target.int(), target.to(torch.uint8), target.short()):
        assert_close(LF.cross_entropy(logits, t, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)), ref)


def test_legacy_size_average_reduce_like_torch():
    logits, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with pytest.warns(UserWarning, match="deprecated"):
        ours = LF.cross_entropy(logits, target, None, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = F.cross_entropy(logits, target, None, False)
    assert_close(ours, ref)
    with pytest.warns(UserWarning):
        assert LF.cross_entropy(logits, target, reduce=False).shape == (4,)


def test_kernel_primitive_is_offered_the_normalised_inputs(monkeypatch):
    from losskit.kernels import _dispatch

    seen = {}

    def supports(c, **options):
        seen.update(options, inputs=c)
        return True

    def rows(c, *, z_loss, softcap, reduction):
        return torch.full(c.target.shape, 2.0)

    monkeypatch.setitem(
        _dispatch._REGISTERED, "cross_entropy_rows", _dispatch.Kernel("cross_entropy_rows", rows, supports)
    )
    with losskit.impl("triton"):
        out = LF.cross_entropy(
            torch.randn(2, 3), torch.tensor([0, -100]), label_smoothing=0.1, z_loss=1e-3, all_ignored="zero"
        )
    assert seen["reduction"] == "mean" and seen["z_loss"] == 1e-3 and seen["softcap"] is None
    assert seen["inputs"].label_smoothing == 0.1 and seen["inputs"].ignore_index == -100
    assert out.item() == 2.0  # the kernel's rows, reduced by the functional over the one counted row
    with losskit.impl("torch"):  # the PyTorch path never asks
        seen.clear()
        LF.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]))
        assert not seen


def test_kernel_with_an_unknown_option_is_a_type_error(monkeypatch):
    from losskit.kernels import _dispatch

    def rows(c, *, z_loss, softcap):  # does not take ``reduction``
        return torch.zeros(c.target.shape)

    monkeypatch.setitem(
        _dispatch._REGISTERED, "cross_entropy_rows", _dispatch.Kernel("cross_entropy_rows", rows, lambda c, **kw: True)
    )
    with losskit.impl("triton"), pytest.raises(TypeError, match="reduction"):
        LF.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]))


# ---------------------------------------------------------------------------------------------
# z-loss, soft-capping, ignore_index=None, option dtypes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("z_loss, softcap", [(1e-2, None), (0.0, 3.0), (0.5, 2.0)])
@pytest.mark.parametrize("kdims", [(), (3,)])
def test_z_loss_and_softcap_match_the_formula(reduction, z_loss, softcap, kdims):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 4, *kdims, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 4, (5, *kdims), generator=g)
    y.view(-1)[1] = -100
    w = torch.rand(4, generator=g, dtype=torch.float64) + 0.3
    kw = dict(weight=w, label_smoothing=0.25, reduction=reduction)  # (torch rounds ε to float32: 0.25 is exact)
    check_against(
        lambda x: LF.cross_entropy(x, y, z_loss=z_loss, softcap=softcap, **kw),
        lambda x: reference.categorical_nll(x, y, z_loss=z_loss, softcap=softcap, **kw),
        x,
    )


def test_z_loss_and_softcap_off_is_cross_entropy_and_refusals():
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1])
    assert_close(LF.cross_entropy(x, y, z_loss=0.0, softcap=None), F.cross_entropy(x, y))
    assert_refuses(lambda: LF.cross_entropy(x, y, z_loss=-1.0), match=r"z_loss must be in \[0, inf\]")
    assert_refuses(lambda: LF.cross_entropy(x, y, softcap=0.0), match=r"softcap must be in \(0, inf\]")
    assert_refuses(lambda: LF.cross_entropy(x, y, z_loss=torch.tensor(0.1)), match="z_loss must be a Python number")


def test_ignore_index_none_ignores_nothing_and_refuses_minus_100():
    x = torch.randn(4, 3, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 1])
    assert_close(LF.cross_entropy(x, y, ignore_index=None), F.cross_entropy(x, y))
    with pytest.raises(ValueError, match="class index -100 outside"):
        LF.cross_entropy(x, torch.tensor([0, -100, 1, 1]), ignore_index=None)
    with losskit.checks("off"), pytest.raises((IndexError, RuntimeError)):
        # values unchecked: torch's kernel sees an out-of-range index, never an ignored one
        LF.cross_entropy(x, torch.tensor([0, -100, 1, 1]), ignore_index=None)


def test_small_integer_targets_are_class_indices():
    x = torch.randn(5, 4, dtype=torch.float64)
    y = torch.tensor([0, 3, 1, 2, 2])
    for dt in (torch.uint8, torch.int16, torch.int32):
        assert_close(LF.cross_entropy(x, y.to(dt)), F.cross_entropy(x, y))
        assert_close(LF.nll_loss(x.log_softmax(1), y.to(dt)), F.nll_loss(x.log_softmax(1), y))


def test_weight_of_lower_precision_than_the_logits_is_refused_like_torch():
    y = torch.tensor([0, 1, 2, 1])
    for x, w in (
        (torch.randn(4, 3, dtype=torch.float64), torch.rand(3).half()),
        (torch.randn(4, 3), torch.rand(3, dtype=torch.float16)),
    ):
        assert_refuses(
            lambda x=x, w=w: LF.nll_loss(x.log_softmax(1), y, w),
            match="lower precision",
            torch_call=lambda x=x, w=w: F.nll_loss(x.log_softmax(1), y, w),
        )
    # a wider weight is rounded to the logits' dtype (a float32 weight with bfloat16 logits)
    xb, w32 = torch.randn(4, 3).bfloat16(), torch.rand(3)
    assert_close(LF.cross_entropy(xb, y, w32), F.cross_entropy(xb, y, w32.bfloat16()))


def test_negative_class_weight_is_refused():
    assert_refuses(
        lambda: LF.cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]), torch.tensor([1.0, -1.0, 1.0])),
        match=r"weight has 1 entry below 0",
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_class_mask_matches_optax_where_on_probability_targets(reduction):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    mask = torch.rand(6, 5, generator=g) > 0.3
    mask[:, 0] = True
    t = torch.softmax(torch.randn(6, 5, generator=g, dtype=torch.float64), 1) * mask
    t = t / t.sum(1, keepdim=True)
    check_against(
        lambda x: LF.cross_entropy(x, t, class_mask=mask, reduction=reduction),
        lambda x: reference.reduce(reference.softmax_cross_entropy_where(x, t, mask), reduction),
        x,
    )


def test_class_mask_on_class_indices_is_cross_entropy_over_the_kept_classes():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(5, 6, 3, generator=g, dtype=torch.float64)
    keep = torch.tensor([True, False, True, True, False, True])
    y = torch.tensor([0, 2, 3, 5])[torch.randint(0, 4, (5, 3), generator=g)]
    y[0, 0] = -100
    w = torch.rand(6, generator=g, dtype=torch.float64) + 0.5
    kw = dict(weight=w, label_smoothing=0.25, z_loss=0.01)
    for reduction in ("none", "mean"):
        # the kept classes alone, as a 4-class problem
        yk = torch.where(y == -100, y, torch.cumsum(keep.long(), 0)[y.clamp_min(0)] - 1)
        check_against(
            lambda x, reduction=reduction: LF.cross_entropy(x, y, class_mask=keep, reduction=reduction, **kw),
            lambda x, yk=yk, reduction=reduction: reference.categorical_nll(
                x[:, keep], yk, reduction=reduction, **{**kw, "weight": w[keep]}
            ),
            x,
        )
    assert_refuses(
        lambda: LF.cross_entropy(x, y, class_mask=keep & (torch.arange(6) != 3)), match="target class 3 is masked out"
    )
    assert_refuses(lambda: LF.cross_entropy(x, y, class_mask=keep.float()), match="must be a bool tensor")
    assert_refuses(lambda: LF.cross_entropy(x, y, class_mask=keep[:4]), match="one entry per class")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("prob", [False, True])
def test_sample_weight_scales_items_and_the_mean(reduction, prob):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(6, 4, 2, generator=g, dtype=torch.float64)
    y = torch.softmax(x.clone() * 0.3, 1) if prob else torch.randint(0, 4, (6, 2), generator=g)
    if not prob:
        y[1, 0] = -100
    s = torch.rand(6, 2, generator=g, dtype=torch.float64)
    w = torch.rand(4, generator=g, dtype=torch.float64) + 0.5

    def ref(x):
        rows = F.cross_entropy(x, y, w, reduction="none", label_smoothing=0.1) * s
        den = s.sum() if prob else (w[y.clamp_min(0)] * s * (y != -100)).sum()
        return reference.reduce(rows, reduction, den)

    check_against(
        lambda x: LF.cross_entropy(x, y, w, label_smoothing=0.1, sample_weight=s, reduction=reduction), ref, x
    )
    if not prob:  # nll_loss takes the same weights
        check_against(
            lambda x: LF.nll_loss(x.log_softmax(1), y, w, sample_weight=s, reduction=reduction),
            lambda x: reference.reduce(
                F.nll_loss(x.log_softmax(1), y, w, reduction="none") * s,
                reduction,
                (w[y.clamp_min(0)] * s * (y != -100)).sum(),
            ),
            x,
        )
    assert_refuses(lambda: LF.cross_entropy(x, y, sample_weight=-s), match="sample_weight has .* below 0")
    assert_refuses(lambda: LF.cross_entropy(x, y, sample_weight=s[:, :1].repeat(1, 3)), match="does not broadcast")


def test_linear_cross_entropy_sample_weight_matches_cross_entropy():
    x, w, _b, y = _lce_inputs()
    s = torch.rand(7, dtype=torch.float64)
    for reduction in ("none", "mean", "sum"):
        check_against(
            lambda x, w, reduction=reduction: LF.linear_cross_entropy(
                x, w, y, sample_weight=s, chunk_size=3, reduction=reduction
            ),
            lambda x, w, reduction=reduction: LF.cross_entropy(x @ w.T, y, sample_weight=s, reduction=reduction),
            x,
            w,
        )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("q", [0.1, 0.7, 1.0])
def test_generalized_cross_entropy_matches_the_paper(q, reduction):
    g = torch.Generator().manual_seed(6)
    x = torch.randn(6, 5, 2, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, 5, (6, 2), generator=g)
    y[0, 1] = -100
    w = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    check_against(
        lambda x: LF.generalized_cross_entropy(x, y, q=q, weight=w, reduction=reduction),
        lambda x: reference.generalized_cross_entropy(x, y, q=q, weight=w, reduction=reduction),
        x,
    )


def test_generalized_cross_entropy_limits_and_soft_targets():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(8, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (8,), generator=g)
    assert_close(LF.generalized_cross_entropy(x, y, q=1e-7), F.cross_entropy(x, y), tol=dict(rtol=1e-5, atol=1e-6))
    assert_close(LF.generalized_cross_entropy(x, y, q=1.0), (1 - torch.softmax(x, 1).gather(1, y[:, None])).mean())
    # label smoothing is the expectation over the smoothed target, as probability targets give
    t = F.one_hot(y, 4).double() * 0.8 + 0.05
    assert_close(
        LF.generalized_cross_entropy(x, y, q=0.5, label_smoothing=0.2), LF.generalized_cross_entropy(x, t, q=0.5)
    )
    assert_refuses(lambda: LF.generalized_cross_entropy(x, y, q=0.0), match=r"q must be in \(0, 1\]")
    assert_refuses(lambda: LF.generalized_cross_entropy(x, y, q=1.5), match=r"q must be in \(0, 1\]")


def test_softmax_outputs_passed_as_logits_warn():
    z = torch.randn(6, 4, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    with pytest.warns(UserWarning, match="softmax applied twice"):
        LF.cross_entropy(torch.softmax(z, 1), y)
    with pytest.warns(UserWarning, match="softmax applied twice"):  # no graph: the rows sum to 1
        LF.cross_entropy(torch.softmax(z, 1).detach(), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.cross_entropy(z, y)
        LF.cross_entropy(torch.zeros(6, 4), y)  # a zero-initialised head
        LF.cross_entropy(torch.rand(6, 4), y)  # values in [0, 1] that are not probabilities


# ---------------------------------------------------------------------------------------------
# linear + cross-entropy: the guarantees of the chunked path
# ---------------------------------------------------------------------------------------------


def _lce_inputs(seed=0, n=7, h=5, c=11, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, h, generator=g, dtype=dtype, requires_grad=True)
    w = torch.randn(c, h, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(c, generator=g, dtype=dtype, requires_grad=True)
    y = torch.randint(0, c, (n,), generator=g)
    y[2] = -100
    return x, w, b, y


def _lce_ref(x, w, y, b=None, **kw):
    return F.cross_entropy(F.linear(x, w, b), y, **kw)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_linear_cross_entropy_second_order_gradients(reduction):
    x, w, b, y = _lce_inputs(n=4, h=3, c=5)
    torch.autograd.gradgradcheck(
        lambda x, w, b: LF.linear_cross_entropy(
            x, w, y, linear_bias=b, reduction=reduction, chunk_size=3, label_smoothing=0.1
        ),
        (x, w, b),
    )


def test_linear_cross_entropy_gradient_penalty_matches_the_unfused_one():
    x, w, _b, y = _lce_inputs()

    def penalty(loss_fn):
        xx, ww = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
        (gx,) = torch.autograd.grad(loss_fn(xx, ww), xx, create_graph=True)
        gx.square().sum().backward()
        return ww.grad

    assert_close(
        penalty(lambda x, w: LF.linear_cross_entropy(x, w, y, chunk_size=2)), penalty(lambda x, w: _lce_ref(x, w, y))
    )


def test_linear_cross_entropy_under_torch_func():
    x, w, _b, y = _lce_inputs()
    y = y.clamp_min(0)
    gx = torch.func.grad(lambda x: LF.linear_cross_entropy(x, w.detach(), y))(x.detach())
    assert_close(gx, torch.func.grad(lambda x: _lce_ref(x, w.detach(), y))(x.detach()))
    per_sample = torch.func.vmap(
        torch.func.grad(lambda w, xi, yi: LF.linear_cross_entropy(xi, w, yi)), in_dims=(None, 0, 0)
    )(w.detach(), x.detach(), y)
    loop = torch.stack([torch.func.grad(lambda w, i=i: _lce_ref(x.detach()[i], w, y[i]))(w.detach()) for i in range(7)])
    assert_close(per_sample, loop)


def test_linear_cross_entropy_probability_targets_with_gradient():
    x, w, _b, _ = _lce_inputs()
    t = torch.softmax(torch.randn(7, 11, dtype=torch.float64), 1).requires_grad_()
    check_against(lambda x, w, t: LF.linear_cross_entropy(x, w, t, chunk_size=3), _lce_ref, x, w, t)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("target_kind", ["indices", "probabilities"])
def test_linear_cross_entropy_z_loss_and_softcap_match_cross_entropy(reduction, target_kind):
    x, w, b, y = _lce_inputs()
    if target_kind == "probabilities":
        y = torch.softmax(torch.randn(7, 11, dtype=torch.float64), 1)
    cw = torch.rand(11, dtype=torch.float64) + 0.5
    kw = dict(weight=cw, label_smoothing=0.25, z_loss=0.05, softcap=4.0, reduction=reduction)
    check_against(
        lambda x, w, b: LF.linear_cross_entropy(x, w, y, linear_bias=b, chunk_size=3, **kw),
        lambda x, w, b: LF.cross_entropy(F.linear(x, w, b), y, **kw),
        x,
        w,
        b,
    )


def test_linear_cross_entropy_small_integer_labels():
    x, w, _b, y = _lce_inputs()
    y = y.clamp_min(0)
    for dt in (torch.uint8, torch.int16, torch.int32):
        assert_close(LF.linear_cross_entropy(x, w, y.to(dt), chunk_size=3), _lce_ref(x, w, y))


def test_linear_cross_entropy_autocast_bf16_input_with_float32_weight():
    x, w, _b, y = _lce_inputs(dtype=torch.float32)
    xb = x.detach().bfloat16().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = LF.linear_cross_entropy(xb, w, y, chunk_size=3)
        ref = F.linear_cross_entropy(xb, w, y) if hasattr(F, "linear_cross_entropy") else _lce_ref(xb, w, y)
    assert ours.dtype == ref.dtype
    assert_close(ours, ref, tol=TOL[torch.bfloat16])
    with pytest.raises(TypeError, match="same dtype"):  # outside autocast torch refuses it too
        LF.linear_cross_entropy(xb, w, y)


def test_linear_cross_entropy_ignore_index_none_ignores_nothing():
    x, w, _b, y = _lce_inputs()
    with pytest.raises(ValueError, match="class index -100 outside"):
        LF.linear_cross_entropy(x, w, y, ignore_index=None)
    yy = y.clamp_min(0)
    assert_close(LF.linear_cross_entropy(x, w, yy, ignore_index=None), _lce_ref(x, w, yy))


def test_linear_cross_entropy_compiles_once_for_every_batch_size():
    import torch._dynamo.testing

    _, w, _, _ = _lce_inputs()
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounter()
    fn = torch.compile(
        lambda x, y: LF.linear_cross_entropy(x, w, y, chunk_size=4), backend=counter, dynamic=True, fullgraph=True
    )
    for n in (6, 9, 13):  # (not 5: the feature size, which duck sizing would tie the batch to)
        x = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
        y = torch.randint(0, 11, (n,))
        out = fn(x, y)
        assert_close(out, _lce_ref(x, w, y))
        out.backward()
    assert counter.frame_count == 1
    torch._dynamo.reset()


# ---------------------------------------------------------------------------------------------
# refusals: ours (ValueError / TypeError naming argument, value, fix) and torch's
# ---------------------------------------------------------------------------------------------

X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((X, Y.float()), {}, r"shape of class indices \(4,\) but dtype torch.float32.*target.long\(\)"),
        (
            (X, torch.zeros(4, 3, dtype=torch.long)),
            {},
            r"shape of logits \(4, 3\).*class-probability.*target.float\(\)",
        ),
        ((X, torch.tensor([0, 1, 3, 1])), {}, r"class index 3 outside \[0, 2\].*3 classes"),
        ((X, torch.tensor([0, -2, 1, 1])), {}, r"class index -2"),
        ((X, torch.zeros(5, dtype=torch.long)), {}, r"target has shape \(5,\) but logits has shape \(4, 3\)"),
        ((torch.randn(2, 3, 4), torch.zeros(2, 5, dtype=torch.long)), {}, r"\(2, 5\).*\(2, 3, 4\).*\(2, 4\)"),
        ((X, Y), {"weight": torch.ones(4)}, r"weight.*3 classes.*\(4,\)"),
        ((X, Y), {"weight": torch.ones(1, 3)}, r"weight.*\(1, 3\)"),
        ((X, Y), {"weight": torch.ones(3, dtype=torch.long)}, r"weight must be a floating"),
        ((X, Y), {"reduction": "avg"}, r"reduction"),
        ((X, Y), {"label_smoothing": 1.5}, r"label_smoothing must be in \[0, 1\], got 1.5"),
        ((X, torch.softmax(X, 1)), {"ignore_index": 1}, r"ignore_index=1 applies to class-index targets"),
        ((torch.randn(()), torch.tensor(0)), {}, r"class dimension"),
        ((Y.view(4, 1).expand(4, 3).contiguous(), Y), {}, r"logits must be a floating"),
    ],
)
def test_cross_entropy_refuses_what_torch_refuses(args, kwargs, match):
    assert_refuses(
        lambda: LF.cross_entropy(*args, **kwargs), match=match, torch_call=lambda: F.cross_entropy(*args, **kwargs)
    )


def test_cross_entropy_stricter_than_torch():
    # torch silently ignores a negative smoothing; a typo deserves an error
    assert_refuses(lambda: LF.cross_entropy(X, Y, label_smoothing=-0.1), match="label_smoothing")
    assert_refuses(lambda: LF.cross_entropy(X, Y, all_ignored="skip"), match="all_ignored")


def test_nan_refused_in_full_check_mode_only():
    x = X.clone()
    x[1, 2] = float("nan")
    assert torch.isnan(LF.cross_entropy(x, Y))
    with losskit.checks("full"):
        assert_refuses(lambda: LF.cross_entropy(x, Y), match=r"logits has 1 non-finite value.*index \(1, 2\)")
        assert_refuses(lambda: LF.nll_loss(x, Y), match=r"log_probs has 1 non-finite")


def test_checks_off_skips_value_checks():
    with losskit.checks("off"):
        with pytest.raises(IndexError):  # torch's own bounds check still fires on CPU
            LF.cross_entropy(X, torch.tensor([0, 1, 3, 1]))


# ---------------------------------------------------------------------------------------------
# nll_loss
# ---------------------------------------------------------------------------------------------


@given(
    n=st.one_of(st.none(), st.integers(1, 4)),
    c=st.integers(1, 5),
    kdims=st.lists(st.integers(1, 3), max_size=2),
    weighted=st.booleans(),
    ignore_index=st.sampled_from([-100, 1]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_nll_loss_matches_torch(n, c, kdims, weighted, ignore_index, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    if n is None:
        kdims = []
    logits, target, weight = _ce_inputs(
        g, n=n, c=c, kdims=kdims, prob=False, weighted=weighted, ignore_index=ignore_index, ignore_frac=0.3, dtype=dtype
    )
    log_probs = torch.log_softmax(logits, 0 if n is None else 1)
    check_against(
        LF.nll_loss,
        F.nll_loss,
        log_probs,
        target,
        weight,
        grad=[True, False, False],
        ignore_index=ignore_index,
        reduction=reduction,
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_nll_loss_half_vs_float64(dtype):
    g = torch.Generator().manual_seed(2)
    logits, target, weight = _ce_inputs(
        g, n=5, c=4, kdims=[2], prob=False, weighted=True, ignore_index=-100, ignore_frac=0.2
    )
    log_probs = torch.log_softmax(logits, 1).to(dtype)
    check_against(
        LF.nll_loss, F.nll_loss, log_probs, target, weight.to(dtype), grad=[True, False, False], ref_dtype=torch.float64
    )


def test_nll_loss_gradcheck_and_all_ignored():
    log_probs = torch.log_softmax(torch.randn(4, 3, dtype=torch.float64), 1).requires_grad_()
    target = torch.tensor([0, -100, 2, 1])
    w = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: LF.nll_loss(x, target, w), (log_probs,))
    out = LF.nll_loss(log_probs, torch.full((4,), -100), w, all_ignored="zero")
    assert out.item() == 0.0
    assert torch.isnan(LF.nll_loss(log_probs, torch.full((4,), -100), w))


def test_nll_loss_warns_on_non_log_probs():
    with pytest.warns(UserWarning, match="log-probabilities.*log_softmax"):
        LF.nll_loss(torch.randn(4, 3), Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.nll_loss(torch.log_softmax(torch.randn(4, 3), 1), Y)


@pytest.mark.parametrize(
    "args, match",
    [
        ((torch.log_softmax(X, 1), torch.softmax(X, 1)), r"target has shape \(4, 3\).*class indices"),
        ((torch.log_softmax(X, 1), Y.float()), r"dtype torch.float32.*cross_entropy with probability targets"),
        ((torch.log_softmax(X, 1), torch.tensor([0, 1, 5, 1])), r"class index 5"),
        ((torch.randn(()), torch.tensor(1)), r"class dimension"),
    ],
)
def test_nll_loss_refuses_what_torch_refuses(args, match):
    assert_refuses(lambda: LF.nll_loss(*args), match=match, torch_call=lambda: F.nll_loss(*args))


def test_legacy_size_average_traces_under_fullgraph_compile():
    # the deprecation warning of size_average/reduce used to break torch.compile(fullgraph=True)
    fn = lambda x, y: LF.cross_entropy(x, y, None, False)
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    assert_close(compiled(x, y), F.cross_entropy(x, y, reduction="sum"))
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        fn(x, y)  # eager still warns


@pytest.mark.parametrize(
    "fn, inp",
    [
        (LF.cross_entropy, lambda x: x),
        (LF.nll_loss, lambda x: torch.log_softmax(x, 1)),
    ],
)
def test_ignore_index_none_means_no_ignored_label(fn, inp):
    # ignore_index=None used to crash inside torch ("must be int, not NoneType")
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1])
    assert_close(fn(inp(x), y, ignore_index=None), fn(inp(x), y))
    with pytest.raises(ValueError, match="class index -100 outside"):
        fn(inp(x), torch.tensor([0, -100, 1, 1]), ignore_index=None)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        fn(inp(x), y, ignore_index=1.5)


def test_linear_cross_entropy_k_dim_honours_all_ignored():
    # the (C, d1, H) weight path called torch's cross_entropy and silently dropped all_ignored
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, generator=g, requires_grad=True)
    w = torch.randn(3, 2, 4, generator=g)
    y = torch.full((5, 2), -100)
    out = LF.linear_cross_entropy(x, w, y, all_ignored="zero")
    assert out.item() == 0.0
    out.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert LF.linear_cross_entropy(x, w, y).isnan()  # torch's 0/0 by default
    y[0, 0] = 7
    with pytest.raises(ValueError, match="class index 7 outside"):
        LF.linear_cross_entropy(x, w, y)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy", "multi_margin_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("bad", [3, -2, 7])
def test_out_of_range_index_gets_losskits_message_on_every_path(name, reduction, weighted, bad):
    """Where torch's CPU kernel refuses an out-of-range index itself (the fused nll_loss / multi_margin_loss
    calls), losskit leaves the range read to it and turns its error into losskit's message: the same
    ValueError as on the paths that read the range first, with an ignored label present or not."""
    kwargs = {"reduction": reduction, **({"weight": torch.ones(3)} if weighted else {})}
    fn = getattr(LF, name)
    for target in (torch.tensor([0, bad, 1, 2]), torch.tensor([[0, bad], [1, 2]])):
        x = torch.randn(4, 3) if target.dim() == 1 else torch.randn(2, 3, 2)
        if name == "multi_margin_loss" and x.dim() > 2:
            continue
        if name != "multi_margin_loss":
            x = torch.log_softmax(x, 1) if name == "nll_loss" else x
            with_ignored = target.clone()
            with_ignored.view(-1)[0] = -100
            assert_refuses(lambda t=with_ignored, x=x: fn(x, t, **kwargs), match=rf"class index {bad} outside \[0, 2\]")
        assert_refuses(
            lambda t=target, x=x: fn(x, t, **kwargs),
            match=rf"class index {bad} outside \[0, 2\] for input with 3 classes",
            torch_call=lambda t=target, x=x: getattr(F, name)(x, t, **kwargs),
        )


def test_a_torch_error_other_than_the_range_passes_through_unchanged():
    """Only an out-of-range index becomes losskit's message: another error of torch's kernel, with
    indices in range, is raised as torch raised it."""
    from losskit import _checks

    c = _checks.class_inputs("nll_loss", X, Y, probs_allowed=False, link=None, range_by_torch=True)
    assert c.range_deferred

    def failing(*args, **kwargs):
        raise RuntimeError("some other failure")

    with pytest.raises(RuntimeError, match="some other failure"):
        _checks.torch_range_checked(c, failing)
    with losskit.checks("off"):  # nothing read: torch's own error
        assert not _checks.class_inputs("nll_loss", X, Y, link=None, range_by_torch=True).range_deferred
        with pytest.raises(IndexError, match="out of bounds"):
            LF.nll_loss(X, torch.tensor([0, 1, 3, 1]))


def _nll_outcome(call):
    """(value, gradient, warnings, error) of ``call()`` on a fresh leaf, for comparing two paths."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            out, x = call()
        except Exception as err:  # (the error itself is compared)
            return None, None, [str(w.message) for w in seen], (type(err), str(err))
        grad = torch.autograd.grad(out, x)[0] if x.requires_grad and out.requires_grad else None
    return out.detach(), grad, [str(w.message) for w in seen], None


_PLAIN_NLL_CASES = {
    "log-probabilities": lambda g: torch.log_softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1),
    "logits": lambda g: torch.randn(6, 4, generator=g, dtype=torch.float64) * 3,
    "probabilities": lambda g: torch.softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1),
    "nan": lambda g: torch.log_softmax(torch.randn(6, 4, generator=g, dtype=torch.float64), 1).index_fill(
        1, torch.tensor([2]), math.nan
    ),
    "float32": lambda g: torch.log_softmax(torch.randn(6, 4, generator=g), 1),
    "one class": lambda g: torch.zeros(6, 1, dtype=torch.float64),
    "one row": lambda g: torch.log_softmax(torch.randn(1, 4, generator=g, dtype=torch.float64), 1),
}
_PLAIN_NLL_TARGETS = {
    "in range": lambda n, c: torch.arange(n) % c,
    "some ignored": lambda n, c: torch.where(torch.arange(n) % 2 == 0, -100, torch.arange(n) % c),
    "all ignored": lambda n, c: torch.full((n,), -100),
    "index = C": lambda n, c: torch.full((n,), c),
    "negative": lambda n, c: torch.full((n,), -1),
    "ignore_index 0 present": lambda n, c: torch.zeros(n, dtype=torch.long),
}


@pytest.mark.parametrize("case", list(_PLAIN_NLL_CASES))
@pytest.mark.parametrize("tcase", list(_PLAIN_NLL_TARGETS))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore_index", [-100, 0])
@pytest.mark.parametrize("level", ["auto", "off"])
@pytest.mark.parametrize("leaf", [True, False])
def test_nll_loss_plain_call_agrees_with_the_general_path(
    monkeypatch, case, tcase, reduction, ignore_index, level, leaf
):
    # nll_loss's commonest call ((N, C) float, (N,) int64, no weight, CPU) skips class_inputs; with the
    # short path turned off, the general one must give the same value, gradient, warnings and errors
    from losskit import _checks

    def call():
        base = _PLAIN_NLL_CASES[case](torch.Generator().manual_seed(0)).requires_grad_()
        x = base if leaf else base * 1.0  # a leaf, or the output of an op (neither shows a log_softmax)
        y = _PLAIN_NLL_TARGETS[tcase](*x.shape)
        with losskit.checks(level):
            return LF.nll_loss(x, y, ignore_index=ignore_index, reduction=reduction), base

    assert _checks.plain_class_indices(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))
    short = _nll_outcome(call)
    _checks._LAST_READ.clear()
    monkeypatch.setattr(_checks, "plain_class_indices", lambda x, t: False)
    general = _nll_outcome(call)
    assert short[3] == general[3]
    assert short[2] == general[2]
    if level == "auto" and case in ("logits", "probabilities") and short[3] is None:
        assert any("expects log-probabilities" in m for m in short[2])  # (the warnings compared are there)
    for a, b in zip(short[:2], general[:2], strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num())
    if short[3] is None:  # and both are torch's numbers
        x = _PLAIN_NLL_CASES[case](torch.Generator().manual_seed(0))
        y = _PLAIN_NLL_TARGETS[tcase](*x.shape)
        ref = F.nll_loss(x, y, ignore_index=ignore_index, reduction=reduction)
        assert torch.equal(short[0].isnan(), ref.isnan()) and torch.equal(short[0].nan_to_num(), ref.nan_to_num())


_PLAIN_NLL_CONTEXTS = {
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
    "autocast bfloat16": lambda: torch.autocast("cpu", dtype=torch.bfloat16),
    "enable_grad": torch.enable_grad,
}


@pytest.mark.parametrize("context", list(_PLAIN_NLL_CONTEXTS))
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided rows", "strided target"])
@pytest.mark.parametrize("case", ["log-probabilities", "logits", "float32"])
def test_nll_loss_plain_call_agrees_with_the_general_path_in_every_context(monkeypatch, context, layout, case):
    # the short path under no_grad, inference_mode and autocast, and on non-contiguous inputs (a
    # transposed (C, N) buffer, every other row of a batch, a strided target): the general path's
    # value, gradient, warnings and errors, and torch's value
    from losskit import _checks

    def inputs():
        x = _PLAIN_NLL_CASES[case](torch.Generator().manual_seed(0))
        y = _PLAIN_NLL_TARGETS["some ignored"](*x.shape)
        if layout == "transposed":
            x = x.T.contiguous().T
        elif layout == "strided rows":
            x = torch.cat([x, x.flip(0)], 1).reshape(12, 4)[::2]
        elif layout == "strided target":
            y = torch.stack([y, y.flip(0)], 1)[:, 0]
        return x, y

    def call():
        base, y = inputs()
        base.requires_grad_(context in ("autocast bfloat16", "enable_grad"))
        with _PLAIN_NLL_CONTEXTS[context]():
            return LF.nll_loss(base, y), base

    x, y = inputs()
    assert _checks.plain_class_indices(x, y)
    short = _nll_outcome(call)
    _checks._LAST_READ.clear()
    monkeypatch.setattr(_checks, "plain_class_indices", lambda x, t: False)
    general = _nll_outcome(call)
    assert short[3] is None and general[3] is None
    assert short[2] == general[2]
    if case == "logits":
        assert any("expects log-probabilities" in m for m in short[2])
    assert torch.equal(short[0], general[0]) and short[0].dtype == general[0].dtype
    assert (short[1] is None) == (general[1] is None)
    if short[1] is not None:
        assert torch.equal(short[1], general[1])
    with _PLAIN_NLL_CONTEXTS[context]():
        ref = F.nll_loss(x, y)
    assert short[0].dtype == ref.dtype and torch.equal(short[0], ref)


@pytest.mark.parametrize(
    "x, y, plain",
    [
        (torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), True),
        (torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, dtype=torch.long), True),
        (torch.zeros(2, 3, dtype=torch.bfloat16), torch.zeros(2, dtype=torch.long), False),  # half: upcast rules
        (torch.zeros(2, 3), torch.zeros(2, dtype=torch.int32), False),  # indices to convert
        (torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), False),  # (N, C, d1)
        (torch.zeros(3), torch.zeros((), dtype=torch.long), False),  # (C,)
        (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), False),  # empty batch
        (torch.zeros(2, 3), torch.zeros(3, dtype=torch.long), False),  # batch sizes differ
        (torch.nn.Parameter(torch.zeros(2, 3)), torch.zeros(2, dtype=torch.long), False),  # a subclass
        (torch.zeros(2, 3, device="meta"), torch.zeros(2, dtype=torch.long, device="meta"), False),
        ([[0.0, 1.0]], torch.zeros(1, dtype=torch.long), False),
    ],
)
def test_plain_class_indices_is_only_the_commonest_call(x, y, plain):
    from losskit import _checks

    assert _checks.plain_class_indices(x, y) is plain
    if plain:
        with losskit.checks("full"):  # full reads more than the short path does
            assert not _checks.plain_class_indices(x, y)
        assert not torch.func.vmap(lambda r: torch.tensor(_checks.plain_class_indices(r[None], y[:1])))(x).any()
