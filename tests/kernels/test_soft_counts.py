"""The Dice soft-count kernels vs float64 formulas, under the CPU interpreter."""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against

pytest.importorskip("triton")
from losskit.kernels import _dispatch  # noqa: E402
from losskit.kernels._triton import interpreter_active  # noqa: E402

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

if interpreter_active():
    from losskit.kernels.dice import dice_loss_triton

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
