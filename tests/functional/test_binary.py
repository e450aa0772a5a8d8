"""binary_cross_entropy(_with_logits) against torch, label smoothing, and the logits/probs guards."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import losskit
import losskit.functional as LF
from helpers import assert_close, assert_refuses, check_against

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


def _smooth(y, eps):
    return y * (1 - eps) + eps / 2


def _weight(g, shape, kind, dtype):
    if kind == "none":
        return None
    wshape = shape if kind == "full" else shape[-1:]
    return (torch.rand(wshape, generator=g, dtype=torch.float64) + 0.2).to(dtype)


@given(
    shape=shapes,
    wkind=st.sampled_from(["none", "full", "last"]),
    pwkind=st.sampled_from(["none", "last"]),
    eps=st.sampled_from([0.0, 0.1, 0.5]),
    soft=st.booleans(),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_bce_with_logits_matches_torch(shape, wkind, pwkind, eps, soft, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g, dtype=torch.float64).mul(4).to(dtype)
    target = torch.rand(shape, generator=g, dtype=torch.float64) if soft else torch.randint(0, 2, shape, generator=g)
    target = target.to(dtype)
    weight = _weight(g, shape, wkind, dtype)
    pos_weight = _weight(g, shape, pwkind, dtype)

    def ref(x, y, w, pw, reduction):  # torch with the targets smoothed by hand
        return F.binary_cross_entropy_with_logits(x, _smooth(y, eps), w, reduction=reduction, pos_weight=pw)

    def ours(x, y, w, pw, reduction):
        return LF.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw, label_smoothing=eps)

    check_against(ours, ref, logits, target, weight, pos_weight, grad=[True, True, False, False], reduction=reduction)


@given(
    shape=shapes,
    wkind=st.sampled_from(["none", "full", "last"]),
    eps=st.sampled_from([0.0, 0.1]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_bce_with_logits_backward_in_one_buffer_matches_torch_to_second_order(
    shape, wkind, eps, reduction, dtype, seed
):
    # a target without a gradient: losskit's own backward (sigma(z) - y) w g, computed in place
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=g, dtype=torch.float64).mul(4).to(dtype)
    target = torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)
    weight = _weight(g, shape, wkind, dtype)
    upstream = torch.rand(shape if reduction == "none" else (), generator=g, dtype=torch.float64).to(dtype) + 0.5
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-14}

    def grads(fn, create_graph):
        x = logits.clone().requires_grad_()
        out = fn(x)
        (gx,) = torch.autograd.grad(out, x, upstream, create_graph=create_graph)
        return out, gx, x

    def ref(x):
        return F.binary_cross_entropy_with_logits(x, _smooth(target, eps), weight, reduction=reduction)

    def ours(x):
        return LF.binary_cross_entropy_with_logits(x, target, weight, reduction=reduction, label_smoothing=eps)

    out, gx, _ = grads(ours, False)
    assert type(out.grad_fn).__name__.startswith("_BinaryCrossEntropyWithLogits")
    r_out, r_gx, _ = grads(ref, False)
    assert torch.equal(out, r_out)  # the forward is torch's op
    torch.testing.assert_close(gx, r_gx, **tol)
    # second order: the gradient of sum(grad * v) with respect to the logits, and a gradient penalty
    v = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    _, gx2, x2 = grads(ours, True)
    _, r_gx2, r_x2 = grads(ref, True)
    (hv,) = torch.autograd.grad((gx2 * v).sum(), x2)
    (r_hv,) = torch.autograd.grad((r_gx2 * v).sum(), r_x2)
    torch.testing.assert_close(hv, r_hv, **tol)


def test_bce_with_logits_backward_in_one_buffer_passes_gradgradcheck():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(5, 4, generator=g, dtype=torch.float64)
    w = torch.rand(4, generator=g, dtype=torch.float64) + 0.5
    for reduction in ("none", "mean", "sum"):
        fn = lambda x, r=reduction: LF.binary_cross_entropy_with_logits(x, y, w, reduction=r)
        assert type(fn(x).grad_fn).__name__.startswith("_BinaryCrossEntropyWithLogits")
        assert torch.autograd.gradcheck(fn, (x,))
        assert torch.autograd.gradgradcheck(fn, (x,))


def test_bce_with_logits_takes_torchs_op_where_its_backward_does_not_apply():
    x = torch.randn(4, 3, requires_grad=True)
    y = torch.rand(4, 3)
    cases = {
        "target with a gradient": lambda: LF.binary_cross_entropy_with_logits(x, y.clone().requires_grad_()),
        "pos_weight": lambda: LF.binary_cross_entropy_with_logits(x, y, pos_weight=torch.full((3,), 2.0)),
    }
    for what, call in cases.items():
        assert type(call().grad_fn).__name__ == "BinaryCrossEntropyWithLogitsBackward0", what
    with torch.no_grad():
        assert LF.binary_cross_entropy_with_logits(x, y).grad_fn is None


@given(
    shape=shapes,
    wkind=st.sampled_from(["none", "full", "last"]),
    eps=st.sampled_from([0.0, 0.2]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_bce_matches_torch(shape, wkind, eps, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    probs = torch.rand(shape, generator=g, dtype=torch.float64).mul(0.98).add(0.01).to(dtype)
    target = torch.rand(shape, generator=g, dtype=torch.float64).round().to(dtype)
    weight = _weight(g, shape, wkind, dtype)
    check_against(
        lambda p, y, w, **k: LF.binary_cross_entropy(p, y, w, label_smoothing=eps, **k),
        lambda p, y, w, **k: F.binary_cross_entropy(p, _smooth(y, eps), w, **k),
        probs,
        target,
        weight,
        grad=[True, False, False],
        reduction=reduction,
    )


def test_bce_saturated_probs_clamped_like_torch():
    p = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    check_against(LF.binary_cross_entropy, F.binary_cross_entropy, p, y, reduction="none")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_half_precision_vs_float64(dtype, reduction):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g).mul(5).to(dtype)
    y = torch.randint(0, 2, (5, 7), generator=g).to(dtype)
    pw = torch.rand(7, generator=g).add(0.5).to(dtype)
    out, _ = check_against(
        lambda x, y, pw, **k: LF.binary_cross_entropy_with_logits(x, y, pos_weight=pw, **k),
        lambda x, y, pw, **k: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, **k),
        x,
        y,
        pw,
        grad=[True, False, False],
        ref_dtype=torch.float64,
        reduction=reduction,
    )
    assert out.dtype == dtype
    p = torch.rand(5, 7, generator=g).mul(0.9).add(0.05).to(dtype)
    out, _ = check_against(
        LF.binary_cross_entropy,
        F.binary_cross_entropy,
        p,
        y,
        grad=[True, False],
        ref_dtype=torch.float64,
        reduction=reduction,
    )
    assert out.dtype == dtype


def test_gradcheck_float64():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.rand(3, dtype=torch.float64) + 0.5
    pw = torch.rand(3, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(
        lambda x, y: LF.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw, label_smoothing=0.1), (x, y)
    )
    p = torch.rand(4, 3, dtype=torch.float64).mul(0.9).add(0.05).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda p: LF.binary_cross_entropy(p, y.detach(), w, label_smoothing=0.1, reduction="none"), (p,)
    )


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.37, 0.9])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_smoothing_equals_two_class_cross_entropy(eps, reduction):
    """BCE on logit z with smoothing ε == 2-class CE on logits [0, z] with label_smoothing ε."""
    z = torch.randn(6, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 2, (6,))
    bce = LF.binary_cross_entropy_with_logits(z, y.double(), reduction=reduction, label_smoothing=eps)
    ce = LF.cross_entropy(torch.stack([torch.zeros_like(z), z], 1), y, reduction=reduction, label_smoothing=eps)
    assert_close(bce, ce)
    g1 = torch.autograd.grad(bce.sum(), z)[0]
    g2 = torch.autograd.grad(ce.sum(), z)[0]
    assert_close(g1, g2)
    # and for probabilities: the same smoothing applied to BCE on sigmoid(z)
    p = torch.sigmoid(z.detach())
    assert_close(LF.binary_cross_entropy(p, y.double(), reduction=reduction, label_smoothing=eps), ce.detach())


def test_keras_convention_is_ours():
    y = torch.tensor([0.0, 1.0])
    eps = 0.2
    keras = y * (1.0 - eps) + 0.5 * eps  # keras.losses.BinaryCrossentropy(label_smoothing=eps)
    z = torch.tensor([0.3, -0.4])
    assert_close(
        LF.binary_cross_entropy_with_logits(z, y, label_smoothing=eps), F.binary_cross_entropy_with_logits(z, keras)
    )


def test_integer_and_bool_targets_are_accepted():
    x = torch.randn(4, 3)
    y = torch.randint(0, 2, (4, 3))
    ref = F.binary_cross_entropy_with_logits(x, y.float())
    assert_close(LF.binary_cross_entropy_with_logits(x, y), ref)
    assert_close(LF.binary_cross_entropy_with_logits(x, y.bool()), ref)
    assert_close(LF.binary_cross_entropy(torch.sigmoid(x), y), F.binary_cross_entropy(torch.sigmoid(x), y.float()))


def test_float64_target_promotes_like_torch():
    x, y = torch.randn(3), torch.rand(3, dtype=torch.float64)
    out = LF.binary_cross_entropy_with_logits(x, y)
    assert out.dtype == F.binary_cross_entropy_with_logits(x, y).dtype == torch.float64


def test_sigmoid_applied_twice_warns():
    probs = torch.sigmoid(torch.randn(16, requires_grad=True))
    y = torch.randint(0, 2, (16,)).float()
    with pytest.warns(UserWarning, match="sigmoid applied twice.*binary_cross_entropy"):
        LF.binary_cross_entropy_with_logits(probs, y)
    with pytest.warns(UserWarning, match="sigmoid applied twice"):
        LF.binary_cross_entropy_with_logits(probs.view(4, 4).t(), y.view(4, 4))  # through views too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.binary_cross_entropy_with_logits(torch.randn(16) * 3, y)  # real logits: quiet
        LF.binary_cross_entropy_with_logits(probs.detach(), torch.rand(16))  # values alone never warn


def test_healthy_logits_in_unit_interval_stay_quiet():
    """A zero-initialised head gives logits that all lie in [0, 1] (all 0): not sigmoid outputs."""
    head = torch.nn.Linear(4, 1)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    logits = head(torch.randn(16, 4)).squeeze(1)
    y = torch.randint(0, 2, (16,)).float()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LF.binary_cross_entropy_with_logits(logits, y)
        LF.binary_cross_entropy_with_logits(torch.rand(16), y)  # values in [0, 1] without a sigmoid in the graph


def test_target_outside_unit_interval_is_refused_by_losskit():
    p = torch.rand(4, 3)
    for bad in (T * 2, T - 1):
        assert_refuses(lambda bad=bad: LF.binary_cross_entropy(p, bad), match=r"target has values outside \[0, 1\]")
        assert_refuses(lambda bad=bad: LF.binary_cross_entropy_with_logits(p, bad), match=r"target has values outside")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_nan_probability_gives_nan_not_torchs_error(reduction):
    p = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    x = p.detach().clone()
    x[1, 2] = float("nan")
    out = LF.binary_cross_entropy(x, T.double(), reduction=reduction)
    assert torch.isnan(out).any()
    if reduction == "none":
        keep = ~torch.isnan(x)
        assert_close(out[keep], F.binary_cross_entropy(x.nan_to_num(0.5), T.double(), reduction="none")[keep])


@pytest.mark.parametrize(
    "fn, make",
    [
        (LF.binary_cross_entropy_with_logits, lambda g: torch.randn(6, 3, generator=g)),
        (LF.binary_cross_entropy, lambda g: torch.rand(6, 3, generator=g)),
    ],
)
def test_autocast_returns_float32_like_torch(fn, make):
    g = torch.Generator().manual_seed(0)
    x = make(g).bfloat16()
    y = torch.randint(0, 2, (6, 3), generator=g).bfloat16()
    torch_fn = getattr(F, fn.__name__)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, theirs = fn(x, y), torch_fn(x, y)
    assert ours.dtype == theirs.dtype == torch.float32
    assert_close(ours, theirs)


P = torch.rand(4, 3)
T = torch.randint(0, 2, (4, 3)).float()


@pytest.mark.parametrize(
    "fn, tfn, args, kwargs, match",
    [
        (
            LF.binary_cross_entropy,
            F.binary_cross_entropy,
            (P * 6 - 3, T),
            {},
            r"probs has values outside \[0, 1\] \(min -?\d.*max \d.*looks like logits — use binary_cross_entropy_with_logits",
        ),
        (LF.binary_cross_entropy, F.binary_cross_entropy, (P, T[:, :2]), {}, r"probs \(4, 3\) and target \(4, 2\)"),
        (LF.binary_cross_entropy, F.binary_cross_entropy, (P, T[:1]), {}, r"probs \(4, 3\) and target \(1, 3\)"),
        (
            LF.binary_cross_entropy,
            F.binary_cross_entropy,
            (P, T),
            {"weight": torch.ones(2)},
            r"weight with shape \(2,\) does not broadcast to the shape of probs \(4, 3\)",
        ),
        (LF.binary_cross_entropy, F.binary_cross_entropy, (P, T), {"reduction": "avg"}, "reduction"),
        (
            LF.binary_cross_entropy_with_logits,
            F.binary_cross_entropy_with_logits,
            (P, T[:, :2]),
            {},
            r"logits \(4, 3\) and target \(4, 2\)",
        ),
        (
            LF.binary_cross_entropy_with_logits,
            F.binary_cross_entropy_with_logits,
            (P, T),
            {"weight": torch.ones(2)},
            r"weight with shape \(2,\)",
        ),
        (
            LF.binary_cross_entropy_with_logits,
            F.binary_cross_entropy_with_logits,
            (P, T),
            {"pos_weight": torch.ones(2)},
            r"pos_weight with shape \(2,\) does not broadcast",
        ),
        (
            LF.binary_cross_entropy_with_logits,
            F.binary_cross_entropy_with_logits,
            (P, T),
            {"reduction": "x"},
            "reduction",
        ),
    ],
)
def test_refuses_what_torch_refuses(fn, tfn, args, kwargs, match):
    assert_refuses(lambda: fn(*args, **kwargs), match=match, torch_call=lambda: tfn(*args, **kwargs))


@pytest.mark.parametrize("eps", [1.0, -0.1, 2])
def test_label_smoothing_range(eps):
    for fn in (LF.binary_cross_entropy, LF.binary_cross_entropy_with_logits):
        assert_refuses(
            lambda fn=fn: fn(P, T, label_smoothing=eps), match=rf"label_smoothing must be in \[0, 1\), got {eps}"
        )


def test_nan_refused_in_full_check_mode():
    x = P.clone()
    x[0, 0] = float("inf")
    with losskit.checks("full"):
        assert_refuses(lambda: LF.binary_cross_entropy_with_logits(x, T), match="logits has 1 non-finite")
        assert_refuses(lambda: LF.binary_cross_entropy(x, T), match="probs has 1 non-finite")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_class_index_targets_with_a_threshold_match_timm(reduction):
    from reference import timm_binary_cross_entropy

    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 5, dtype=torch.float64, generator=g)
    y = torch.randint(0, 5, (6,), generator=g)
    # smoothing 0 in timm: class indices are one-hot rows
    check_against(
        lambda x: LF.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        lambda x: timm_binary_cross_entropy(x, y, smoothing=0.0, reduction=reduction),
        x,
    )
    # timm smooths then thresholds: with a threshold between off and on values the smoothing is undone
    check_against(
        lambda x: LF.binary_cross_entropy_with_logits(x, y, target_threshold=0.2, reduction=reduction),
        lambda x: timm_binary_cross_entropy(x, y, smoothing=0.1, target_threshold=0.2, reduction=reduction),
        x,
    )
    soft = torch.rand(6, 5, dtype=torch.float64, generator=g)  # mixup-style soft targets
    pw = torch.rand(5, dtype=torch.float64, generator=g) + 0.5
    check_against(
        lambda x: LF.binary_cross_entropy_with_logits(
            x, soft, pos_weight=pw, target_threshold=0.3, reduction=reduction
        ),
        lambda x: timm_binary_cross_entropy(x, soft, target_threshold=0.3, pos_weight=pw, reduction=reduction),
        x,
    )
    assert_refuses(
        lambda: LF.binary_cross_entropy_with_logits(x, torch.tensor([0, 1, 5, 0, 1, 2])), match="class index 5 outside"
    )
    assert_refuses(
        lambda: LF.binary_cross_entropy_with_logits(x, soft, target_threshold=1.0),
        match=r"target_threshold must be in \[0, 1\)",
    )


def test_trailing_one_is_squeezed_like_keras_and_pos_weight_may_be_a_float():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(8, dtype=torch.float64, generator=g)
    y = torch.randint(0, 2, (8,), generator=g).double()
    ref = F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor(2.5, dtype=torch.float64))
    assert_close(LF.binary_cross_entropy_with_logits(x, y.view(8, 1), pos_weight=2.5), ref)
    assert_close(LF.binary_cross_entropy_with_logits(x.view(8, 1), y, pos_weight=2.5), ref)
    p = torch.sigmoid(x)
    assert_close(LF.binary_cross_entropy(p, y.view(8, 1)), F.binary_cross_entropy(p, y))
    assert_refuses(lambda: LF.binary_cross_entropy_with_logits(x, y, pos_weight=-1.0), match=r"pos_weight must be in")
    assert_refuses(
        lambda: LF.binary_cross_entropy_with_logits(x, y.view(4, 2)), match=r"logits \(8,\) and target \(4, 2\)"
    )


def test_bce_with_logits_backward_in_one_buffer_has_torchs_forward_mode_tangent():
    import torch.autograd.forward_ad as fwAD

    g = torch.Generator().manual_seed(7)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(5, 4, generator=g, dtype=torch.float64)
    dx = torch.randn(5, 4, generator=g, dtype=torch.float64)
    for w in (None, torch.rand(4, generator=g, dtype=torch.float64) + 0.5):
        for reduction in ("none", "mean", "sum"):
            with fwAD.dual_level():
                out = LF.binary_cross_entropy_with_logits(fwAD.make_dual(x, dx), y, w, reduction=reduction)
                assert type(out.grad_fn).__name__.startswith("_BinaryCrossEntropyWithLogits")
                ours = fwAD.unpack_dual(out).tangent
                ref = F.binary_cross_entropy_with_logits(fwAD.make_dual(x.detach(), dx), y, w, reduction=reduction)
                theirs = fwAD.unpack_dual(ref).tangent
            torch.testing.assert_close(ours, theirs)
