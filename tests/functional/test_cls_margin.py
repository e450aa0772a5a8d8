"""soft_margin_loss, multilabel_soft_margin_loss, multi_margin_loss, multilabel_margin_loss vs torch."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import losskit.functional as LF
from helpers import TOL, assert_close, assert_refuses, check_against

REDUCTIONS = st.sampled_from(["none", "mean", "sum"])
DTYPES = st.sampled_from([torch.float32, torch.float64])


@given(shape=st.lists(st.integers(1, 4), max_size=3).map(tuple), reduction=REDUCTIONS, dtype=DTYPES,
       seed=st.integers(0, 2**16))
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


@given(lead=st.lists(st.integers(1, 3), max_size=2).map(tuple), c=st.integers(1, 5), weighted=st.booleans(),
       reduction=REDUCTIONS, dtype=DTYPES, seed=st.integers(0, 2**16))
def test_multilabel_soft_margin_matches_torch(lead, c, weighted, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (*lead, c)
    x = torch.randn(shape, generator=g, dtype=torch.float64).mul(3).to(dtype)
    y = torch.randint(0, 2, shape, generator=g).to(dtype)
    w = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).to(dtype) if weighted else None
    check_against(LF.multilabel_soft_margin_loss, F.multilabel_soft_margin_loss, x, y, w, grad=[True, True, False],
                  reduction=reduction)


@given(n=st.one_of(st.none(), st.integers(1, 5)), c=st.integers(1, 5), p=st.sampled_from([1, 2]),
       margin=st.sampled_from([0.5, 1.0, 2.0]), weighted=st.booleans(), reduction=REDUCTIONS, dtype=DTYPES,
       seed=st.integers(0, 2**16))
def test_multi_margin_matches_torch(n, c, p, margin, weighted, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((c,) if n is None else (n, c), generator=g, dtype=torch.float64).to(dtype)
    y = torch.randint(0, c, () if n is None else (n,), generator=g)
    w = (torch.rand(c, generator=g, dtype=torch.float64) + 0.5).to(dtype) if weighted else None
    check_against(LF.multi_margin_loss, F.multi_margin_loss, x, y, p, margin, w, grad=[True, False, False, False, False],
                  reduction=reduction)


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


@given(n=st.one_of(st.none(), st.integers(1, 5)), c=st.integers(1, 5), reduction=REDUCTIONS, dtype=DTYPES,
       seed=st.integers(0, 2**16))
def test_multilabel_margin_matches_torch(n, c, reduction, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((c,) if n is None else (n, c), generator=g, dtype=torch.float64).to(dtype)
    y = _label_lists(g, 1 if n is None else n, c)
    if n is None:
        y = y[0]
    check_against(LF.multilabel_margin_loss, F.multilabel_margin_loss, x, y, grad=[True, False], reduction=reduction)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_are_computed_in_float32(dtype):
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


def test_gradcheck_float64():
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 4, 1])
    w = torch.rand(5, dtype=torch.float64) + 0.5
    assert torch.autograd.gradcheck(lambda x: LF.multi_margin_loss(x, y, 2, 0.7, w), (x,))
    assert torch.autograd.gradcheck(lambda x: LF.soft_margin_loss(x, torch.sign(x.detach())), (x,))
    yl = torch.randint(0, 2, (4, 5)).double()
    assert torch.autograd.gradcheck(lambda x: LF.multilabel_soft_margin_loss(x, yl, w, reduction="none"), (x,))
    assert torch.autograd.gradcheck(
        lambda x: LF.multilabel_margin_loss(x, torch.tensor([[0, 2, -1, 1, 1]] * 4)), (x,))


X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])
YL = torch.tensor([[0, 1, -1], [2, -1, 0], [-1, 0, 0], [0, 1, 2]])


@pytest.mark.parametrize(
    "fn, tfn, args, kwargs, match",
    [
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y), {"p": 3}, r"p must be 1 or 2.*got 3"),
        (LF.multi_margin_loss, F.multi_margin_loss, (X, torch.tensor([0, 1, 3, 1])), {}, r"class index 3 outside \[0, 2\]"),
        (LF.multi_margin_loss, F.multi_margin_loss, (torch.randn(2, 3, 4), torch.zeros(2, dtype=torch.long)), {},
         r"shape \(N, C\) or \(C,\), got \(2, 3, 4\)"),
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y), {"weight": torch.ones(2)}, r"weight.*\(2,\)"),
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y[:3]), {}, r"target has shape \(3,\) but input has shape \(4, 3\)"),
        (LF.multi_margin_loss, F.multi_margin_loss, (X, Y), {"reduction": "avg"}, "reduction"),
        (LF.multilabel_margin_loss, F.multilabel_margin_loss, (X, YL.clone().fill_(3)), {},
         r"values in \[3, 3\].*\[0, 2\].*padded with -1"),
        (LF.multilabel_margin_loss, F.multilabel_margin_loss, (X, YL[:, :2]), {}, r"input \(4, 3\) and target \(4, 2\)"),
        (LF.multilabel_margin_loss, F.multilabel_margin_loss, (X, YL.float()), {}, r"integer tensor padded with -1"),
        (LF.multilabel_soft_margin_loss, F.multilabel_soft_margin_loss, (X, X.sign()), {"weight": torch.ones(2)},
         r"weight with shape \(2,\) does not broadcast"),
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
