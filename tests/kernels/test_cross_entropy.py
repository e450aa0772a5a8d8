"""The cross-entropy kernel (primitive ``cross_entropy_rows``) vs torch.nn.functional.cross_entropy in
float64, through losskit.functional.cross_entropy under impl("triton") and Triton's CPU interpreter."""

import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.functional as LF
from helpers import assert_close, check_against

pytest.importorskip("triton")
from losskit.kernels import _dispatch
from losskit.kernels._triton import interpreter_active

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # numpy, on masked lanes of the interpreter
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _ref(
    x, t, *, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean", z_loss=None, softcap=None, **_
):
    """float64 reference: torch's CE, plus z-loss (weighted like the row) and softcap formulas."""
    x = x.double()
    w = None if weight is None else weight.double()
    if softcap is not None:
        x = softcap * torch.tanh(x / softcap)
    if z_loss is None:
        return F.cross_entropy(
            x, t, weight=w, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction
        )
    rows = F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction="none")
    valid = t != ignore_index
    tc = torch.where(valid, t, 0)
    a = (torch.ones_like(rows) if w is None else w[tc]) * valid
    lse = torch.logsumexp(x, dim=1)
    rows = rows + z_loss * a * lse**2
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    return rows.sum() / a.sum()


SERVED: list = []


@pytest.fixture(autouse=True)
def _count_kernel_calls(monkeypatch):
    """Record every call the kernel serves, so that a test can tell it was not the PyTorch path."""
    SERVED.clear()
    k = _dispatch.registered("cross_entropy_rows")
    monkeypatch.setitem(
        _dispatch._REGISTERED,
        "cross_entropy_rows",
        _dispatch.Kernel(k.name, lambda *a, **kw: SERVED.append(1) or k.fn(*a, **kw), k.supports),
    )


def _ours(x, t, **kw):
    with losskit.impl("triton"):
        out = LF.cross_entropy(x, t, **kw)
    assert SERVED, "the kernel did not serve this call"
    return out


def _targets(shape, c, ignore_index=-100, gen=None):
    t = torch.randint(0, c, shape, generator=gen)
    t.view(-1)[1] = ignore_index
    return t


OPTIONS = [
    {},
    {"weight": "w"},
    {"label_smoothing": 0.2},
    {"weight": "w", "label_smoothing": 0.1, "ignore_index": 3},
    {"z_loss": 1e-2},
    {"softcap": 3.0},
    {"weight": "w", "label_smoothing": 0.3, "z_loss": 1e-3, "softcap": 5.0},
]


def _kw(opts, c):
    kw = dict(opts)
    if kw.get("weight") == "w":
        kw["weight"] = torch.rand(c, generator=torch.Generator().manual_seed(1)) + 0.1
    return kw


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_options_2d_fp32(opts, reduction):
    c = 37  # not a power of two; 3 column blocks of 16 in the interpreter
    kw = _kw(opts, c)
    x = torch.randn(9, c) * 3
    t = _targets((9,), c, kw.get("ignore_index", -100))
    check_against(_ours, _ref, x, t, ref_dtype=torch.float64, reduction=reduction, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 7, 3, 2), (4, 6, 5), (11,)], ids=["NCHW", "NCL", "unbatched"])
def test_shapes_and_dtypes(shape, dtype):
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    x = (torch.randn(shape) * 2).to(dtype)
    t = torch.randint(0, c, tshape)
    if t.dim():
        t.view(-1)[0] = -100
    kw = {"weight": torch.rand(c) + 0.5, "label_smoothing": 0.1}
    for reduction in ("none", "mean"):
        check_against(_ours, _ref, x, t, ref_dtype=torch.float64, reduction=reduction, **kw)


def test_strided_layouts_without_copy():
    """channels-last and transposed inputs are read through their strides."""
    x = torch.randn(3, 5, 4, 2).to(memory_format=torch.channels_last)
    t = torch.randint(0, 5, (3, 4, 2))
    check_against(_ours, _ref, x, t, ref_dtype=torch.float64, reduction="none")
    xt = torch.randn(13, 6).t()  # (6, 13) with class stride 6
    check_against(_ours, _ref, xt, torch.randint(0, 13, (6,)), ref_dtype=torch.float64, reduction="sum")


@pytest.mark.parametrize("c", [2, 3, 130])
def test_class_counts(c):
    x = torch.randn(5, c)
    check_against(_ours, _ref, x, torch.randint(0, c, (5,)), ref_dtype=torch.float64, label_smoothing=0.05)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits(dtype):
    x = torch.randn(6, 19)
    x[0, 0], x[1, 3], x[2] = 1e4, -1e4, -1e4
    x[3, :5] = 1e4
    x = x.to(dtype)
    t = torch.tensor([0, 3, 4, 1, 18, 7])
    out, _ = check_against(_ours, _ref, x, t, ref_dtype=torch.float64, reduction="none", label_smoothing=0.1)
    assert torch.isfinite(out).all()


def test_all_ignored():
    x = torch.randn(4, 9, requires_grad=True)
    t = torch.full((4,), -100)
    out = _ours(x, t)
    assert torch.isnan(out)  # torch's answer
    (g,) = torch.autograd.grad(out, x)
    assert torch.equal(g, torch.zeros_like(g))  # torch also gives zeros
    out = _ours(x, t, all_ignored="zero", weight=torch.rand(9))
    assert out.item() == 0.0
    (g,) = torch.autograd.grad(out, x)
    assert torch.equal(g, torch.zeros_like(g))


def test_out_of_range_target_gives_nan_row_not_a_crash():
    with losskit.checks("off"):  # (the functional refuses it when values may be read)
        out = _ours(torch.randn(3, 5), torch.tensor([0, 7, -3]), reduction="none")
    assert torch.isfinite(out[0]) and torch.isnan(out[1]) and torch.isnan(out[2])


def test_ignore_index_none_is_never_matched():
    x, t = torch.randn(4, 6), torch.tensor([0, 5, 2, 1])
    assert_close(_ours(x, t, ignore_index=None), F.cross_entropy(x, t))


def test_supports_declines_what_the_kernel_lacks():
    from losskit._checks import class_inputs

    k = _dispatch.registered("cross_entropy_rows")
    x, t = torch.randn(4, 6), torch.randint(0, 6, (4,))
    opts = dict(z_loss=0.0, softcap=None, reduction="mean")
    with losskit.impl("triton"):
        assert k.supports(class_inputs("f", x, t), **opts)
        assert not k.supports(class_inputs("f", x, torch.rand(4, 6)), **opts)  # probabilities
        assert not k.supports(class_inputs("f", x.double(), t), **opts)  # float64
        assert not k.supports(class_inputs("f", x, t, weight=torch.rand(6, requires_grad=True)), **opts)
        # the functional still gives torch's numbers on those (its PyTorch path)
        assert_close(LF.cross_entropy(x.double(), t), F.cross_entropy(x.double(), t))
        with pytest.raises(TypeError):
            k.supports(class_inputs("f", x, t), some_new_option=1.0, **opts)
    with losskit.impl("auto"):  # a CPU tensor: the kernel is not asked
        SERVED.clear()
        LF.cross_entropy(x, t)
        assert not SERVED


def test_strided_targets_are_read_through_their_stride():
    """A 1-D target that is a strided view (a column of a label matrix) is not read as if contiguous."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(9, 6, generator=g)
    labels = torch.randint(0, 6, (9, 3), generator=g)
    labels[2, 1] = -100

    def pick(f):
        return lambda x, labels, **kw: f(x, labels[:, 1], **kw)

    for reduction in ("none", "mean"):
        check_against(
            pick(_ours),
            pick(_ref),
            x,
            labels,
            ref_dtype=torch.float64,
            grad=[True, False],
            reduction=reduction,
            label_smoothing=0.1,
            weight=torch.rand(6, generator=g) + 0.5,
        )
    assert_close(_ours(x, labels[:, 1]), F.cross_entropy(x, labels[:, 1]))
