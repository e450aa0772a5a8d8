"""Poly-1 losses, and the softmax focal / Poly-1 numerics against an exact float64 reference.

The reference computes log(1 - p_c) and log p_c for every class from u_c = logsumexp_{j != c} z_j - z_c
(logsigmoid(u_c) and logsigmoid(-u_c)) through autograd, exact where p_c rounds to 1 , so these tests check values *and* gradients in the regimes where a naive
``log(1 - softmax)`` breaks: p_t -> 1, 0 < gamma < 1, huge logits, gradients for probability targets,
weights and alpha.
"""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against
from losskit.functional import (
    focal_loss,
    poly1_cross_entropy,
    poly1_focal_loss,
    poly1_sigmoid_focal_loss,
    sigmoid_focal_loss,
)
from reference import softmax_focal_exact


def _fn(name):
    return {
        "focal": lambda z, t, epsilon=0.0, **k: focal_loss(z, t, **k),
        "poly1_focal": lambda z, t, **k: poly1_focal_loss(z, t, **k),
        "poly1_ce": lambda z, t, gamma=0.0, alpha=None, **k: poly1_cross_entropy(z, t, **k),
    }[name]


def _compare(name, z, t, *, tol, grad_t=False, **kw):
    """Value and gradient (w.r.t. z, and t for probabilities) of ours vs the exact reference."""
    if name == "poly1_ce":
        kw = {k: v for k, v in kw.items() if k not in ("gamma", "alpha")}
        kw_ref = dict(kw, gamma=0.0)
    elif name == "focal":
        kw.pop("epsilon", None)
        kw_ref = dict(kw)
    else:
        kw_ref = dict(kw)
    zo, zr = z.detach().clone().requires_grad_(True), z.detach().clone().to(torch.float64).requires_grad_(True)
    to, tr = t, t
    if grad_t:
        to, tr = t.detach().clone().requires_grad_(True), t.detach().clone().to(torch.float64).requires_grad_(True)
    out = _fn(name)(zo, to, reduction="none", **kw)
    ref = softmax_focal_exact(zr, tr, reduction="none", **kw_ref)
    up = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).view(out.shape)
    (out * up.to(out.dtype)).sum().backward()
    (ref * up).sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(zo.grad).all()
    assert_close(out, ref, tol=tol)
    assert_close(zo.grad, zr.grad, tol=tol)
    if grad_t:
        assert_close(to.grad, tr.grad, tol=tol)


SATURATED = [
    # rows where the arg-max class has 1 - p far below float32 (and float64) resolution, mixed with ordinary rows
    [40.0, 0.0, -3.0, 1.0],
    [0.0, 30.0, 1.0, -2.0],
    [2.0, 1.0, 0.5, -1.0],
    [-5.0, -4.0, 20.0, -6.0],
    [0.0, 0.0, 0.0, 0.0],
]


@pytest.mark.parametrize("name", ["focal", "poly1_focal", "poly1_ce"])
@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 2.5])
@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
def test_saturated_rows_match_exact_reference_float64(name, gamma, kind):
    if name == "focal" and gamma == 0.0:
        pytest.skip("gamma=0 focal is cross_entropy (log_softmax), which rounds -log p to 0 like torch's")
    z = torch.tensor(SATURATED, dtype=torch.float64)
    t = torch.tensor([0, 1, 2, 0, 3])  # targets on the saturated class, and off it (row 3)
    kw = dict(gamma=gamma, epsilon=1.5)
    if kind == "smoothing":
        kw["label_smoothing"] = 0.1
    if kind == "probs":
        t = torch.softmax(torch.randn(5, 4, dtype=torch.float64), 1)
    # float64 values and gradients agree to float64 precision, relative to each entry, even where 1 - p ~ 1e-18
    _compare(name, z, t, tol=dict(rtol=1e-9, atol=1e-300), grad_t=kind == "probs", **kw)


@pytest.mark.parametrize("name", ["focal", "poly1_focal", "poly1_ce"])
@pytest.mark.parametrize("gamma", [0.3, 2.0])
@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
def test_saturated_rows_float32_vs_exact_float64(name, gamma, kind):
    z = torch.tensor(SATURATED)
    t = torch.tensor([0, 1, 2, 0, 3])
    kw = dict(gamma=gamma, epsilon=-0.5)
    if kind == "smoothing":
        kw["label_smoothing"] = 0.2
    if kind == "probs":
        t = torch.softmax(torch.randn(5, 4), 1)
    _compare(name, z, t, tol=dict(rtol=1e-4, atol=1e-10), grad_t=kind == "probs", **kw)


@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3), (4, 1)])
def test_weight_alpha_and_probs_gradients_vs_exact_reference(kind, shape):
    g = torch.Generator().manual_seed(3)
    C = shape[1]
    z = 4.0 * torch.randn(shape, dtype=torch.float64, generator=g)
    t_shape = (shape[0], *shape[2:])
    if kind == "probs":
        t = torch.softmax(torch.randn(shape, dtype=torch.float64, generator=g), 1).requires_grad_(True)
    else:
        t = torch.randint(0, C, t_shape, generator=g)
        t.view(-1)[1] = -100
    w = (torch.rand(C, dtype=torch.float64, generator=g) + 0.3).requires_grad_(kind == "probs")
    al = (torch.rand(C, dtype=torch.float64, generator=g) * 2).requires_grad_(True)
    kw = dict(gamma=1.5, epsilon=0.7, label_smoothing=0.15 if kind == "smoothing" else 0.0)
    leaves = [z.requires_grad_(True), al] + ([t, w] if kind == "probs" else [])
    for reduction in ("none", "mean", "sum"):
        out = poly1_focal_loss(z, t, weight=w, alpha=al, reduction=reduction, **kw)
        ref = softmax_focal_exact(z, t, weight=w, alpha=al, reduction=reduction, **kw)
        assert_close(out, ref)
        up = torch.rand(out.shape, dtype=torch.float64, generator=g) + 0.5
        go = torch.autograd.grad((out * up).sum(), leaves, allow_unused=True)
        gr = torch.autograd.grad((ref * up).sum(), leaves, allow_unused=True)  # C = 1: z unused, loss constant
        for a, b, leaf in zip(go, gr, leaves, strict=True):
            assert a is not None
            assert_close(a, torch.zeros_like(leaf) if b is None else b)


@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
def test_gradcheck_analytic_backward(kind):
    g = torch.Generator().manual_seed(5)
    z = (2.0 * torch.randn(3, 4, 2, dtype=torch.float64, generator=g)).requires_grad_(True)
    if kind == "probs":
        t = torch.softmax(torch.randn(3, 4, 2, dtype=torch.float64, generator=g), 1).requires_grad_(True)
        inputs = (z, t)
    else:
        t = torch.randint(0, 4, (3, 2), generator=g)
        inputs = (z,)
    al = torch.rand(4, dtype=torch.float64, generator=g).requires_grad_(True)
    w = torch.rand(4, dtype=torch.float64, generator=g) + 0.5
    ls = 0.2 if kind == "smoothing" else 0.0
    for gamma in (0.0, 0.5, 1.0, 2.0, 3.0):

        def f(z, *rest, gamma=gamma):
            tt = rest[0] if rest else t
            return poly1_focal_loss(
                z, tt, gamma=gamma, epsilon=0.8, alpha=al, weight=w, label_smoothing=ls, reduction="none"
            )

        assert torch.autograd.gradcheck(f, inputs)
        assert torch.autograd.gradcheck(
            lambda a, gamma=gamma: focal_loss(z.detach(), t.detach(), gamma=gamma, alpha=a, label_smoothing=ls), (al,)
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
def test_huge_logits_and_single_class_stay_finite(dtype, kind):
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [3e4, 3e4, -3e4]], dtype=dtype).requires_grad_(True)
    t = torch.tensor([0, 0, 1])
    ls = 0.1 if kind == "smoothing" else 0.0
    if kind == "probs":
        t = F.one_hot(t, 3).to(dtype) * 0.7 + 0.1
    for gamma, eps in ((0.0, 1.0), (0.2, 2.0), (2.0, -1.0)):
        z.grad = None
        out = poly1_focal_loss(z, t, gamma=gamma, epsilon=eps, label_smoothing=ls, reduction="none")
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(z.grad).all()
    # a single class: p = 1, every focal term and gradient is 0 (cross-entropy's gradient is 0 too)
    z1 = torch.tensor([[5.0], [-7.0]], dtype=dtype).requires_grad_(True)
    t1 = torch.tensor([0, 0]) if kind != "probs" else torch.ones(2, 1, dtype=dtype)
    out = poly1_focal_loss(z1, t1, gamma=0.5, epsilon=1.0, label_smoothing=ls, reduction="sum")
    out.backward()
    assert out.item() == 0.0 and (z1.grad == 0).all()


@pytest.mark.parametrize("kind", ["index", "smoothing", "probs"])
def test_compiles_fullgraph_with_analytic_backward(kind):
    g = torch.Generator().manual_seed(7)
    z = torch.randn(4, 3, 2, generator=g)
    t = torch.randint(0, 3, (4, 2), generator=g)
    t[0, 0] = -100
    if kind == "probs":
        t = torch.softmax(torch.randn(4, 3, 2, generator=g), 1)
    kw = dict(
        gamma=1.5,
        epsilon=0.5,
        weight=torch.rand(3, generator=g) + 0.5,
        alpha=torch.rand(3, generator=g),
        label_smoothing=0.1 if kind == "smoothing" else 0.0,
        all_ignored="zero",
    )
    fn = torch.compile(lambda z, t: poly1_focal_loss(z, t, **kw), fullgraph=True, backend="eager")
    z1, z2 = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    out = fn(z1, t)
    out.backward()
    ref = poly1_focal_loss(z2, t, **kw)
    ref.backward()
    assert_close(out, ref)
    assert_close(z1.grad, z2.grad)


def _binary(shape, dtype=torch.float64, soft=False, scale=2.0):
    z = scale * torch.randn(shape, dtype=dtype)
    y = torch.rand(shape, dtype=dtype) if soft else torch.randint(0, 2, shape).to(dtype)
    return z, y


def _multiclass(shape, dtype=torch.float64, scale=2.0):
    z = scale * torch.randn(shape, dtype=dtype)
    return z, torch.randint(0, shape[1], (shape[0], *shape[2:]))


def test_poly1_sigmoid_focal_epsilon0_is_sigmoid_focal():
    z, y = _binary((5, 4))
    kw = dict(alpha=0.25, gamma=2.0, label_smoothing=0.1)
    check_against(
        lambda *a: poly1_sigmoid_focal_loss(*a, epsilon=0.0, **kw),
        lambda *a: sigmoid_focal_loss(*a, **kw),
        z,
        y,
        grad=[True, False],
    )


def test_poly1_cross_entropy_vs_paper_formula():
    # Leng et al.: Poly1 = CE + eps (1 - pt), pt = sum(labels * softmax(logits)), labels one-hot or smoothed
    z, t = _multiclass((7, 5))
    labels = F.one_hot(t, 5).double() * 0.9 + 0.1 / 5
    pt = (labels * torch.softmax(z, -1)).sum(-1)
    paper = F.cross_entropy(z, labels, reduction="none") + 2.0 * (1 - pt)
    assert_close(poly1_cross_entropy(z, t, epsilon=2.0, label_smoothing=0.1, reduction="none"), paper)
    assert_close(poly1_focal_loss(z, t, epsilon=2.0, gamma=0.0, label_smoothing=0.1, reduction="none"), paper)


@pytest.mark.parametrize("fn", ["poly1_cross_entropy", "poly1_focal_loss"])
def test_poly1_sample_weight_vs_keras_style_weighted_items(fn):
    from reference import poly1_with_sample_weight

    g = torch.Generator().manual_seed(12)
    z = torch.randn(9, 5, dtype=torch.float64, generator=g)
    t = torch.randint(0, 5, (9,), generator=g)
    s = torch.rand(9, dtype=torch.float64, generator=g) * 2
    f = poly1_cross_entropy if fn == "poly1_cross_entropy" else (lambda *a, **k: poly1_focal_loss(*a, gamma=0.0, **k))
    check_against(
        lambda z: f(z, t, epsilon=2.0, sample_weight=s, reduction="sum") / 9,
        lambda z: poly1_with_sample_weight(z, t, epsilon=2.0, sample_weight=s),
        z,
    )
    assert_close(
        f(z, t, epsilon=2.0, sample_weight=s), f(z, t, epsilon=2.0, sample_weight=s, reduction="sum") / s.sum()
    )
