"""mse_loss, l1_loss, smooth_l1_loss, huber_loss against torch.nn.functional: values, gradients
(non-unit upstream), every option, broadcasting, half precision, double backward and refusals."""

import inspect
import math
import warnings

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import losskit
from losskit import functional as LF
from helpers import assert_close, assert_refuses, check_against

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
@given(shape=shapes, reduction=st.sampled_from(REDUCTIONS), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=st.integers(0, 2**16), target_grad=st.booleans())
def test_matches_torch(name, opts, shape, reduction, dtype, seed, target_grad):
    x, y = _pair(shape, dtype, seed)
    grad = [True, target_grad]
    check_against(getattr(LF, name), getattr(TF, name), x, y, grad=grad, reduction=reduction, **opts)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_half_precision_against_float64(name, opts, dtype, reduction):
    x, y = _pair((6, 7), dtype, 3)
    out, _ = check_against(getattr(LF, name), getattr(TF, name), x, y, ref_dtype=torch.float64,
                           reduction=reduction, **opts)
    assert out.dtype == dtype  # computed in float32, returned in the input's dtype (like torch)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_and_double_backward(name, opts, reduction):
    x, y = _pair((3, 4), torch.float64, 1)
    x.requires_grad_()
    y.requires_grad_()
    f = lambda a, b: getattr(LF, name)(a, b, reduction=reduction, **opts)  # noqa: E731
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
    check_against(lambda a, b, c: getattr(LF, name)(a, b, reduction=reduction, weight=c),
                  lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c),
                  x, y, w, grad=[True, True, True])


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
def test_refuses_bad_reduction(name):
    assert_refuses(lambda: getattr(LF, name)(X, X, reduction="avg"), match="reduction",
                   torch_call=lambda: getattr(TF, name)(X, X, reduction="avg"))


@pytest.mark.parametrize("name", NAMES)
def test_refuses_shapes_that_do_not_broadcast(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_refuses(lambda: getattr(LF, name)(X, torch.randn(5, 3)), match=r"input of shape \(4, 3\) and target of shape \(5, 3\) cannot be broadcast",
                       torch_call=lambda: getattr(TF, name)(X, torch.randn(5, 3)))


@pytest.mark.parametrize("name", NAMES)
def test_refuses_integer_input_and_target(name):
    i = torch.ones(4, 3, dtype=torch.long)
    assert_refuses(lambda: getattr(LF, name)(i, i), match="floating-point", torch_call=lambda: getattr(TF, name)(i, i))


@pytest.mark.parametrize("name", NAMES)
def test_refuses_non_tensors(name):
    assert_refuses(lambda: getattr(LF, name)([1.0], X), match="input must be a torch.Tensor",
                   torch_call=lambda: getattr(TF, name)([1.0], X))


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan")])
def test_huber_refuses_non_positive_delta(delta):
    assert_refuses(lambda: LF.huber_loss(X, X, delta=delta), match=r"delta must be > 0",
                   torch_call=(lambda: TF.huber_loss(X, X, delta=delta)) if not math.isnan(delta) else None)


def test_smooth_l1_refuses_negative_beta():
    assert_refuses(lambda: LF.smooth_l1_loss(X, X, beta=-0.5), match=r"beta must be >= 0, got -0.5",
                   torch_call=lambda: TF.smooth_l1_loss(X, X, beta=-0.5))


def test_mse_refuses_complex():
    c = torch.ones(3, dtype=torch.complex64)
    assert_refuses(lambda: LF.mse_loss(c, c), match="floating-point", torch_call=lambda: TF.mse_loss(c, c))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_refuses_weight_of_wrong_shape(name):
    assert_refuses(lambda: getattr(LF, name)(X, X, weight=torch.ones(3)), match=r"weight must have the shape",
                   torch_call=lambda: getattr(TF, name)(X, X, weight=torch.ones(3)))


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
    assert abs(getattr(LF, name)(x, y, reduction="sum", **opts).double() - exact * x.numel()) <= 1e-6 * exact * x.numel()


@pytest.mark.parametrize("name", NAMES)
def test_broadcast_warning_points_at_the_caller(name):
    with pytest.warns(UserWarning, match="Using a target size") as rec:
        getattr(LF, name)(X, torch.randn(3))
    assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match="Using a target size") as rec:
        LF.mse_loss(X, torch.randn(3), weight=torch.ones(4, 3))
    assert rec[0].filename == __file__
