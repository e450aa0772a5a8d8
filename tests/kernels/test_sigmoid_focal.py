"""The sigmoid_focal_rows kernel (sigmoid focal loss and BCE with logits) vs float64 formulas and torch,
under the CPU interpreter, reached through the functionals with ``impl("triton")``."""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against

pytest.importorskip("triton")
from losskit.kernels import _dispatch
from losskit.kernels._triton import interpreter_active

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

import losskit.functional as LF  # noqa: E402


@pytest.fixture(autouse=True)
def served(monkeypatch):
    """Counts the calls the kernel serves (a test fails if the formula quietly took its place)."""
    k = _dispatch.registered("sigmoid_focal_rows")
    calls = []

    def fn(*a, **kw):
        calls.append(kw)
        return k.fn(*a, **kw)

    monkeypatch.setitem(_dispatch._REGISTERED, "sigmoid_focal_rows", _dispatch.Kernel(k.name, fn, k.supports))
    return calls


def sigmoid_focal_loss_triton(x, t, **kw):
    with _dispatch.impl("triton"):
        return LF.sigmoid_focal_loss(x, t, **kw)


def binary_cross_entropy_with_logits_triton(x, t, **kw):
    with _dispatch.impl("triton"):
        return LF.binary_cross_entropy_with_logits(x, t, **kw)


DTYPES = [torch.float32, torch.bfloat16, torch.float16]


# ----------------------------------------------------------------------------------------- focal
def focal_ref(
    x,
    t,
    *,
    alpha=None,
    gamma=2.0,
    weight=None,
    pos_weight=None,
    label_smoothing=0.0,
    ignore_index=None,
    reduction="mean",
):
    """losskit's sigmoid focal loss in float64, written out: the expected focal loss of the smoothed target
    y' = y (1 - eps) + eps / 2, i.e. y' alpha pw (1-p)^g (-log p) + (1-y')(1-alpha) p^g (-log(1-p)), times w."""
    x, y = x.double(), t.double()
    valid = None if ignore_index is None else t != ignore_index
    if valid is not None:
        y = torch.where(valid, y, 0.0)
    y = y * (1 - label_smoothing) + label_smoothing / 2
    lp, lq = F.logsigmoid(x), F.logsigmoid(-x)
    pos, neg = -lp * torch.exp(gamma * lq), -lq * torch.exp(gamma * lp)
    if alpha is not None:
        a = alpha.double() if isinstance(alpha, torch.Tensor) else alpha
        pos, neg = pos * a, neg * (1 - a)
    if pos_weight is not None:
        pos = pos * pos_weight.double()
    loss = y * pos + (1 - y) * neg
    if weight is not None:
        loss = loss * weight.double()
    if valid is not None:
        loss = torch.where(valid, loss, 0.0)
    count = loss.numel() if valid is None else valid.sum()
    return {"none": loss, "mean": loss.sum() / count, "sum": loss.sum()}[reduction]


def _focal(x, t, **kw):
    return sigmoid_focal_loss_triton(x, t, **kw)


FOCAL_OPTS = [
    {},
    {"alpha": 0.25},
    {"gamma": 0.0, "pos_weight": "c"},
    {"gamma": 1.5, "alpha": 0.6, "weight": "c", "pos_weight": "c"},
    {"gamma": 3.0, "weight": "n1"},  # (N, 1): a broadcast that is not trailing, expanded once
    {"label_smoothing": 0.1, "alpha": "c"},  # alpha per class
    {"ignore_index": -1.0, "gamma": 0.5},
]


def _focal_kw(opts, shape):
    g = torch.Generator().manual_seed(2)
    kw = dict(opts)
    for k in ("weight", "pos_weight", "alpha"):
        if kw.get(k) == "c":
            kw[k] = torch.rand(shape[-1], generator=g) + (0.0 if k == "alpha" else 0.5)
        elif kw.get(k) == "n1":
            kw[k] = torch.rand(shape[0], 1, generator=g) + 0.5
    return kw


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts", FOCAL_OPTS, ids=lambda o: "-".join(o) or "plain")
def test_focal_options(opts, reduction):
    shape = (7, 13)
    x = torch.randn(shape) * 3
    t = (torch.rand(shape) > 0.7).float()
    t[0] = torch.rand(13)  # soft targets too
    t[1, :5] = -1.0  # ignored where ignore_index=-1 (values checks are the functional's, not the kernel's)
    if "ignore_index" not in opts:
        t[1, :5] = 0.0
    check_against(
        _focal,
        focal_ref,
        x,
        t,
        ref_dtype=torch.float64,
        grad=[True, False],
        reduction=reduction,
        **_focal_kw(opts, shape),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_focal_dtypes_and_nd(dtype):
    x = (torch.randn(3, 4, 5, 2) * 2).to(dtype)
    t = (torch.rand(3, 4, 5, 2) > 0.5).to(dtype)
    check_against(_focal, focal_ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction="none", alpha=0.25)
    check_against(_focal, focal_ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction="mean", gamma=0.5)


def test_focal_extreme_logits_finite_gradient():
    """gamma < 1 at saturated logits: the naive formula's gradient is 0 * inf = NaN, the kernel's is 0."""
    x = torch.tensor([1e4, -1e4, 40.0, -40.0, 0.3, -2.0]).requires_grad_()
    t = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    out = sigmoid_focal_loss_triton(x, t, gamma=0.5, reduction="sum")
    assert_close(out.detach(), focal_ref(x.detach(), t, gamma=0.5, reduction="sum"), tol=dict(rtol=1e-5, atol=1e-6))
    (g,) = torch.autograd.grad(out, x)
    assert torch.isfinite(g).all() and g[:2].abs().max() == 0
    # the wrong-side saturated logits: loss ~ |x|, gradient ~ +-1
    out = sigmoid_focal_loss_triton(x[:2], 1 - t[:2], reduction="none")
    assert_close(out, torch.tensor([1e4, 1e4]), tol=dict(rtol=1e-6, atol=0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_matches_torch(dtype, reduction):
    x = (torch.randn(6, 9) * 4).to(dtype)
    t = torch.rand(6, 9).to(dtype)
    w, pw = torch.rand(9) + 0.5, torch.rand(9) * 3

    def ours(x, t, **kw):
        return binary_cross_entropy_with_logits_triton(x, t, **kw)

    def ref(x, t, **kw):
        return F.binary_cross_entropy_with_logits(
            x.double(),
            t.double(),
            **{k: v.double() for k, v in kw.items() if k != "reduction"},
            reduction=kw["reduction"],
        )

    check_against(
        ours, ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction=reduction, weight=w, pos_weight=pw
    )


def test_kernel_serves_the_functionals_and_declines_what_it_cannot(served):
    x, t = torch.randn(4, 3), torch.rand(4, 3)
    assert_close(
        binary_cross_entropy_with_logits_triton(x, t, reduction="sum"),
        F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
    )
    assert_close(sigmoid_focal_loss_triton(x, t, alpha=0.25, gamma=2.0), focal_ref(x, t, alpha=0.25).float())
    assert served == [
        {"alpha": None, "gamma": 0.0, "reduction": "sum"},
        {"alpha": 0.25, "gamma": 2.0, "reduction": "mean"},
    ]
    served.clear()
    tg = t.clone().requires_grad_()
    assert_close(binary_cross_entropy_with_logits_triton(x, tg), F.binary_cross_entropy_with_logits(x, t))
    assert_close(
        binary_cross_entropy_with_logits_triton(x, t.double()),
        F.binary_cross_entropy_with_logits(x, t.double()),
        tol=dict(rtol=1e-6, atol=1e-7),
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = binary_cross_entropy_with_logits_triton(x.bfloat16(), t.bfloat16(), reduction="none")
    assert out.dtype == torch.float32
    assert served == []  # a target gradient, a float64 result, autocast's float32 rows: the formula serves
    b = __import__("losskit")._checks.binary_inputs("sigmoid_focal_loss", x, t)
    with _dispatch.impl("triton"), pytest.raises(TypeError):
        _dispatch.kernel("sigmoid_focal_rows", b, alpha=None, gamma=2.0, reduction="mean", some_new_option=0.1)
    with pytest.raises(ValueError, match="same shape"):
        sigmoid_focal_loss_triton(x, t[:2])
    with pytest.raises(ValueError, match="alpha"):
        sigmoid_focal_loss_triton(x, t, alpha=1.5)
    with pytest.raises(ValueError, match="gamma"):
        sigmoid_focal_loss_triton(x, t, gamma=-1.0)
    with pytest.raises(ValueError, match="pos_weight"):
        sigmoid_focal_loss_triton(x, t, pos_weight=torch.ones(5))


def test_focal_and_bce_read_strided_1d_inputs_through_their_stride():
    """Logits that are one column of a score matrix (a 1-D view with stride C) and a strided target."""
    g = torch.Generator().manual_seed(7)
    scores = torch.randn(37, 3, generator=g) * 2
    targets = (torch.rand(37, 2, generator=g) > 0.5).float()

    def pick(f):
        return lambda s, t, **kw: f(s[:, 2], t[:, 1], **kw)

    for reduction in ("none", "mean", "sum"):
        check_against(
            pick(_focal),
            pick(focal_ref),
            scores,
            targets,
            ref_dtype=torch.float64,
            grad=[True, False],
            reduction=reduction,
            alpha=0.25,
        )
        check_against(
            pick(binary_cross_entropy_with_logits_triton),
            pick(lambda x, t, **kw: F.binary_cross_entropy_with_logits(x.double(), t.double(), **kw)),
            scores,
            targets,
            ref_dtype=torch.float64,
            grad=[True, False],
            reduction=reduction,
        )
    assert_close(
        binary_cross_entropy_with_logits_triton(scores[:, 0], targets[:, 1]),
        F.binary_cross_entropy_with_logits(scores[:, 0], targets[:, 1]),
    )


# custom ops (from the shared file)
TESTS = ("test_schema", "test_autograd_registration", "test_faketensor")


def test_opcheck_focal():
    x = torch.randn(70, requires_grad=True)
    t = torch.rand(70)
    pw = torch.rand(7) + 0.5
    ops = torch.ops.losskit
    for reduce in (False, True):
        torch.library.opcheck(
            ops.sigmoid_focal_fwd, (x, t, None, 1, pw, 7, None, 1, 0.25, 2.0, 0.1, None, reduce), test_utils=TESTS
        )
