"""gaussian_nll_loss and poisson_nll_loss against torch.nn.functional: every var shape torch
accepts, every option, half precision, gradcheck, and the refusals."""

import inspect
import warnings

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import losskit
from losskit import functional as LF
from helpers import assert_close, assert_refuses, check_against

REDUCTIONS = ["none", "mean", "sum"]

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
BAD_VAR_SHAPES = [((4, 3), (1, 1)), ((4, 3), (3,)), ((4, 3), ()), ((4, 3), (4, 3, 1)), ((4, 3), (2, 3)),
                  ((4, 3), (4, 2)), ((4, 3, 5), (4, 1, 1)), ((4, 3, 5), (5,))]


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
    check_against(LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y, v, grad=[True, True, True],
                  full=full, reduction=reduction)


@given(rows=st.integers(1, 6), cols=st.integers(1, 6), per_row=st.booleans(), full=st.booleans(),
       reduction=st.sampled_from(REDUCTIONS), dtype=st.sampled_from([torch.float32, torch.float64]),
       eps=st.sampled_from([1e-6, 1e-3, 0.5]), seed=st.integers(0, 2**16))
def test_gaussian_hypothesis(rows, cols, per_row, full, reduction, dtype, eps, seed):
    x, y, v = _gauss((rows, cols), (rows, 1) if per_row else (rows, cols), dtype, seed)
    v = v * 0.6  # some variances below eps=0.5: the clamp (and its pass-through gradient) is exercised
    check_against(LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y, v, grad=[True, False, True],
                  full=full, eps=eps, reduction=reduction)


@pytest.mark.parametrize("var", [0.5, 2.0, 0.0, 1e-9])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_float_var(var, reduction):
    x, y, _ = _gauss((4, 3), (4, 3))
    check_against(lambda a, b: LF.gaussian_nll_loss(a, b, var, reduction=reduction, full=True),
                  lambda a, b: TF.gaussian_nll_loss(a, b, var, reduction=reduction, full=True),
                  x, y, grad=[True, True])


def test_gaussian_int_var_is_accepted():
    """torch refuses a Python int var by accident (it checks isinstance(var, float)); we take it."""
    x, y, _ = _gauss((4, 3), (4, 3))
    assert_close(LF.gaussian_nll_loss(x, y, 2), TF.gaussian_nll_loss(x, y, 2.0))


def test_gaussian_clamped_variance_passes_gradient_like_torch():
    x, y, _ = _gauss((3, 2), (3, 2))
    v = torch.tensor([[0.0, 1e-8], [0.5, 1.0], [1e-7, 2.0]], dtype=torch.float64)
    out, _ = check_against(LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y, v, grad=[True, False, True],
                           eps=1e-6, reduction="sum")
    assert torch.isfinite(out)


def test_gaussian_target_broadcasts_like_torch():
    x, y, v = _gauss((4, 3), (4, 1))
    check_against(LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y[:1], v, grad=[True, True, True],
                  reduction="none")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_half_against_float64(dtype, reduction):
    x, y, v = _gauss((6, 5), (6, 1), dtype)
    out, _ = check_against(LF.gaussian_nll_loss, TF.gaussian_nll_loss, x, y, v, ref_dtype=torch.float64,
                           grad=[True, False, True], reduction=reduction, full=True)
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
        f = lambda a, b, c: LF.gaussian_nll_loss(a, b, c, full=True, reduction=reduction)  # noqa: E731
        assert torch.autograd.gradcheck(f, args)
        assert torch.autograd.gradgradcheck(f, args)


@pytest.mark.parametrize("shape,vshape", BAD_VAR_SHAPES, ids=[f"{a}-{b}" for a, b in BAD_VAR_SHAPES])
def test_gaussian_refuses_bad_var_shapes(shape, vshape):
    x, y, v = _gauss(shape, vshape)
    assert_refuses(lambda: LF.gaussian_nll_loss(x, y, v), match=r"var has shape .* which does not fit input",
                   torch_call=lambda: TF.gaussian_nll_loss(x, y, v))


def test_gaussian_refuses_negative_var():
    x, y, v = _gauss((4, 3), (4, 3))
    v[1, 2] = -0.1
    assert_refuses(lambda: LF.gaussian_nll_loss(x, y, v), match=r"var has 1 negative entry \(min -0.1\)",
                   torch_call=lambda: TF.gaussian_nll_loss(x, y, v))
    assert_refuses(lambda: LF.gaussian_nll_loss(x, y, -1.0), match=r"var must be >= 0, got -1.0",
                   torch_call=lambda: TF.gaussian_nll_loss(x, y, -1.0))
    with losskit.checks("off"):  # value checks off: no host read, the log gives NaN instead
        assert torch.isnan(LF.gaussian_nll_loss(x, y, v, eps=-1.0, reduction="none")[1, 2])


def test_gaussian_other_refusals():
    x, y, v = _gauss((4, 3), (4, 3))
    assert_refuses(lambda: LF.gaussian_nll_loss(x, y, v, reduction="avg"), match="reduction",
                   torch_call=lambda: TF.gaussian_nll_loss(x, y, v, reduction="avg"))
    assert_refuses(lambda: LF.gaussian_nll_loss(x, y, v.long()), match="var must be a floating-point tensor",
                   torch_call=lambda: TF.gaussian_nll_loss(x, y, v.long()))
    assert_refuses(lambda: LF.gaussian_nll_loss(x, y, "1"), match="var must be a torch.Tensor",
                   torch_call=lambda: TF.gaussian_nll_loss(x, y, "1"))


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


@given(shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), log_input=st.booleans(),
       full=st.booleans(), eps=st.sampled_from([1e-8, 1e-3]), reduction=st.sampled_from(REDUCTIONS),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**16))
def test_poisson_matches_torch(shape, log_input, full, eps, reduction, dtype, seed):
    x, y = _poisson(shape, log_input, dtype, seed)
    check_against(LF.poisson_nll_loss, TF.poisson_nll_loss, x, y, grad=[True, False], log_input=log_input,
                  full=full, eps=eps, reduction=reduction)


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [True, False])
def test_poisson_target_gradient_and_zero_one_counts(log_input, full):
    x, _ = _poisson((6,), log_input)
    y = torch.tensor([0.0, 1.0, 2.0, 5.0, 0.5, 3.0], dtype=torch.float64)  # 0/1 hit the Stirling mask
    check_against(LF.poisson_nll_loss, TF.poisson_nll_loss, x, y, grad=[True, True], log_input=log_input,
                  full=full, reduction="sum")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("full", [True, False])
def test_poisson_half_against_float64(dtype, full):
    x, y = _poisson((6, 5), True, dtype)
    out, _ = check_against(LF.poisson_nll_loss, TF.poisson_nll_loss, x, y, ref_dtype=torch.float64,
                           grad=[True, False], full=full)
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
        f = lambda a: LF.poisson_nll_loss(a, y, log_input=log_input, full=True)  # noqa: E731
        assert torch.autograd.gradcheck(f, (x.requires_grad_(),))
        assert torch.autograd.gradgradcheck(f, (x,))


def test_poisson_refusals():
    x, y = _poisson((4, 3), True)
    assert_refuses(lambda: LF.poisson_nll_loss(x, y, reduction="avg"), match="reduction",
                   torch_call=lambda: TF.poisson_nll_loss(x, y, reduction="avg"))
    assert_refuses(lambda: LF.poisson_nll_loss(x, torch.ones(5)), match=r"cannot be broadcast",
                   torch_call=lambda: TF.poisson_nll_loss(x, torch.ones(5)))
    i = torch.ones(3, dtype=torch.long)
    assert_refuses(lambda: LF.poisson_nll_loss(i, i), match="floating-point",
                   torch_call=lambda: TF.poisson_nll_loss(i, i).backward())


def test_signatures_match_torch():
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
