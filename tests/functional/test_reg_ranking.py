"""Margin / ranking / embedding losses against torch.nn.functional: values, gradients, every
option, shapes (0-d, 1-d, 2-d, broadcasting), half precision, gradcheck and the refusals."""

import inspect
import math
import warnings

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from losskit import functional as LF
from helpers import assert_close, assert_refuses, check_against

REDUCTIONS = ["none", "mean", "sum"]
NAMES = ["margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
         "triplet_margin_with_distance_loss"]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _signs(shape, g, with_zero=False):
    t = torch.randint(0, 3 if with_zero else 2, shape, generator=g)
    return torch.where(t == 2, torch.zeros_like(t), t * 2 - 1)


# --------------------------------------------------------------------------------------------
# margin_ranking_loss
# --------------------------------------------------------------------------------------------


@given(n=st.integers(0, 12), zero_d=st.booleans(), margin=st.sampled_from([0.0, 0.5, -0.3, 2]),
       reduction=st.sampled_from(REDUCTIONS), dtype=st.sampled_from([torch.float32, torch.float64]),
       int_target=st.booleans(), seed=st.integers(0, 2**16))
def test_margin_ranking_matches_torch(n, zero_d, margin, reduction, dtype, int_target, seed):
    g = _gen(seed)
    shape = () if zero_d else (n,)
    x1 = torch.randn(shape, generator=g, dtype=dtype)
    x2 = torch.randn(shape, generator=g, dtype=dtype)
    y = _signs(shape, g)
    y = y if int_target else y.to(dtype)
    check_against(LF.margin_ranking_loss, TF.margin_ranking_loss, x1, x2, y, grad=[True, True, False],
                  margin=margin, reduction=reduction)


def test_margin_ranking_broadcast_and_legacy():
    g = _gen(1)
    x1, x2, y = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(1, generator=g, dtype=torch.float64), _signs((6,), g).double()
    check_against(LF.margin_ranking_loss, TF.margin_ranking_loss, x1, x2, y, grad=[True, True, False])
    with pytest.warns(UserWarning, match="deprecated"):
        ours = LF.margin_ranking_loss(x1, x2, y, 0.1, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(ours, TF.margin_ranking_loss(x1, x2, y, 0.1, False))


def test_margin_ranking_refusals():
    a = torch.randn(5)
    assert_refuses(lambda: LF.margin_ranking_loss(a, a, a[None]), match="same number of dimensions",
                   torch_call=lambda: TF.margin_ranking_loss(a, a, a[None]))
    assert_refuses(lambda: LF.margin_ranking_loss(a, a[:3], a), match=r"do not broadcast.*input2 \(3,\)",
                   torch_call=lambda: TF.margin_ranking_loss(a, a[:3], a))
    assert_refuses(lambda: LF.margin_ranking_loss(a, a, a, reduction="avg"), match="reduction",
                   torch_call=lambda: TF.margin_ranking_loss(a, a, a, reduction="avg"))


# --------------------------------------------------------------------------------------------
# hinge_embedding_loss
# --------------------------------------------------------------------------------------------


@given(shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), margin=st.sampled_from([1.0, 0.3, 0, -1]),
       reduction=st.sampled_from(REDUCTIONS), dtype=st.sampled_from([torch.float32, torch.float64]),
       with_zero=st.booleans(), int_target=st.booleans(), seed=st.integers(0, 2**16))
def test_hinge_embedding_matches_torch(shape, margin, reduction, dtype, with_zero, int_target, seed):
    g = _gen(seed)
    x = (2 * torch.rand(shape, generator=g, dtype=torch.float64) - 0.5).to(dtype)
    y = _signs(shape, g, with_zero=with_zero)  # 0 labels follow torch's rule (both terms)
    y = y if int_target else y.to(dtype)
    check_against(LF.hinge_embedding_loss, TF.hinge_embedding_loss, x, y, grad=[True, False], margin=margin,
                  reduction=reduction)


def test_hinge_embedding_broadcast_and_refusals():
    g = _gen(2)
    x = torch.rand(4, 3, generator=g, dtype=torch.float64)
    check_against(LF.hinge_embedding_loss, TF.hinge_embedding_loss, x, _signs((3,), g).double(), grad=[True, False],
                  reduction="none")
    assert_refuses(lambda: LF.hinge_embedding_loss(x, torch.ones(5)), match=r"do not broadcast",
                   torch_call=lambda: TF.hinge_embedding_loss(x, torch.ones(5)))
    assert_refuses(lambda: LF.hinge_embedding_loss(x, torch.ones(3), reduction="avg"), match="reduction",
                   torch_call=lambda: TF.hinge_embedding_loss(x, torch.ones(3), reduction="avg"))


# --------------------------------------------------------------------------------------------
# cosine_embedding_loss
# --------------------------------------------------------------------------------------------


@given(n=st.integers(1, 8), d=st.integers(1, 6), single=st.booleans(), margin=st.sampled_from([0.0, 0.5, -0.2]),
       reduction=st.sampled_from(REDUCTIONS), dtype=st.sampled_from([torch.float32, torch.float64]),
       with_zero=st.booleans(), seed=st.integers(0, 2**16))
def test_cosine_embedding_matches_torch(n, d, single, margin, reduction, dtype, with_zero, seed):
    g = _gen(seed)
    shape, tshape = ((d,), ()) if single else ((n, d), (n,))
    a = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    b = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    y = _signs(tshape, g, with_zero=with_zero)
    check_against(LF.cosine_embedding_loss, TF.cosine_embedding_loss, a, b, y, grad=[True, True, False],
                  margin=margin, reduction=reduction)


def test_cosine_embedding_zero_vectors_and_broadcast():
    a = torch.zeros(3, 4, dtype=torch.float64)
    b = torch.randn(1, 4, dtype=torch.float64)
    y = torch.tensor([1, -1, 1])
    check_against(LF.cosine_embedding_loss, TF.cosine_embedding_loss, a, b, y, grad=[True, True, False],
                  reduction="none")


def test_cosine_embedding_refusals():
    a, y = torch.randn(6, 8), torch.ones(6)
    cases = [
        ((a[None], a[None], y[None]), "target must be 0-d or 1-d"),
        ((a[0], a[0], y), "a 1-d target needs 2-d inputs"),
        ((a, a, y[0]), "a 0-d target needs 1-d inputs"),
        ((a, a[:, :3], y), r"do not broadcast"),
        ((a, a, y[:3]), r"do not broadcast.*target \(3,\)"),
    ]
    for args, match in cases:
        assert_refuses(lambda: LF.cosine_embedding_loss(*args), match=match,
                       torch_call=lambda: TF.cosine_embedding_loss(*args))
    assert_refuses(lambda: LF.cosine_embedding_loss(a, a, y, reduction="avg"), match="reduction",
                   torch_call=lambda: TF.cosine_embedding_loss(a, a, y, reduction="avg"))


# --------------------------------------------------------------------------------------------
# triplet losses
# --------------------------------------------------------------------------------------------

P_VALUES = [2, 1, 3, 1.5, math.inf, 0.5]


def _triplet(shape, dtype=torch.float64, seed=0):
    g = _gen(seed)
    return tuple(torch.randn(shape, generator=g, dtype=torch.float64).to(dtype) for _ in range(3))


@given(shape=st.sampled_from([(5, 4), (4,), (2, 3, 4), (1, 7), (6, 1)]), p=st.sampled_from(P_VALUES),
       swap=st.booleans(), margin=st.sampled_from([1.0, 0.2, 3]), eps=st.sampled_from([1e-6, 0.0, 0.1]),
       reduction=st.sampled_from(REDUCTIONS), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=st.integers(0, 2**16))
def test_triplet_matches_torch(shape, p, swap, margin, eps, reduction, dtype, seed):
    a, pos, neg = _triplet(shape, dtype, seed)
    check_against(LF.triplet_margin_loss, TF.triplet_margin_loss, a, pos, neg, margin=margin, p=p, eps=eps,
                  swap=swap, reduction=reduction)


def test_triplet_zero_d_broadcast_legacy():
    a, pos, neg = _triplet((5, 4))
    check_against(LF.triplet_margin_loss, TF.triplet_margin_loss, a, pos[:1], neg, swap=True, reduction="none")
    s = _triplet(())
    check_against(LF.triplet_margin_loss, TF.triplet_margin_loss, *s, reduction="none")
    with pytest.warns(UserWarning, match="deprecated"):
        ours = LF.triplet_margin_loss(a, pos, neg, 1.0, 2, 1e-6, False, None, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(ours, TF.triplet_margin_loss(a, pos, neg, 1.0, 2, 1e-6, False, None, False))


def _cos_dist(x, y):
    return 1 - torch.cosine_similarity(x, y, dim=-1)


@given(shape=st.sampled_from([(5, 4), (4,), (1, 7)]), dist=st.sampled_from([None, "cos", "l1"]), swap=st.booleans(),
       margin=st.sampled_from([1.0, 0.3]), reduction=st.sampled_from(REDUCTIONS),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**16))
def test_triplet_with_distance_matches_torch(shape, dist, swap, margin, reduction, dtype, seed):
    fn = {None: None, "cos": _cos_dist, "l1": lambda x, y: TF.pairwise_distance(x, y, p=1)}[dist]
    a, pos, neg = _triplet(shape, dtype, seed)
    check_against(LF.triplet_margin_with_distance_loss, TF.triplet_margin_with_distance_loss, a, pos, neg,
                  distance_function=fn, margin=margin, swap=swap, reduction=reduction)


@pytest.mark.parametrize("name", ["triplet_margin_loss", "triplet_margin_with_distance_loss"])
def test_triplet_refusals(name):
    a, pos, neg = _triplet((5, 4))
    ours, ref = getattr(LF, name), getattr(TF, name)
    for m in (0, -1.0):
        assert_refuses(lambda: ours(a, pos, neg, margin=m), match=r"margin must be greater than 0",
                       torch_call=lambda: ref(a, pos, neg, margin=m))
    assert_refuses(lambda: ours(a, pos[0], neg), match="same number of dimensions",
                   torch_call=lambda: ref(a, pos[0], neg))
    assert_refuses(lambda: ours(a, pos[:, :3], neg), match=r"do not broadcast.*positive \(5, 3\)",
                   torch_call=lambda: ref(a, pos[:, :3], neg))
    assert_refuses(lambda: ours(a, pos, neg, reduction="avg"), match="reduction",
                   torch_call=lambda: ref(a, pos, neg, reduction="avg"))


def test_triplet_with_distance_refuses_non_callable():
    a, pos, neg = _triplet((5, 4))
    assert_refuses(lambda: LF.triplet_margin_with_distance_loss(a, pos, neg, distance_function=3),
                   match="distance_function must be callable",
                   torch_call=lambda: TF.triplet_margin_with_distance_loss(a, pos, neg, distance_function=3))
    with pytest.raises(TypeError):  # keyword-only, like torch
        LF.triplet_margin_with_distance_loss(a, pos, neg, None)


# --------------------------------------------------------------------------------------------
# all of them: half precision, gradcheck, signatures
# --------------------------------------------------------------------------------------------


def _inputs(name, dtype=torch.float64, seed=0):
    g = _gen(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype)  # noqa: E731
    if name == "margin_ranking_loss":
        return (r(8), r(8), _signs((8,), g).to(dtype)), {"margin": 0.3}
    if name == "hinge_embedding_loss":
        return (r(8).abs(), _signs((8,), g).to(dtype)), {"margin": 1.0}
    if name == "cosine_embedding_loss":
        return (r(8, 5), r(8, 5), _signs((8,), g)), {"margin": 0.1}
    if name == "triplet_margin_loss":
        return (r(8, 5), r(8, 5), r(8, 5)), {"margin": 3.0, "swap": True, "p": 1.5}
    return (r(8, 5), r(8, 5), r(8, 5)), {"margin": 3.0, "swap": True}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_half_against_float64(name, dtype, reduction):
    args, kw = _inputs(name, dtype)
    grad = [a.is_floating_point() and i < (2 if name != "hinge_embedding_loss" else 1) or name.startswith("triplet")
            for i, a in enumerate(args)]
    out, _ = check_against(getattr(LF, name), getattr(TF, name), *args, grad=grad, ref_dtype=torch.float64,
                           reduction=reduction, **kw)
    assert out.dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name):
    args, kw = _inputs(name)
    n_diff = 1 if name == "hinge_embedding_loss" else 2 if name != "triplet_margin_loss" and not name.startswith("triplet") else 3
    diff = [a.requires_grad_() for a in args[:n_diff]]
    rest = args[n_diff:]
    for reduction in REDUCTIONS:
        f = lambda *d: getattr(LF, name)(*d, *rest, reduction=reduction, **kw)  # noqa: E731
        assert torch.autograd.gradcheck(f, tuple(diff))
        assert torch.autograd.gradgradcheck(f, tuple(diff))


def test_signatures_match_torch():
    for name in NAMES:
        ours = list(inspect.signature(getattr(LF, name)).parameters.values())
        ref = list(inspect.signature(getattr(TF, name)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], name


@pytest.mark.parametrize("name", NAMES)
def test_compiles_fullgraph(name):
    args, kw = _inputs(name, torch.float32)
    args = [a.requires_grad_() if a.is_floating_point() and i == 0 else a for i, a in enumerate(args)]
    f = torch.compile(getattr(LF, name), fullgraph=True, backend="aot_eager")
    out = f(*args, **kw)
    (g,) = torch.autograd.grad(out, args[0])
    ref = getattr(TF, name)(*args, **kw)
    (g_ref,) = torch.autograd.grad(ref, args[0])
    assert_close(out.detach(), ref.detach())
    assert_close(g, g_ref)


def test_cosine_embedding_gradient_at_the_margin_matches_torch():
    """cos - margin == 0 exactly for a dissimilar pair: torch's clamp keeps the gradient there."""
    a = torch.randn(3, 4, dtype=torch.float64)
    b = torch.randn(3, 4, dtype=torch.float64)
    y = torch.tensor([-1, -1, 1])
    eps = 9.999999960041972e-13  # ATen's float EPSILON
    cos = (a * b).sum(1) / (((a * a).sum(1) + eps) * ((b * b).sum(1) + eps)).sqrt()
    margin = cos[0].item()
    assert TF.cosine_embedding_loss(a, b, y, margin=margin, reduction="none")[0] == 0
    check_against(LF.cosine_embedding_loss, TF.cosine_embedding_loss, a, b, y, grad=[True, True, False],
                  margin=margin, reduction="sum")
