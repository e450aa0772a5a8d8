"""Kernel vs PyTorch path on CUDA at realistic shapes (skipped without a GPU; run in a GPU session:
``python -m pytest -q -m cuda tests/kernels``)."""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close

pytestmark = pytest.mark.cuda

BF16 = dict(rtol=2e-2, atol=2e-2)
FP32 = dict(rtol=1e-4, atol=1e-5)


def _grad_pair(f_ours, f_ref, x, *rest):
    a = x.detach().clone().requires_grad_()
    b = x.detach().clone().requires_grad_()
    o, r = f_ours(a, *rest), f_ref(b, *rest)
    g = torch.rand_like(o, dtype=torch.float32).add_(0.5).to(o.dtype)
    (ga,) = torch.autograd.grad(o, a, g)
    (gb,) = torch.autograd.grad(r, b, g.to(r.dtype))
    return o, r, ga, gb


@pytest.mark.parametrize("n,c", [(512, 128256), (128, 262144), (4096, 1000), (777, 50257)])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_cross_entropy_large_vocab(n, c, dtype):
    from losskit.kernels.cross_entropy import cross_entropy_triton

    x = torch.randn(n, c, device="cuda", dtype=dtype) * 3
    t = torch.randint(0, c, (n,), device="cuda")
    t[::7] = -100
    w = torch.rand(c, device="cuda") + 0.5
    for kw in ({}, {"weight": w, "label_smoothing": 0.1}):
        o, r, ga, gb = _grad_pair(
            lambda a, t, kw=kw: cross_entropy_triton(a, t, **kw),
            lambda b, t, kw=kw: F.cross_entropy(b.float(), t, **kw),
            x,
            t,
        )
        assert_close(o.float(), r, tol=FP32 if dtype == torch.float32 else BF16)
        assert_close(ga.float(), gb.float(), tol=dict(rtol=2e-2, atol=1e-6 if dtype == torch.float32 else 1e-4))


def test_cross_entropy_nchw_and_inplace():
    from losskit.kernels.cross_entropy import cross_entropy_triton

    x = torch.randn(8, 21, 64, 64, device="cuda")
    t = torch.randint(0, 21, (8, 64, 64), device="cuda")
    o, r, ga, gb = _grad_pair(lambda a, t: cross_entropy_triton(a, t), lambda b, t: F.cross_entropy(b, t), x, t)
    assert_close(o, r, tol=FP32)
    assert_close(ga, gb, tol=dict(rtol=1e-3, atol=1e-8))
    z = (x * 1.0).requires_grad_()
    loss = cross_entropy_triton(z, t, inplace_grad=True)
    (gz,) = torch.autograd.grad(loss, z)
    assert gz.data_ptr() == z.data_ptr()
    assert_close(gz, gb, tol=dict(rtol=1e-3, atol=1e-8))


def test_focal_and_bce():
    import losskit.functional as LF
    from losskit.kernels import _dispatch

    def sigmoid_focal_loss_triton(a, t, **kw):
        with _dispatch.impl("triton"):
            return LF.sigmoid_focal_loss(a, t, **kw)

    def binary_cross_entropy_with_logits_triton(a, t, **kw):
        with _dispatch.impl("triton"):
            return LF.binary_cross_entropy_with_logits(a, t, **kw)

    x = torch.randn(200_000, 80, device="cuda", dtype=torch.bfloat16) * 3
    t = (torch.rand(200_000, 80, device="cuda") < 0.05).to(torch.bfloat16)

    def ref(a, t):
        a = a.float()
        p = torch.sigmoid(a)
        ce = F.binary_cross_entropy_with_logits(a, t.float(), reduction="none")
        p_t = p * t + (1 - p) * (1 - t)
        return ((0.25 * t + 0.75 * (1 - t)) * ce * (1 - p_t) ** 2).mean()

    o, r, ga, gb = _grad_pair(lambda a, t: sigmoid_focal_loss_triton(a, t, alpha=0.25), ref, x, t)
    assert_close(o.float(), r, tol=BF16)
    assert_close(ga.float(), gb.float(), tol=dict(rtol=2e-2, atol=1e-9))
    pw = torch.rand(80, device="cuda") + 0.5
    o, r, ga, gb = _grad_pair(
        lambda a, t: binary_cross_entropy_with_logits_triton(a, t, pos_weight=pw),
        lambda b, t: F.binary_cross_entropy_with_logits(b.float(), t.float(), pos_weight=pw),
        x,
        t,
    )
    assert_close(o.float(), r, tol=BF16)


def test_dice_plus_bce_through_the_soft_counts_kernel():
    from losskit.functional import binary_cross_entropy_with_logits, dice_loss

    x = torch.randn(4, 21, 128, 128, device="cuda", dtype=torch.bfloat16)
    t = (torch.rand(4, 21, 128, 128, device="cuda") < 0.3).to(torch.bfloat16)

    def ref(a, t):
        a, tf = a.float(), t.float()
        p = torch.sigmoid(a)
        d = 1 - (2 * (p * tf).sum((2, 3)) + 1) / (p.sum((2, 3)) + tf.sum((2, 3)) + 1)
        return d.mean() + F.binary_cross_entropy_with_logits(a, tf)

    o, r, ga, gb = _grad_pair(
        lambda a, t: (
            dice_loss(a, t, mode="multilabel", per_image=True, smooth=1.0) + binary_cross_entropy_with_logits(a, t)
        ),
        ref,
        x,
        t,
    )
    assert_close(o.float(), r, tol=BF16)
    assert_close(ga.float(), gb.float(), tol=dict(rtol=2e-2, atol=1e-8))


def test_linear_cross_entropy_triton_path():
    from losskit.functional import linear_cross_entropy

    x = torch.randn(2048, 1024, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    w = (torch.randn(32000, 1024, device="cuda", dtype=torch.bfloat16) * 0.03).requires_grad_()
    t = torch.randint(0, 32000, (2048,), device="cuda")
    t[::5] = -100
    loss = linear_cross_entropy(x, w, t, label_smoothing=0.1)
    gx, gw = torch.autograd.grad(loss, [x, w])
    xr, wr = x.detach().float().requires_grad_(), w.detach().float().requires_grad_()
    ref = F.cross_entropy(xr @ wr.T, t, label_smoothing=0.1)
    rx, rw = torch.autograd.grad(ref, [xr, wr])
    assert_close(loss.float(), ref, tol=BF16)
    assert_close(gx.float(), rx, tol=dict(rtol=5e-2, atol=1e-4))
    assert_close(gw.float(), rw, tol=dict(rtol=5e-2, atol=1e-4))


def test_no_host_sync_and_compile():
    """No device-to-host copies inside the loss (CUDA graphs capture it), and fullgraph compile."""
    from losskit.kernels.cross_entropy import cross_entropy_triton

    x = torch.randn(64, 5000, device="cuda", requires_grad=True)
    t = torch.randint(0, 5000, (64,), device="cuda")
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = cross_entropy_triton(x, t, weight=torch.rand(5000, device="cuda"), label_smoothing=0.1)
        loss.backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    f = torch.compile(lambda x: cross_entropy_triton(x, t), fullgraph=True)
    assert_close(f(x), F.cross_entropy(x, t), tol=FP32)


def test_dice_more_than_65535_spatial_blocks():
    """128 classes (BLOCK_S 32) over 2.1 M pixels: 65569 spatial blocks, more than CUDA allows on grid
    axis 1 (where they used to be launched)."""
    from losskit.functional import dice_loss

    c, s = 128, 65535 * 32 + 1000
    x = torch.randn(1, c, s, device="cuda", dtype=torch.bfloat16)
    t = torch.randint(0, c, (1, s), device="cuda")

    def ref(a, t):
        p = torch.softmax(a.float(), 1)
        oh = F.one_hot(t, c).permute(0, 2, 1).float()
        return (1 - (2 * (p * oh).sum(2) + 1) / (p.sum(2) + oh.sum(2) + 1)).mean()

    o, r, ga, gb = _grad_pair(lambda a, t: dice_loss(a, t, per_image=True, smooth=1.0), ref, x, t)
    assert_close(o.float(), r, tol=BF16)
    assert_close(ga.float(), gb.float(), tol=dict(rtol=2e-2, atol=1e-9))


def test_strided_targets_and_logits():
    from losskit.functional import binary_cross_entropy_with_logits, cross_entropy

    x = torch.randn(4096, 1000, device="cuda")
    labels = torch.randint(0, 1000, (4096, 2), device="cuda")
    assert_close(cross_entropy(x, labels[:, 1]), F.cross_entropy(x, labels[:, 1]), tol=FP32)
    scores = torch.randn(100_000, 3, device="cuda")
    y = (torch.rand(100_000, 2, device="cuda") > 0.5).float()
    assert_close(
        binary_cross_entropy_with_logits(scores[:, 2], y[:, 0]),
        F.binary_cross_entropy_with_logits(scores[:, 2], y[:, 0]),
        tol=FP32,
    )
