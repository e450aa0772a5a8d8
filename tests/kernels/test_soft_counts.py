"""The ``soft_counts`` kernel vs float64 counts written out, under the CPU interpreter.

The primitive takes the normalised :class:`losskit._checks.MaskInputs` and returns the sums
``I = Σ p t``, ``P = Σ p``, ``T = Σ t`` per (image, class), or per class over the batch.
"""

import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against

pytest.importorskip("triton")
from losskit import _checks
from losskit.kernels import _dispatch
from losskit.kernels._triton import interpreter_active

pytestmark = [
    pytest.mark.interpret,
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.skipif(not interpreter_active(), reason="needs TRITON_INTERPRET=1 before triton is imported"),
]

DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _inputs(x, t, mode, ignore_index=None):
    return _checks.mask_inputs(
        "dice_loss", x, t, mode=mode, from_logits=True, weight=None, ignore_index=ignore_index, include_background=True
    )


def counts_ref(x, t, *, mode="multilabel", ignore_index=None, per_image=False):
    """float64: p = sigmoid (binary/multilabel) or softmax over dim 1; one-hot of class indices with
    ignored pixels zeroed in p and t; sums over the pixels (and the batch unless per_image), stacked (3, ...)."""
    x = x.double()
    n = x.shape[0]
    x = x.reshape(n, 1, -1) if mode == "binary" else x.reshape(n, x.shape[1], -1)
    c = x.shape[1]
    p = torch.softmax(x, 1) if mode == "multiclass" else torch.sigmoid(x)
    if mode == "multiclass" and not t.is_floating_point():
        y = t.reshape(n, -1)
        valid = torch.ones_like(y, dtype=torch.bool) if ignore_index is None else y != ignore_index
        tt = F.one_hot(torch.where(valid, y, 0), c).movedim(-1, 1).double() * valid.unsqueeze(1)
        p = p * valid.unsqueeze(1)
    else:
        tt = t.reshape(n, c, -1).double()
    dims = (2,) if per_image else (0, 2)
    return torch.stack([(p * tt).sum(dims), p.sum(dims), tt.sum(dims)])


def _kernel(x, t, *, mode="multilabel", ignore_index=None, per_image=False):
    k = _dispatch.registered("soft_counts")
    m = _inputs(x, t, mode, ignore_index)
    assert k.supports(m, per_image=per_image)
    return torch.stack(k.fn(m, per_image=per_image))


CASES = [
    ({"mode": "multilabel"}, "float"),
    ({"mode": "binary"}, "binary"),
    ({"mode": "multiclass"}, "onehot"),
    ({"mode": "multiclass"}, "index"),
    ({"mode": "multiclass", "ignore_index": 255}, "index"),
]


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("opts,kind", CASES, ids=lambda o: "-".join(map(str, o.values())) if isinstance(o, dict) else o)
def test_counts_match_float64(opts, kind, per_image):
    shape = (2, 3, 5, 7)  # C = 3 (not a power of two), 35 pixels: 5 spatial blocks of 8
    x = torch.randn(shape) * 2
    if kind == "float":
        t = (torch.rand(shape) > 0.6).float()
    elif kind == "binary":
        x = x[:, :1].contiguous()
        t = (torch.rand(2, 1, 5, 7) > 0.6).float()
    elif kind == "onehot":
        t = F.one_hot(torch.randint(0, 3, (2, 5, 7)), 3).movedim(-1, 1).float()
    else:
        t = torch.randint(0, 3, (2, 5, 7))
        t[0, 0, :4] = opts.get("ignore_index", 0)
    check_against(_kernel, counts_ref, x, t, ref_dtype=torch.float64, grad=[True, False], per_image=per_image, **opts)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes_and_layouts(dtype):
    x = (torch.randn(2, 4, 3, 5) * 2).to(dtype).to(memory_format=torch.channels_last)
    t = (torch.rand(2, 4, 3, 5) > 0.5).to(dtype)
    check_against(_kernel, counts_ref, x, t, ref_dtype=torch.float64, grad=[True, False], per_image=True)
    x3 = (torch.randn(3, 5, 11) * 2).to(dtype)  # (N, C, L)
    t3 = torch.randint(0, 5, (3, 11))
    check_against(_kernel, counts_ref, x3, t3, ref_dtype=torch.float64, grad=[True, False], mode="multiclass")


def test_extreme_logits_and_empty_classes_are_finite():
    x = torch.randn(2, 3, 4, 4)
    x[0, 0] = 1e4
    x[1, 1] = -1e4
    t = torch.zeros(2, 3, 4, 4)  # empty targets everywhere
    for mode in ("multilabel", "multiclass"):
        out, _ = check_against(
            _kernel, counts_ref, x, t, ref_dtype=torch.float64, grad=[True, False], mode=mode, per_image=True
        )
        assert torch.isfinite(out).all()


def test_supports_declines_what_the_formula_serves():
    k = _dispatch.registered("soft_counts")
    x, t = torch.randn(2, 3, 4), (torch.rand(2, 3, 4) > 0.5).float()
    m = _inputs(x, t, "multilabel")
    assert k.supports(m, per_image=False)
    assert not k.supports(_inputs(x.double(), t, "multilabel"), per_image=False)  # float64
    assert not k.supports(
        _checks.mask_inputs(
            "dice_loss",
            torch.sigmoid(x),
            t,
            mode="multilabel",
            from_logits=False,
            weight=None,
            ignore_index=None,
            include_background=True,
        ),
        per_image=False,
    )
    assert not k.supports(_inputs(x, t, "multilabel", ignore_index=-1.0), per_image=False)  # value masking
    assert not k.supports(_inputs(x, t.requires_grad_(), "multilabel"), per_image=False)
    with _dispatch.impl("triton"), pytest.raises(TypeError):
        _dispatch.kernel("soft_counts", m, per_image=False, squared=True)


@pytest.mark.parametrize("mode,kind", [("multilabel", "float"), ("multiclass", "index")])
def test_launch_grid_is_one_dimensional(mode, kind, monkeypatch):
    """CUDA caps grid dims 1 and 2 at 65535; spatial blocks (S / BLOCK_S, e.g. 2**16 for a 256**3 volume
    with 14 classes) must therefore not sit on grid axis 1."""
    from losskit.kernels import soft_counts as mod

    grids = []
    for name in ("_sigmoid_kernel", "_softmax_kernel"):
        real = getattr(mod, name)

        class Spy:
            def __init__(self, real):
                self.real = real

            def __getitem__(self, grid):
                grids.append(grid)
                return self.real[grid]

        monkeypatch.setattr(mod, name, Spy(real))
    x = torch.randn(2, 3, 5, 7) * 2
    t = (torch.rand(2, 3, 5, 7) > 0.6).float() if kind == "float" else torch.randint(0, 3, (2, 5, 7))
    check_against(_kernel, counts_ref, x, t, ref_dtype=torch.float64, grad=[True, False], mode=mode)
    assert len(grids) == 2 and all(len(gr) == 1 for gr in grids), grids  # forward + backward


def test_dice_loss_through_the_kernel_equals_the_formula():
    import losskit.functional as LF

    x = (torch.randn(2, 4, 3, 3) * 2).requires_grad_()
    t = torch.randint(0, 4, (2, 3, 3))
    t[1, 1] = -1
    kw = dict(
        ignore_index=-1,
        smooth=0.5,
        per_image=True,
        include_background=False,
        empty="include",
        weight=torch.tensor([1.0, 2.0, 0.5, 1.5]),
    )
    with _dispatch.impl("triton"):
        a = LF.dice_loss(x, t, **kw)
    (ga,) = torch.autograd.grad(a, x)
    with _dispatch.impl("torch"):
        b = LF.dice_loss(x, t, **kw)
    (gb,) = torch.autograd.grad(b, x)
    assert_close(a, b)
    assert_close(ga, gb)
