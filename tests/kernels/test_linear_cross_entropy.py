"""linear_cross_entropy: chunked linear + CE vs torch's F.linear_cross_entropy (torch >= 2.13) and
F.cross_entropy(F.linear(...)); PyTorch path everywhere, Triton path under the CPU interpreter."""

import pytest
import torch
import torch.nn.functional as F

import losskit
from helpers import assert_close, assert_refuses, check_against
from losskit.functional import cross_entropy, linear_cross_entropy
from losskit.kernels import _dispatch

try:
    from losskit.kernels._triton import interpreter_active

    INTERP = interpreter_active()
except ImportError:  # pragma: no cover
    INTERP = False

HAS_TORCH_LCE = hasattr(F, "linear_cross_entropy")


def unfused(x, w, t, *, linear_bias=None, weight=None, reduction="mean", ignore_index=None, label_smoothing=0.0, **_):
    ii = -100 if ignore_index is None else ignore_index
    return F.cross_entropy(
        F.linear(x, w, linear_bias),
        t,
        weight=weight,
        reduction=reduction,
        ignore_index=ii,
        label_smoothing=label_smoothing,
    )


def _inputs(n=13, h=6, v=37, dtype=torch.float64, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, h, generator=g, dtype=dtype)
    w = torch.randn(v, h, generator=g, dtype=dtype)
    b = torch.randn(v, generator=g, dtype=dtype) if bias else None
    t = torch.randint(0, v, (n,), generator=g)
    t[0] = -100
    return x, w, b, t


def _check(x, w, t, ref=unfused, tol=None, **kw):
    b = kw.pop("linear_bias", None)
    args = (x, w, t) if b is None else (x, w, t, b)

    def ours(x, w, t, b=None, **k):
        return linear_cross_entropy(x, w, t, linear_bias=b, **k)

    def theirs(x, w, t, b=None, **k):
        k.pop("chunk_size", None)
        k.pop("all_ignored", None)
        if "z_loss" in k or "softcap" in k:  # options torch's functions lack: losskit's unfused cross_entropy
            ii = k.pop("ignore_index", None)
            return cross_entropy(F.linear(x, w, b), t, ignore_index=-100 if ii is None else ii, **k)
        return ref(x, w, t, linear_bias=b, **k)

    grad = [True, True, False] + ([True] if b is not None else [])
    return check_against(ours, theirs, *args, grad=grad, tol=tol, **kw)


OPTS = [
    {},
    {"weight": "w"},
    {"label_smoothing": 0.2},
    {"weight": "w", "label_smoothing": 0.1, "ignore_index": 3},
    {"weight": "w", "z_loss": 0.01, "softcap": 3.0},
]


def _kw(opts, v, dtype=torch.float64):
    kw = dict(opts)
    if kw.get("weight") == "w":
        kw["weight"] = torch.rand(v, generator=torch.Generator().manual_seed(3), dtype=dtype) + 0.2
    return kw


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts", OPTS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("chunk", [1, 4, 13, 64], ids=lambda c: f"chunk{c}")
def test_matches_unfused_float64(opts, reduction, chunk):
    x, w, b, t = _inputs()
    kw = _kw(opts, 37)
    if "ignore_index" in kw:
        t[0] = kw["ignore_index"]
    _check(x, w, t, linear_bias=b, reduction=reduction, chunk_size=chunk, **kw)


@pytest.mark.skipif(not HAS_TORCH_LCE, reason="torch.nn.functional.linear_cross_entropy needs torch >= 2.13")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts", OPTS, ids=lambda o: "-".join(o) or "plain")
def test_matches_torch_linear_cross_entropy(opts, reduction):
    x, w, b, t = _inputs(n=11, v=29)
    kw = _kw(opts, 29)
    t[0] = kw.get("ignore_index", -100)
    _check(x, w, t, ref=F.linear_cross_entropy, linear_bias=b, reduction=reduction, chunk_size=3, **kw)
    assert "ignore_index" in F.linear_cross_entropy.__kwdefaults__  # same keyword, same None default
    assert F.linear_cross_entropy.__kwdefaults__["ignore_index"] is None


def test_probability_targets_and_unbatched():
    x, w, b, _ = _inputs()
    p = torch.softmax(torch.randn(13, 37, dtype=torch.float64), 1)
    for reduction in ("none", "mean", "sum"):
        _check(
            x,
            w,
            p,
            linear_bias=b,
            reduction=reduction,
            chunk_size=5,
            label_smoothing=0.1,
            weight=torch.rand(37, dtype=torch.float64),
        )
    _check(x[0], w, torch.tensor(4), reduction="none")
    _check(x[0], w, torch.tensor(4), reduction="mean", linear_bias=b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_low_precision(dtype):
    x, w, b, t = _inputs(dtype=dtype)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == torch.float32 else dict(rtol=3e-2, atol=3e-2)
    _check(x, w, t, linear_bias=b, chunk_size=5, tol=tol)


def test_gradcheck_float64():
    """reduction='none' (gradients recomputed in the backward). The scalar reductions precompute their
    gradients in the forward and allow one backward, which gradcheck's re-entrance check repeats;
    they are compared with the float64 unfused gradient above instead."""
    x, w, b, t = _inputs(n=5, h=3, v=7)
    cw = torch.rand(7, dtype=torch.float64)
    f = lambda x, w, b: linear_cross_entropy(
        x, w, t, linear_bias=b, reduction="none", chunk_size=2, label_smoothing=0.1, weight=cw
    )
    assert torch.autograd.gradcheck(f, (x.requires_grad_(), w.requires_grad_(), b.requires_grad_()))


def test_all_ignored_and_no_grad():
    x, w, _b, t = _inputs()
    t[:] = -100
    xx = x.clone().requires_grad_()
    out = linear_cross_entropy(xx, w, t)
    assert torch.isnan(out)
    out.backward()
    assert torch.equal(xx.grad, torch.zeros_like(x))  # torch: NaN loss, zero gradient
    assert linear_cross_entropy(x, w, t, all_ignored="zero").item() == 0.0
    with torch.no_grad():
        assert_close(linear_cross_entropy(x, w, _inputs()[3], chunk_size=3), unfused(x, w, _inputs()[3]))


def test_second_backward_is_refused():
    x, w, _b, t = _inputs()
    x.requires_grad_()
    out = linear_cross_entropy(x, w, t)
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="one backward"):
        out.backward()


def test_k_dimensional_weight_uses_reference():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    w = torch.randn(5, 2, 3, generator=g, dtype=torch.float64)
    t = torch.randint(0, 5, (4, 2), generator=g)
    out = linear_cross_entropy(x, w, t, reduction="none")
    assert_close(out, F.cross_entropy(torch.einsum("nh,cdh->ncd", x, w), t, reduction="none"))


def test_compile_fullgraph_pytorch_path():
    x, w, b, t = _inputs(dtype=torch.float32)
    f = torch.compile(
        lambda x, w, b: linear_cross_entropy(x, w, t, linear_bias=b, chunk_size=4), fullgraph=True, backend="aot_eager"
    )
    xs = [a.clone().requires_grad_() for a in (x, w, b)]
    out = f(*xs)
    out.backward()
    _check(x, w, t, linear_bias=b, chunk_size=4, tol=dict(rtol=1e-5, atol=1e-6))
    assert_close(out.detach(), unfused(x, w, t, linear_bias=b))


def test_errors():
    x, w, b, t = _inputs()
    assert_refuses(lambda: linear_cross_entropy(x.float(), w, t), match="same dtype")
    assert_refuses(lambda: linear_cross_entropy(x[None], w, t), match=r"input must have shape \(N, in_features\)")
    assert_refuses(
        lambda: linear_cross_entropy(x, w[:, :4], t),
        match="linear_weight must have shape",
        torch_call=(lambda: F.linear_cross_entropy(x, w[:, :4], t)) if HAS_TORCH_LCE else None,
    )
    assert_refuses(lambda: linear_cross_entropy(x, w, t[:5]), match=r"target has shape \(5,\).*\(13,\)")
    assert_refuses(lambda: linear_cross_entropy(x, w, t, chunk_size=0), match="chunk_size")
    assert_refuses(lambda: linear_cross_entropy(x, w, t, linear_bias=b[:3]), match="linear_bias")
    assert_refuses(lambda: linear_cross_entropy(x, w, t, label_smoothing=2.0), match="label_smoothing")
    assert_refuses(lambda: linear_cross_entropy(x, w, t, reduction="avg"), match="reduction")
    bad = t.clone()
    bad[3] = 99
    assert_refuses(
        lambda: linear_cross_entropy(x, w, bad), match="class index 99", torch_call=lambda: unfused(x, w, bad)
    )


def test_module_both_ways():
    torch.manual_seed(0)
    crit = losskit.nn.LinearCrossEntropyLoss(6, 37, bias=True, dtype=torch.float64, label_smoothing=0.1)
    x, _, _, t = _inputs()
    assert_close(crit(x, t), unfused(x, crit.linear.weight, t, linear_bias=crit.linear.bias, label_smoothing=0.1))
    free = losskit.nn.LinearCrossEntropyLoss(reduction="sum", weight=torch.rand(37, dtype=torch.float64))
    assert_close(free(x, crit.linear.weight, t), unfused(x, crit.linear.weight, t, reduction="sum", weight=free.weight))
    with pytest.raises(TypeError, match="owns its projection"):
        crit(x, crit.linear.weight, t)
    with pytest.raises(ValueError, match="in_features"):
        losskit.nn.LinearCrossEntropyLoss(6)
    if hasattr(torch.nn, "LinearCrossEntropyLoss"):  # same constructor as torch's
        torch.manual_seed(1)
        theirs = torch.nn.LinearCrossEntropyLoss(6, 37, bias=True, dtype=torch.float64)
        torch.manual_seed(1)
        ours = losskit.nn.LinearCrossEntropyLoss(6, 37, bias=True, dtype=torch.float64)
        assert_close(ours(x, t), theirs(x, t))


@pytest.mark.interpret
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.skipif(not INTERP, reason="needs TRITON_INTERPRET=1 before triton is imported")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts", OPTS[1:], ids=lambda o: "-".join(o))
def test_triton_path(opts, reduction, monkeypatch):
    used = []
    k = _dispatch.registered("linear_cross_entropy_chunk")
    monkeypatch.setitem(
        _dispatch._REGISTERED,
        k.name,
        _dispatch.Kernel(k.name, lambda *a, **kw: used.append(1) or k.fn(*a, **kw), k.supports),
    )
    x, w, b, t = _inputs(dtype=torch.float32, n=9, v=21)
    kw = _kw(opts, 21, torch.float32)
    t[0] = kw.get("ignore_index", -100)
    with _dispatch.impl("triton"):
        _check(x, w, t, linear_bias=b, reduction=reduction, chunk_size=4, tol=dict(rtol=1e-5, atol=1e-6), **kw)
    assert len(used) >= 3  # three chunks of the ours() call, through the kernel


@pytest.mark.interpret
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.skipif(not INTERP, reason="needs TRITON_INTERPRET=1 before triton is imported")
def test_triton_path_strided_target():
    """A target that is a strided 1-D view (one column of a label matrix) is read through its stride."""
    x, w, b, _ = _inputs(dtype=torch.float32, n=9, v=21)
    labels = torch.randint(0, 21, (9, 2), generator=torch.Generator().manual_seed(4))
    labels[3, 1] = -100
    with _dispatch.impl("triton"):  # (check_against clones its arguments: the column is taken inside)
        check_against(
            lambda x, w, b, lab: linear_cross_entropy(
                x, w, lab[:, 1], linear_bias=b, chunk_size=4, label_smoothing=0.1
            ),
            lambda x, w, b, lab: unfused(x, w, lab[:, 1], linear_bias=b, label_smoothing=0.1),
            x,
            w,
            b,
            labels,
            grad=[True, True, True, False],
            tol=dict(rtol=1e-5, atol=1e-6),
        )
