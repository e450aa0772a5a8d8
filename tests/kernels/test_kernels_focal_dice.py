"""Fused sigmoid focal / BCE-with-logits and Dice kernels vs float64 formulas and torch, under the CPU interpreter."""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against

pytest.importorskip("triton")
from losskit.kernels import _dispatch  # noqa: E402
from losskit.kernels._triton_util import interpreter_active  # noqa: E402

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

if interpreter_active():
    from losskit.kernels.dice import dice_loss_triton
    from losskit.kernels.focal import binary_cross_entropy_with_logits_triton, sigmoid_focal_loss_triton

DTYPES = [torch.float32, torch.bfloat16, torch.float16]


# ----------------------------------------------------------------------------------------- focal
def focal_ref(x, t, *, alpha=None, gamma=2.0, weight=None, pos_weight=None, label_smoothing=0.0, ignore_index=None,
              reduction="mean"):
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
    check_against(_focal, focal_ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction=reduction, **_focal_kw(opts, shape))


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
        return F.binary_cross_entropy_with_logits(x.double(), t.double(), **{k: v.double() for k, v in kw.items() if k != "reduction"}, reduction=kw["reduction"])

    check_against(ours, ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction=reduction, weight=w, pos_weight=pw)


def test_focal_dispatch_and_errors():
    x, t = torch.randn(4, 3), torch.rand(4, 3)
    with _dispatch.impl("triton"):
        out = _dispatch.call_kernel("binary_cross_entropy_with_logits", x, t, reduction="sum")
        assert_close(out, F.binary_cross_entropy_with_logits(x, t, reduction="sum"))
        out = _dispatch.call_kernel("sigmoid_focal_loss", x, t, alpha=0.25, gamma=2.0, reduction="mean")
        assert_close(out, focal_ref(x, t, alpha=0.25).float())
        assert _dispatch.call_kernel("sigmoid_focal_loss", x, t, some_new_option=0.1) is None
        assert _dispatch.call_kernel("binary_cross_entropy_with_logits", x, t.requires_grad_()) is None
    with pytest.raises(ValueError, match="same shape"):
        sigmoid_focal_loss_triton(x, t[:2])
    with pytest.raises(ValueError, match="alpha"):
        sigmoid_focal_loss_triton(x, t, alpha=1.5)
    with pytest.raises(ValueError, match="gamma"):
        sigmoid_focal_loss_triton(x, t, gamma=-1.0)
    with pytest.raises(ValueError, match="pos_weight"):
        sigmoid_focal_loss_triton(x, t, pos_weight=torch.ones(5))


# ------------------------------------------------------------------------------------------ dice
def dice_ref(x, t, *, activation="sigmoid", smooth=1.0, eps=1e-7, ignore_index=None, bce_weight=None,
             batch_dice=False, reduction="mean"):
    """1 - (2 sum p t + s) / (sum p + sum t + s) per (n, c), float64."""
    x = x.double()
    n, c = x.shape[:2]
    p = torch.sigmoid(x) if activation == "sigmoid" else torch.softmax(x, 1)
    if t.is_floating_point():
        tt = t.double()
    else:
        valid = t != (-100 if ignore_index is None else ignore_index)
        tt = F.one_hot(t.clamp(0, c - 1), c).movedim(-1, 1).double() * valid.unsqueeze(1)
        p = p * valid.unsqueeze(1)
    dims = (0, *range(2, x.dim())) if batch_dice else tuple(range(2, x.dim()))
    inter, psum, tsum = (p * tt).sum(dims), p.sum(dims), tt.sum(dims)
    loss = 1 - (2 * inter + smooth) / (psum + tsum + smooth).clamp_min(eps)
    if bce_weight is not None:
        loss = loss + bce_weight * F.binary_cross_entropy_with_logits(x, tt, reduction="none").mean(dims)
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def _dice(x, t, **kw):
    return dice_loss_triton(x, t, **kw)


DICE_OPTS = [
    ({}, "float"),
    ({"bce_weight": 0.7}, "float"),
    ({"batch_dice": True, "smooth": 0.0}, "float"),
    ({"activation": "softmax"}, "float"),
    ({"activation": "softmax", "ignore_index": 255}, "index"),
    ({"activation": "softmax", "batch_dice": True}, "index"),
]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("opts,kind", DICE_OPTS, ids=lambda o: "-".join(o) if isinstance(o, dict) else o)
def test_dice_options(opts, kind, reduction):
    shape = (2, 3, 5, 7)  # C = 3 (not a power of two), 35 pixels: 5 spatial blocks of 8
    x = torch.randn(shape) * 2
    if kind == "float":
        t = (torch.rand(shape) > 0.6).float()
    else:
        t = torch.randint(0, 3, (2, 5, 7))
        t[0, 0, :4] = opts.get("ignore_index", 0)
    check_against(_dice, dice_ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction=reduction, **opts)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dice_dtypes_layouts(dtype):
    x = (torch.randn(2, 4, 3, 5) * 2).to(dtype).to(memory_format=torch.channels_last)
    t = (torch.rand(2, 4, 3, 5) > 0.5).to(dtype)
    check_against(_dice, dice_ref, x, t, ref_dtype=torch.float64, grad=[True, False], reduction="none", bce_weight=1.0)
    x3 = (torch.randn(3, 5, 11) * 2).to(dtype)  # (N, C, L)
    t3 = torch.randint(0, 5, (3, 11))
    check_against(_dice, dice_ref, x3, t3, ref_dtype=torch.float64, grad=[True, False], activation="softmax")


def test_dice_extreme_logits_and_empty_classes():
    x = torch.randn(2, 3, 4, 4)
    x[0, 0] = 1e4
    x[1, 1] = -1e4
    t = torch.zeros(2, 3, 4, 4)  # empty targets everywhere
    for act in ("sigmoid", "softmax"):
        out, _ = check_against(_dice, dice_ref, x, t, ref_dtype=torch.float64, grad=[True, False], activation=act, reduction="none")
        assert torch.isfinite(out).all()
    out = dice_loss_triton(x, t, smooth=0.0, reduction="none")  # 0/0 guarded by eps
    assert torch.isfinite(out).all()


def test_dice_dispatch_and_errors():
    x, t = torch.randn(2, 3, 4), (torch.rand(2, 3, 4) > 0.5).float()
    with _dispatch.impl("triton"):
        out = _dispatch.call_kernel("dice_loss", x, t, mode="multilabel", smooth=1.0, per_image=True, empty="include")
        assert_close(out, dice_ref(x, t).float())
        assert _dispatch.call_kernel("dice_loss", x, t, log_loss=True) is None
    with pytest.raises(ValueError, match="softmax"):
        dice_loss_triton(x, torch.randint(0, 3, (2, 4)))
    with pytest.raises(ValueError, match="bce_weight"):
        dice_loss_triton(x, t, activation="softmax", bce_weight=1.0)
    with pytest.raises(ValueError, match="shape"):
        dice_loss_triton(x, t[:, :2])
    with pytest.raises(ValueError, match="activation"):
        dice_loss_triton(x, t, activation="relu")


def test_focal_and_bce_read_strided_1d_inputs_through_their_stride():
    """Logits that are one column of a score matrix (a 1-D view with stride C) and a strided target."""
    g = torch.Generator().manual_seed(7)
    scores = torch.randn(37, 3, generator=g) * 2
    targets = (torch.rand(37, 2, generator=g) > 0.5).float()

    def pick(f):
        return lambda s, t, **kw: f(s[:, 2], t[:, 1], **kw)

    for reduction in ("none", "mean", "sum"):
        check_against(pick(_focal), pick(focal_ref), scores, targets, ref_dtype=torch.float64, grad=[True, False],
                      reduction=reduction, alpha=0.25)
        check_against(pick(binary_cross_entropy_with_logits_triton),
                      pick(lambda x, t, **kw: F.binary_cross_entropy_with_logits(x.double(), t.double(), **kw)),
                      scores, targets, ref_dtype=torch.float64, grad=[True, False], reduction=reduction)
    with _dispatch.impl("triton"):  # the functional's kernel path
        from losskit.functional import binary_cross_entropy_with_logits

        assert_close(binary_cross_entropy_with_logits(scores[:, 0], targets[:, 1]),
                     F.binary_cross_entropy_with_logits(scores[:, 0], targets[:, 1]))


@pytest.mark.parametrize("activation,kind", [("sigmoid", "float"), ("softmax", "index")])
def test_dice_launch_grid_is_one_dimensional(activation, kind, monkeypatch):
    """CUDA caps grid dims 1 and 2 at 65535; spatial blocks (S / BLOCK_S, e.g. 2**16 for a 256**3 volume
    with 14 classes) must therefore not sit on grid axis 1."""
    from losskit.kernels import dice as dice_mod

    grids = []
    for name in ("_dice_sigmoid_fwd_kernel", "_dice_sigmoid_bwd_kernel", "_dice_softmax_fwd_kernel",
                 "_dice_softmax_bwd_kernel"):
        real = getattr(dice_mod, name)

        class Spy:
            def __init__(self, real):
                self.real = real

            def __getitem__(self, grid):
                grids.append(grid)
                return self.real[grid]

        monkeypatch.setattr(dice_mod, name, Spy(real))
    x = torch.randn(2, 3, 5, 7) * 2
    t = (torch.rand(2, 3, 5, 7) > 0.6).float() if kind == "float" else torch.randint(0, 3, (2, 5, 7))
    check_against(_dice, dice_ref, x, t, ref_dtype=torch.float64, grad=[True, False], activation=activation)
    assert len(grids) == 2 and all(len(gr) == 1 for gr in grids), grids  # forward + backward
