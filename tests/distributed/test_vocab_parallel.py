"""vocab_parallel_cross_entropy and vocab_parallel_linear_cross_entropy on 2 and 3 gloo ranks equal
losskit.functional on the gathered logits (value and every gradient), for every option.

Each case runs on every rank: all ranks draw the same full inputs from one seed, compute the
single-process reference (losskit.functional.cross_entropy on the whole class dimension), take
their own slice, and compare the sharded loss and the gradient of their slice with the reference.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

import losskit.functional as LF
from helpers import TOL, assert_close
from losskit.distributed import vocab_parallel_cross_entropy, vocab_parallel_linear_cross_entropy

# class slices per rank (uneven; an empty slice; a slice of one class)
SIZES = {2: [(3, 5), (7, 1)], 3: [(4, 1, 6), (5, 0, 4)]}


def _bounds(sizes):
    r = dist.get_rank()
    lo = sum(sizes[:r])
    return lo, lo + sizes[r]


def _inputs(p: dict, classes: int):
    """The full logits (or features and head), target, class weight and upstream gradient, the same on every rank."""
    g = torch.Generator().manual_seed(p.get("seed", 0))
    n, kdims = p.get("n", 6), tuple(p.get("kdims", ()))
    shape = (n, classes, *kdims) if n else (classes,)
    pos = (n, *kdims) if n else ()
    if p.get("probs"):
        target = torch.softmax(torch.randn(shape, generator=g, dtype=torch.float64), 1 if n else 0)
    else:
        target = torch.randint(0, classes, pos, generator=g)
        if p.get("targets_below"):  # every target in the first classes (the other ranks own none)
            target = target % p["targets_below"]
        ii = p.get("ignore_index", -100)
        drop = torch.rand(pos, generator=g) < p.get("ignored", 0.0)
        target = torch.where(drop, torch.full_like(target, -100 if ii is None else ii), target)
    weight = torch.rand(classes, generator=g, dtype=torch.float64) + 0.2 if p.get("weighted") else None
    logits = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    up = torch.rand(pos if p.get("reduction") == "none" else (), generator=g, dtype=torch.float64) + 0.5
    return logits, target, weight, up


def _on(device: str, *ts):
    return [None if t is None else t.to(device) for t in ts]


@contextlib.contextmanager
def no_host_sync(device: str):
    """On CUDA, any host-device synchronisation inside the block raises (torch's sync debug mode)."""
    if device != "cuda":
        yield
        return
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def _autocast(p: dict):
    """Under ``p["autocast"]``: torch.autocast to bfloat16 on the CPU (the reference runs under it too)."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if p.get("autocast") else contextlib.nullcontext()


def _options(p: dict) -> dict:
    keys = ("ignore_index", "label_smoothing", "z_loss", "reduction", "all_ignored")
    return {k: p[k] for k in keys if k in p}


def _cast(t, dtype):
    return None if t is None else t.to(dtype)


def _on_every_layout(pool, case, p: dict) -> None:
    """``case`` on every rank, for each class layout of the pool's world size; the ranks agree on the loss."""
    for sizes in SIZES[pool.world]:
        values = pool.run(case, p, sizes)
        assert len(set(values)) == 1 or all(v != v for v in values), f"ranks disagree on the loss: {values}"


def case_cross_entropy(p: dict, sizes: tuple) -> float:
    dtype = getattr(torch, p.get("dtype", "float32"))
    lo, hi = _bounds(sizes)
    dev = p.get("device", "cpu")
    logits, target, weight, up = _on(dev, *_inputs(p, sum(sizes)))
    target = target.to(dtype) if p.get("probs") else target
    cd = 1 if logits.dim() > 1 else 0
    opts = _options(p)
    softcap = p.get("softcap")

    ref_x = logits.to(dtype, copy=True).requires_grad_()
    ref_t = target.clone().requires_grad_() if p.get("probs") else target
    with _autocast(p):
        ref = LF.cross_entropy(ref_x, ref_t, _cast(weight, dtype), softcap=softcap, **opts)
    ref.backward(up.to(ref.dtype))

    x = logits.narrow(cd, lo, hi - lo).to(dtype, copy=True).requires_grad_()
    t = target.narrow(cd, lo, hi - lo).clone().requires_grad_() if p.get("probs") else target
    w = None if weight is None else weight[lo:hi].to(dtype)
    with no_host_sync(dev), _autocast(p):
        out = vocab_parallel_cross_entropy(x, t, group=None, weight=w, softcap=softcap, **opts)
        out.backward(up.to(out.dtype))
    assert out.dtype == ref.dtype and out.shape == ref.shape
    tol = TOL[torch.bfloat16 if p.get("autocast") else dtype]
    assert_close(out.detach(), ref.detach(), tol=tol, msg="loss differs from the single-process loss")
    assert_close(x.grad, ref_x.grad.narrow(cd, lo, hi - lo), tol=tol, msg="gradient of the shard differs")
    if p.get("probs"):
        assert_close(t.grad, ref_t.grad.narrow(cd, lo, hi - lo), tol=tol, msg="gradient of the target differs")
    return out.detach().double().sum().item()


CE_CASES = {
    "plain mean": {},
    "weights and ignored targets": dict(weighted=True, ignored=0.3),
    "smoothing with weights, sum": dict(weighted=True, label_smoothing=0.1, ignored=0.3, reduction="sum"),
    "z-loss and smoothing, none, an in-range ignore_index": dict(
        z_loss=1e-2, label_smoothing=0.2, ignore_index=0, ignored=0.3, reduction="none"
    ),
    "soft cap with z-loss and weights": dict(softcap=4.0, z_loss=1e-3, weighted=True),
    "K-dim with weights and smoothing": dict(n=2, kdims=(3, 2), weighted=True, label_smoothing=0.1, ignored=0.2),
    "all ignored, nan": dict(ignored=1.0, weighted=True),
    "all ignored, zero": dict(ignored=1.0, all_ignored="zero", label_smoothing=0.1),
    "every target on the first rank": dict(targets_below=2, weighted=True, label_smoothing=0.1, z_loss=1e-2),
    "nothing ignored": dict(ignore_index=None, label_smoothing=0.3),
    "unbatched": dict(n=0, label_smoothing=0.1, weighted=True),
    "probabilities, weights, smoothing, z-loss": dict(probs=True, weighted=True, label_smoothing=0.2, z_loss=1e-2),
    "probabilities, none": dict(probs=True, reduction="none", label_smoothing=0.1),
    "bf16 weights, smoothing, z-loss": dict(
        dtype="bfloat16", weighted=True, label_smoothing=0.1, z_loss=1e-2, ignored=0.3
    ),
    "bf16 probabilities, none": dict(dtype="bfloat16", probs=True, reduction="none", weighted=True),
    "bf16 logits under autocast (float32 result)": dict(
        dtype="bfloat16", autocast=True, weighted=True, label_smoothing=0.1
    ),
    "float64 every option": dict(
        dtype="float64", weighted=True, label_smoothing=0.1, z_loss=1e-2, softcap=5.0, ignored=0.3
    ),
}


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("case", list(CE_CASES))
def test_vocab_parallel_cross_entropy_equals_the_gathered_loss(ranks, world, case):
    _on_every_layout(ranks(world), case_cross_entropy, CE_CASES[case])


def case_linear_cross_entropy(p: dict, sizes: tuple) -> float:
    dtype = getattr(torch, p.get("dtype", "float32"))
    lo, hi = _bounds(sizes)
    classes, hidden = sum(sizes), 4
    g = torch.Generator().manual_seed(1)
    logits, target, weight, up = _inputs(p, classes)  # the target, weight and upstream gradient; logits unused
    n = logits.shape[0] if logits.dim() > 1 else None
    x = torch.randn((n, hidden) if n else (hidden,), generator=g, dtype=torch.float64)
    W = torch.randn(classes, hidden, generator=g, dtype=torch.float64)
    b = torch.randn(classes, generator=g, dtype=torch.float64) if p.get("bias", True) else None
    dev = p.get("device", "cpu")
    target, weight, up, x, W, b = _on(dev, target, weight, up, x, W, b)
    target = target.to(dtype) if p.get("probs") else target
    opts = _options(p)

    ref_in = [t.to(dtype, copy=True).requires_grad_() if t is not None else None for t in (x, W, b)]
    ref_t = target.clone().requires_grad_() if p.get("probs") else target
    with _autocast(p):
        ref = LF.cross_entropy(F.linear(*ref_in), ref_t, _cast(weight, dtype), **opts)
    ref.backward(up.to(ref.dtype))

    xs = x.to(dtype, copy=True).requires_grad_()
    Ws = W[lo:hi].to(dtype, copy=True).requires_grad_()
    bs = None if b is None else b[lo:hi].to(dtype, copy=True).requires_grad_()
    cd = 1 if n else 0
    t = target.narrow(cd, lo, hi - lo).clone().requires_grad_() if p.get("probs") else target
    w = None if weight is None else weight[lo:hi].to(dtype)
    with no_host_sync(dev), _autocast(p):
        out = vocab_parallel_linear_cross_entropy(
            xs, Ws, t, group=None, bias_shard=bs, weight=w, chunk_size=p.get("chunk_size", 4), **opts
        )
        out.backward(up.to(out.dtype))
    assert out.dtype == ref.dtype and out.shape == ref.shape
    tol = TOL[torch.bfloat16 if p.get("autocast") else dtype]
    assert_close(out.detach(), ref.detach(), tol=tol, msg="loss differs from the single-process loss")
    assert_close(xs.grad, ref_in[0].grad, tol=tol, msg="input gradient differs (it must be summed over the group)")
    assert_close(Ws.grad, ref_in[1].grad[lo:hi], tol=tol, msg="gradient of the weight shard differs")
    if b is not None:
        assert_close(bs.grad, ref_in[2].grad[lo:hi], tol=tol, msg="gradient of the bias shard differs")
    if p.get("probs"):
        assert_close(t.grad, ref_t.grad.narrow(cd, lo, hi - lo), tol=tol, msg="gradient of the target differs")
    return out.detach().double().sum().item()


LINEAR_CASES = {
    "plain mean, chunks of 4": {},
    "weights, ignored targets, smoothing, sum": dict(weighted=True, ignored=0.3, label_smoothing=0.1, reduction="sum"),
    "z-loss and weights, none": dict(z_loss=1e-2, weighted=True, ignored=0.3, reduction="none", chunk_size=5),
    "all ignored, zero": dict(ignored=1.0, all_ignored="zero", bias=False),
    "all ignored, nan": dict(ignored=1.0, weighted=True),
    "probabilities with smoothing": dict(probs=True, label_smoothing=0.2, weighted=True),
    "probabilities, none": dict(probs=True, reduction="none", z_loss=1e-2),
    "unbatched": dict(n=0, label_smoothing=0.1),
    "one chunk": dict(chunk_size=100, weighted=True, label_smoothing=0.1, z_loss=1e-3),
    "bf16 weights, smoothing": dict(dtype="bfloat16", weighted=True, label_smoothing=0.1, ignored=0.3),
    "bf16 none": dict(dtype="bfloat16", reduction="none", z_loss=1e-2),
    "float32 under bf16 autocast": dict(autocast=True, weighted=True, label_smoothing=0.1, ignored=0.3),
}


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("case", list(LINEAR_CASES))
def test_vocab_parallel_linear_cross_entropy_equals_the_gathered_loss(ranks, world, case):
    _on_every_layout(ranks(world), case_linear_cross_entropy, LINEAR_CASES[case])


def case_refusals():
    r = dist.get_rank()
    x = torch.randn(4, 3 + r)  # shards of 3 and 4 classes: C = 7
    y = torch.tensor([0, 6, -100, 2])
    ce = vocab_parallel_cross_entropy
    refusals = [
        (lambda: ce(torch.tensor(1.0), y, group=None), ValueError, r"logits_shard must have a class dimension"),
        (lambda: ce(x.long(), y, group=None), TypeError, r"logits_shard must be a floating-point tensor"),
        (lambda: ce(x, y, group="world"), TypeError, r"group must be a torch.distributed.ProcessGroup"),
        (
            lambda: ce(x, y, group=None, weight=torch.ones(7)),
            ValueError,
            r"weight must be this rank's slice of the class weights, one entry per class of logits_shard",
        ),
        (lambda: ce(x, y, group=None, weight=-torch.ones(3 + r)), ValueError, r"weight has 3|4 entr"),
        (
            lambda: ce(x, y, group=None, weight=torch.ones(3 + r, requires_grad=True)),
            ValueError,
            r"weight requires grad.*pass weight.detach\(\)",
        ),
        (
            lambda: ce(x, torch.tensor([0, 7, 1, 2]), group=None),
            ValueError,
            r"target has class index 7 outside \[0, 6\] for input with 7 classes",
        ),
        (lambda: ce(x, y[:3], group=None), ValueError, r"target has shape \(3,\) but logits_shard has shape"),
        (lambda: ce(x, y.float(), group=None), TypeError, r"target has the shape of class indices"),
        (lambda: ce(x, y, group=None, z_loss=-1.0), ValueError, r"z_loss must be in \[0, inf\]"),
        (lambda: ce(x, y, group=None, softcap=0.0), ValueError, r"softcap must be in \(0, inf\]"),
        (lambda: ce(x, y, group=None, label_smoothing=1.5), ValueError, r"label_smoothing must be in \[0, 1\]"),
        (lambda: ce(x, y, group=None, reduction="avg"), ValueError, r"'avg' is not a valid value for reduction"),
        (lambda: ce(x, y, group=None, all_ignored="skip"), ValueError, r"all_ignored='skip' is not valid"),
        (
            lambda: ce(x, torch.softmax(x, 1), group=None, ignore_index=0),
            ValueError,
            r"ignore_index=0 applies to class-index targets only",
        ),
        # the ranks pass different tokens: every rank sees it in the gathered layout and refuses
        (
            lambda: ce(x[: 4 - r], y[: 4 - r], group=None),
            ValueError,
            r"the ranks of the group hold different numbers of positions \(\[4, 3\] in rank order\)",
        ),
    ]
    lce = vocab_parallel_linear_cross_entropy
    h, W = torch.randn(4, 5), torch.randn(3 + r, 5)
    refusals += [
        (lambda: lce(torch.randn(2, 4, 5), W, y, group=None), ValueError, r"input must have shape \(N, H\) or \(H,\)"),
        (
            lambda: lce(h, torch.randn(3 + r, 6), y, group=None),
            ValueError,
            r"weight_shard must have shape \(C_r, H=5\)",
        ),
        (
            lambda: lce(h, W, y, group=None, bias_shard=torch.zeros(7)),
            ValueError,
            r"bias_shard must have shape \((3|4),\)",
        ),
        (lambda: lce(h, W.double(), y, group=None), TypeError, r"input and weight_shard must have the same dtype"),
        (lambda: lce(h, W, y, group=None, chunk_size=0), ValueError, r"chunk_size must be in \[1, inf\]"),
        (lambda: lce(h, W, torch.tensor([0, 9, 1, 2]), group=None), ValueError, r"target has class index 9"),
    ]
    for call, exc, match in refusals:
        with pytest.raises(exc, match=match):
            call()
    # the fused gradients serve one backward
    hg = h.clone().requires_grad_()
    loss = lce(hg, W, y, group=None)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match=r"serve one backward only"):
        loss.backward()


def test_bad_arguments_are_refused_on_every_rank(ranks):
    ranks(2).run(case_refusals)
