"""losskit.likelihoods: log_prob against torch.distributions, nll against the losses, predict rules,
and the likelihood view of every registered loss."""

import math

import pytest
import torch
import torch.nn.functional as F

import losskit
from helpers import TOL, assert_close, check_against
from losskit import catalog
from losskit import likelihoods as L

REDUCTIONS = ("none", "mean", "sum")


def needs(*names):
    """Skip unless every named loss is in losskit.functional (until its branch is merged)."""
    missing = [n for n in names if not hasattr(losskit.functional, n)]
    return pytest.mark.skipif(bool(missing), reason=f"losskit.functional lacks {', '.join(missing)}")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---- inputs for each likelihood: (likelihood, output, target, torch.distributions reference) -----


def _bernoulli(dtype, g):
    z = torch.randn(6, 5, generator=g, dtype=dtype) * 3
    y = torch.randint(0, 2, (6, 5), generator=g).to(dtype)
    return L.Bernoulli(), z, y, torch.distributions.Bernoulli(logits=z)


def _categorical(dtype, g):
    z = torch.randn(4, 5, 3, 2, generator=g, dtype=dtype) * 2
    y = torch.randint(0, 5, (4, 3, 2), generator=g)
    return L.Categorical(), z, y, torch.distributions.Categorical(logits=z.movedim(1, -1))


def _categorical_unbatched(dtype, g):
    z = torch.randn(7, generator=g, dtype=dtype)
    y = torch.tensor(3)
    return L.Categorical(), z, y, torch.distributions.Categorical(logits=z)


def _gaussian_fixed(dtype, g, scale=1.7):
    mu = torch.randn(5, 4, generator=g, dtype=dtype)
    y = torch.randn(5, 4, generator=g, dtype=dtype) * 2
    return L.Gaussian(scale), mu, y, torch.distributions.Normal(mu, torch.full_like(mu, scale))


def _gaussian_var(dtype, g):
    mu = torch.randn(5, 4, generator=g, dtype=dtype)
    var = torch.rand(5, 4, generator=g, dtype=dtype) * 2 + 0.1
    y = torch.randn(5, 4, generator=g, dtype=dtype) * 2
    return L.Gaussian(None), (mu, var), y, torch.distributions.Normal(mu, var.sqrt())


def _laplace_fixed(dtype, g, scale=0.6):
    mu = torch.randn(5, 4, generator=g, dtype=dtype)
    y = torch.randn(5, 4, generator=g, dtype=dtype) * 2
    return L.Laplace(scale), mu, y, torch.distributions.Laplace(mu, torch.full_like(mu, scale))


def _laplace_scale(dtype, g):
    mu = torch.randn(5, 4, generator=g, dtype=dtype)
    b = torch.rand(5, 4, generator=g, dtype=dtype) + 0.2
    y = torch.randn(5, 4, generator=g, dtype=dtype) * 2
    return L.Laplace(None), (mu, b), y, torch.distributions.Laplace(mu, b)


def _poisson(dtype, g):
    z = torch.randn(5, 4, generator=g, dtype=dtype)
    y = torch.poisson(torch.exp(z.double()) * 2, generator=g).to(dtype)
    return L.Poisson(), z, y, torch.distributions.Poisson(rate=torch.exp(z))


CASES = {
    "bernoulli": _bernoulli,
    "categorical": _categorical,
    "categorical_unbatched": _categorical_unbatched,
    "gaussian_fixed": _gaussian_fixed,
    "gaussian_var": _gaussian_var,
    "laplace_fixed": _laplace_fixed,
    "laplace_scale": _laplace_scale,
    "poisson": _poisson,
}


def _requires_grad(output):
    if isinstance(output, tuple):
        return tuple(o.detach().clone().requires_grad_(True) for o in output)
    return output.detach().clone().requires_grad_(True)


# ---- log_prob and distribution ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_log_prob_matches_torch_distributions(case, dtype):
    for seed in range(3):
        lik, output, target, ref = CASES[case](dtype, _gen(seed))
        lp = lik.log_prob(output, target)
        assert lp.dtype == dtype
        assert_close(lp, ref.log_prob(target))
        # distribution() builds the same distribution
        dist = lik.distribution(output)
        assert type(dist) is type(ref)
        assert_close(dist.log_prob(target), ref.log_prob(target))


@pytest.mark.parametrize("case", list(CASES))
def test_log_prob_gradient_matches_torch_distributions(case):
    lik, output, target, _ = CASES[case](torch.float64, _gen(1))
    ours_in, ref_in = _requires_grad(output), _requires_grad(output)
    ours = lik.log_prob(ours_in, target)
    ref = lik.distribution(ref_in).log_prob(target)  # torch's formula, on the same parameters
    up = torch.rand(ours.shape, dtype=torch.float64) + 0.5
    g_ours = torch.autograd.grad(ours, ours_in if isinstance(ours_in, tuple) else (ours_in,), up)
    g_ref = torch.autograd.grad(ref, ref_in if isinstance(ref_in, tuple) else (ref_in,), up)
    for a, b in zip(g_ours, g_ref, strict=True):
        assert_close(a, b)


@pytest.mark.parametrize("case", ["bernoulli", "categorical", "gaussian_var", "laplace_scale", "poisson"])
def test_log_prob_gradcheck(case):
    lik, output, target, _ = CASES[case](torch.float64, _gen(2))
    inputs = _requires_grad(output)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)

    def f(*xs):
        return lik.log_prob(xs if len(xs) == 2 else xs[0], target)

    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("case", ["bernoulli", "categorical", "gaussian_fixed", "laplace_fixed", "poisson"])
def test_log_prob_half_precision_is_computed_in_float32(case, dtype):
    lik, output, target, _ = CASES[case](torch.float64, _gen(3))
    half = output.to(dtype)
    tgt = target if not target.is_floating_point() else target.to(dtype)
    lp = lik.log_prob(half, tgt)
    assert lp.dtype == dtype
    ref = lik.log_prob(half.double(), tgt if not tgt.is_floating_point() else tgt.double())
    assert_close(lp, ref, tol=dict(rtol=TOL[dtype]["rtol"] * 2, atol=TOL[dtype]["atol"] * 4))


# ---- nll: the matching loss (full=False) and the true NLL (full=True) -------------------------

# case -> (losskit/torch functional name, how the torch function is called)
TORCH_LOSS = {
    "bernoulli": lambda o, y, r: F.binary_cross_entropy_with_logits(o, y, reduction=r),
    "categorical": lambda o, y, r: F.cross_entropy(o, y, reduction=r),
    "categorical_unbatched": lambda o, y, r: F.cross_entropy(o, y, reduction=r),
    "gaussian_fixed": lambda o, y, r: F.mse_loss(o, y, reduction=r),
    "gaussian_var": lambda o, y, r: F.gaussian_nll_loss(o[0], y, o[1], reduction=r),
    "laplace_fixed": lambda o, y, r: F.l1_loss(o, y, reduction=r),
    "poisson": lambda o, y, r: F.poisson_nll_loss(o, y, log_input=True, full=False, reduction=r),
}
LOSS_NAME = {
    "bernoulli": "binary_cross_entropy_with_logits",
    "categorical": "cross_entropy",
    "categorical_unbatched": "cross_entropy",
    "gaussian_fixed": "mse_loss",
    "gaussian_var": "gaussian_nll_loss",
    "laplace_fixed": "l1_loss",
    "poisson": "poisson_nll_loss",
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(TORCH_LOSS))
def test_nll_is_the_loss(case, reduction):
    if not hasattr(losskit.functional, LOSS_NAME[case]):
        pytest.skip(f"losskit.functional lacks {LOSS_NAME[case]}")
    lik, output, target, _ = CASES[case](torch.float64, _gen(4))
    assert lik.loss == LOSS_NAME[case]
    if isinstance(output, tuple):
        ours = lambda mu, var, y: lik.nll((mu, var), y, reduction=reduction)
        ref = lambda mu, var, y: TORCH_LOSS[case]((mu, var), y, reduction)
        check_against(ours, ref, *output, target, grad=[True, True, False])
    else:
        check_against(
            lambda o, y: lik.nll(o, y, reduction=reduction),
            lambda o, y: TORCH_LOSS[case](o, y, reduction),
            output,
            target,
            grad=[True, False],
        )
    # and exactly the losskit function itself
    fn = getattr(losskit.functional, LOSS_NAME[case])
    args = (output[0], target, output[1]) if isinstance(output, tuple) else (output, target)
    kw = {"log_input": True} if case == "poisson" else {}
    torch.testing.assert_close(
        lik.nll(output, target, reduction=reduction), fn(*args, reduction=reduction, **kw), rtol=0, atol=0
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_full_nll_is_minus_log_prob(case, reduction):
    if case in LOSS_NAME and not hasattr(losskit.functional, LOSS_NAME[case]):
        pytest.skip(f"losskit.functional lacks {LOSS_NAME[case]}")
    lik, output, target, ref = CASES[case](torch.float64, _gen(5))
    expected = -ref.log_prob(target)
    expected = {"none": expected, "mean": expected.mean(), "sum": expected.sum()}[reduction]
    assert_close(lik.nll(output, target, reduction=reduction, full=True), expected)


@pytest.mark.parametrize("case", list(CASES))
def test_full_nll_is_an_affine_map_of_the_loss(case):
    """full=True and full=False differ by the documented constants and scale, element by element."""
    if case in LOSS_NAME and not hasattr(losskit.functional, LOSS_NAME[case]):
        pytest.skip(f"losskit.functional lacks {LOSS_NAME[case]}")
    lik, output, target, _ = CASES[case](torch.float64, _gen(6))
    loss = lik.nll(output, target, reduction="none")
    full = lik.nll(output, target, reduction="none", full=True)
    if case.startswith(("bernoulli", "categorical")):
        expected = loss
    elif case == "gaussian_fixed":
        s = lik.scale
        expected = loss / (2 * s**2) + math.log(s) + 0.5 * math.log(2 * math.pi)
    elif case == "gaussian_var":
        expected = loss + 0.5 * math.log(2 * math.pi)
    elif case == "laplace_fixed":
        expected = loss / lik.scale + math.log(2 * lik.scale)
    elif case == "laplace_scale":
        expected = loss + math.log(2)
        mu, b = output
        assert_close(loss, (target - mu).abs() / b + b.log())
    else:  # poisson: + log y!
        expected = loss + torch.lgamma(target + 1)
    assert_close(full, expected)


@needs("poisson_nll_loss")
def test_poisson_full_is_exact_where_torch_uses_stirling():
    z, y = torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 1.0, 5.0], dtype=torch.float64)
    ours = L.Poisson().nll(z, y, reduction="none", full=True)
    assert_close(ours, -torch.distributions.Poisson(torch.ones(3, dtype=torch.float64)).log_prob(y))
    stirling = F.poisson_nll_loss(z, y, log_input=True, full=True, reduction="none")
    assert abs(float(stirling[2] - ours[2])) > 1e-3  # torch approximates log 5! = 4.787...


@needs("gaussian_nll_loss")
def test_gaussian_predicted_variance_is_clamped_like_gaussian_nll_loss():
    mu = torch.zeros(3, dtype=torch.float64)
    var = torch.tensor([1e-9, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    y = torch.ones(3, dtype=torch.float64)
    lik = L.Gaussian(None)
    ours = lik.nll((mu, var), y, reduction="sum", full=True)
    ref = F.gaussian_nll_loss(mu, y, var, full=True, eps=1e-6, reduction="sum")
    assert_close(ours, ref)
    assert_close(-lik.log_prob((mu, var), y).sum(), ref)
    g1 = torch.autograd.grad(-lik.log_prob((mu, var), y).sum(), var)[0]
    g2 = torch.autograd.grad(F.gaussian_nll_loss(mu, y, var, full=True, reduction="sum"), var)[0]
    assert_close(g1, g2)


def test_gaussian_homoscedastic_variance_broadcasts_like_torch():
    g = _gen(7)
    mu, y = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    var = torch.rand(4, generator=g, dtype=torch.float64) + 0.5
    ref = F.gaussian_nll_loss(mu, y, var, full=True, reduction="none")
    assert_close(-L.Gaussian(None).log_prob((mu, var), y), ref)


# ---- link, mean, predict ------------------------------------------------------------------------


def test_links_and_means_match_torch_distributions():
    g = _gen(8)
    z = torch.randn(4, 3, generator=g, dtype=torch.float64)
    assert_close(L.Bernoulli().link(z), torch.sigmoid(z))
    assert_close(L.Bernoulli().mean(z), torch.distributions.Bernoulli(logits=z).mean)
    assert_close(L.Categorical().link(z), torch.softmax(z, 1))
    assert_close(L.Categorical().mean(z), torch.distributions.Categorical(logits=z).probs)
    assert_close(L.Poisson().link(z), z.exp())
    assert_close(L.Poisson().mean(z), torch.distributions.Poisson(z.exp()).mean)
    assert L.Gaussian().link(z) is z and L.Laplace().link(z) is z
    assert_close(L.Gaussian(2.0).mean(z), L.Gaussian(2.0).distribution(z).mean)
    assert_close(L.Laplace(None).mean((z, z.exp())), torch.distributions.Laplace(z, z.exp()).mean)
    assert L.Gaussian(None).link((z, z.exp()))[0] is z


def test_bernoulli_predict_thresholds_the_probability():
    z = torch.tensor([-3.0, -1e-6, 0.0, 1e-6, 1.0, 1.5])
    assert L.Bernoulli().predict(z).tolist() == [0, 0, 1, 1, 1, 1]
    assert L.Bernoulli().predict(z).dtype == torch.long
    # threshold 0.8 <=> z >= log 4 = 1.386
    assert L.Bernoulli(threshold=0.8).predict(z).tolist() == [0, 0, 0, 0, 0, 1]
    p = torch.rand(200, generator=_gen(9), dtype=torch.float64)
    zz = torch.logit(p)
    assert torch.equal(L.Bernoulli(0.3).predict(zz), (p >= 0.3).long())


def test_categorical_predict_is_argmax_over_the_class_dim():
    z = torch.randn(4, 5, 3, generator=_gen(10))
    assert torch.equal(L.Categorical().predict(z), z.argmax(1))
    assert L.Categorical().predict(torch.tensor([0.1, 2.0, -1.0])).item() == 1


def test_regression_predict_rules():
    mu = torch.randn(6, generator=_gen(11))
    assert torch.equal(L.Gaussian().predict(mu), mu)
    assert torch.equal(L.Gaussian(None).predict((mu, mu.exp())), mu)
    assert torch.equal(L.Laplace(0.5).predict(mu), mu)
    assert torch.equal(L.Laplace(None).predict((mu, mu.exp())), mu)
    assert_close(L.Poisson().predict(mu), mu.exp())


@needs("mse_loss", "l1_loss")
def test_predict_rule_minimises_its_loss_over_a_sample():
    """The mean minimises mse, the median minimises l1: the rules predict() states."""
    y = torch.tensor([0.0, 0.1, 0.3, 4.0, 9.0], dtype=torch.float64)
    grid = torch.linspace(-1, 10, 11001, dtype=torch.float64)
    mse = torch.stack([L.Gaussian().nll(c.expand(5), y) for c in grid])
    l1 = torch.stack([L.Laplace().nll(c.expand(5), y) for c in grid])
    assert abs(float(grid[mse.argmin()]) - float(y.mean())) < 2e-3
    assert abs(float(grid[l1.argmin()]) - float(y.median())) < 2e-3


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.1, 1.5])
def test_bernoulli_refuses_a_threshold_outside_0_1(threshold):
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        L.Bernoulli(threshold)


@pytest.mark.parametrize("cls", [L.Gaussian, L.Laplace])
def test_fixed_scale_must_be_positive(cls):
    with pytest.raises(ValueError, match="scale must be in"):
        cls(0.0)


def test_output_shape_mismatches_are_refused_with_the_fix():
    mu = torch.zeros(3)
    with pytest.raises(TypeError, match=r"pair \(loc, var\)"):
        L.Gaussian(None).log_prob(mu, mu)
    with pytest.raises(TypeError, match=r"pair \(loc, scale\)"):
        L.Laplace(None).predict(mu)
    with pytest.raises(TypeError, match=r"Gaussian\(scale=None\)"):
        L.Gaussian(1.0).log_prob((mu, mu), mu)
    with pytest.raises(TypeError, match=r"Laplace\(scale=None\)"):
        L.Laplace(1.0).log_prob((mu, mu), mu)
    with pytest.raises(TypeError, match="output must be a floating-point tensor"):
        L.Bernoulli().predict(torch.tensor([1, 0]))
    with pytest.raises(TypeError, match=r"output must be a torch\.Tensor"):
        L.Poisson().link([0.0, 1.0])
    with pytest.raises(ValueError, match="class dimension"):
        L.Categorical().predict(torch.tensor(1.0))
    with pytest.raises(ValueError, match="reduction"):
        L.Laplace(None).nll((mu, mu + 1), mu, reduction="avg")


# ---- the view of every catalog loss ----------------------------------------------------------------


def test_every_catalog_loss_has_its_view():
    assert [v.name for v in L.views()] == catalog.names()


@pytest.mark.parametrize("name", catalog.names() + list(catalog.EXTRA_VIEWS))
def test_views_are_complete_and_consistent(name):
    v = L.for_loss(name)
    assert v.name == name and v.formula and v.inference and v.dropped_constants
    if v.is_likelihood:
        assert v.distribution and v.link and v.base is None
    else:
        assert v.adds, f"{name}: a loss that is not a likelihood must say what it adds"
    if v.likelihood is not None:
        assert v.distribution.split()[0] == type(v.likelihood).__name__
        if v.is_likelihood and v.likelihood.loss is not None and name in LOSS_NAME.values():
            assert v.likelihood.loss == name


def test_for_loss_examples():
    assert L.for_loss("cross_entropy").likelihood.loss == "cross_entropy"
    assert isinstance(L.for_loss("gaussian_nll_loss").likelihood, L.Gaussian)
    assert L.for_loss("gaussian_nll_loss").likelihood.scale is None
    focal = L.for_loss("sigmoid_focal_loss")
    assert not focal.is_likelihood and focal.base == "binary_cross_entropy_with_logits" and "(1 − p_t)^γ" in focal.adds
    assert "ε·(1 − p_y)" in L.for_loss("poly1_cross_entropy").formula
    assert L.for_loss("dice_loss").distribution is None and "not a likelihood" in L.for_loss("dice_loss").adds
    assert L.for_loss("margin_ranking_loss").link is None
    assert "(1−ε)·onehot(y) + ε/K" in L.for_loss("cross_entropy").notes
    assert "y(1−ε)+ε/2" in L.for_loss("binary_cross_entropy_with_logits").notes


def test_for_loss_unknown_name_lists_close_names():
    with pytest.raises(KeyError, match="did you mean cross_entropy"):
        L.for_loss("cross_entropi")
    with pytest.raises(KeyError, match="no loss named 'zzz'"):
        L.for_loss("zzz")
    with pytest.raises(TypeError, match="name must be a loss name"):
        L.for_loss(3)


# ---- random shapes ------------------------------------------------------------------------------

try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:

    @given(
        n=st.integers(1, 4),
        c=st.integers(1, 6),
        extra=st.lists(st.integers(1, 3), max_size=2),
        seed=st.integers(0, 2**16),
    )
    def test_categorical_log_prob_on_random_shapes(n, c, extra, seed):
        g = _gen(seed)
        z = torch.randn(n, c, *extra, generator=g, dtype=torch.float64) * 3
        y = torch.randint(0, c, (n, *extra), generator=g)
        ref = torch.distributions.Categorical(logits=z.movedim(1, -1)).log_prob(y)
        assert_close(L.Categorical().log_prob(z, y), ref)
        assert torch.equal(L.Categorical().predict(z), z.argmax(1))
        if hasattr(losskit.functional, "cross_entropy"):
            assert_close(L.Categorical().nll(z, y, reduction="none"), -ref)

    @given(shape=st.lists(st.integers(1, 4), max_size=3), seed=st.integers(0, 2**16))
    def test_bernoulli_and_poisson_log_prob_on_random_shapes(shape, seed):
        g = _gen(seed)
        z = torch.randn(tuple(shape), generator=g, dtype=torch.float64) * 4
        y = torch.randint(0, 2, tuple(shape), generator=g).double()
        assert_close(L.Bernoulli().log_prob(z, y), torch.distributions.Bernoulli(logits=z).log_prob(y))
        k = torch.randint(0, 9, tuple(shape), generator=g).double()
        assert_close(L.Poisson().log_prob(z, k), torch.distributions.Poisson(z.exp()).log_prob(k))


def test_categorical_log_prob_refuses_out_of_range_index_by_name():
    # a -100 padding label used to fail inside torch.gather
    from losskit.likelihoods import Categorical

    z = torch.randn(2, 3)
    with pytest.raises(ValueError, match="class index -100 outside"):
        Categorical().log_prob(z, torch.tensor([0, -100]))
    assert_close(Categorical().log_prob(z, torch.tensor([0.0, 2.0])), Categorical().log_prob(z, torch.tensor([0, 2])))
