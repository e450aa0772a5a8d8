"""entropy / kl_divergence / js_divergence against torch.distributions and float64 formulas; kl_div vs torch
(values, gradients, half precision, autocast, full checks, refusals)."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch.distributions import Categorical
from torch.distributions import kl_divergence as torch_kl

import losskit
import losskit.functional as LF
from helpers import TOL, assert_close, assert_refuses, check_against


def _dist(g, shape, *, zeros=0.0, dim=-1):
    """Random probabilities along ``dim`` with a fraction of exact zeros (at least one outcome kept)."""
    p = torch.rand(shape, generator=g, dtype=torch.float64) + 0.05
    if zeros:
        drop = torch.rand(shape, generator=g) < zeros
        keep = torch.zeros(shape, dtype=torch.bool)
        keep.select(dim, 0).fill_(True)
        p = torch.where(drop & ~keep, torch.zeros_like(p), p)
    return p / p.sum(dim, keepdim=True)


def _js_ref(p, q):
    m = 0.5 * (p + q)
    return 0.5 * torch_kl(Categorical(probs=p), Categorical(probs=m)) + 0.5 * torch_kl(
        Categorical(probs=q), Categorical(probs=m)
    )


@given(n=st.integers(1, 5), c=st.integers(1, 6), zeros=st.sampled_from([0.0, 0.4]), seed=st.integers(0, 2**16))
def test_measures_match_torch_distributions(n, c, zeros, seed):
    g = torch.Generator().manual_seed(seed)
    p, q = _dist(g, (n, c), zeros=zeros), _dist(g, (n, c), zeros=zeros)
    P, Q = Categorical(probs=p), Categorical(probs=q)
    assert_close(LF.entropy(p), P.entropy())
    assert_close(LF.kl_divergence(p, q), torch_kl(P, Q))  # +inf where p > 0 = q, like torch
    assert_close(LF.js_divergence(p, q), _js_ref(p, q))
    # the same from log-probabilities (log 0 = -inf)
    assert_close(LF.entropy(p.log(), log_input=True), P.entropy())
    assert_close(LF.kl_divergence(p.log(), q.log(), log_input=True), torch_kl(P, Q))
    assert_close(LF.js_divergence(p.log(), q.log(), log_input=True), _js_ref(p, q))


def test_kl_is_inf_exactly_where_p_positive_and_q_zero():
    p = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    for log_input in (False, True):
        a, b = (p.log(), q.log()) if log_input else (p, q)
        kl = LF.kl_divergence(a, b, log_input=log_input)
        assert kl.tolist() == [0.0, math.inf, 0.0]
        assert torch.isfinite(LF.js_divergence(a, b, log_input=log_input)).all()


@pytest.mark.parametrize("log_input", [False, True])
def test_zeros_give_finite_values_and_gradients(log_input):
    p = torch.tensor([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.25, 0.25, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)  # JS: any supports
    r = torch.tensor([[0.25, 0.25, 0.5, 0.0], [0.5, 0.0, 0.0, 0.5]], dtype=torch.float64)  # KL: r > 0 where p > 0
    a, b, c = (p.log(), q.log(), r.log()) if log_input else (p, q, r)
    a.requires_grad_(), b.requires_grad_(), c.requires_grad_()
    for out, args in (
        (LF.entropy(a, log_input=log_input), (a,)),
        (LF.js_divergence(a, b, log_input=log_input), (a, b)),
        (LF.kl_divergence(a, c, log_input=log_input), (a, c)),
    ):
        assert torch.isfinite(out).all()
        for gr in torch.autograd.grad(out.sum(), args):
            assert torch.isfinite(gr).all(), (out, gr)
    assert_close(LF.js_divergence(a, b, log_input=log_input)[1], torch.tensor(math.log(2.0)))  # disjoint: log 2


@pytest.mark.parametrize("log_input", [False, True])
def test_gradcheck_float64(log_input):
    g = torch.Generator().manual_seed(0)
    p, q = _dist(g, (3, 4)), _dist(g, (3, 4))
    if log_input:
        p, q = p.log(), q.log()
    p.requires_grad_(), q.requires_grad_()
    kw = dict(log_input=log_input)
    assert torch.autograd.gradcheck(lambda p: LF.entropy(p, **kw), (p,))
    assert torch.autograd.gradcheck(lambda p, q: LF.kl_divergence(p, q, **kw), (p, q))
    assert torch.autograd.gradcheck(lambda p, q: LF.js_divergence(p, q, **kw), (p, q))


def test_gradients_match_closed_form():
    g = torch.Generator().manual_seed(1)
    p, q = _dist(g, (2, 5)).requires_grad_(), _dist(g, (2, 5)).requires_grad_()
    w = torch.rand(2, dtype=torch.float64)
    gp, gq = torch.autograd.grad((LF.kl_divergence(p, q) * w).sum(), (p, q))
    assert_close(gp, w[:, None] * (p.log() - q.log() + 1).detach())  # d/dp p log(p/q) = log(p/q) + 1
    assert_close(gq, -w[:, None] * (p / q).detach())  # d/dq = -p/q
    (gh,) = torch.autograd.grad((LF.entropy(p) * w).sum(), p)
    assert_close(gh, -w[:, None] * (p.log() + 1).detach())


@pytest.mark.parametrize("kdims", [(), (3,), (2, 3)])
def test_entropy_plus_kl_is_cross_entropy_with_prob_targets(kdims):
    g = torch.Generator().manual_seed(2)
    p = _dist(g, (4, 5, *kdims), zeros=0.3, dim=1)
    logits = torch.randn(4, 5, *kdims, generator=g, dtype=torch.float64)
    q = torch.softmax(logits, 1)
    ce = F.cross_entropy(logits, p, reduction="none")
    assert_close(LF.entropy(p, dim=1) + LF.kl_divergence(p, q, dim=1), ce)
    logq = torch.log_softmax(logits, 1)
    assert_close(
        LF.entropy(p.log(), dim=1, log_input=True) + LF.kl_divergence(p.log(), logq, dim=1, log_input=True), ce
    )


def test_dim_and_broadcasting():
    g = torch.Generator().manual_seed(3)
    p = _dist(g, (5, 2, 3), dim=0)
    q = _dist(g, (5, 1, 1), dim=0)
    out = LF.kl_divergence(p, q, dim=0)
    assert out.shape == (2, 3)
    ref = LF.kl_divergence(p.movedim(0, -1), q.expand(5, 2, 3).movedim(0, -1))
    assert_close(out, ref)
    assert LF.entropy(p, dim=0).shape == (2, 3)
    uniform = torch.full((5,), 0.2, dtype=torch.float64)
    assert_close(LF.js_divergence(p.movedim(0, -1), uniform), LF.js_divergence(uniform, p.movedim(0, -1)))
    assert LF.entropy(torch.tensor([0.5, 0.5])).shape == ()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs(dtype):
    g = torch.Generator().manual_seed(4)
    p, q = _dist(g, (3, 6), zeros=0.3), _dist(g, (3, 6))
    for fn, args in ((LF.entropy, (p,)), (LF.kl_divergence, (p, q)), (LF.js_divergence, (p, q))):
        half = [a.to(dtype) for a in args]
        out = fn(*half)
        assert out.dtype == dtype
        ref = fn(*[h.double() for h in half])
        assert_close(out, ref, tol=TOL[dtype])


def test_measure_refusals():
    p = torch.tensor([[0.5, 0.5], [0.2, 0.8]])
    assert_refuses(
        lambda: LF.kl_divergence(p, torch.ones(3) / 3), match=r"p with shape \(2, 2\) and q with shape \(3,\)"
    )
    assert_refuses(
        lambda: LF.kl_divergence(p, torch.ones(2, 1), dim=-1), match=r"p has 2 outcomes along dim=-1 but q has 1"
    )
    assert_refuses(lambda: LF.entropy(p * 3 - 1), match=r"p has values outside \[0, 1\]")
    assert_refuses(lambda: LF.entropy(torch.tensor(0.5)), match=r"0-dimensional")
    assert_refuses(lambda: LF.js_divergence(p, torch.tensor([[1, 0], [0, 1]])), match=r"q must be a floating")
    bad = p.log().clone()
    bad[0, 0] = float("nan")
    with losskit.checks("full"):
        assert_refuses(lambda: LF.entropy(bad, log_input=True), match="p has 1 non-finite")
        LF.entropy(torch.tensor([0.0, 1.0]).log(), log_input=True)  # -inf is fine


# ---------------------------------------------------------------------------------------------
# kl_div: the torch twin
# ---------------------------------------------------------------------------------------------


@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
    reduction=st.sampled_from(["none", "batchmean", "sum", "mean"]),
    log_target=st.booleans(),
    broadcast=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_kl_div_matches_torch(shape, reduction, log_target, broadcast, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.log(_dist(g, shape or (1,), zeros=0.0)).reshape(shape).to(dtype)
    tshape = (1, *shape[1:]) if broadcast and shape else shape
    t = _dist(g, tshape or (1,), zeros=0.3).reshape(tshape).to(dtype)
    if log_target:
        t = t.log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against(LF.kl_div, F.kl_div, x, t, grad=[True, True], reduction=reduction, log_target=log_target)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_kl_div_half_vs_float64(dtype):
    g = torch.Generator().manual_seed(5)
    x = torch.log(_dist(g, (4, 5))).to(dtype)
    t = _dist(g, (4, 5), zeros=0.2).to(dtype)
    out, _ = check_against(
        LF.kl_div, F.kl_div, x, t, grad=[True, False], ref_dtype=torch.float64, reduction="batchmean"
    )
    assert out.dtype == dtype


def test_kl_div_gradcheck_and_measure_agreement():
    g = torch.Generator().manual_seed(6)
    logq = torch.log(_dist(g, (3, 4))).requires_grad_()
    p = _dist(g, (3, 4), zeros=0.3)
    assert torch.autograd.gradcheck(lambda x: LF.kl_div(x, p, reduction="batchmean"), (logq,))
    assert_close(LF.kl_div(logq, p, reduction="batchmean"), LF.kl_divergence(p, logq.exp()).mean())
    p = _dist(g, (3, 4))  # log_target with log 0 = -inf gives NaN in torch (exp(-inf) * -inf); so does the twin
    assert_close(LF.kl_div(logq, p.log(), reduction="sum", log_target=True), LF.kl_divergence(p, logq.exp()).sum())


def test_kl_div_mean_warns_like_torch():
    x, t = torch.log_softmax(torch.randn(2, 3), 1), torch.softmax(torch.randn(2, 3), 1)
    with pytest.warns(UserWarning, match="batchmean"):
        LF.kl_div(x, t)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.kl_div(x, t, reduction="batchmean")


@pytest.mark.filterwarnings("ignore:reduction")
def test_kl_div_refusals():
    x, t = torch.log_softmax(torch.randn(4, 3), 1), torch.softmax(torch.randn(4, 3), 1)
    assert_refuses(
        lambda: LF.kl_div(x, t, reduction="avg"), match="reduction", torch_call=lambda: F.kl_div(x, t, reduction="avg")
    )
    assert_refuses(
        lambda: LF.kl_div(x, t[:, :2]),
        match=r"target with shape \(4, 2\).*input \(4, 3\)",
        torch_call=lambda: F.kl_div(x, t[:, :2]),
    )
    # stricter than torch: a target that would grow the output is a shape bug, not a broadcast
    assert_refuses(lambda: LF.kl_div(x[:1], t, reduction="batchmean"), match=r"target with shape \(4, 3\)")


# --------------------------------------------------------------------------------------------
# dim handling and full checks of the measures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [LF.kl_divergence, LF.js_divergence])
def test_divergence_positive_dim_with_broadcast_reference(fn):
    # q of shape (C,) broadcast against p (N, C): dim=1 (positive) used to raise IndexError
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(4, 5, generator=g, dtype=torch.float64), 1)
    q = torch.softmax(torch.randn(5, generator=g, dtype=torch.float64), 0)
    assert_close(fn(p, q, dim=1), fn(p, q.expand(4, 5), dim=-1))
    with pytest.raises(ValueError, match=r"dim=5 is out of range for shape \(4, 5\)"):
        fn(p, q, dim=5)
    with pytest.raises(ValueError, match="p has 4 outcomes along dim=0 but q has 1"):
        fn(p, q, dim=0)  # q has no dim 0 of its own: one outcome there


def test_entropy_dim_out_of_range_names_the_argument():
    with pytest.raises(ValueError, match=r"entropy: dim=2 is out of range"):
        LF.entropy(torch.full((3, 4), 0.25), dim=2)


def test_full_checks_refuse_plus_inf_log_probabilities():
    # +inf in log-probabilities was turned into the largest float by nan_to_num and passed the check
    logp = torch.tensor([0.0, math.inf, -math.inf])
    with losskit.checks("full"):
        with pytest.raises(ValueError, match="non-finite"):
            LF.entropy(logp, log_input=True)
        with pytest.raises(ValueError, match="non-finite"):
            LF.kl_div(logp, torch.tensor([0.2, 0.3, 0.5]))
        LF.entropy(torch.tensor([0.0, -math.inf]), log_input=True)  # -inf (impossible outcome) is fine


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["none", "batchmean", "sum"])
def test_kl_div_under_autocast_computes_in_float32_like_torch(log_target, reduction):
    g = torch.Generator().manual_seed(0)
    log_q = torch.log_softmax(torch.randn(6, 5, generator=g), 1).bfloat16()
    p = torch.softmax(torch.randn(6, 5, generator=g), 1)
    t = (p.log() if log_target else p).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = LF.kl_div(log_q, t, reduction=reduction, log_target=log_target)
        theirs = F.kl_div(log_q, t, reduction=reduction, log_target=log_target)
    assert ours.dtype == theirs.dtype == torch.float32
    assert_close(ours, theirs, tol=dict(rtol=1e-6, atol=1e-7))


def test_kl_div_keeps_half_inputs_half_outside_autocast():
    """No float32 copy of bfloat16 inputs (torch's kernel accumulates in float32): torch's dtype and numbers."""
    log_q = torch.log_softmax(torch.randn(6, 5), 1).bfloat16()
    p = torch.softmax(torch.randn(6, 5), 1).bfloat16()
    ours, theirs = LF.kl_div(log_q, p, reduction="batchmean"), F.kl_div(log_q, p, reduction="batchmean")
    assert ours.dtype == theirs.dtype == torch.bfloat16
    assert torch.equal(ours, theirs)


# --------------------------------------------------------------------------------------------
# generalized KL divergence (I-divergence) between non-negative measures
# --------------------------------------------------------------------------------------------

import reference  # noqa: E402


@given(
    n=st.integers(1, 5),
    c=st.integers(1, 5),
    log_input=st.booleans(),
    reduction=st.sampled_from(["none", "batchmean", "sum", "mean"]),
    zeros=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_generalized_kl_matches_the_formula(n, c, log_input, reduction, zeros, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, generator=g, dtype=torch.float64) * 3 + 0.05
    t = torch.rand(n, c, generator=g, dtype=torch.float64) * 3
    if zeros:
        t[:, 0] = 0.0  # 0 log 0 = 0: the term is x, its gradient 1
    inp = x.log() if log_input else x
    # (d/dt = log(t/x) is -inf at t = 0: the target's gradient is compared where it exists)
    check_against(
        LF.generalized_kl_divergence,
        reference.generalized_kl,
        inp,
        t,
        grad=[True, not zeros],
        log_input=log_input,
        reduction=reduction,
    )


def test_generalized_kl_is_kl_for_distributions_and_poisson_nll_up_to_a_constant():
    g = torch.Generator().manual_seed(1)
    p = _dist(g, (4, 6))
    q = _dist(g, (4, 6))
    assert_close(LF.generalized_kl_divergence(q, p, reduction="none").sum(-1), LF.kl_divergence(p, q))
    z = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    counts = torch.poisson(torch.full((4, 6), 3.0, dtype=torch.float64))
    ours = LF.generalized_kl_divergence(z, counts, log_input=True, reduction="sum")
    poisson = F.poisson_nll_loss(z, counts, log_input=True, reduction="sum")
    assert_close(ours - poisson, (torch.xlogy(counts, counts) - counts).sum())  # t log t - t: no z in it
    (g1,) = torch.autograd.grad(ours, z)
    (g2,) = torch.autograd.grad(F.poisson_nll_loss(z, counts, reduction="sum"), z)
    assert_close(g1, g2)


def test_generalized_kl_refusals_half_and_module():
    x = torch.rand(4, 3) + 0.1
    assert_refuses(lambda: LF.generalized_kl_divergence(-x, x), match="input has 12 entries below 0")
    assert_refuses(lambda: LF.generalized_kl_divergence(x, -x), match="target has 12 entries below 0")
    assert_refuses(lambda: LF.generalized_kl_divergence(x, x[:, :2]), match=r"target with shape \(4, 2\)")
    assert_refuses(lambda: LF.generalized_kl_divergence(x, x, reduction="avg"), match="reduction")
    LF.generalized_kl_divergence(-x, x, log_input=True)  # log-measures may be negative
    with losskit.checks("full"):
        assert_refuses(lambda: LF.generalized_kl_divergence(x, torch.full_like(x, math.inf)), match="non-finite")
    h = LF.generalized_kl_divergence(x.bfloat16(), x.flip(0).bfloat16())
    assert h.dtype == torch.bfloat16
    assert_close(h, reference.generalized_kl(x.bfloat16(), x.flip(0).bfloat16()).to(torch.bfloat16))
    m = losskit.nn.GeneralizedKLDivLoss(log_input=True)
    assert m.reduction == "batchmean" and "log_input=True" in repr(m)
    assert_close(m(x.log(), x.flip(0)), LF.generalized_kl_divergence(x.log(), x.flip(0), log_input=True))


# --------------------------------------------------------------------------------------------
# Jensen-Shannon consistency (AugMix / timm's JsdCrossEntropy)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_splits", [1, 2, 3, 5])
@pytest.mark.parametrize("alpha,smoothing", [(12.0, 0.1), (1.0, 0.0), (0.0, 0.3)])
def test_jsd_cross_entropy_matches_timm(num_splits, alpha, smoothing):
    g = torch.Generator().manual_seed(num_splits)
    m, c = 4, 6
    logits = torch.randn(num_splits * m, c, generator=g, dtype=torch.float64)
    target = torch.randint(0, c, (num_splits * m,), generator=g)  # timm passes the whole batch's targets
    check_against(
        lambda z, t: LF.jsd_cross_entropy(z, t, num_splits=num_splits, alpha=alpha, label_smoothing=smoothing),
        lambda z, t: reference.jsd_cross_entropy_timm(z, t, num_splits=num_splits, alpha=alpha, smoothing=smoothing),
        logits,
        target,
        grad=[True, False],
    )


def test_jsd_cross_entropy_layouts_reductions_and_limits():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (4,), generator=g)
    flat = LF.jsd_cross_entropy(z.reshape(12, 5), y)
    assert_close(LF.jsd_cross_entropy(z, y, num_splits=None), flat)
    rows = LF.jsd_cross_entropy(z, y, num_splits=None, reduction="none")
    assert rows.shape == (4,)
    assert_close(rows.mean(), flat)
    assert_close(LF.jsd_cross_entropy(z, y, num_splits=3, reduction="sum"), rows.sum())
    same = z[:1].expand(3, 4, 5)  # views that agree: the consistency term is 0
    assert_close(LF.jsd_cross_entropy(same, y, num_splits=None), F.cross_entropy(z[0], y, label_smoothing=0.1))
    two = LF.jsd_cross_entropy(z[:2], y, num_splits=None, alpha=1.0, label_smoothing=0.0, reduction="none")
    js = LF.js_divergence(torch.softmax(z[0], -1), torch.softmax(z[1], -1))
    assert_close(two, F.cross_entropy(z[0], y, reduction="none") + js)  # S = 2: the JS divergence itself
    assert torch.autograd.gradgradcheck(
        lambda a: LF.jsd_cross_entropy(a, y, num_splits=None), (z.clone().requires_grad_(),)
    )


def test_jsd_cross_entropy_refusals_and_module():
    z, y = torch.randn(9, 4), torch.randint(0, 4, (3,))
    assert_refuses(lambda: LF.jsd_cross_entropy(z[:8], y), match=r"logits has 8 rows, which is not num_splits=3")
    assert_refuses(lambda: LF.jsd_cross_entropy(z.view(3, 3, 4), y, num_splits=2), match=r"hold 3 splits")
    assert_refuses(lambda: LF.jsd_cross_entropy(z[0], y), match=r"logits must be \(S\*M, C\)")
    assert_refuses(lambda: LF.jsd_cross_entropy(z, y, alpha=-1.0), match=r"alpha must be in \[0, inf\]")
    assert_refuses(lambda: LF.jsd_cross_entropy(z, y, num_splits=0), match=r"num_splits must be in \[1, inf\]")
    assert_refuses(lambda: LF.jsd_cross_entropy(z, y + 4), match="target has class index")
    m = losskit.nn.JsdCrossEntropyLoss()
    assert (m.num_splits, m.alpha, m.label_smoothing) == (3, 12.0, 0.1)  # timm's defaults
    assert_close(m(z, y), LF.jsd_cross_entropy(z, y))
    assert_refuses(lambda: losskit.nn.JsdCrossEntropyLoss(label_smoothing=2.0), match="label_smoothing")
