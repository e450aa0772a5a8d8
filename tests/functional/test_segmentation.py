"""Segmentation (overlap) losses -- Dice, Tversky, focal Tversky, Jaccard -- against independent references,
and every refusal.

References: a float64 loop over units and classes written from the published formulas (FP and FN
summed directly, ignored pixels sliced out by boolean indexing), MONAI's DiceLoss / TverskyLoss /
GeneralizedDiceLoss where their options match, and the Tversky identities.
"""

from __future__ import annotations

import inspect
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import losskit
from helpers import TOL, assert_close, assert_refuses, check_against
from losskit.functional import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss

LOSSES = {"dice": dice_loss, "tversky": tversky_loss, "focal_tversky": focal_tversky_loss, "jaccard": jaccard_loss}
KINDS = list(LOSSES)
# shape-independent options each kind needs for the reference
KIND_OPTS = {
    "dice": {},
    "jaccard": {},
    "tversky": dict(alpha=0.3, beta=0.8),
    "focal_tversky": dict(alpha=0.3, beta=0.8, gamma=1.5),
}


# ---------------------------------------------------------------------------------------------
# float64 reference
# ---------------------------------------------------------------------------------------------


def ref_units(
    x,
    target,
    *,
    kind="dice",
    alpha=0.5,
    beta=0.5,
    gamma=None,
    mode="multiclass",
    from_logits=True,
    weight=None,
    ignore_index=None,
    smooth=0.0,
    eps=1e-7,
    per_image=False,
    include_background=True,
    empty="exclude",
):
    """Unreduced float64 reference: ``(loss, m)``, each (units, classes), with m = weight * kept."""
    index_target = mode == "multiclass" and target.dim() == x.dim() - 1
    x = x.to(torch.float64)
    n = x.shape[0]
    x = x.reshape(n, 1, -1) if mode == "binary" else x.reshape(n, x.shape[1], -1)
    c = x.shape[1]
    if not from_logits:
        p = x
    elif mode == "multiclass":
        p = torch.softmax(x, dim=1)
    else:
        p = torch.sigmoid(x)
    if index_target:
        labels = target.reshape(n, -1)
        valid = labels != ignore_index if ignore_index is not None else torch.ones_like(labels, dtype=torch.bool)
        t = F.one_hot(torch.where(valid, labels, 0), c).permute(0, 2, 1).to(torch.float64)
        valid = valid.unsqueeze(1).expand(n, c, -1)
    else:
        t = target.reshape(n, c, -1)
        valid = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
        t = t.to(torch.float64)
    units = [[i] for i in range(n)] if per_image else [list(range(n))]
    classes = range(c) if include_background else range(1, c)
    losses, masks = [], []
    for u in units:
        lrow, mrow = [], []
        for k in classes:
            sel = valid[u, k].reshape(-1)
            pc = p[u, k].reshape(-1)[sel]  # ignored pixels sliced out
            tc = t[u, k].reshape(-1)[sel]
            tp = (pc * tc).sum()
            fp = (pc * (1 - tc)).sum()
            fn = ((1 - pc) * tc).sum()
            if kind == "dice":
                num, den = 2 * tp + smooth, 2 * tp + fp + fn + smooth
            elif kind == "jaccard":
                num, den = tp + smooth, tp + fp + fn + smooth
            else:
                num, den = tp + smooth, tp + alpha * fp + beta * fn + smooth
            score = torch.ones((), dtype=torch.float64) if float(den.detach()) < eps else num / den
            loss = 1 - score
            if gamma is not None:
                loss = loss**gamma if float(loss.detach()) > 0 else loss * 0
            keep = bool(sel.any()) and (empty == "include" or float(tc.sum()) > 0)
            wk = 1.0 if weight is None else float(weight[k])
            lrow.append(loss)
            mrow.append(wk * float(keep))
        losses.append(torch.stack(lrow))
        masks.append(torch.tensor(mrow, dtype=torch.float64))
    return torch.stack(losses), torch.stack(masks)


def reference(x, target, *, reduction="mean", per_image=False, **kw):
    loss, m = ref_units(x, target, per_image=per_image, **kw)
    if not per_image:
        loss, m = loss[0], m[0]
    wl = loss * m
    if reduction == "none":
        out = wl
    elif reduction == "sum":
        out = wl.sum()
    else:
        out = wl.sum() / m.sum() if float(m.sum()) > 0 else wl.sum() * 0
    return out.to(x.dtype)


def ours_and_ref(kind, **fixed):
    opts = {**KIND_OPTS[kind], **fixed}
    ref_kind = "tversky" if kind == "focal_tversky" else kind

    def ours(a, b, **kw):
        return LOSSES[kind](a, b, **opts, **kw)

    def ref(a, b, **kw):
        return reference(a, b, kind=ref_kind, **opts, **kw)

    return ours, ref


# ---------------------------------------------------------------------------------------------
# random problems
# ---------------------------------------------------------------------------------------------


def make_problem(
    seed,
    mode,
    n,
    c,
    spatial,
    *,
    soft_target=False,
    from_logits=True,
    ignore_index=None,
    dtype=torch.float64,
    scale=2.0,
    channel_dim=True,
):
    """Random logits (or probabilities) and a target for ``mode``; binary input is (N, 1, *) or (N, *)."""
    g = torch.Generator().manual_seed(seed)
    if mode == "binary":
        shape = (n, 1, *spatial) if channel_dim else (n, *spatial)
    else:
        shape = (n, c, *spatial)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    if mode == "multiclass" and not soft_target:
        target = torch.randint(0, c, (n, *spatial), generator=g)
        if ignore_index is not None:
            drop = torch.rand(target.shape, generator=g) < 0.3
            target = torch.where(drop, torch.full_like(target, ignore_index), target)
    elif mode == "multiclass":
        target = torch.softmax(torch.randn(shape, generator=g, dtype=torch.float64) * 3, dim=1)
    else:
        target = (torch.rand(shape, generator=g) < 0.4).to(torch.float64)
        if soft_target:
            target = target * 0.7 + 0.1
        if ignore_index is not None:
            drop = torch.rand(shape, generator=g) < 0.3
            target = torch.where(drop, torch.full_like(target, float(ignore_index)), target)
    if not from_logits:
        x = torch.softmax(x, dim=1) if mode == "multiclass" else torch.sigmoid(x)
    return x.to(dtype).requires_grad_(True), target


@st.composite
def problems(draw):
    mode = draw(st.sampled_from(["binary", "multiclass", "multilabel"]))
    n = draw(st.integers(1, 3))
    c = draw(st.integers(2, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=1 if mode == "binary" else 0, max_size=3)))
    soft = draw(st.booleans())
    from_logits = draw(st.booleans())
    ignore = None
    if not (mode == "multiclass" and soft):
        ignore = draw(st.sampled_from([None, None, 255, -100]))
        if mode == "multiclass" and ignore is not None and draw(st.booleans()):
            ignore = 0  # an ignore label that is also a class index
    seed = draw(st.integers(0, 2**16))
    x, target = make_problem(
        seed,
        mode,
        n,
        c,
        spatial,
        soft_target=soft,
        from_logits=from_logits,
        ignore_index=ignore,
        channel_dim=draw(st.booleans()),
    )
    opts = dict(
        mode=mode,
        from_logits=from_logits,
        ignore_index=ignore,
        per_image=draw(st.booleans()),
        include_background=True if mode == "binary" else draw(st.booleans()),
        empty=draw(st.sampled_from(["exclude", "include"])),
        smooth=draw(st.sampled_from([0.0, 0.5, 1.0])),
        reduction=draw(st.sampled_from(["none", "mean", "sum"])),
    )
    if draw(st.booleans()):
        c_eff = 1 if mode == "binary" else c
        opts["weight"] = torch.rand(c_eff, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.1
    return x, target, opts


@given(problems(), st.sampled_from(KINDS))
def test_against_float64_reference(problem, kind):
    """Forward and gradient (random upstream) for every mode, shape and option combination."""
    x, target, opts = problem
    ours, ref = ours_and_ref(kind)
    check_against(ours, ref, x, target, **opts)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spatial", [(), (5,), (3, 4), (2, 3, 2)])
def test_nd_shapes_float32(kind, spatial):
    x, target = make_problem(3, "multiclass", 2, 3, spatial, dtype=torch.float32)
    ours, ref = ours_and_ref(kind, per_image=True)
    out, _ = check_against(ours, ref, x, target, reduction="none", ref_dtype=torch.float64, tol=TOL[torch.float32])
    assert out.shape == (2, 3) and out.dtype == torch.float32


@pytest.mark.parametrize("kind", KINDS)
def test_output_shapes(kind):
    x, target = make_problem(0, "multiclass", 2, 4, (3, 3))
    f = LOSSES[kind]
    assert f(x, target, reduction="none").shape == (4,)
    assert f(x, target, reduction="none", include_background=False).shape == (3,)
    assert f(x, target, reduction="none", per_image=True).shape == (2, 4)
    assert f(x, target, reduction="mean").shape == ()
    xb, tb = make_problem(0, "binary", 2, 1, (3, 3), channel_dim=False)
    assert f(xb, tb, mode="binary", reduction="none").shape == (1,)
    assert f(xb, tb, mode="binary", reduction="none", per_image=True).shape == (2, 1)


def test_binary_target_without_channel_dim():
    """An (N, 1, *) input with an (N, *) target equals the same target with the channel kept."""
    x, t = make_problem(1, "binary", 2, 1, (4, 4))
    assert_close(dice_loss(x, t[:, 0], mode="binary"), dice_loss(x, t, mode="binary"))


def test_integer_and_bool_binary_targets():
    x, t = make_problem(1, "multilabel", 2, 3, (5,))
    expected = dice_loss(x, t, mode="multilabel")
    assert_close(dice_loss(x, t.long(), mode="multilabel"), expected)
    assert_close(dice_loss(x, t.bool(), mode="multilabel"), expected)


def test_one_hot_targets_equal_index_targets():
    x, t = make_problem(2, "multiclass", 2, 4, (3, 5))
    onehot = F.one_hot(t, 4).permute(0, 3, 1, 2)
    for f in LOSSES.values():
        for per_image in (False, True):
            assert_close(f(x, onehot, per_image=per_image), f(x, t, per_image=per_image))
            assert_close(f(x, onehot.double(), per_image=per_image), f(x, t, per_image=per_image))


def test_from_logits_false_equals_logits():
    x, t = make_problem(4, "multiclass", 2, 3, (4, 4))
    probs = torch.softmax(x.detach(), dim=1)
    assert_close(dice_loss(probs, t, from_logits=False), dice_loss(x, t))
    xb, tb = make_problem(4, "binary", 2, 1, (6,))
    assert_close(
        jaccard_loss(torch.sigmoid(xb.detach()), tb, mode="binary", from_logits=False),
        jaccard_loss(xb, tb, mode="binary"),
    )


# ---------------------------------------------------------------------------------------------
# ignore_index: masking equals slicing the pixels out
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ignore_index", [-100, 255, 0])
@pytest.mark.parametrize("include_background", [True, False])
def test_ignore_index_equals_slicing_pixels_out(kind, ignore_index, include_background):
    x, t = make_problem(5, "multiclass", 3, 4, (5, 6), ignore_index=ignore_index)
    f = LOSSES[kind]
    opts = dict(KIND_OPTS[kind], include_background=include_background, weight=torch.tensor([1.0, 2.0, 0.5, 1.5]))
    for per_image in (False, True):
        out = f(x, t, ignore_index=ignore_index, per_image=per_image, reduction="none", **opts)
        flat_x = x.detach().reshape(3, 4, -1)
        flat_t = t.reshape(3, -1)
        keep = flat_t != ignore_index
        if per_image:
            rows = [
                f(flat_x[i][:, keep[i]][None], flat_t[i][keep[i]][None], reduction="none", **opts) for i in range(3)
            ]
            expected = torch.stack(rows)
        else:
            xs = flat_x.permute(1, 0, 2)[:, keep][None]  # (1, C, kept pixels of the whole batch)
            expected = f(xs, flat_t[keep][None], reduction="none", **opts)
        assert_close(out, expected)


def test_ignore_index_binary_equals_slicing():
    x, t = make_problem(6, "binary", 2, 1, (8, 8), ignore_index=255, channel_dim=False)
    keep = t != 255
    out = dice_loss(x, t, mode="binary", ignore_index=255)
    expected = dice_loss(x.detach()[keep][None], t[keep][None], mode="binary")
    assert_close(out, expected)


def test_ignored_pixels_get_no_gradient():
    x, t = make_problem(7, "multiclass", 2, 3, (4, 4), ignore_index=-100)
    for f in LOSSES.values():
        x.grad = None
        f(x, t, ignore_index=-100).backward()
        ignored = (t == -100).unsqueeze(1).expand_as(x)
        assert ignored.any() and (x.grad[ignored] == 0).all()
        assert (x.grad[~ignored] != 0).any()


def test_fully_ignored_image_is_left_out():
    """An image whose pixels are all ignored is excluded even with empty='include'."""
    x, t = make_problem(8, "multiclass", 2, 3, (4, 4))
    t = t.clone()
    t[1] = -100
    for empty in ("exclude", "include"):
        out = dice_loss(x, t, ignore_index=-100, per_image=True, empty=empty, reduction="none")
        assert (out[1] == 0).all()
        assert_close(
            dice_loss(x, t, ignore_index=-100, per_image=True, empty=empty),
            dice_loss(x[:1], t[:1], per_image=True, empty=empty),
        )


# ---------------------------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("smooth", [0.0, 1.0])
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
def test_tversky_identities(smooth, mode):
    x, t = make_problem(9, mode, 2, 3, (4, 5))
    for per_image in (False, True):
        o = dict(mode=mode, per_image=per_image, reduction="none", smooth=smooth)
        # α = β = 1/2: (I + s) / (I + (FP + FN)/2 + s) = (2I + 2s) / (P + T + 2s): dice with smooth 2s
        check_against(
            lambda a, b, o=o: tversky_loss(a, b, alpha=0.5, beta=0.5, **o),
            lambda a, b, o=o: dice_loss(a, b, **{**o, "smooth": 2 * smooth}),
            x,
            t,
        )
        # α = β = 1: I / (I + FP + FN) = I / (P + T - I): Jaccard with the same smooth
        check_against(
            lambda a, b, o=o: tversky_loss(a, b, alpha=1.0, beta=1.0, **o),
            lambda a, b, o=o: jaccard_loss(a, b, **o),
            x,
            t,
        )
        # γ = 1: focal Tversky is Tversky
        check_against(
            lambda a, b, o=o: focal_tversky_loss(a, b, alpha=0.2, beta=0.9, gamma=1.0, **o),
            lambda a, b, o=o: tversky_loss(a, b, alpha=0.2, beta=0.9, **o),
            x,
            t,
        )


def test_jaccard_dice_relation_on_hard_masks():
    """On 0/1 masks J = D / (2 - D)."""
    g = torch.Generator().manual_seed(0)
    probs = (torch.rand(2, 3, 6, 6, generator=g) < 0.5).double()
    t = (torch.rand(2, 3, 6, 6, generator=g) < 0.5).double()
    d = 1 - dice_loss(probs, t, mode="multilabel", from_logits=False, reduction="none")
    j = 1 - jaccard_loss(probs, t, mode="multilabel", from_logits=False, reduction="none")
    assert_close(j, d / (2 - d))


def test_focal_tversky_exponent_convention():
    """gamma is the exponent: (1 - TI) ** gamma (Abraham & Khan's 1/γ with γ = 4/3 is 0.75)."""
    x, t = make_problem(10, "multiclass", 2, 3, (5, 5))
    ti = tversky_loss(x, t, alpha=0.3, beta=0.7, reduction="none")
    assert_close(focal_tversky_loss(x, t, reduction="none"), ti**0.75)
    assert_close(focal_tversky_loss(x, t, gamma=2.0, reduction="none"), ti**2)


# ---------------------------------------------------------------------------------------------
# MONAI as a peer reference
# ---------------------------------------------------------------------------------------------

try:
    import monai.losses as monai_losses
except ImportError:  # pragma: no cover - monai is in the test extra
    monai_losses = None
needs_monai = pytest.mark.skipif(monai_losses is None, reason="needs monai (pip install monai)")
try:
    import kornia.losses as kornia_losses
except ImportError:  # pragma: no cover - kornia is in the test extra
    kornia_losses = None
needs_kornia = pytest.mark.skipif(kornia_losses is None, reason="needs kornia (pip install kornia)")


def _monai_args(mode, x, t):
    """MONAI's activation flags and target layout for our mode."""
    if mode == "multiclass":
        return dict(softmax=True, to_onehot_y=True), t.unsqueeze(1)
    if mode == "binary":
        return dict(sigmoid=True), t
    return dict(sigmoid=True), t


@needs_monai
@pytest.mark.parametrize(
    "mode,include_background",
    [("binary", True), ("multiclass", True), ("multiclass", False), ("multilabel", True), ("multilabel", False)],
)
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("smooth", [1e-5, 1.0])
def test_dice_matches_monai(mode, per_image, include_background, reduction, smooth):
    x, t = make_problem(11, mode, 2, 3, (4, 5))
    act, mt = _monai_args(mode, x, t)
    m = monai_losses.DiceLoss(
        include_background=include_background,
        batch=not per_image,
        smooth_nr=smooth,
        smooth_dr=smooth,
        reduction=reduction,
        **act,
    )

    def ours(a, b):
        out = dice_loss(
            a,
            b,
            mode=mode,
            per_image=per_image,
            include_background=include_background,
            smooth=smooth,
            empty="include",
            reduction=reduction,
        )
        return out.reshape(-1) if reduction == "none" else out

    def theirs(a, b):
        out = m(a, mt)
        return out.reshape(-1) if reduction == "none" else out

    check_against(ours, theirs, x, t)


@needs_monai
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("per_image", [False, True])
def test_jaccard_matches_monai(mode, per_image):
    x, t = make_problem(12, mode, 2, 3, (4, 5))
    act, mt = _monai_args(mode, x, t)
    s = 0.5
    # MONAI's jaccard=True is (2I + s_nr) / (2(P + T - I) + s_dr): ours with smooth s is s_nr = s_dr = 2s
    m = monai_losses.DiceLoss(
        jaccard=True, batch=not per_image, smooth_nr=2 * s, smooth_dr=2 * s, reduction="none", **act
    )
    check_against(
        lambda a, b: jaccard_loss(
            a, b, mode=mode, per_image=per_image, smooth=s, empty="include", reduction="none"
        ).reshape(-1),
        lambda a, b: m(a, mt).reshape(-1),
        x,
        t,
    )


def _monai_float64_target(mode, t, c):
    """MONAI's target as a float64 one-hot (N, C, *) for multiclass: MONAI's own one-hot is float32, whose
    norms (squared_pred) round at float32."""
    if mode == "multiclass":
        return F.one_hot(t, c).movedim(-1, 1).to(torch.float64)
    return t


@needs_monai
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("jaccard", [False, True])
def test_squared_pred_matches_monai(mode, per_image, jaccard):
    """MONAI (monai/losses/dice.py, utils.compute_tp_fp_fn with ord=2): Σp² + Σt² in the Dice denominator,
    Σp² + Σt² - I as Jaccard's union."""
    x, t = make_problem(21, mode, 2, 3, (4, 5))
    act = dict(softmax=True) if mode == "multiclass" else dict(sigmoid=True)
    s = 0.5
    m = monai_losses.DiceLoss(
        squared_pred=True, jaccard=jaccard, batch=not per_image, smooth_nr=s, smooth_dr=s, reduction="none", **act
    )
    mt = _monai_float64_target(mode, t, 3)
    f = jaccard_loss if jaccard else dice_loss
    check_against(
        lambda a, b: f(
            a,
            b,
            mode=mode,
            per_image=per_image,
            squared_pred=True,
            smooth=s / 2 if jaccard else s,
            empty="include",
            reduction="none",
        ).reshape(-1),
        lambda a, b: m(a, mt).reshape(-1),
        x,
        t,
    )


@needs_monai
@pytest.mark.parametrize("kind", ["dice", "jaccard", "tversky"])
@pytest.mark.parametrize("mode", ["binary", "multiclass"])
@pytest.mark.parametrize("smooth_nr,smooth_dr", [(0.0, 1e-5), (0.3, 1.0), (2.0, 0.5)])
def test_smooth_denominator_matches_monai_smooth_dr(kind, mode, smooth_nr, smooth_dr):
    x, t = make_problem(22, mode, 2, 3, (4, 5))
    act, mt = _monai_args(mode, x, t)
    if kind == "tversky":
        m = monai_losses.TverskyLoss(
            alpha=0.3, beta=0.7, smooth_nr=smooth_nr, smooth_dr=smooth_dr, reduction="none", **act
        )
        ours = lambda a, b, **kw: tversky_loss(a, b, alpha=0.3, beta=0.7, **kw)
        nr, dr = smooth_nr, smooth_dr
    else:
        m = monai_losses.DiceLoss(
            jaccard=kind == "jaccard", smooth_nr=smooth_nr, smooth_dr=smooth_dr, reduction="none", **act
        )
        ours = jaccard_loss if kind == "jaccard" else dice_loss
        # MONAI's Jaccard is (2I + s_nr) / (2U + s_dr): ours with both smoothings halved
        nr, dr = (smooth_nr / 2, smooth_dr / 2) if kind == "jaccard" else (smooth_nr, smooth_dr)
    check_against(
        lambda a, b: ours(
            a, b, mode=mode, per_image=True, smooth=nr, smooth_denominator=dr, empty="include", reduction="none"
        ).reshape(-1),
        lambda a, b: m(a, mt).reshape(-1),
        x,
        t,
    )


def test_smooth_denominator_equal_to_smooth_is_smooth():
    x, t = make_problem(23, "multiclass", 2, 3, (4, 5))
    for f in (dice_loss, jaccard_loss, tversky_loss):
        assert_close(f(x, t, smooth=0.7, smooth_denominator=0.7), f(x, t, smooth=0.7))


@pytest.mark.parametrize("kind", ["dice", "jaccard", "tversky"])
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
def test_log_loss_matches_smp(kind, mode):
    """smp's log_loss=True: -log(score.clamp_min(eps)) per class, absent classes 0 in the mean (reference.py's
    transcription of segmentation_models_pytorch/losses/{dice,jaccard,tversky}.py)."""
    import reference as R

    x, t = make_problem(24, mode, 2, 3, (4, 5), scale=4.0)
    f = {"dice": dice_loss, "jaccard": jaccard_loss, "tversky": tversky_loss}[kind]
    ab = dict(alpha=0.3, beta=0.7) if kind == "tversky" else {}
    check_against(
        lambda a, b: f(a, b, mode=mode, log_loss=True, smooth=0.1, reduction="none", **ab).mean(),
        lambda a, b: R.smp_overlap_loss(kind, a, b, mode=mode, log_loss=True, smooth=0.1, **ab),
        x,
        t,
    )


def _pooled_reference(kind, x, t, *, per_image, smooth, weight=None, alpha=0.3, beta=0.7):
    """float64: the classes of each unit pooled into one ratio, class c's terms scaled by weight_c."""
    p = torch.softmax(x.to(torch.float64), 1)
    oh = F.one_hot(t, x.shape[1]).movedim(-1, 1).to(torch.float64)
    dims = (2, 3) if per_image else (0, 2, 3)
    i, ps, ts = (p * oh).sum(dims), p.sum(dims), oh.sum(dims)
    num, den = {
        "dice": (2 * i, ps + ts),
        "jaccard": (i, ps + ts - i),
        "tversky": (i, i + alpha * (ps - i) + beta * (ts - i)),
    }[kind]
    w = torch.ones(x.shape[1], dtype=torch.float64) if weight is None else weight
    return 1 - ((w * num).sum(-1) + smooth) / ((w * den).sum(-1) + smooth)


@pytest.mark.parametrize("kind", ["dice", "jaccard", "tversky"])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_micro_average_pools_the_classes_of_each_unit(kind, per_image, weighted):
    x, t = make_problem(25, "multiclass", 2, 3, (4, 5))
    w = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64) if weighted else None
    f = {"dice": dice_loss, "jaccard": jaccard_loss, "tversky": tversky_loss}[kind]
    ab = dict(alpha=0.3, beta=0.7) if kind == "tversky" else {}
    check_against(
        lambda a, b: f(a, b, average="micro", per_image=per_image, weight=w, smooth=0.2, reduction="none", **ab),
        lambda a, b: _pooled_reference(kind, a, b, per_image=per_image, smooth=0.2, weight=w),
        x,
        t,
    )


def test_micro_dice_is_uniform_generalized_dice():
    from losskit.functional import generalized_dice_loss

    x, t = make_problem(26, "multiclass", 2, 3, (4, 5))
    for per_image in (False, True):
        assert_close(
            dice_loss(x, t, average="micro", per_image=per_image, smooth=0.1, reduction="none"),
            generalized_dice_loss(x, t, weighting="uniform", per_image=per_image, smooth=0.1, reduction="none"),
        )


def test_micro_average_leaves_out_units_as_macro_does():
    x, t = make_problem(27, "multiclass", 3, 3, (4, 5), ignore_index=-1)
    t[1] = -1  # an image whose pixels are all ignored
    for empty in ("exclude", "include"):
        out = dice_loss(x, t, ignore_index=-1, average="micro", per_image=True, empty=empty, reduction="none")
        assert out[1] == 0 and out[0] > 0
        mean = dice_loss(x, t, ignore_index=-1, average="micro", per_image=True, empty=empty)
        assert_close(mean, out[[0, 2]].mean())


@needs_kornia
@pytest.mark.parametrize("weighted", [False, True])
def test_micro_average_matches_kornia(weighted):
    """kornia/losses/dice.py dice_loss(average="micro"): 2 Σ w p t / (Σ w (p + t) + eps) per image."""
    x, t = make_problem(28, "multiclass", 2, 3, (4, 5), ignore_index=-100)
    w = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64) if weighted else None
    check_against(
        lambda a, b: dice_loss(
            a, b, average="micro", weight=w, ignore_index=-100, smooth_denominator=1e-8, per_image=True, empty="include"
        ),
        lambda a, b: kornia_losses.dice_loss(a, b, average="micro", eps=1e-8, weight=w),
        x,
        t,
    )


def test_log_loss_of_an_empty_prediction_is_finite():
    x = torch.full((1, 1, 4), -1e4, dtype=torch.float64, requires_grad=True)
    t = torch.ones(1, 1, 4, dtype=torch.float64)
    out = dice_loss(x, t, mode="binary", log_loss=True)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all()
    assert_close(out, -torch.log(torch.tensor(1e-7, dtype=torch.float64)))


@needs_monai
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.7, 0.3), (1.0, 1.0), (0.0, 1.0)])
def test_tversky_matches_monai(mode, per_image, alpha, beta):
    x, t = make_problem(13, mode, 2, 3, (4, 5))
    act, mt = _monai_args(mode, x, t)
    m = monai_losses.TverskyLoss(
        alpha=alpha,
        beta=beta,
        batch=not per_image,
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        reduction="none",
        include_background=mode == "binary",
        **act,
    )
    check_against(
        lambda a, b: tversky_loss(
            a,
            b,
            mode=mode,
            alpha=alpha,
            beta=beta,
            per_image=per_image,
            smooth=1e-5,
            empty="include",
            include_background=mode == "binary",
            reduction="none",
        ).reshape(-1),
        lambda a, b: m(a, mt).reshape(-1),
        x,
        t,
    )


@needs_monai
def test_dice_weight_matches_monai():
    """MONAI multiplies each class loss by its weight ('none', 'sum' agree); its 'mean' is mean(w·l),
    ours the weighted average sum(w·l) / sum(w) (torch's weighted-mean rule)."""
    x, t = make_problem(14, "multiclass", 2, 4, (4, 5))
    w = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
    for reduction in ("none", "sum"):
        m = monai_losses.DiceLoss(
            softmax=True,
            to_onehot_y=True,
            include_background=False,
            batch=True,
            weight=w[1:],
            reduction=reduction,
            smooth_nr=1e-5,
            smooth_dr=1e-5,
        )
        check_against(
            lambda a, b, reduction=reduction: dice_loss(
                a, b, weight=w, include_background=False, smooth=1e-5, empty="include", reduction=reduction
            ).reshape(-1),
            lambda a, b, m=m: m(a, b.unsqueeze(1)).reshape(-1),
            x,
            t,
        )
    ours_none = dice_loss(x, t, smooth=1e-5, empty="include", reduction="none")
    assert_close(dice_loss(x, t, weight=w, smooth=1e-5, empty="include"), (ours_none * w).sum() / w.sum())


@needs_monai
@pytest.mark.parametrize("per_image", [False, True])
def test_dice_ignore_index_matches_monai(per_image):
    import inspect

    if "ignore_index" not in inspect.signature(monai_losses.DiceLoss).parameters:
        pytest.skip("this MONAI has no ignore_index")
    x, t = make_problem(15, "multiclass", 2, 3, (6, 6), ignore_index=255)
    m = monai_losses.DiceLoss(
        softmax=True,
        to_onehot_y=True,
        ignore_index=255,
        batch=not per_image,
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        reduction="none",
    )
    check_against(
        lambda a, b: dice_loss(
            a, b, ignore_index=255, per_image=per_image, smooth=1e-5, empty="include", reduction="none"
        ).reshape(-1),
        lambda a, b: m(a, b.unsqueeze(1)).reshape(-1),
        x,
        t,
    )


@needs_monai
def test_binary_dice_matches_monai_generalized_dice_uniform():
    """With one channel and w_type='uniform' (weights 1), MONAI's GeneralizedDiceLoss is the Dice loss."""
    x, t = make_problem(16, "binary", 3, 1, (5, 5))
    for per_image in (False, True):
        m = monai_losses.GeneralizedDiceLoss(
            sigmoid=True, w_type="uniform", batch=not per_image, smooth_nr=1e-5, smooth_dr=1e-5, reduction="none"
        )
        check_against(
            lambda a, b, per_image=per_image: dice_loss(
                a, b, mode="binary", per_image=per_image, smooth=1e-5, empty="include", reduction="none"
            ).reshape(-1),
            lambda a, b, m=m: m(a, b).reshape(-1),
            x,
            t,
        )


# ---------------------------------------------------------------------------------------------
# empty classes, no NaN
# ---------------------------------------------------------------------------------------------


def test_empty_class_exclude_is_mean_over_present_classes():
    x, t = make_problem(17, "multiclass", 2, 4, (5, 5))
    t = t.clamp_max(2)  # class 3 absent from the batch
    none = dice_loss(x, t, reduction="none")
    assert none[3] == 0
    assert_close(dice_loss(x, t), none[:3].mean())
    assert_close(dice_loss(x, t, reduction="sum"), none[:3].sum())
    x.grad = None
    dice_loss(x, t).backward()
    assert torch.isfinite(x.grad).all()


def test_empty_class_include():
    x, t = make_problem(18, "multiclass", 2, 4, (5, 5))
    t = t.clamp_max(2)
    # smooth = 0: the ratio is 0 for any non-zero prediction, loss 1 with zero gradient
    none = dice_loss(x, t, empty="include", reduction="none")
    assert none[3] == 1
    # smooth > 0: s / (P + s) rewards an empty prediction; loss falls as class-3 logits fall
    p3 = torch.softmax(x.detach(), 1)[:, 3].sum()
    s = 1.0
    assert_close(dice_loss(x, t, empty="include", smooth=s, reduction="none")[3], 1 - s / (p3 + s))
    lower = x.detach().clone()
    lower[:, 3] -= 5
    assert dice_loss(lower, t, empty="include", smooth=s, reduction="none")[3] < 1 - s / (p3 + s)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("empty", ["exclude", "include"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_empty_in_both_is_finite(kind, empty, dtype):
    """Saturated logits and an empty target: P = T = 0 exactly. Loss 0 (or excluded), no NaN."""
    x = torch.full((2, 1, 4, 4), -1e4, dtype=dtype, requires_grad=True)
    t = torch.zeros(2, 1, 4, 4)
    for per_image in (False, True):
        for reduction in ("none", "mean", "sum"):
            out = LOSSES[kind](x, t, mode="binary", per_image=per_image, empty=empty, reduction=reduction)
            assert out.dtype == dtype and torch.isfinite(out).all() and (out == 0).all()
            (g,) = torch.autograd.grad(out.sum(), x)
            assert torch.isfinite(g).all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_saturated_logits_are_finite_and_exact(kind, dtype):
    """Logits ±1e4 give hard masks; the loss is the hard-mask score, gradients finite."""
    g = torch.Generator().manual_seed(0)
    t = (torch.rand(2, 3, 4, 4, generator=g) < 0.5).double()
    pred = (torch.rand(2, 3, 4, 4, generator=g) < 0.5).double()
    x = ((pred * 2 - 1) * 1e4).to(dtype).requires_grad_(True)
    out = LOSSES[kind](x, t, mode="multilabel", reduction="none", **KIND_OPTS[kind])
    expected = reference(
        pred,
        t,
        kind="tversky" if kind == "focal_tversky" else kind,
        mode="multilabel",
        from_logits=False,
        reduction="none",
        **KIND_OPTS[kind],
    )
    assert out.dtype == dtype
    assert_close(out, expected.to(dtype))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    xm = (torch.randn(2, 3, 4, 4, generator=g) * 1e4).to(dtype).requires_grad_(True)
    outm = LOSSES[kind](xm, torch.randint(0, 3, (2, 4, 4), generator=g))
    outm.backward()
    assert torch.isfinite(outm) and torch.isfinite(xm.grad).all()


def test_all_excluded_gives_zero_with_zero_gradient():
    x = torch.randn(2, 1, 3, 3, requires_grad=True)
    out = dice_loss(x, torch.zeros(2, 1, 3, 3), mode="binary")
    out.backward()
    assert out == 0 and (x.grad == 0).all()


def test_focal_tversky_gamma_below_one_at_perfect_score():
    """(1 - TI)^0.75 has an infinite slope at TI = 1: the floor keeps the gradient finite."""
    t = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    x = torch.tensor([[1e4, -1e4, 1e4, -1e4]], requires_grad=True)
    out = focal_tversky_loss(x, t, mode="binary")
    out.backward()
    assert out == 0 and torch.isfinite(x.grad).all()


# ---------------------------------------------------------------------------------------------
# precision, gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
def test_half_precision_close_to_float64(kind, dtype, mode):
    x, t = make_problem(19, mode, 2, 3, (8, 8), dtype=dtype)
    ours, ref = ours_and_ref(kind, mode=mode)
    out, _ = check_against(ours, ref, x, t, ref_dtype=torch.float64, reduction="none")
    assert out.dtype == dtype


@pytest.mark.parametrize("kind", KINDS)
def test_fp16_large_image_counts_do_not_overflow(kind):
    """smp#463: counts over 300×300 pixels exceed float16's max (65504); sums run in float32."""
    x = torch.full((1, 1, 300, 300), 8.0, dtype=torch.float16, requires_grad=True)
    t = torch.ones(1, 1, 300, 300, dtype=torch.float16)
    out = LOSSES[kind](x, t, mode="binary")
    out.backward()
    assert out.dtype == torch.float16 and torch.isfinite(out) and torch.isfinite(x.grad).all()
    expected = LOSSES[kind](x.detach().double(), t.double(), mode="binary")
    assert_close(out, expected.half())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
def test_gradcheck(kind, mode):
    ignore = 255 if mode == "multiclass" else None
    x, t = make_problem(20, mode, 2, 3, (3, 2), ignore_index=ignore, scale=1.0)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)[: 1 if mode == "binary" else 3]
    opts = dict(KIND_OPTS[kind], mode=mode, ignore_index=ignore, weight=w, smooth=0.1)
    if kind == "focal_tversky":
        opts["gamma"] = 0.75
    for per_image in (False, True):
        assert torch.autograd.gradcheck(
            lambda a, per_image=per_image: LOSSES[kind](a, t, per_image=per_image, reduction="none", **opts), (x,)
        )
    # soft targets are differentiable too
    xs, ts = make_problem(21, mode, 2, 3, (4,), soft_target=True, scale=1.0)
    ts = ts.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: LOSSES[kind](a, b, mode=mode, **KIND_OPTS[kind]), (xs, ts))


def test_soft_counts_primitive_is_asked_with_the_normalised_inputs(monkeypatch):
    """The functional asks the dispatcher for primitive ``soft_counts`` once, with the normalised
    :class:`MaskInputs` and ``per_image``, and turns the counts it gets into the loss itself."""
    from losskit import _checks
    from losskit.functional import _segmentation

    seen = []
    real = _segmentation._dispatch.kernel

    def fake(name, inputs, *args, **kw):
        seen.append((name, inputs, kw))
        return real(name, inputs, *args, **kw)

    monkeypatch.setattr(_segmentation._dispatch, "kernel", fake)
    x, t = make_problem(22, "multiclass", 2, 3, (4,))
    w = torch.ones(3, dtype=torch.float64)
    out = dice_loss(
        x,
        t,
        weight=w,
        ignore_index=-1,
        smooth=0.5,
        eps=1e-6,
        per_image=True,
        include_background=False,
        empty="include",
        reduction="sum",
    )
    assert len(seen) == 1
    name, m, kw = seen[0]
    assert name == "soft_counts" and kw == {"per_image": True}
    assert isinstance(m, _checks.MaskInputs) and m.input.shape == (2, 3, 4) and m.target.shape == (2, 1, 4)
    assert m.ignore_index == -1 and m.weight is w and m.index_target
    expected = reference(
        x,
        t,
        weight=w,
        ignore_index=-1,
        smooth=0.5,
        eps=1e-6,
        per_image=True,
        include_background=False,
        empty="include",
        reduction="sum",
    )
    assert_close(out, expected)


def test_cpu_path_does_not_use_a_kernel():
    from losskit.kernels import _dispatch

    x, t = make_problem(23, "multiclass", 2, 3, (4,))
    with _dispatch.impl("torch"):
        a = dice_loss(x, t)
    assert_close(dice_loss(x, t), a)


def test_compiles_fullgraph():
    x, t = make_problem(24, "multiclass", 2, 3, (4, 4), ignore_index=-100, dtype=torch.float32)
    w = torch.tensor([1.0, 2.0, 0.5])
    # fullgraph=True fails on any graph break (a host sync, a data-dependent branch); "aot_eager" also
    # traces the backward, without inductor's code generation time
    f = torch.compile(
        lambda a, b: focal_tversky_loss(a, b, ignore_index=-100, per_image=True, weight=w),
        fullgraph=True,
        backend="aot_eager",
    )
    expected = focal_tversky_loss(x, t, ignore_index=-100, per_image=True, weight=w)
    out = f(x, t)
    assert_close(out, expected)
    (g,) = torch.autograd.grad(out, x)
    assert_close(g, torch.autograd.grad(expected, x)[0])


# ---------------------------------------------------------------------------------------------
# refusals: the message names the argument, the value seen and the fix
# ---------------------------------------------------------------------------------------------


ALL = [dice_loss, tversky_loss, focal_tversky_loss, jaccard_loss]


def logits(*shape):
    return torch.randn(*shape)


@pytest.mark.parametrize("f", ALL)
def test_unknown_mode(f):
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), mode="softmax"),
        match=r"mode='softmax' is not valid: use 'binary'.*'multiclass'.*'multilabel'",
    )


@pytest.mark.parametrize("f", ALL)
def test_bad_reduction(f):
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), reduction="avg"),
        match="'avg' is not a valid value for reduction",
    )


@pytest.mark.parametrize("f", ALL)
def test_shape_mismatch_multiclass(f):
    assert_refuses(
        lambda: f(logits(2, 3, 4, 4), torch.zeros(2, 4, 5, dtype=torch.long)),
        match=re.escape(
            "mode='multiclass' expects input (N, C, *) logits and target (N, *) class "
            "indices or (N, C, *) one-hot/probabilities; for this input that is target "
            "(2, 4, 4) or (2, 3, 4, 4); got input (2, 3, 4, 4) and target (2, 4, 5)"
        ),
    )
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4, 4)), match=r"got input \(2, 3, 4\) and target \(2, 4, 4\)"
    )
    assert_refuses(lambda: f(logits(3), torch.zeros(3, dtype=torch.long)), match=r"expects input \(N, C, \*\)")


@pytest.mark.parametrize("f", ALL)
def test_shape_mismatch_binary_and_multilabel(f):
    assert_refuses(
        lambda: f(logits(2, 1, 4), torch.zeros(2, 5), mode="binary"),
        match=re.escape(
            "mode='binary' expects input (N, 1, *) or (N, *) logits and a 0/1 target of "
            "the same shape (or (N, *) for an (N, 1, *) input); got input (2, 1, 4) and "
            "target (2, 5)"
        ),
    )
    # a 2-channel input is not binary: the squeezed-target form needs a channel of size 1
    assert_refuses(lambda: f(logits(2, 2, 4), torch.zeros(2, 4), mode="binary"), match="mode='binary' expects")
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4), mode="multilabel"),
        match=re.escape(
            "mode='multilabel' expects input (N, C, *) logits and a 0/1 target (N, C, *) "
            "of the same shape; got input (2, 3, 4) and target (2, 4)"
        ),
    )


@pytest.mark.parametrize("f", [tversky_loss, focal_tversky_loss])
def test_negative_alpha_beta(f):
    x, t = logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long)
    assert_refuses(lambda: f(x, t, alpha=-0.1), match=r"alpha must be in \[0, inf\], got -0.1")
    assert_refuses(lambda: f(x, t, beta=-1.0), match=r"beta must be in \[0, inf\], got -1.0")
    assert_refuses(lambda: f(x, t, alpha=0.0, beta=0.0), match="alpha=0 and beta=0 make the Tversky index 1")


def test_overlap_options_are_checked():
    x, t = logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long)
    assert_refuses(lambda: dice_loss(x, t, squared_pred=1), match="squared_pred")
    assert_refuses(lambda: jaccard_loss(x, t, log_loss="yes"), match="log_loss")
    assert_refuses(lambda: dice_loss(x, t, average="weighted"), match="average")
    assert_refuses(
        lambda: tversky_loss(x, t, smooth_denominator=-1.0), match=r"smooth_denominator must be in \[0, inf\], got -1.0"
    )


@pytest.mark.parametrize("gamma", [0.0, -1.0])
def test_gamma_not_positive(gamma):
    assert_refuses(
        lambda: focal_tversky_loss(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), gamma=gamma),
        match=rf"gamma must be in \(0, inf\], got {gamma}",
    )


@pytest.mark.parametrize("f", ALL)
def test_weight_wrong_length(f):
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), weight=torch.ones(2)),
        match=re.escape("weight must be a 1-D tensor with one entry per class (3 classes), got shape (2,)"),
    )
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), weight=torch.ones(1, 3)),
        match="got shape \\(1, 3\\)",
    )
    # binary has one class
    assert_refuses(
        lambda: f(logits(2, 4), torch.zeros(2, 4), mode="binary", weight=torch.ones(2)),
        match=re.escape("(1 classes), got shape (2,)"),
    )


@pytest.mark.parametrize("f", ALL)
def test_ignore_index_with_one_hot_target(f):
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 3, 4), ignore_index=255),
        match=re.escape(
            "ignore_index=255 needs class-index targets (N, *), but target (2, 3, 4) is "
            "one-hot/probabilities like input; pass class indices"
        ),
    )


@pytest.mark.parametrize("f", ALL)
def test_class_index_out_of_range(f):
    t = torch.tensor([[0, 1, 3, 2]])
    assert_refuses(
        lambda: f(logits(1, 3, 4), t), match=r"target has class index 3 outside \[0, 2\] for input with 3 classes"
    )
    assert_refuses(lambda: f(logits(1, 3, 4), torch.tensor([[0, -1, 1, 2]])), match="class index -1 outside")
    # the ignore label is allowed
    f(logits(1, 3, 4), torch.tensor([[0, 255, 1, 2]]), ignore_index=255)
    assert_refuses(lambda: f(logits(1, 3, 4), t, ignore_index=255), match=r"3 outside .*\(ignore_index=255\)")


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("level", ["auto", "full"])
def test_class_index_out_of_range_where_the_one_hot_scatter_reads_the_range(f, per_image, level):
    """On CPU the one-hot scatter refuses an out-of-range label itself (losskit's range read is left
    to it): the message is losskit's, with or without ignored labels, for every overlap loss."""
    x = logits(2, 3, 4)
    kw = {"per_image": per_image} if "per_image" in inspect.signature(f).parameters else {}
    with losskit.checks(level), losskit.impl("torch"):
        for bad in (3, -1, 7):
            t = torch.tensor([[0, 1, bad, 2], [1, 1, 0, 2]])
            assert_refuses(
                lambda t=t: f(x, t, **kw), match=rf"class index {bad} outside \[0, 2\] for input with 3 classes"
            )
            t_ign = t.clone()
            t_ign[1, 0] = 255
            assert_refuses(
                lambda t=t_ign: f(x, t, ignore_index=255, **kw), match=rf"{bad} outside .*\(ignore_index=255\)"
            )


@pytest.mark.parametrize("f", ALL)
def test_float_class_indices(f):
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4)), match="target must hold class indices")


@pytest.mark.parametrize("f", ALL)
def test_logits_passed_as_probabilities(f):
    assert_refuses(
        lambda: f(torch.tensor([[[3.0, -2.0], [0.1, 0.5]]]), torch.tensor([[0, 1]]), from_logits=False),
        match=re.escape(
            "input has values outside [0, 1] (min -2, max 3); with from_logits=False input "
            "must hold probabilities — these look like logits: use from_logits=True (the "
            "default), which applies the softmax over dim 1"
        ),
    )
    assert_refuses(
        lambda: f(torch.tensor([[3.0, -2.0]]), torch.tensor([[1.0, 0.0]]), mode="binary", from_logits=False),
        match="use from_logits=True \\(the default\\), which applies the sigmoid",
    )


def test_value_checks_follow_the_check_level():
    x = torch.tensor([[3.0, -2.0]])
    with losskit.checks("off"):
        dice_loss(x, torch.tensor([[1.0, 0.0]]), mode="binary", from_logits=False)  # not read
    with losskit.checks("full"):
        assert_refuses(
            lambda: dice_loss(torch.tensor([[float("nan"), 0.0]]), torch.tensor([[1.0, 0.0]]), mode="binary"),
            match="non-finite",
        )


@pytest.mark.parametrize("f", ALL)
def test_binary_target_out_of_range(f):
    assert_refuses(
        lambda: f(logits(2, 4), torch.tensor([[0.0, 1.0, 2.0, 0.0], [1.0, 0, 0, 0]]), mode="binary"),
        match=re.escape("target has values outside [0, 1] (min 0, max 2)"),
    )
    # 255 as a void label is fine once it is the ignore_index
    f(logits(2, 4), torch.tensor([[0, 1, 255, 0], [1, 0, 0, 0]]), mode="binary", ignore_index=255)


@pytest.mark.parametrize("f", ALL)
def test_include_background_false_without_background(f):
    assert_refuses(
        lambda: f(logits(2, 4), torch.zeros(2, 4), mode="binary", include_background=False),
        match="include_background=False drops channel 0, but mode='binary' has a single",
    )
    assert_refuses(
        lambda: f(logits(2, 1, 4), torch.zeros(2, 1, 4), mode="multilabel", include_background=False),
        match=re.escape("leaves no class for input (2, 1, 4) with 1 channel"),
    )


@pytest.mark.parametrize("f", ALL)
def test_bad_smoothing_and_empty(f):
    x, t = logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long)
    assert_refuses(lambda: f(x, t, smooth=-1.0), match=r"smooth must be in \[0, inf\], got -1.0")
    assert_refuses(lambda: f(x, t, eps=0.0), match=r"eps must be in \(0, inf\], got 0.0")
    assert_refuses(lambda: f(x, t, empty="skip"), match="empty='skip' is not valid: use 'exclude'")


@pytest.mark.parametrize("f", ALL)
def test_input_types(f):
    assert_refuses(
        lambda: f(torch.zeros(2, 3, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long)),
        match="input must be a floating-point tensor, got dtype torch.int64",
    )
    assert_refuses(lambda: f(logits(2, 3, 4), [[0, 1, 2, 0]] * 2), match="target must be a torch.Tensor")


def test_probabilities_passed_as_logits_warn():
    probs = torch.rand(2, 1, 8, 8)
    t = (torch.rand(2, 1, 8, 8) < 0.5).float()
    with pytest.warns(UserWarning, match=r"was the sigmoid applied twice\?.*dice_loss\(\.\.\., from_logits=False\)"):
        dice_loss(probs, t, mode="binary")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dice_loss(probs, t, mode="binary", from_logits=False)


def test_multiclass_1d_input_message_names_no_made_up_shape():
    # a (C,) input used to be told "for this input that is target (3,) or (3,)"
    with pytest.raises(ValueError, match=r"expects input \(N, C, \*\).*got input \(3,\) and target \(\)") as e:
        dice_loss(torch.randn(3), torch.tensor(1))
    assert "for this input" not in str(e.value)


# ---------------------------------------------------------------------------------------------
# one-channel inputs, per-class weights along the class dimension, NaN propagation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("target", ["mask", "indices"])
def test_single_channel_input_in_multiclass_mode_names_binary_mode(f, target):
    x = logits(2, 1, 4, 4)
    t = (torch.rand(2, 1, 4, 4) < 0.5).float() if target == "mask" else torch.zeros(2, 4, 4, dtype=torch.long)
    assert_refuses(lambda: f(x, t), match=r"single channel, but mode='multiclass' \(the default\).*mode=\"binary\"")
    f(x, t.float() if target == "indices" else t, mode="binary")  # the fix works


@pytest.mark.parametrize("per_image", [False, True])
def test_class_weight_applies_along_the_class_dimension_when_width_equals_classes(per_image):
    """A (C,) weight of an (N, C, H, W) input with W == C scales the classes, not the columns."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 5, 4, generator=g, dtype=torch.float64)
    t = torch.randint(0, 4, (2, 5, 4), generator=g)
    t[0, 0] = torch.arange(4)
    w = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    for f in ALL:
        per_class = f(x, t, per_image=per_image, reduction="none")
        assert_close(f(x, t, per_image=per_image, weight=w, reduction="none"), per_class * w)
        assert_close(
            f(x, t, per_image=per_image, weight=w), (per_class * w).sum() / (w * torch.ones_like(per_class)).sum()
        )
        assert_close(
            f(x, t, per_image=per_image, weight=w),
            reference(
                x,
                t,
                kind="tversky"
                if f in (tversky_loss, focal_tversky_loss)
                else ("jaccard" if f is jaccard_loss else "dice"),
                weight=w,
                per_image=per_image,
                **(
                    {
                        k: v
                        for k, v in {
                            "alpha": 0.5 if f is tversky_loss else 0.3,
                            "beta": 0.5 if f is tversky_loss else 0.7,
                            "gamma": 0.75 if f is focal_tversky_loss else None,
                        }.items()
                        if f in (tversky_loss, focal_tversky_loss)
                    }
                ),
            ),
        )


@pytest.mark.parametrize("f", [tversky_loss, focal_tversky_loss])
def test_per_class_alpha_beta_apply_along_the_class_dimension(f):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 5, 3, generator=g, dtype=torch.float64)  # W == C
    t = torch.randint(0, 3, (2, 5, 3), generator=g)
    alpha = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    beta = torch.tensor([0.8, 0.5, 0.1], dtype=torch.float64)
    got = f(x, t, alpha=alpha, beta=beta, reduction="none")
    for k in range(3):
        one = f(x, t, alpha=float(alpha[k]), beta=float(beta[k]), reduction="none")
        assert_close(got[k], one[k])
    assert_refuses(
        lambda: f(x, t, alpha=torch.ones(2, dtype=torch.float64)),
        match=re.escape("alpha must be a 1-D tensor with one entry per class (3 classes), got shape (2,)"),
    )
    assert_refuses(
        lambda: f(x, t, beta=torch.tensor([0.5, -0.1, 0.5], dtype=torch.float64)), match="beta has 1 entry below 0"
    )


@pytest.mark.parametrize("f", ALL)
def test_negative_class_weight_is_refused(f):
    assert_refuses(
        lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), weight=torch.tensor([1.0, -1.0, 1.0])),
        match=r"weight has 1 entry below 0 \(min -1\); weight scales each class's term; pass values >= 0",
    )


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_nan_in_the_input_gives_nan(f, mode, reduction):
    x, t = make_problem(30, mode, 2, 3, (4,))
    x = x.detach().clone()
    x.view(-1)[-1] = float("nan")
    assert torch.isnan(f(x, t, mode=mode, reduction=reduction)).any()


# ---------------------------------------------------------------------------------------------
# generalized Dice (Sudre et al. 2017) against MONAI's GeneralizedDiceLoss
# ---------------------------------------------------------------------------------------------

from losskit.functional import generalized_dice_loss  # noqa: E402


@needs_monai
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("weighting", ["square", "simple", "uniform"])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("include_background", [True, False])
def test_generalized_dice_matches_monai(mode, weighting, per_image, include_background):
    if mode == "binary" and not include_background:
        pytest.skip("binary mode has no background channel")
    x, t = make_problem(40, mode, 3, 4, (5, 6))
    act, tm = _monai_args(mode, x, t)
    theirs = monai_losses.GeneralizedDiceLoss(
        **act,
        w_type=weighting,
        batch=not per_image,
        smooth_nr=0.0,
        smooth_dr=0.0,
        include_background=include_background,
        reduction="none",
    )

    def ref(a, b):
        return theirs(a, tm).reshape(-1).squeeze(0) if not per_image else theirs(a, tm).reshape(-1)

    def ours(a, b):
        return generalized_dice_loss(
            a,
            b,
            mode=mode,
            weighting=weighting,
            per_image=per_image,
            include_background=include_background,
            reduction="none",
        )

    # MONAI rounds the class weights to float32 (``w_func(ground_o.float())``): float32's tolerance
    check_against(ours, ref, x, t, grad=[True, False], tol=TOL[torch.float32])


@needs_monai
@pytest.mark.parametrize("weighting", ["square", "simple"])
def test_generalized_dice_empty_class_takes_the_largest_weight_as_monai(weighting):
    x, t = make_problem(41, "multiclass", 2, 4, (5, 5))
    t = t.masked_fill(t == 2, 0)  # class 2 absent from the batch: an infinite weight
    theirs = monai_losses.GeneralizedDiceLoss(
        softmax=True, to_onehot_y=True, w_type=weighting, batch=True, smooth_nr=0.0, smooth_dr=0.0
    )
    check_against(
        lambda a, b: generalized_dice_loss(a, b, weighting=weighting),
        lambda a, b: theirs(a, b.unsqueeze(1)),
        x,
        t,
        grad=[True, False],
        tol=TOL[torch.float32],
    )


def test_generalized_dice_ignore_index_equals_slicing_pixels_out():
    x, t = make_problem(42, "multiclass", 2, 3, (12,))
    t[0, :3] = 255
    keep = t != 255
    kept_x = x.detach().permute(0, 2, 1)[keep].T.unsqueeze(0)  # (1, C, kept pixels)
    kept_t = t[keep].unsqueeze(0)
    assert_close(generalized_dice_loss(x, t, ignore_index=255), generalized_dice_loss(kept_x, kept_t))


def test_generalized_dice_with_one_class_weighting_uniform_is_dice():
    x, t = make_problem(43, "binary", 3, 1, (4, 4))
    assert_close(
        generalized_dice_loss(x, t, mode="binary", weighting="uniform", smooth=1.0),
        dice_loss(x, t, mode="binary", smooth=1.0),
    )
    assert_close(generalized_dice_loss(x, t, mode="binary", weighting="square"), dice_loss(x, t, mode="binary"))


def test_generalized_dice_focal_combination_through_combined_loss():
    from losskit.functional import focal_loss
    from losskit.nn import CombinedLoss, FocalLoss, GeneralizedDiceLoss

    x, t = make_problem(44, "multiclass", 2, 3, (4, 4))
    combined = CombinedLoss({"focal": FocalLoss(gamma=2.0), "gdl": GeneralizedDiceLoss()}, weights={"gdl": 0.5})
    out = combined(x, t)
    expected = focal_loss(x, t, gamma=2.0) + 0.5 * generalized_dice_loss(x, t)
    assert_close(out, expected)
    (ga,) = torch.autograd.grad(out, x)
    (gb,) = torch.autograd.grad(expected, x)
    assert_close(ga, gb)
    assert set(combined.last_components) == {"focal", "gdl"}


def test_generalized_dice_refusals_and_empty_units():
    x, t = logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long)
    assert_refuses(
        lambda: generalized_dice_loss(x, t, weighting="log"),
        match=r"weighting='log' is not valid: use one of 'square', 'simple', 'uniform'",
    )
    assert_refuses(
        lambda: generalized_dice_loss(x, t, reduction="avg"), match="'avg' is not a valid value for reduction"
    )
    # an image whose kept classes are all empty is left out of the mean (per image), and all-empty gives 0
    x = torch.randn(2, 3, 4, requires_grad=True)
    t = torch.tensor([[1, 2, 1, 0], [0, 0, 0, 0]])
    per = generalized_dice_loss(x, t, per_image=True, include_background=False, reduction="none")
    assert per[1] == 0
    assert_close(generalized_dice_loss(x, t, per_image=True, include_background=False), per[0])
    out = generalized_dice_loss(x, torch.zeros(2, 4, dtype=torch.long), include_background=False)
    (g,) = torch.autograd.grad(out, x)
    assert out == 0 and (g == 0).all()


# =============================================================================================
# Lovász-Softmax, Lovász hinge (Berman et al. 2018) and the Matthews-correlation loss
# =============================================================================================

import reference as R  # noqa: E402
from losskit.functional import lovasz_hinge_loss, lovasz_softmax_loss, mcc_loss  # noqa: E402


def _grads(f, x):
    x = x.detach().clone().requires_grad_()
    v = f(x)
    (g,) = torch.autograd.grad(v, x)
    return v.detach(), g


@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_hinge_matches_berman_values_and_gradients(per_image):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, 4, 5, generator=g, dtype=torch.float64) * 2
    t = (torch.rand(3, 1, 4, 5, generator=g) < 0.4).double()

    def ref(x):
        if per_image:
            return torch.stack([R.lovasz_hinge_flat(x[i].reshape(-1), t[i].reshape(-1)) for i in range(3)]).mean()
        return R.lovasz_hinge_flat(x.reshape(-1), t.reshape(-1))

    v, gr = _grads(lambda x: lovasz_hinge_loss(x, t, per_image=per_image), x)
    rv, rg = _grads(ref, x)
    assert_close(v, rv)
    assert_close(gr, rg)


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("classes", ["present", "all"])
def test_lovasz_softmax_matches_berman_values_and_gradients(per_image, classes):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (2, 3, 5), generator=g)  # class 3 absent: "present" leaves it out

    def ref(x):
        p = torch.softmax(x, 1)
        flat = lambda p, y: R.lovasz_softmax_flat(p.reshape(4, -1).T, y.reshape(-1), classes)
        if per_image:
            return torch.stack([flat(p[i], t[i]) for i in range(2)]).mean()
        return flat(p.transpose(0, 1), t)

    v, gr = _grads(lambda x: lovasz_softmax_loss(x, t, per_image=per_image, classes=classes), x)
    rv, rg = _grads(ref, x)
    assert_close(v, rv)
    assert_close(gr, rg)


def test_lovasz_ignore_index_equals_slicing():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 3, 12, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (1, 12), generator=g)
    t_ign = t.clone()
    t_ign[0, ::3] = 255
    keep = t_ign[0] != 255
    assert_close(lovasz_softmax_loss(x, t_ign, ignore_index=255), lovasz_softmax_loss(x[..., keep], t[..., keep]))
    xb = x[:, :1]
    tb = (t == 1).double()
    tb_ign = tb.clone()
    tb_ign[0, ::3] = 255
    assert_close(lovasz_hinge_loss(xb, tb_ign, ignore_index=255), lovasz_hinge_loss(xb[..., keep], tb[..., keep]))


def test_lovasz_per_image_is_mean_of_single_images():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 3, 8, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (3, 8), generator=g)
    each = torch.stack([lovasz_softmax_loss(x[i : i + 1], t[i : i + 1]) for i in range(3)])
    assert_close(lovasz_softmax_loss(x, t, per_image=True, reduction="none"), each)
    assert_close(lovasz_softmax_loss(x, t, per_image=True), each.mean())


def test_lovasz_multilabel_is_per_channel_hinge():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 6, generator=g, dtype=torch.float64)
    t = (torch.rand(2, 3, 6, generator=g) < 0.5).double()
    per = torch.stack([lovasz_hinge_loss(x[:, c], t[:, c], per_image=False) for c in range(3)])
    assert_close(lovasz_hinge_loss(x, t, mode="multilabel", per_image=False, reduction="none"), per)
    assert_close(lovasz_softmax_loss(x, t, mode="multilabel"), per.mean())


def test_lovasz_and_mcc_refuse_bad_options():
    x, t = torch.randn(2, 3, 4), torch.randint(0, 3, (2, 4))
    assert_refuses(lambda: lovasz_softmax_loss(x, t, classes="some"), match="classes='some'")
    assert_refuses(lambda: lovasz_softmax_loss(x, t, mode="soft"), match="mode='soft' is not valid")
    assert_refuses(lambda: lovasz_hinge_loss(x, t, mode="multiclass"), match="mode='multiclass' is not valid")
    assert_refuses(lambda: lovasz_softmax_loss(x, t, reduction="avg"), match="avg")
    assert_refuses(lambda: mcc_loss(x[:, 0], t.double(), eps=0.0), match="eps")
    assert_refuses(lambda: mcc_loss(x, t, mode="soft"), match="mode='soft' is not valid")


def test_mcc_matches_smp_values_and_gradients():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    t = (torch.rand(3, 1, 4, 4, generator=g) < 0.4).double()
    v, gr = _grads(lambda x: mcc_loss(x, t), x)
    rv, rg = _grads(lambda x: R.smp_mcc(torch.sigmoid(x), t), x)
    assert_close(v, rv)
    assert_close(gr, rg)
    p = torch.sigmoid(x)
    assert_close(mcc_loss(p, t, from_logits=False), R.smp_mcc(p, t))


def test_mcc_multilabel_is_per_channel_and_ignore_index_equals_slicing():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 3, 6, generator=g, dtype=torch.float64)
    t = (torch.rand(2, 3, 6, generator=g) < 0.5).double()
    per = torch.stack([R.smp_mcc(torch.sigmoid(x[:, c]), t[:, c]) for c in range(3)])
    assert_close(mcc_loss(x, t, mode="multilabel", reduction="none"), per)
    xb, tb = x[:, :1], t[:, :1].clone()
    tb_ign = tb.clone()
    tb_ign[..., :2] = 255
    assert_close(mcc_loss(xb, tb_ign, ignore_index=255), R.smp_mcc(torch.sigmoid(xb[..., 2:]), tb[..., 2:]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("per_image", [False, True])
def test_soft_label_is_the_l1_intersection_and_the_product_on_hard_targets(dtype, per_image):
    g = torch.Generator().manual_seed(7)
    x = (2 * torch.randn(3, 4, 5, generator=g, dtype=torch.float64)).to(dtype).requires_grad_()
    soft = torch.softmax(torch.randn(3, 4, 5, generator=g, dtype=torch.float64), 1).to(dtype)
    dims = (2,) if per_image else (0, 2)
    p = torch.softmax(x, 1)
    inter = torch.minimum(p, soft).sum(dims)
    expected = 1 - 2 * inter / (p.sum(dims) + soft.sum(dims))
    ours = losskit.functional.dice_loss(x, soft, per_image=per_image, soft_label=True, reduction="none")
    assert_close(ours, expected, tol=TOL[dtype])
    iou = inter / (p.sum(dims) + soft.sum(dims) - inter)
    jac = losskit.functional.jaccard_loss(x, soft, per_image=per_image, soft_label=True, reduction="none")
    assert_close(jac, 1 - iou, tol=TOL[dtype])
    # 0/1 targets (dense or indices): the same loss and gradient as the product form
    hard = torch.randint(0, 4, (3, 5), generator=g)
    onehot = F.one_hot(hard, 4).movedim(-1, 1).to(dtype)
    for t in (hard, onehot):
        a = losskit.functional.generalized_dice_loss(x, t, per_image=per_image, soft_label=True)
        b = losskit.functional.generalized_dice_loss(x, t, per_image=per_image)
        assert_close(a, b, tol=TOL[dtype])
        assert_close(torch.autograd.grad(a, x)[0], torch.autograd.grad(b, x)[0], tol=TOL[dtype])
    assert_refuses(lambda: losskit.functional.dice_loss(x, soft, soft_label=1), match="soft_label")


# ---------------------------------------------------------------------------------------------
# classes: a subset of the channels (smp's classes)
# ---------------------------------------------------------------------------------------------


def _subset_reference(kind, x, y, classes, *, average="macro", per_image=False, smooth=0.5):
    """The overlap ratio of the listed channels only, in float64 by hand: softmax over every channel,
    one-hot target, counts over the batch (or per image), then per class or pooled."""
    p = torch.softmax(x.double(), 1)
    t = F.one_hot(y, x.shape[1]).movedim(-1, 1).double()
    dims = tuple(range(2, x.dim())) if per_image else (0, *range(2, x.dim()))
    i, ps, ts = (p * t).sum(dims)[..., classes], p.sum(dims)[..., classes], t.sum(dims)[..., classes]
    num, den = {
        "dice": (2 * i, ps + ts),
        "jaccard": (i, ps + ts - i),
        "tversky": (i, i + 0.3 * (ps - i) + 0.7 * (ts - i)),
    }[kind]
    if average == "micro":
        num, den = num.sum(-1), den.sum(-1)
    return (1 - (num + smooth) / (den + smooth)).mean()


@pytest.mark.parametrize("kind", ["dice", "jaccard", "tversky"])
@pytest.mark.parametrize("average", ["macro", "micro"])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", [[1, 3], (2,), [3, 0, 3]])
def test_classes_keep_only_the_listed_channels(kind, average, per_image, classes):
    g = torch.Generator().manual_seed(11)
    x = torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (3, 5, 6), generator=g)
    fn = {"dice": dice_loss, "jaccard": jaccard_loss, "tversky": tversky_loss}[kind]
    kw = dict(alpha=0.3, beta=0.7) if kind == "tversky" else {}
    check_against(
        lambda x: fn(x, y, classes=classes, average=average, per_image=per_image, smooth=0.5, empty="include", **kw),
        lambda x: _subset_reference(kind, x, y, list(classes), average=average, per_image=per_image),
        x,
    )


def test_classes_with_weights_and_none_reduction_follow_the_listed_order():
    g = torch.Generator().manual_seed(12)
    x, y = torch.randn(2, 4, 6, generator=g, dtype=torch.float64), torch.randint(0, 4, (2, 6), generator=g)
    w = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    every = dice_loss(x, y, weight=w, empty="include", reduction="none")
    assert_close(dice_loss(x, y, weight=w, classes=[3, 1], empty="include", reduction="none"), every[[3, 1]])
    assert_close(dice_loss(x, y, weight=w, classes=[3, 1], empty="include"), every[[3, 1]].sum() / w[[3, 1]].sum())
    # the module takes it too, and shows it
    m = losskit.nn.DiceLoss(classes=[3, 1], weight=w, empty="include", reduction="none")
    assert_close(m(x, y), every[[3, 1]])
    assert "classes=[3, 1]" in repr(m)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(classes=[]), "non-empty list"),
        (dict(classes="present"), "list or tuple of class indices"),
        (dict(classes=[1, -1]), "integers >= 0"),
        (dict(classes=[4]), "index >= 4"),
        (dict(classes=[1], include_background=False), "not both"),
        (dict(classes=[0], mode="binary"), "mode='binary'"),
    ],
)
def test_classes_refused_with_a_clear_message(kw, match):
    x, y = torch.randn(2, 4, 6), torch.randint(0, 4, (2, 6))
    if kw.get("mode") == "binary":
        x, y = torch.randn(2, 1, 6), torch.randint(0, 2, (2, 1, 6)).float()
    assert_refuses(lambda: dice_loss(x, y, **kw), match=match)
