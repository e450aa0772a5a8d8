"""The regression losses against torch.nn.functional: values and gradients (non-unit upstream) for
every option, broadcasting, half precision and autocast, double backward, compile, and every refusal;
mse/l1/huber/smooth_l1 first, then gaussian_nll (every var shape torch accepts) and poisson_nll."""

import inspect
import math
import warnings

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import losskit
from helpers import assert_close, assert_refuses, check_against
from losskit import functional as LF

NAMES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]
# options per loss (beyond reduction), each combination tested
OPTIONS = {
    "mse_loss": [{}],
    "l1_loss": [{}],
    "smooth_l1_loss": [{"beta": 1.0}, {"beta": 0.3}, {"beta": 0.0}, {"beta": 2}],
    "huber_loss": [{"delta": 1.0}, {"delta": 0.3}, {"delta": 2.5}],
}
CASES = [(n, o) for n in NAMES for o in OPTIONS[n]]
IDS = [f"{n}-{o}" for n, o in CASES]
REDUCTIONS = ["none", "mean", "sum"]
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)


def _pair(shape, dtype, seed, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    x = (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)
    y = (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)
    return x, y


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
@given(
    shape=shapes,
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
    target_grad=st.booleans(),
)
def test_pointwise_losses_match_torch(name, opts, shape, reduction, dtype, seed, target_grad):
    x, y = _pair(shape, dtype, seed)
    grad = [True, target_grad]
    check_against(getattr(LF, name), getattr(TF, name), x, y, grad=grad, reduction=reduction, **opts)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_half_precision_against_float64(name, opts, dtype, reduction):
    x, y = _pair((6, 7), dtype, 3)
    out, _ = check_against(
        getattr(LF, name), getattr(TF, name), x, y, ref_dtype=torch.float64, reduction=reduction, **opts
    )
    assert out.dtype == dtype  # computed in float32, returned in the input's dtype (like torch)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_and_double_backward(name, opts, reduction):
    x, y = _pair((3, 4), torch.float64, 1)
    x.requires_grad_()
    y.requires_grad_()
    f = lambda a, b: getattr(LF, name)(a, b, reduction=reduction, **opts)
    assert torch.autograd.gradcheck(f, (x, y))
    assert torch.autograd.gradgradcheck(f, (x, y))
    # and the second derivative equals torch's
    ours = torch.autograd.grad(f(x, y).sum(), x, create_graph=True)[0]
    ref = torch.autograd.grad(getattr(TF, name)(x, y, reduction=reduction, **opts).sum(), x, create_graph=True)[0]
    g_ours = torch.autograd.grad((ours * ours.detach()).sum(), y)[0]
    g_ref = torch.autograd.grad((ref * ref.detach()).sum(), y)[0]
    assert_close(g_ours, g_ref)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
def test_kinks_match_torch(name, opts):
    """Residuals exactly 0 and exactly at +-delta / +-beta: the gradient torch picks at the kinks."""
    k = opts.get("beta", opts.get("delta", 1.0)) or 1.0
    x = torch.tensor([0.0, k, -k, 2 * k, 1.0, -0.5 * k], dtype=torch.float64)
    y = torch.tensor([0.0, 0.0, 0.0, k, 1.0, 0.0], dtype=torch.float64)
    for reduction in REDUCTIONS:
        check_against(getattr(LF, name), getattr(TF, name), x, y, grad=[True, True], reduction=reduction, **opts)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
@pytest.mark.parametrize("xs,ys", [((4, 3), (3,)), ((3,), (4, 3)), ((4, 1), (1, 5)), ((2, 3), ())])
def test_broadcasting_warns_like_torch(name, opts, xs, ys):
    x = torch.randn(xs, dtype=torch.float64)
    y = torch.randn(ys, dtype=torch.float64)
    with pytest.warns(UserWarning, match="Using a target size"):
        ours = getattr(LF, name)(x, y, reduction="none", **opts)
    with pytest.warns(UserWarning, match="Using a target size"):
        getattr(TF, name)(x, y, reduction="none", **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against(getattr(LF, name), getattr(TF, name), x, y, grad=[True, True], reduction="mean", **opts)
    assert ours.shape == torch.broadcast_shapes(xs, ys)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_per_element_weight(name, reduction):
    """torch 2.13's `weight`: mse/l1 'mean' divides by sum(weight), huber by the element count."""
    x, y = _pair((5, 4), torch.float64, 7)
    w = torch.rand(5, 4, dtype=torch.float64) + 0.1
    check_against(
        lambda a, b, c: getattr(LF, name)(a, b, reduction=reduction, weight=c),
        lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c),
        x,
        y,
        w,
        grad=[True, True, True],
    )


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("size_average,reduce", [(False, None), (True, None), (None, False), (True, True)])
def test_legacy_slots(name, size_average, reduce):
    x, y = _pair((3, 4), torch.float64, 2)
    with pytest.warns(UserWarning, match="deprecated"):
        ours = getattr(LF, name)(x, y, size_average, reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(TF, name)(x, y, size_average, reduce)
    assert_close(ours, ref)


def test_positional_signatures_match_torch():
    for name in NAMES:
        ours = list(inspect.signature(getattr(LF, name)).parameters.values())
        ref = list(inspect.signature(getattr(TF, name)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], name


@pytest.mark.parametrize("name", NAMES)
def test_mixed_dtypes_promote_like_torch(name):
    x = torch.randn(3, 4)
    for y in (torch.randn(3, 4, dtype=torch.float64), torch.randint(0, 3, (3, 4)), torch.randn(3, 4).half()):
        out, ref = getattr(LF, name)(x, y), getattr(TF, name)(x, y)
        assert out.dtype == ref.dtype, (name, y.dtype)
        assert_close(out, ref, tol=dict(rtol=1e-6, atol=1e-6))
    xh = torch.randn(3, 4).half()
    assert getattr(LF, name)(xh, torch.randn(3, 4)).dtype == getattr(TF, name)(xh, torch.randn(3, 4)).dtype


def test_complex_l1_like_torch():
    x = torch.randn(4, 3, dtype=torch.complex128, requires_grad=True)
    y = torch.randn(4, 3, dtype=torch.complex128)
    for reduction in REDUCTIONS:
        out, ref = LF.l1_loss(x, y, reduction=reduction), TF.l1_loss(x, y, reduction=reduction)
        assert out.dtype == ref.dtype == torch.float64
        assert_close(out, ref)
        (g,) = torch.autograd.grad(out.sum(), x)
        (g_ref,) = torch.autograd.grad(ref.sum(), x)
        torch.testing.assert_close(g, g_ref)


def test_empty_input_mean_is_nan_like_torch():
    for name in NAMES:
        x = torch.zeros(0, 3, requires_grad=True)
        out, ref = getattr(LF, name)(x, torch.zeros(0, 3)), getattr(TF, name)(x, torch.zeros(0, 3))
        assert math.isnan(out.item()) and math.isnan(ref.item())
        out.backward()
        assert x.grad.shape == (0, 3)


def test_non_contiguous_inputs():
    x = torch.randn(5, 4, dtype=torch.float64).t()
    y = torch.randn(5, 4, dtype=torch.float64).t()
    for name in NAMES:
        check_against(getattr(LF, name), getattr(TF, name), x, y, grad=[True, True])


def test_compiles_fullgraph():
    x, y = _pair((8, 3), torch.float32, 0)
    x.requires_grad_()
    for name in NAMES:
        f = torch.compile(getattr(LF, name), fullgraph=True, backend="aot_eager")
        out = f(x, y)
        (g,) = torch.autograd.grad(out, x)
        (g_ref,) = torch.autograd.grad(getattr(TF, name)(x, y), x)
        assert_close(out.detach(), getattr(TF, name)(x, y).detach())
        assert_close(g, g_ref)


# --------------------------------------------------------------------------------------------
# refusals: ours raises ValueError/TypeError naming the argument; torch refuses too
# --------------------------------------------------------------------------------------------

X = torch.randn(4, 3)


@pytest.mark.parametrize("name", NAMES)
def test_pointwise_refuses_bad_reduction(name):
    assert_refuses(
        lambda: getattr(LF, name)(X, X, reduction="avg"),
        match="reduction",
        torch_call=lambda: getattr(TF, name)(X, X, reduction="avg"),
    )


@pytest.mark.parametrize("name", NAMES)
def test_refuses_shapes_that_do_not_broadcast(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_refuses(
            lambda: getattr(LF, name)(X, torch.randn(5, 3)),
            match=r"input of shape \(4, 3\) and target of shape \(5, 3\) cannot be broadcast",
            torch_call=lambda: getattr(TF, name)(X, torch.randn(5, 3)),
        )


@pytest.mark.parametrize("name", NAMES)
def test_refuses_integer_input_and_target(name):
    i = torch.ones(4, 3, dtype=torch.long)
    assert_refuses(lambda: getattr(LF, name)(i, i), match="floating-point", torch_call=lambda: getattr(TF, name)(i, i))


@pytest.mark.parametrize("name", NAMES)
def test_refuses_non_tensors(name):
    assert_refuses(
        lambda: getattr(LF, name)([1.0], X),
        match="input must be a torch.Tensor",
        torch_call=lambda: getattr(TF, name)([1.0], X),
    )


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan")])
def test_huber_refuses_non_positive_delta(delta):
    assert_refuses(
        lambda: LF.huber_loss(X, X, delta=delta),
        match=r"delta must be > 0",
        torch_call=(lambda: TF.huber_loss(X, X, delta=delta)) if not math.isnan(delta) else None,
    )


def test_smooth_l1_refuses_negative_beta():
    assert_refuses(
        lambda: LF.smooth_l1_loss(X, X, beta=-0.5),
        match=r"beta must be >= 0, got -0.5",
        torch_call=lambda: TF.smooth_l1_loss(X, X, beta=-0.5),
    )


def test_mse_refuses_complex():
    c = torch.ones(3, dtype=torch.complex64)
    assert_refuses(lambda: LF.mse_loss(c, c), match="floating-point", torch_call=lambda: TF.mse_loss(c, c))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_refuses_weight_of_wrong_shape(name):
    assert_refuses(
        lambda: getattr(LF, name)(X, X, weight=torch.ones(3)),
        match=r"weight must have the shape",
        torch_call=lambda: getattr(TF, name)(X, X, weight=torch.ones(3)),
    )


def test_messages_are_helpful():
    with pytest.raises(ValueError) as e:
        LF.huber_loss(X, X, delta=0)
    assert "huber_loss: delta must be > 0, got 0.0" in str(e.value)
    with pytest.raises(TypeError) as e:
        LF.mse_loss(torch.ones(2, dtype=torch.long), torch.ones(2, dtype=torch.long))
    assert "input.float()" in str(e.value)
    assert losskit.functional.mse_loss is LF.mse_loss


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
def test_large_float32_sums_are_accurate(name, opts):
    """A million float32 elements: as accurate as torch (pairwise sums, not a BLAS dot product)."""
    x, y = _pair((1 << 20,), torch.float32, 5, scale=1.0)
    exact = getattr(TF, name)(x.double(), y.double(), **opts)
    assert abs(getattr(LF, name)(x, y, **opts).double() - exact) <= 1e-6 * exact
    assert (
        abs(getattr(LF, name)(x, y, reduction="sum", **opts).double() - exact * x.numel()) <= 1e-6 * exact * x.numel()
    )


@pytest.mark.parametrize("name", NAMES)
def test_broadcast_warning_points_at_the_caller(name):
    with pytest.warns(UserWarning, match="Using a target size") as rec:
        getattr(LF, name)(X, torch.randn(3))
    assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match="Using a target size") as rec:
        LF.mse_loss(X, torch.randn(3), weight=torch.ones(4, 3))
    assert rec[0].filename == __file__


# --------------------------------------------------------------------------------------------
# Gaussian with predicted variance
# --------------------------------------------------------------------------------------------

# (input shape, var shape) pairs torch 2.13 accepts
VAR_SHAPES = [
    ((4, 3), (4, 3)),  # heteroscedastic: one variance per element
    ((4, 3), (4,)),  # one fewer dimension: one per row
    ((4, 3), (4, 1)),  # trailing 1
    ((4, 3), (1, 3)),  # one mismatched dimension of size 1
    ((4, 3, 5), (4, 1, 5)),
    ((4, 3, 5), (4, 3)),
    ((2, 2), (2,)),  # ambiguous, resolved like torch: one per row
    ((5,), ()),  # 1-D input, 0-d var
    ((5,), (1,)),
    ((), ()),
]
# shapes torch refuses
BAD_VAR_SHAPES = [
    ((4, 3), (1, 1)),
    ((4, 3), (3,)),
    ((4, 3), ()),
    ((4, 3), (4, 3, 1)),
    ((4, 3), (2, 3)),
    ((4, 3), (4, 2)),
    ((4, 3, 5), (4, 1, 1)),
    ((4, 3, 5), (5,)),
]


def _gauss(shape, vshape, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    v = (torch.rand(vshape, generator=g, dtype=torch.float64) + 0.05).to(dtype)
    return x, y, v


@pytest.mark.parametrize("shape,vshape", VAR_SHAPES, ids=[f"{a}-{b}" for a, b in VAR_SHAPES])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_var_shapes_match_torch(shape, vshape, full, reduction):
    x, y, v = _gauss(shape, vshape)
    check_against(
        LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y, v, grad=[True, True, True], full=full, reduction=reduction
    )


@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    per_row=st.booleans(),
    full=st.booleans(),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    eps=st.sampled_from([1e-6, 1e-3, 0.5]),
    seed=st.integers(0, 2**16),
)
def test_gaussian_hypothesis(rows, cols, per_row, full, reduction, dtype, eps, seed):
    x, y, v = _gauss((rows, cols), (rows, 1) if per_row else (rows, cols), dtype, seed)
    v = v * 0.6  # some variances below eps=0.5: the clamp (and its pass-through gradient) is exercised
    check_against(
        LF.gaussian_nll_loss,
        TF.gaussian_nll_loss,
        x,
        y,
        v,
        grad=[True, False, True],
        full=full,
        eps=eps,
        reduction=reduction,
    )


@pytest.mark.parametrize("var", [0.5, 2.0, 0.0, 1e-9])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_float_var(var, reduction):
    x, y, _ = _gauss((4, 3), (4, 3))
    check_against(
        lambda a, b: LF.gaussian_nll_loss(a, b, var, reduction=reduction, full=True),
        lambda a, b: TF.gaussian_nll_loss(a, b, var, reduction=reduction, full=True),
        x,
        y,
        grad=[True, True],
    )


def test_gaussian_int_var_is_accepted():
    """torch refuses a Python int var by accident (it checks isinstance(var, float)); we take it."""
    x, y, _ = _gauss((4, 3), (4, 3))
    assert_close(LF.gaussian_nll_loss(x, y, 2), TF.gaussian_nll_loss(x, y, 2.0))


def test_gaussian_clamped_variance_passes_gradient_like_torch():
    x, y, _ = _gauss((3, 2), (3, 2))
    v = torch.tensor([[0.0, 1e-8], [0.5, 1.0], [1e-7, 2.0]], dtype=torch.float64)
    out, _ = check_against(
        LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y, v, grad=[True, False, True], eps=1e-6, reduction="sum"
    )
    assert torch.isfinite(out)


def test_gaussian_target_broadcasts_like_torch():
    x, y, v = _gauss((4, 3), (4, 1))
    check_against(LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y[:1], v, grad=[True, True, True], reduction="none")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_half_against_float64(dtype, reduction):
    x, y, v = _gauss((6, 5), (6, 1), dtype)
    out, _ = check_against(
        LF.gaussian_nll_loss,
        TF.gaussian_nll_loss,
        x,
        y,
        v,
        ref_dtype=torch.float64,
        grad=[True, False, True],
        reduction=reduction,
        full=True,
    )
    assert out.dtype == dtype


def test_gaussian_mixed_dtypes_promote_like_torch():
    x, y, v = _gauss((5,), ())
    for vv in (v.float(), v, v.half()):
        out, ref = LF.gaussian_nll_loss(x.float(), y.float(), vv), TF.gaussian_nll_loss(x.float(), y.float(), vv)
        assert out.dtype == ref.dtype


def test_gaussian_gradcheck():
    x, y, v = _gauss((3, 4), (3, 1))
    args = (x.requires_grad_(), y.requires_grad_(), v.requires_grad_())
    for reduction in REDUCTIONS:
        f = lambda a, b, c, reduction=reduction: LF.gaussian_nll_loss(a, b, c, full=True, reduction=reduction)
        assert torch.autograd.gradcheck(f, args)
        assert torch.autograd.gradgradcheck(f, args)


@pytest.mark.parametrize("shape,vshape", BAD_VAR_SHAPES, ids=[f"{a}-{b}" for a, b in BAD_VAR_SHAPES])
def test_gaussian_refuses_bad_var_shapes(shape, vshape):
    x, y, v = _gauss(shape, vshape)
    assert_refuses(
        lambda: LF.gaussian_nll_loss(x, y, v),
        match=r"var has shape .* which does not fit input",
        torch_call=lambda: TF.gaussian_nll_loss(x, y, v),
    )


def test_gaussian_refuses_negative_var():
    x, y, v = _gauss((4, 3), (4, 3))
    v[1, 2] = -0.1
    assert_refuses(
        lambda: LF.gaussian_nll_loss(x, y, v),
        match=r"var has 1 negative entry \(min -0.1\)",
        torch_call=lambda: TF.gaussian_nll_loss(x, y, v),
    )
    assert_refuses(
        lambda: LF.gaussian_nll_loss(x, y, -1.0),
        match=r"var must be >= 0, got -1.0",
        torch_call=lambda: TF.gaussian_nll_loss(x, y, -1.0),
    )
    with losskit.checks("off"):  # value checks off: no host read, the log gives NaN instead
        assert torch.isnan(LF.gaussian_nll_loss(x, y, v, eps=-1.0, reduction="none")[1, 2])


def test_gaussian_other_refusals():
    x, y, v = _gauss((4, 3), (4, 3))
    assert_refuses(
        lambda: LF.gaussian_nll_loss(x, y, v, reduction="avg"),
        match="reduction",
        torch_call=lambda: TF.gaussian_nll_loss(x, y, v, reduction="avg"),
    )
    assert_refuses(
        lambda: LF.gaussian_nll_loss(x, y, v.long()),
        match="var must be a floating-point tensor",
        torch_call=lambda: TF.gaussian_nll_loss(x, y, v.long()),
    )
    assert_refuses(
        lambda: LF.gaussian_nll_loss(x, y, "1"),
        match="var must be a torch.Tensor",
        torch_call=lambda: TF.gaussian_nll_loss(x, y, "1"),
    )


# --------------------------------------------------------------------------------------------
# Poisson
# --------------------------------------------------------------------------------------------


def _poisson(shape, log_input, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    if not log_input:
        x = x.exp()
    y = torch.poisson(torch.full(shape, 2.0, dtype=torch.float64), generator=g)
    return x.to(dtype), y.to(dtype)


@given(
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
    log_input=st.booleans(),
    full=st.booleans(),
    eps=st.sampled_from([1e-8, 1e-3]),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_poisson_matches_torch(shape, log_input, full, eps, reduction, dtype, seed):
    x, y = _poisson(shape, log_input, dtype, seed)
    check_against(
        LF.poisson_nll_loss,
        TF.poisson_nll_loss,
        x,
        y,
        grad=[True, False],
        log_input=log_input,
        full=full,
        eps=eps,
        reduction=reduction,
    )


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [True, False])
def test_poisson_target_gradient_and_zero_one_counts(log_input, full):
    x, _ = _poisson((6,), log_input)
    y = torch.tensor([0.0, 1.0, 2.0, 5.0, 0.5, 3.0], dtype=torch.float64)  # 0/1 hit the Stirling mask
    check_against(
        LF.poisson_nll_loss,
        TF.poisson_nll_loss,
        x,
        y,
        grad=[True, True],
        log_input=log_input,
        full=full,
        reduction="sum",
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("full", [True, False])
def test_poisson_half_against_float64(dtype, full):
    x, y = _poisson((6, 5), True, dtype)
    out, _ = check_against(
        LF.poisson_nll_loss, TF.poisson_nll_loss, x, y, ref_dtype=torch.float64, grad=[True, False], full=full
    )
    assert out.dtype == dtype


def test_poisson_legacy_positional_slots_and_broadcast():
    x, y = _poisson((4, 3), True)
    with pytest.warns(UserWarning, match="deprecated"):
        ours = LF.poisson_nll_loss(x, y, True, True, False, 1e-8, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.poisson_nll_loss(x, y, True, True, False, 1e-8, None)
    assert_close(ours, ref)
    check_against(LF.poisson_nll_loss, TF.poisson_nll_loss, x, y[:1], grad=[True, False], reduction="none")


def test_poisson_gradcheck():
    for log_input in (True, False):
        x, y = _poisson((3, 4), log_input)
        f = lambda a, y=y, log_input=log_input: LF.poisson_nll_loss(a, y, log_input=log_input, full=True)
        assert torch.autograd.gradcheck(f, (x.requires_grad_(),))
        assert torch.autograd.gradgradcheck(f, (x,))


def test_poisson_refusals():
    x, y = _poisson((4, 3), True)
    assert_refuses(
        lambda: LF.poisson_nll_loss(x, y, reduction="avg"),
        match="reduction",
        torch_call=lambda: TF.poisson_nll_loss(x, y, reduction="avg"),
    )
    assert_refuses(
        lambda: LF.poisson_nll_loss(x, torch.ones(5)),
        match=r"cannot be broadcast",
        torch_call=lambda: TF.poisson_nll_loss(x, torch.ones(5)),
    )
    i = torch.ones(3, dtype=torch.long)
    assert_refuses(
        lambda: LF.poisson_nll_loss(i, i),
        match="floating-point",
        torch_call=lambda: TF.poisson_nll_loss(i, i).backward(),
    )


def test_likelihood_losses_signatures_match_torch():
    for name in ("gaussian_nll_loss", "poisson_nll_loss"):
        ours = list(inspect.signature(getattr(LF, name)).parameters.values())
        ref = list(inspect.signature(getattr(TF, name)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], name


def test_gaussian_compiles_fullgraph():
    x, y, v = _gauss((4, 3), (4, 1), torch.float32)
    v.requires_grad_()
    f = torch.compile(LF.gaussian_nll_loss, fullgraph=True, backend="aot_eager")
    with losskit.checks("off"):
        out = f(x, y, v)
    (g,) = torch.autograd.grad(out, v)
    (g_ref,) = torch.autograd.grad(TF.gaussian_nll_loss(x, y, v), v)
    assert_close(g, g_ref)


# --------------------------------------------------------------------------------------------
# losskit.checks("full"), half-precision memory, autocast
# --------------------------------------------------------------------------------------------


def _regression_calls():
    """(name, call(tensors), tensors by argument name) for every regression loss and tensor argument."""
    x, y = torch.randn(4, 3), torch.randn(4, 3)
    counts = torch.poisson(torch.full((4, 3), 2.0))
    return [
        ("mse_loss", lambda t: LF.mse_loss(t["input"], t["target"]), {"input": x, "target": y}),
        (
            "mse_loss+weight",
            lambda t: LF.mse_loss(t["input"], t["target"], weight=t["weight"]),
            {"input": x, "target": y, "weight": torch.rand(4, 3)},
        ),
        ("l1_loss", lambda t: LF.l1_loss(t["input"], t["target"]), {"input": x, "target": y}),
        (
            "l1_loss+weight",
            lambda t: LF.l1_loss(t["input"], t["target"], weight=t["weight"]),
            {"input": x, "target": y, "weight": torch.rand(4, 3)},
        ),
        ("huber_loss", lambda t: LF.huber_loss(t["input"], t["target"], delta=0.5), {"input": x, "target": y}),
        (
            "huber_loss+weight",
            lambda t: LF.huber_loss(t["input"], t["target"], weight=t["weight"]),
            {"input": x, "target": y, "weight": torch.rand(4, 3)},
        ),
        ("smooth_l1_loss", lambda t: LF.smooth_l1_loss(t["input"], t["target"], beta=0.5), {"input": x, "target": y}),
        (
            "smooth_l1_loss-beta0",
            lambda t: LF.smooth_l1_loss(t["input"], t["target"], beta=0.0),
            {"input": x, "target": y},
        ),
        (
            "gaussian_nll_loss",
            lambda t: LF.gaussian_nll_loss(t["input"], t["target"], t["var"]),
            {"input": x, "target": y, "var": torch.rand(4, 1) + 0.1},
        ),
        ("poisson_nll_loss", lambda t: LF.poisson_nll_loss(t["input"], t["target"]), {"input": x, "target": counts}),
    ]


@pytest.mark.parametrize("name,call,tensors", _regression_calls(), ids=[c[0] for c in _regression_calls()])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_full_checks_report_non_finite_values_in_every_input(name, call, tensors, bad):
    """The module docs promise it: under checks("full") NaN/Inf in any tensor argument is a ValueError naming
    it; by default (CPU: "auto") the value flows through, NaN in -> NaN out, as in torch."""
    for arg in tensors:
        poisoned = {k: v.clone() for k, v in tensors.items()}
        poisoned[arg].view(-1)[1] = bad
        with losskit.checks("full"):
            with pytest.raises(ValueError, match=rf"{arg} has 1 non-finite value\(s\) \(NaN or Inf\), the first at"):
                call(poisoned)
        with losskit.checks("off"):
            call(poisoned)  # no value check: no error


class _Allocations(torch.utils._python_dispatch.TorchDispatchMode):
    """Bytes of every new (non-view) tensor an operator returns, and the float32 ones among them."""

    def __init__(self):
        super().__init__()
        self.total = 0
        self.float32 = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in torch.utils._pytree.tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and not t._is_view():
                self.total += t.numel() * t.element_size()
                if t.dtype == torch.float32:
                    self.float32 += t.numel() * t.element_size()
        return out


def _allocations(loss, args, kwargs):
    leaf = args[0].detach().clone().requires_grad_()
    rec = _Allocations()
    with rec:
        out = loss(leaf, *args[1:], **kwargs)
        out.backward(torch.ones_like(out))
    return rec


@pytest.mark.parametrize(
    "name,opts",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("huber_loss", {"delta": 0.5}),
        ("smooth_l1_loss", {"beta": 0.5}),
        ("poisson_nll_loss", {}),
        ("gaussian_nll_loss", {}),
    ],
)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_half_inputs_are_not_copied_to_float32(name, opts, dtype, reduction):
    """Outside autocast half inputs stay half: torch's kernels accumulate in float32 already, so a float32 copy
    of the inputs would only add memory. Forward + backward allocate no more than 1.1x what torch's do."""
    n = 4096
    x = torch.randn(n, dtype=dtype)
    y = torch.poisson(torch.full((n,), 2.0)).to(dtype) if name == "poisson_nll_loss" else torch.randn(n, dtype=dtype)
    args = (x, y, (torch.rand(n, dtype=dtype) + 0.1)) if name == "gaussian_nll_loss" else (x, y)
    kwargs = dict(opts, reduction=reduction)
    ours = _allocations(getattr(LF, name), args, kwargs)
    theirs = _allocations(getattr(TF, name), args, kwargs)
    assert ours.total <= 1.1 * theirs.total, (ours.total, theirs.total)
    assert ours.float32 < n * 4, f"{name} made a float32 tensor the size of its {dtype} input"


@pytest.mark.parametrize(
    "name,opts",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("huber_loss", {"delta": 0.5}),
        ("smooth_l1_loss", {"beta": 0.5}),
        ("smooth_l1_loss", {"beta": 0.0}),
        ("poisson_nll_loss", {"full": True}),
    ],
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_autocast_computes_in_float32_like_torch(name, opts, reduction):
    """torch's losses are on autocast's float32 list: bfloat16 inputs give float32 results, with exp (Poisson)
    computed in float32, and the same numbers as torch's."""
    g = torch.Generator().manual_seed(0)
    x = (3 * torch.randn(64, generator=g)).bfloat16()
    y = (
        torch.poisson(torch.full((64,), 4.0), generator=g).bfloat16()
        if name == "poisson_nll_loss"
        else torch.randn(64, generator=g).bfloat16()
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = getattr(LF, name)(x, y, reduction=reduction, **opts)
        theirs = getattr(TF, name)(x, y, reduction=reduction, **opts)
    assert ours.dtype == theirs.dtype == torch.float32
    exact = getattr(TF, name)(x.double(), y.double(), reduction=reduction, **opts)
    assert_close(ours, theirs, tol=dict(rtol=1e-6, atol=1e-6))
    assert_close(ours, exact, tol=dict(rtol=1e-5, atol=1e-5))


# --------------------------------------------------------------------------------------------
# log-cosh (hyperbolic secant NLL)
# --------------------------------------------------------------------------------------------

import reference  # noqa: E402


@given(
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
    reduction=st.sampled_from(REDUCTIONS),
    scale=st.sampled_from([0.1, 1.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_log_cosh_matches_the_textbook_formula(shape, reduction, scale, seed):
    x, y = _pair(shape, torch.float64, seed, scale=scale)
    check_against(LF.log_cosh_loss, reference.log_cosh, x, y, grad=[True, True], reduction=reduction)


def test_log_cosh_matches_optax_where_cosh_overflows():
    """Residuals up to 1e4 (cosh overflows float64 past ~710): optax's logaddexp form, values and gradients."""
    x = torch.tensor([-1e4, -800.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 800.0, 1e4], dtype=torch.float64)
    y = torch.zeros_like(x)
    check_against(
        LF.log_cosh_loss,
        lambda a, b, reduction: reference.log_cosh_optax(a, b),
        x,
        y,
        grad=[True, True],
        reduction="none",
    )
    out = LF.log_cosh_loss(x.float(), y.float(), reduction="none")
    assert torch.isfinite(out).all()
    assert_close(out, reference.log_cosh_optax(x, y).float())


def test_log_cosh_gradient_is_tanh_and_curvature_is_sech_squared():
    r = torch.linspace(-6, 6, 25, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(LF.log_cosh_loss(r, torch.zeros_like(r), reduction="sum"), r, create_graph=True)
    assert_close(g, torch.tanh(r))
    (h,) = torch.autograd.grad(g.sum(), r)
    assert_close(h, 1 - torch.tanh(r.detach()) ** 2)
    assert torch.autograd.gradgradcheck(lambda a: LF.log_cosh_loss(a, torch.zeros_like(a)), (r,))


def test_log_cosh_half_and_autocast():
    x, y = _pair((6, 7), torch.bfloat16, 4)
    out = LF.log_cosh_loss(x, y)
    assert out.dtype == torch.bfloat16
    assert_close(out, reference.log_cosh(x, y), tol=dict(rtol=1e-2, atol=1e-2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = LF.log_cosh_loss(x, y)
    assert out.dtype == torch.float32
    assert_close(out, reference.log_cosh(x, y), tol=dict(rtol=1e-6, atol=1e-6))


def test_log_cosh_refusals_and_module():
    assert_refuses(lambda: LF.log_cosh_loss(X, X, reduction="avg"), match="reduction")
    assert_refuses(lambda: LF.log_cosh_loss(X, torch.randn(5, 3)), match=r"cannot be broadcast")
    assert_refuses(lambda: LF.log_cosh_loss(X.long(), X.long()), match="floating-point")
    with losskit.checks("full"):
        assert_refuses(lambda: LF.log_cosh_loss(X, torch.full((4, 3), math.nan)), match="target has 12 non-finite")
    assert_close(losskit.nn.LogCoshLoss(reduction="sum")(X, X + 1), LF.log_cosh_loss(X, X + 1, reduction="sum"))
    assert losskit.catalog.get("log_cosh_loss").view.is_likelihood
