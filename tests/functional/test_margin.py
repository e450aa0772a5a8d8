"""The margin losses against torch.nn.functional: values, gradients, every option, torch's edge
shapes (0-d, empty, (C,) with (1,)), half precision, gradcheck / gradgradcheck, NaN, the full-check
level, the multilabel-margin primitive, and the refusals."""

import inspect
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import losskit
import losskit.functional as LF
from examples import inputs as catalog_inputs
from helpers import TOL, assert_close, assert_refuses, check_against
from losskit.functional._primitives import _multilabel_margin_slope, multilabel_margin_rows

# ============================================================================================
# classification margins: soft_margin, multilabel_soft_margin, multi_margin, multilabel_margin
# ============================================================================================

REDUCTION = st.sampled_from(["none", "mean", "sum"])
DTYPES = st.sampled_from([torch.float32, torch.float64])


@given(
    shape=st.lists(st.integers(1, 4), max_size=3).map(tuple),
    reduction=REDUCTION,
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_soft_margin_matches_torch(shape, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64).mul(3).to(dtype)
    y = (torch.randint(0, 2, shape, generator=g) * 2 - 1).to(dtype)
    check_against(LF.soft_margin_loss, F.soft_margin_loss, x, y, grad=[True, False], reduction=reduction)


def test_soft_margin_is_finite_where_torch_overflows():
    x = torch.tensor([-1000.0, 1000.0, 5.0], requires_grad=True)
    y = torch.tensor([1.0, -1.0, 1.0])
    out = LF.soft_margin_loss(x, y, reduction="none")
    assert torch.isinf(F.soft_margin_loss(x, y, reduction="none")[:2]).all()
    assert_close(out, torch.tensor([1000.0, 1000.0, float(torch.log1p(torch.exp(torch.tensor(-5.0))))]))
    (gx,) = torch.autograd.grad(out.sum(), x)
    assert_close(gx, torch.tensor([-1.0, 1.0, -float(torch.sigmoid(torch.tensor(-5.0)))]))


def test_soft_margin_equals_bce_on_shifted_labels():
    x = torch.randn(10, dtype=torch.float64)
    y = torch.randint(0, 2, (10,)).double()
    assert_close(LF.soft_margin_loss(x, 2 * y - 1), LF.binary_cross_entropy_with_logits(x, y))


@given(
    lead=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    c=st.integers(1, 5),
    weighted=st.booleans(),
    reduction=REDUCTION,
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_multilabel_soft_margin_matches_torch(lead, c, weighted, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (*lead, c)
    x = torch.randn(shape, generator=g, dtype=torch.float64).mul(3).to(dtype)
    y = torch.randint(0, 2, shape, generator=g).to(dtype)
    w = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).to(dtype) if weighted else None
    check_against(
        LF.multilabel_soft_margin_loss,
        F.multilabel_soft_margin_loss,
        x,
        y,
        w,
        grad=[True, True, False],
        reduction=reduction,
    )


@given(
    n=st.one_of(st.none(), st.integers(1, 5)),
    c=st.integers(1, 5),
    p=st.sampled_from([1, 2]),
    margin=st.sampled_from([0.5, 1.0, 2.0]),
    weighted=st.booleans(),
    reduction=REDUCTION,
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_multi_margin_matches_torch(n, c, p, margin, weighted, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((c,) if n is None else (n, c), generator=g, dtype=torch.float64).to(dtype)
    y = torch.randint(0, c, () if n is None else (n,), generator=g)
    w = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).to(dtype) if weighted else None
    check_against(
        LF.multi_margin_loss,
        F.multi_margin_loss,
        x,
        y,
        p,
        margin,
        w,
        grad=[True, False, False, False, False],
        reduction=reduction,
    )


def _label_lists(g, n, c):
    rows = []
    for _ in range(n):
        k = int(torch.randint(0, c + 1, (), generator=g))
        labels = torch.randperm(c, generator=g)[:k].tolist()
        pad = torch.randint(-1, c, (c - k,), generator=g).tolist()  # junk after the first -1 is ignored
        if pad:
            pad[0] = -1
        rows.append(labels + pad)
    return torch.tensor(rows, dtype=torch.long).reshape(n, c)


@given(
    n=st.one_of(st.none(), st.integers(1, 5)),
    c=st.integers(1, 5),
    reduction=REDUCTION,
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_multilabel_margin_matches_torch(n, c, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((c,) if n is None else (n, c), generator=g, dtype=torch.float64).to(dtype)
    y = _label_lists(g, 1 if n is None else n, c)
    if n is None:
        y = y[0]
    check_against(LF.multilabel_margin_loss, F.multilabel_margin_loss, x, y, grad=[True, False], reduction=reduction)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_classification_margins_compute_half_inputs_in_float32(dtype):
    """torch has no half CPU kernel for the two margin losses; losskit computes in float32."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, generator=g).to(dtype)
    y = torch.randint(0, 5, (4,), generator=g)
    w = torch.rand(5, generator=g).add(0.5).to(dtype)
    for ours, ref, args in (
        (LF.multi_margin_loss, F.multi_margin_loss, (x, y, 2, 1.0, w)),
        (LF.multilabel_margin_loss, F.multilabel_margin_loss, (x, _label_lists(g, 4, 5))),
        (LF.soft_margin_loss, F.soft_margin_loss, (x, torch.sign(torch.randn(4, 5)).to(dtype))),
        (LF.multilabel_soft_margin_loss, F.multilabel_soft_margin_loss, (x, torch.randint(0, 2, (4, 5)).to(dtype), w)),
    ):
        out, _ = check_against(ours, ref, *args, grad=[True] + [False] * (len(args) - 1), ref_dtype=torch.float64)
        assert out.dtype == dtype


def test_classification_margins_pass_gradcheck():
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 4, 1])
    w = torch.rand(5, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(lambda x: LF.multi_margin_loss(x, y, 2, 0.7, w), (x,))
    assert torch.autograd.gradcheck(lambda x: LF.soft_margin_loss(x, torch.sign(x.detach())), (x,))
    yl = torch.randint(0, 2, (4, 5)).double()
    assert torch.autograd.gradcheck(lambda x: LF.multilabel_soft_margin_loss(x, yl, w, reduction="none"), (x,))
    assert torch.autograd.gradcheck(lambda x: LF.multilabel_margin_loss(x, torch.tensor([[0, 2, -1, 1, 1]] * 4)), (x,))


X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])
YL = torch.tensor([[0, 1, -1], [2, -1, 0], [-1, 0, 0], [0, 1, 2]])


@pytest.mark.parametrize(
    "fn, tfn, args, kwargs, match",
    [
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y), {"p": 3}, r"p must be 1 or 2.*got 3"),
        (
            LF.multi_margin_loss,
            F.multi_margin_loss,
            (X, torch.tensor([0, 1, 3, 1])),
            {},
            r"class index 3 outside \[0, 2\]",
        ),
        (
            LF.multi_margin_loss,
            F.multi_margin_loss,
            (torch.randn(2, 3, 4), torch.zeros(2, dtype=torch.long)),
            {},
            r"shape \(N, C\) or \(C,\), got \(2, 3, 4\)",
        ),
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y), {"weight": torch.ones(2)}, r"weight.*\(2,\)"),
        (
            LF.multi_margin_loss,
            F.multi_margin_loss,
            (X, Y[:3]),
            {},
            r"target has shape \(3,\) but input has shape \(4, 3\)",
        ),
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y), {"reduction": "avg"}, "reduction"),
        (
            LF.multilabel_margin_loss,
            F.multilabel_margin_loss,
            (X, YL.clone().fill_(3)),
            {},
            r"values in \[3, 3\].*\[0, 2\].*padded with -1",
        ),
        (
            LF.multilabel_margin_loss,
            F.multilabel_margin_loss,
            (X, YL[:, :2]),
            {},
            r"input \(4, 3\) and target \(4, 2\)",
        ),
        (LF.multilabel_margin_loss, F.multilabel_margin_loss, (X, YL.float()), {}, r"integer tensor padded with -1"),
        (
            LF.multilabel_soft_margin_loss,
            F.multilabel_soft_margin_loss,
            (X, X.sign()),
            {"weight": torch.ones(2)},
            r"weight with shape \(2,\) does not broadcast",
        ),
        (LF.soft_margin_loss, F.soft_margin_loss, (X, Y.float()), {"reduction": "x"}, "reduction"),
    ],
)
def test_refuses_what_torch_refuses(fn, tfn, args, kwargs, match):
    assert_refuses(lambda: fn(*args, **kwargs), match=match, torch_call=lambda: tfn(*args, **kwargs))


def test_stricter_than_torch_on_growing_broadcasts():
    # torch broadcasts a (1, C) target against (N, C) input here; a target that does not match is a bug
    assert_refuses(lambda: LF.soft_margin_loss(X[:1], X.sign()), match=r"target with shape \(4, 3\)")
    assert_refuses(lambda: LF.soft_margin_loss(X[:, 0], X[:, :1].sign()), match=r"target with shape \(4, 1\)")
    assert_refuses(lambda: LF.multilabel_soft_margin_loss(torch.randn(()), torch.ones(())), match="class dimension")
    # but a target that broadcasts to the input's shape is accepted, as in torch
    assert_close(LF.soft_margin_loss(X, X[:1].sign()), F.soft_margin_loss(X, X[:1].sign()), tol=TOL[torch.float32])


# ============================================================================================
# ranking and metric-learning margins
# ============================================================================================

REDUCTIONS = ["none", "mean", "sum"]
NAMES = [
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _signs(shape, g, with_zero=False):
    t = torch.randint(0, 3 if with_zero else 2, shape, generator=g)
    return torch.where(t == 2, torch.zeros_like(t), t * 2 - 1)


# --------------------------------------------------------------------------------------------
# margin_ranking_loss
# --------------------------------------------------------------------------------------------


@given(
    n=st.integers(0, 12),
    zero_d=st.booleans(),
    margin=st.sampled_from([0.0, 0.5, -0.3, 2]),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    int_target=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_margin_ranking_matches_torch(n, zero_d, margin, reduction, dtype, int_target, seed):
    g = _gen(seed)
    shape = () if zero_d else (n,)
    x1 = torch.randn(shape, generator=g, dtype=dtype)
    x2 = torch.randn(shape, generator=g, dtype=dtype)
    y = _signs(shape, g)
    y = y if int_target else y.to(dtype)
    check_against(
        LF.margin_ranking_loss,
        TF.margin_ranking_loss,
        x1,
        x2,
        y,
        grad=[True, True, False],
        margin=margin,
        reduction=reduction,
    )


def test_margin_ranking_broadcast_and_legacy():
    g = _gen(1)
    x1, x2, y = (
        torch.randn(6, generator=g, dtype=torch.float64),
        torch.randn(1, generator=g, dtype=torch.float64),
        _signs((6,), g).double(),
    )
    check_against(LF.margin_ranking_loss, TF.margin_ranking_loss, x1, x2, y, grad=[True, True, False])
    with pytest.warns(UserWarning, match="deprecated"):
        ours = LF.margin_ranking_loss(x1, x2, y, 0.1, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(ours, TF.margin_ranking_loss(x1, x2, y, 0.1, False))


def test_margin_ranking_refusals():
    a = torch.randn(5)
    assert_refuses(
        lambda: LF.margin_ranking_loss(a, a, a[None]),
        match="same number of dimensions",
        torch_call=lambda: TF.margin_ranking_loss(a, a, a[None]),
    )
    assert_refuses(
        lambda: LF.margin_ranking_loss(a, a[:3], a),
        match=r"do not broadcast.*input2 \(3,\)",
        torch_call=lambda: TF.margin_ranking_loss(a, a[:3], a),
    )
    assert_refuses(
        lambda: LF.margin_ranking_loss(a, a, a, reduction="avg"),
        match="reduction",
        torch_call=lambda: TF.margin_ranking_loss(a, a, a, reduction="avg"),
    )


# --------------------------------------------------------------------------------------------
# hinge_embedding_loss
# --------------------------------------------------------------------------------------------


@given(
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
    margin=st.sampled_from([1.0, 0.3, 0, -1]),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    with_zero=st.booleans(),
    int_target=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_hinge_embedding_matches_torch(shape, margin, reduction, dtype, with_zero, int_target, seed):
    g = _gen(seed)
    x = (2 * torch.rand(shape, generator=g, dtype=torch.float64) - 0.5).to(dtype)
    y = _signs(shape, g, with_zero=with_zero)  # 0 labels follow torch's rule (both terms)
    y = y if int_target else y.to(dtype)
    check_against(
        LF.hinge_embedding_loss, TF.hinge_embedding_loss, x, y, grad=[True, False], margin=margin, reduction=reduction
    )


def test_hinge_embedding_broadcast_and_refusals():
    g = _gen(2)
    x = torch.rand(4, 3, generator=g, dtype=torch.float64)
    check_against(
        LF.hinge_embedding_loss,
        TF.hinge_embedding_loss,
        x,
        _signs((3,), g).double(),
        grad=[True, False],
        reduction="none",
    )
    assert_refuses(
        lambda: LF.hinge_embedding_loss(x, torch.ones(5)),
        match=r"do not broadcast",
        torch_call=lambda: TF.hinge_embedding_loss(x, torch.ones(5)),
    )
    assert_refuses(
        lambda: LF.hinge_embedding_loss(x, torch.ones(3), reduction="avg"),
        match="reduction",
        torch_call=lambda: TF.hinge_embedding_loss(x, torch.ones(3), reduction="avg"),
    )


# --------------------------------------------------------------------------------------------
# cosine_embedding_loss
# --------------------------------------------------------------------------------------------


@given(
    n=st.integers(1, 8),
    d=st.integers(1, 6),
    single=st.booleans(),
    margin=st.sampled_from([0.0, 0.5, -0.2]),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    with_zero=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cosine_embedding_matches_torch(n, d, single, margin, reduction, dtype, with_zero, seed):
    g = _gen(seed)
    shape, tshape = ((d,), ()) if single else ((n, d), (n,))
    a = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    b = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
    y = _signs(tshape, g, with_zero=with_zero)
    check_against(
        LF.cosine_embedding_loss,
        TF.cosine_embedding_loss,
        a,
        b,
        y,
        grad=[True, True, False],
        margin=margin,
        reduction=reduction,
    )


def test_cosine_embedding_zero_vectors_and_broadcast():
    a = torch.zeros(3, 4, dtype=torch.float64)
    b = torch.randn(1, 4, dtype=torch.float64)
    y = torch.tensor([1, -1, 1])
    check_against(
        LF.cosine_embedding_loss, TF.cosine_embedding_loss, a, b, y, grad=[True, True, False], reduction="none"
    )


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
        assert_refuses(
            lambda args=args: LF.cosine_embedding_loss(*args),
            match=match,
            torch_call=lambda args=args: TF.cosine_embedding_loss(*args),
        )
    assert_refuses(
        lambda: LF.cosine_embedding_loss(a, a, y, reduction="avg"),
        match="reduction",
        torch_call=lambda: TF.cosine_embedding_loss(a, a, y, reduction="avg"),
    )


# --------------------------------------------------------------------------------------------
# triplet losses
# --------------------------------------------------------------------------------------------

P_VALUES = [2, 1, 3, 1.5, math.inf, 0.5]


def _triplet(shape, dtype=torch.float64, seed=0):
    g = _gen(seed)
    return tuple(torch.randn(shape, generator=g, dtype=torch.float64).to(dtype) for _ in range(3))


@given(
    shape=st.sampled_from([(5, 4), (4,), (2, 3, 4), (1, 7), (6, 1)]),
    p=st.sampled_from(P_VALUES),
    swap=st.booleans(),
    margin=st.sampled_from([1.0, 0.2, 3]),
    eps=st.sampled_from([1e-6, 0.0, 0.1]),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_triplet_matches_torch(shape, p, swap, margin, eps, reduction, dtype, seed):
    a, pos, neg = _triplet(shape, dtype, seed)
    check_against(
        LF.triplet_margin_loss,
        TF.triplet_margin_loss,
        a,
        pos,
        neg,
        margin=margin,
        p=p,
        eps=eps,
        swap=swap,
        reduction=reduction,
    )


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


@given(
    shape=st.sampled_from([(5, 4), (4,), (1, 7)]),
    dist=st.sampled_from([None, "cos", "l1"]),
    swap=st.booleans(),
    margin=st.sampled_from([1.0, 0.3]),
    reduction=st.sampled_from(REDUCTIONS),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_triplet_with_distance_matches_torch(shape, dist, swap, margin, reduction, dtype, seed):
    fn = {None: None, "cos": _cos_dist, "l1": lambda x, y: TF.pairwise_distance(x, y, p=1)}[dist]
    a, pos, neg = _triplet(shape, dtype, seed)
    check_against(
        LF.triplet_margin_with_distance_loss,
        TF.triplet_margin_with_distance_loss,
        a,
        pos,
        neg,
        distance_function=fn,
        margin=margin,
        swap=swap,
        reduction=reduction,
    )


@pytest.mark.parametrize("name", ["triplet_margin_loss", "triplet_margin_with_distance_loss"])
def test_triplet_refusals(name):
    a, pos, neg = _triplet((5, 4))
    ours, ref = getattr(LF, name), getattr(TF, name)
    for m in (0, -1.0):
        assert_refuses(
            lambda m=m: ours(a, pos, neg, margin=m),
            match=r"margin must be greater than 0",
            torch_call=lambda m=m: ref(a, pos, neg, margin=m),
        )
    assert_refuses(
        lambda: ours(a, pos[0], neg), match="same number of dimensions", torch_call=lambda: ref(a, pos[0], neg)
    )
    assert_refuses(
        lambda: ours(a, pos[:, :3], neg),
        match=r"do not broadcast.*positive \(5, 3\)",
        torch_call=lambda: ref(a, pos[:, :3], neg),
    )
    assert_refuses(
        lambda: ours(a, pos, neg, reduction="avg"),
        match="reduction",
        torch_call=lambda: ref(a, pos, neg, reduction="avg"),
    )


def test_triplet_with_distance_refuses_non_callable():
    a, pos, neg = _triplet((5, 4))
    assert_refuses(
        lambda: LF.triplet_margin_with_distance_loss(a, pos, neg, distance_function=3),
        match="distance_function must be callable",
        torch_call=lambda: TF.triplet_margin_with_distance_loss(a, pos, neg, distance_function=3),
    )
    with pytest.raises(TypeError):  # keyword-only, like torch
        LF.triplet_margin_with_distance_loss(a, pos, neg, None)


# --------------------------------------------------------------------------------------------
# all of them: half precision, gradcheck, signatures
# --------------------------------------------------------------------------------------------


def _inputs(name, dtype=torch.float64, seed=0):
    g = _gen(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype)
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
def test_ranking_margins_half_inputs_match_float64(name, dtype, reduction):
    args, kw = _inputs(name, dtype)
    grad = [
        (a.is_floating_point() and i < (2 if name != "hinge_embedding_loss" else 1)) or name.startswith("triplet")
        for i, a in enumerate(args)
    ]
    out, _ = check_against(
        getattr(LF, name), getattr(TF, name), *args, grad=grad, ref_dtype=torch.float64, reduction=reduction, **kw
    )
    assert out.dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_ranking_margins_pass_gradcheck_and_gradgradcheck(name):
    args, kw = _inputs(name)
    n_diff = (
        1
        if name == "hinge_embedding_loss"
        else 2
        if name != "triplet_margin_loss" and not name.startswith("triplet")
        else 3
    )
    diff = [a.requires_grad_() for a in args[:n_diff]]
    rest = args[n_diff:]
    for reduction in REDUCTIONS:
        f = lambda *d, reduction=reduction: getattr(LF, name)(*d, *rest, reduction=reduction, **kw)
        assert torch.autograd.gradcheck(f, tuple(diff))
        assert torch.autograd.gradgradcheck(f, tuple(diff))


def test_ranking_signatures_match_torch():
    for name in NAMES:
        ours = list(inspect.signature(getattr(LF, name)).parameters.values())
        ref = list(inspect.signature(getattr(TF, name)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in ref], name


@pytest.mark.parametrize("name", NAMES)
def test_ranking_margins_compile_fullgraph(name):
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
    check_against(
        LF.cosine_embedding_loss,
        TF.cosine_embedding_loss,
        a,
        b,
        y,
        grad=[True, True, False],
        margin=margin,
        reduction="sum",
    )


# ============================================================================================
# torch's edge shapes for the two multi-class margins (issue 9)
# ============================================================================================

EDGE_CASES = {
    "0-dim input, 0-dim target": (torch.tensor(0.5), torch.tensor(0)),
    "0-dim input, (1,) target": (torch.tensor(0.5), torch.tensor([0])),
    "(C,) input, (1,) target": (torch.tensor([0.1, 0.5, 0.2]), torch.tensor([1])),
    "(C,) input, 0-dim target": (torch.tensor([0.1, 0.5, 0.2]), torch.tensor(1)),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multi_margin_takes_torchs_edge_shapes(case, reduction):
    x, y = EDGE_CASES[case]
    x = x.double()
    ours, ref = check_against(LF.multi_margin_loss, F.multi_margin_loss, x, y, grad=[True, False], reduction=reduction)
    assert ours.shape == ref.shape


@pytest.mark.parametrize("target", [torch.tensor(0), torch.tensor(-1)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multilabel_margin_takes_a_0_dim_input(target, reduction):
    x = torch.tensor(0.5, dtype=torch.float64)
    ours, ref = check_against(
        LF.multilabel_margin_loss, F.multilabel_margin_loss, x, target, grad=[True, False], reduction=reduction
    )
    assert ours.shape == ref.shape == ()


def test_multilabel_margin_refuses_a_c_input_with_a_1_target_like_torch():
    x = torch.tensor([0.1, 0.5, 0.2])
    assert_refuses(
        lambda: LF.multilabel_margin_loss(x, torch.tensor([1])),
        match=r"input \(3,\) and target \(1,\)",
        torch_call=lambda: F.multilabel_margin_loss(x, torch.tensor([1])),
    )


@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
def test_empty_batches_give_torchs_shapes_and_zero(name):
    x = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    y = torch.zeros(0, dtype=torch.long) if name == "multi_margin_loss" else torch.zeros(0, 3, dtype=torch.long)
    fn, ref = getattr(LF, name), getattr(F, name)
    assert fn(x, y, reduction="none").shape == ref(x, y, reduction="none").shape == (0,)
    assert_close(fn(x, y, reduction="mean"), ref(x, y, reduction="mean"))  # torch: 0, not 0/0
    assert fn(x, y, reduction="sum").item() == 0.0  # (torch's sum of an empty batch reads uninitialised memory)
    (g,) = torch.autograd.grad(fn(x, y), x)
    assert g.shape == (0, 3)


# ============================================================================================
# guarantees torch's own multi-class margins lack
# ============================================================================================


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_second_order_gradients(p, reduction):
    """torch's multi_margin_loss has no double backward; the formula has."""
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 1, 1, 2])
    w = torch.rand(4, dtype=torch.float64) + 0.5
    f = lambda x: LF.multi_margin_loss(x, y, p, 0.8, w, reduction=reduction)
    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))
    with pytest.raises(RuntimeError, match="not implemented"):
        xt = x.detach().requires_grad_()
        (g,) = torch.autograd.grad(F.multi_margin_loss(xt, y, p, 0.8, w), xt, create_graph=True)
        g.sum().backward()


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multilabel_margin_second_order_gradients(reduction):
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0, 2, -1, 1, 1], [4, -1, 0, 0, 0], [1, 2, 3, 4, 0], [-1, 0, 0, 0, 0]])
    f = lambda x: LF.multilabel_margin_loss(x, y, reduction=reduction)
    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
def test_nan_in_the_scores_gives_nan_where_torch_skips_it(name):
    x = torch.randn(3, 4)
    x[1, 2] = float("nan")
    y = torch.tensor([0, 0, 3]) if name == "multi_margin_loss" else torch.tensor([[0, -1, 0, 0]] * 3)
    ours, theirs = getattr(LF, name)(x, y, reduction="none"), getattr(F, name)(x, y, reduction="none")
    assert torch.isnan(ours[1]) and not torch.isnan(theirs).any()
    assert_close(ours[[0, 2]], theirs[[0, 2]])


@given(
    n=st.integers(1, 6),
    c=st.integers(1, 6),
    p=st.sampled_from([1, 2]),
    margin=st.sampled_from([-1.0, 0.0, 1.0, 2.0]),
    reduction=REDUCTION,
    seed=st.integers(0, 2**16),
)
def test_multi_margin_on_tied_scores_and_any_margin_matches_torch(n, c, p, margin, reduction, seed):
    """Small integer scores put many z = margin - x_y + x_c exactly on the corner 0."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-2, 3, (n, c), generator=g).double()
    y = torch.randint(0, c, (n,), generator=g)
    check_against(LF.multi_margin_loss, F.multi_margin_loss, x, y, p, margin, grad=[True, False, False, False])


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_gradient_with_nan_or_inf_scores_is_torchs(p):
    """torch's kernel gives NaN and inf terms no gradient (z > 0 fails for NaN); so does losskit's
    backward, while its loss reports the NaN."""
    x = torch.randn(4, 5, dtype=torch.float64)
    x[1, 2], x[2, 0], x[3, 4] = float("nan"), float("inf"), -float("inf")
    y = torch.tensor([0, 1, 0, 2])
    for reduction in ("mean", "none"):
        xo, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
        ours, theirs = (
            LF.multi_margin_loss(xo, y, p, reduction=reduction),
            F.multi_margin_loss(xr, y, p, reduction=reduction),
        )
        ours.sum().backward()
        theirs.sum().backward()
        torch.testing.assert_close(xo.grad, xr.grad, equal_nan=True)


def test_multi_margin_gradient_at_the_hinge_corner_is_torchs():
    """z = margin - x_y + x_c == 0 exactly: torch's `z > 0` gives no gradient there."""
    x = torch.tensor([[1.0, 0.0, 0.5]], dtype=torch.float64)
    check_against(LF.multi_margin_loss, F.multi_margin_loss, x, torch.tensor([0]), grad=[True, False])


MARGIN_LOSSES = [
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("name", MARGIN_LOSSES)
def test_full_checks_report_non_finite_inputs(name, bad):
    args, kwargs = catalog_inputs(name)
    x = args[0].detach().clone()
    x.view(-1)[0] = bad
    with losskit.checks("full"):
        with pytest.raises(ValueError, match=r"non-finite value\(s\) \(NaN or Inf\)"):
            getattr(LF, name)(x, *args[1:], **kwargs)
    getattr(LF, name)(x, *args[1:], **kwargs)  # the default level reads no values for this


# ============================================================================================
# the multilabel-margin primitive
# ============================================================================================


def _lists(g, n, c):
    rows = []
    for _ in range(n):
        k = int(torch.randint(0, c + 1, (), generator=g))
        labels = torch.randperm(c, generator=g)[:k].tolist()
        labels = labels + labels[:1]  # a repeated label counts twice, as in torch
        rows.append((labels + [-1] * c)[:c])
    return torch.tensor(rows, dtype=torch.long).reshape(n, c)


@given(n=st.integers(0, 6), c=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_multilabel_margin_slope_is_torchs_gradient(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=torch.float64)
    y = _lists(g, n, c)
    xr = x.clone().requires_grad_()
    F.multilabel_margin_loss(xr, y, reduction="sum").backward()
    assert_close(_multilabel_margin_slope(x, y), xr.grad)


def test_multilabel_margin_rows_under_vmap_and_grad():
    g = torch.Generator().manual_seed(3)
    xs = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    ys = torch.stack([_lists(g, 4, 5) for _ in range(3)])
    got = torch.func.vmap(torch.func.grad(lambda x, y: multilabel_margin_rows(x, y).sum()))(xs, ys)
    for k in range(3):
        xr = xs[k].clone().requires_grad_()
        F.multilabel_margin_loss(xr, ys[k], reduction="sum").backward()
        assert_close(got[k], xr.grad)
    # an unbatched target under vmap
    got = torch.func.vmap(lambda x: multilabel_margin_rows(x, ys[0]), in_dims=0)(xs)
    assert_close(got, torch.stack([F.multilabel_margin_loss(x, ys[0], reduction="none") for x in xs]))


@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_multi_class_margins_save_for_backward_no_more_than_torch(name, reduction):
    """What is kept between forward and backward, beyond the inputs, is no more than torch keeps
    (torch's peak memory): nothing for multi_margin_loss, the (N, C) is_target mask torch's own
    multilabel_margin_loss saves."""
    g = torch.Generator().manual_seed(0)
    n, c = 6, 5
    x = torch.randn(n, c, generator=g, requires_grad=True)
    y = torch.randint(0, c, (n,), generator=g) if name == "multi_margin_loss" else _lists(g, n, c)
    kwargs = {"weight": torch.rand(c, generator=g) + 0.5} if name == "multi_margin_loss" else {}

    def extra_saved_bytes(fn):
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            out = fn(x, y, reduction=reduction, **kwargs)
        inputs = {x.data_ptr(), y.data_ptr()}
        storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in saved if t.numel() > n}
        return out, sum(b for ptr, b in storages.items() if ptr not in inputs)

    out, ours = extra_saved_bytes(getattr(LF, name))
    _, theirs = extra_saved_bytes(getattr(F, name))
    assert ours <= theirs
    if name == "multi_margin_loss":
        assert ours == 0
    out.sum().backward()
    x_ref = x.detach().clone().requires_grad_()
    getattr(F, name)(x_ref, y, reduction=reduction, **kwargs).sum().backward()
    assert_close(x.grad, x_ref.grad)


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_per_sample_gradients_under_vmap_and_grad(p):
    g = torch.Generator().manual_seed(5)
    xs = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    ys = torch.randint(0, 5, (3, 4), generator=g)
    w = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    got = torch.func.vmap(torch.func.grad(lambda x, y: LF.multi_margin_loss(x, y, p, 0.8, w, reduction="sum")))(xs, ys)
    for k in range(3):
        xr = xs[k].clone().requires_grad_()
        F.multi_margin_loss(xr, ys[k], p, 0.8, w, reduction="sum").backward()
        assert_close(got[k], xr.grad)
    # an unbatched target under vmap
    got = torch.func.vmap(lambda x: LF.multi_margin_loss(x, ys[0], p, 0.8, w, reduction="none"))(xs)
    assert_close(got, torch.stack([F.multi_margin_loss(x, ys[0], p, 0.8, w, reduction="none") for x in xs]))


# ============================================================================================
# SVM hinges beyond torch: hinge_loss, squared_hinge_loss, categorical_hinge_loss (issue 10)
# ============================================================================================

import reference as R  # noqa: E402


@given(
    n=st.integers(1, 5),
    c=st.integers(1, 4),
    squared=st.booleans(),
    coding=st.sampled_from(["pm1", "01"]),
    seed=st.integers(0, 2**16),
)
def test_binary_hinges_match_keras(n, c, squared, coding, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=torch.float64) * 2
    t = torch.randint(0, 2, (n, c), generator=g).double()
    y = t if coding == "01" else 2 * t - 1
    fn = LF.squared_hinge_loss if squared else LF.hinge_loss
    # Keras: the mean over the last axis per row; losskit "none" keeps the elements
    check_against(
        lambda z, y: fn(z, y, labels=coding, reduction="none").mean(-1),
        lambda z, y: R.keras_hinge(y, z, squared=squared),
        z,
        y,
        grad=[True, False],
    )
    check_against(
        lambda z, y: fn(z, y, labels=coding),
        lambda z, y: R.keras_hinge(y, z, squared=squared).mean(),
        z,
        y,
        grad=[True, False],
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_hinge_matches_optax(reduction):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (7, 3), generator=g).double() * 2 - 1
    check_against(
        lambda z, y: LF.hinge_loss(z, y, reduction=reduction),
        lambda z, y: R.reduce(R.optax_hinge(z, y), reduction),
        z,
        y,
        grad=[True, False],
    )


def test_binary_hinge_label_coding_is_explicit():
    z = torch.tensor([0.6, -0.7, -0.5])
    ones = torch.ones(3)
    # an all-ones batch is ±1 and 0/1 at once: Keras converts it, losskit reads the option
    assert_close(LF.hinge_loss(z, ones), LF.hinge_loss(z, ones, labels="01"))
    assert_refuses(
        lambda: LF.hinge_loss(z, torch.tensor([0.0, 1.0, 1.0])),
        match=r"labels='pm1' takes targets in \{-1, 1\}, but target holds 0.0; pass labels='01'",
    )
    assert_refuses(
        lambda: LF.squared_hinge_loss(z, torch.tensor([-1, 1, 1]), labels="01"),
        match=r"labels='01' takes targets in \{0, 1\}, but target holds -1; pass labels='pm1'",
    )
    assert_refuses(lambda: LF.hinge_loss(z, ones, labels="binary"), match=r"labels='binary' is not valid")
    assert_refuses(lambda: LF.hinge_loss(z, ones[:2]), match=r"same shape, got \(3,\) and \(2,\)")
    assert_refuses(lambda: LF.hinge_loss(z.long(), ones.long()), match="floating-point")
    # integer and bool 0/1 targets
    assert_close(
        LF.hinge_loss(z, torch.tensor([False, True, True]), labels="01"),
        LF.hinge_loss(z, torch.tensor([-1.0, 1.0, 1.0])),
    )


def test_binary_hinge_margin_and_corner_gradient():
    z = torch.tensor([1.0, 0.5, -2.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    out = LF.hinge_loss(z, y, margin=1.0, reduction="none")
    assert_close(out, torch.tensor([0.0, 0.5, 0.0], dtype=torch.float64))
    (g,) = torch.autograd.grad(out.sum(), z)
    assert_close(g, torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64))  # 0 at the corner y z = m
    assert_close(
        LF.squared_hinge_loss(z, y, margin=2.0, reduction="none"), torch.tensor([1.0, 2.25, 0.0], dtype=torch.float64)
    )


@given(n=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_categorical_hinge_matches_optax(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, c, (n,), generator=g)
    check_against(
        lambda z, y: LF.categorical_hinge_loss(z, y, reduction="none"),
        R.optax_multiclass_hinge,
        z,
        y,
        grad=[True, False],
    )


@given(n=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_categorical_hinge_matches_keras_on_one_hot_targets(n, c, seed):
    """Equal wherever some wrong class scores >= 0 (Keras reads the true class as a 0 score there)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=torch.float64) * 2
    y = torch.randint(0, c, (n,), generator=g)
    one_hot = torch.nn.functional.one_hot(y, c).double()
    z = torch.where(one_hot.bool(), z, z.abs())  # wrong classes >= 0
    check_against(
        lambda z, t: LF.categorical_hinge_loss(z, t, reduction="none"),
        lambda z, t: R.keras_categorical_hinge(t, z),
        z,
        one_hot,
        grad=[True, False],
    )
    assert_close(LF.categorical_hinge_loss(z, one_hot), LF.categorical_hinge_loss(z, y))


def test_categorical_hinge_is_shift_invariant_where_keras_is_not():
    z = torch.tensor([[-1.0, -3.0, -2.5]], dtype=torch.float64)
    t = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    ours = LF.categorical_hinge_loss(z, t, reduction="none")
    assert_close(ours, torch.tensor([0.0], dtype=torch.float64))  # 1 + (-2.5) - (-1) = -0.5 -> 0
    assert_close(ours, LF.categorical_hinge_loss(z + 10, t, reduction="none"))
    assert_close(R.keras_categorical_hinge(t, z), torch.tensor([2.0], dtype=torch.float64))  # max(0·z_y, ...) = 0


def test_categorical_hinge_shapes_and_refusals():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)  # classes along dim 1
    y = torch.randint(0, 4, (3, 5), generator=g)
    rows = LF.categorical_hinge_loss(z, y, reduction="none")
    assert rows.shape == (3, 5)
    assert_close(rows, R.optax_multiclass_hinge(z.movedim(1, -1), y))
    assert LF.categorical_hinge_loss(z[:, :, 0][0], y[0, 0]).shape == ()  # (C,) with a 0-dim target
    assert LF.categorical_hinge_loss(z[:, :1, 0], y[:, 0] * 0).item() == 0.0  # one class: no wrong class
    assert_refuses(
        lambda: LF.categorical_hinge_loss(z[:, :, 0], torch.full((3, 4), 0.25, dtype=torch.float64)),
        match="must be one-hot",
    )
    assert_refuses(
        lambda: LF.categorical_hinge_loss(z[:, :, 0], torch.tensor([0, 4, 1])), match=r"class index 4 outside \[0, 3\]"
    )
    assert_refuses(lambda: LF.categorical_hinge_loss(z[:, :, 0], y[:, 0], reduction="avg"), match="reduction")
