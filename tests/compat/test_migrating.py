"""Every row of docs/migrating.md, run: the peer's call, the losskit call and the drop-in give the same value
and gradients (float64 and float32, random inputs), and a "not reachable" row's peer and nearest call differ.

The rows are read from the guide itself, so a row cannot be added there without being tested here. MONAI,
kornia and Keras 3 run themselves; torchvision, timm, smp and optax are their formulas transcribed in float64
in tests/reference.py (they do not install beside CPU torch 2.13)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import losskit
import losskit.compat.kornia
import losskit.compat.monai
import losskit.compat.smp
import losskit.compat.timm
import losskit.compat.torchvision
import losskit.functional as F
import reference as R
from helpers import TOL

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"
PEERS = {
    "MONAI": "monai",
    "kornia": "kornia",
    "segmentation_models_pytorch": "smp",
    "torchvision": "torchvision",
    "timm": "timm",
    "Keras 3": "keras",
    "optax": "optax",
}
CODE = re.compile(r"`([^`]+)`")


def _rows():
    """(section, peer call, losskit call or None, nearest call or None, drop-in or None) per table row."""
    rows, section = [], None
    for line in GUIDE.read_text().splitlines():
        if line.startswith("## "):
            section = next((v for k, v in PEERS.items() if line[3:].startswith(k)), None)
            continue
        if section is None or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 4, f"docs/migrating.md: a row needs 4 cells: {line}"
        peer = CODE.search(cells[0]).group(1)
        target = CODE.search(cells[1])
        assert target is not None, f"docs/migrating.md: no losskit call in row {line}"
        unreachable = cells[1].startswith("not reachable")
        refused = cells[1].startswith("refused")  # "refused, as the peer (`Error`)": both raise it
        drop = CODE.search(cells[2])
        rows.append(
            pytest.param(
                section,
                peer,
                None if unreachable or refused else target.group(1),
                target.group(1) if unreachable else None,
                drop.group(1) if drop else None,
                id=f"{section}:{peer[:70]}",
            )
        )
    return rows


def _missing():
    out, on = [], False
    for line in GUIDE.read_text().splitlines():
        if line.startswith("## "):
            on = line.startswith("## Not in losskit yet")
        elif on and line.startswith("- `"):
            out.append(CODE.search(line).group(1))
    return out


ROWS = _rows()


def test_the_guide_has_a_table_for_every_peer_and_every_row_parses():
    seen = {r.values[0] for r in ROWS}
    assert seen == set(PEERS.values()), f"sections without rows: {set(PEERS.values()) - seen}"
    assert len(ROWS) >= 50
    assert _missing()


# --- the peers: installed ones run themselves, the others are the float64 transcriptions --------------------


def _keras():
    if os.environ.setdefault("KERAS_BACKEND", "torch") != "torch":
        return None
    try:
        import keras
    except ImportError:
        return None
    return keras if keras.backend.backend() == "torch" else None


class _Factory:
    """``Peer(**options)(input, target)`` over a reference function ``f(input, target, **options)``."""

    def __init__(self, f, *bound, **fixed):
        self.f, self.bound, self.fixed = f, bound, fixed

    def __call__(self, *args, **options):
        return lambda x, y: self.f(*self.bound, x, y, *args, **{**self.fixed, **options})


def _smp_overlap(kind):
    return lambda mode, **o: lambda x, y: R.smp_overlap_loss(kind, x, y, mode=mode, **o)


SHIMS = {
    "torchvision": SimpleNamespace(ops=SimpleNamespace(sigmoid_focal_loss=R.torchvision_sigmoid_focal_loss)),
    "timm": SimpleNamespace(
        loss=SimpleNamespace(
            LabelSmoothingCrossEntropy=lambda smoothing=0.1: (
                lambda x, y: R.timm_label_smoothing_cross_entropy(x, y, smoothing)
            ),
            SoftTargetCrossEntropy=lambda: R.timm_soft_target_cross_entropy,
            BinaryCrossEntropy=lambda **o: lambda x, y: R.timm_binary_cross_entropy(x, y, **o),
            AsymmetricLossMultiLabel=lambda **o: lambda x, y: R.timm_asymmetric_loss_multilabel(x, y, **o),
        )
    ),
    "smp": SimpleNamespace(
        losses=SimpleNamespace(
            DiceLoss=_smp_overlap("dice"),
            JaccardLoss=_smp_overlap("jaccard"),
            TverskyLoss=_smp_overlap("tversky"),
            FocalLoss=lambda mode, **o: lambda x, y: R.smp_focal_loss(x, y, mode=mode, **o),
            SoftCrossEntropyLoss=lambda **o: lambda x, y: R.smp_soft_cross_entropy_loss(x, y, **o),
            LovaszLoss=lambda mode, **o: lambda x, y: R.smp_lovasz_loss(x, y, mode=mode, **o),
        )
    ),
    "optax": SimpleNamespace(
        losses=SimpleNamespace(
            softmax_cross_entropy_with_integer_labels=R.optax_softmax_cross_entropy_with_integer_labels,
            softmax_cross_entropy=R.optax_softmax_cross_entropy,
            sigmoid_binary_cross_entropy=R.optax_sigmoid_binary_cross_entropy,
            sigmoid_focal_loss=R.optax_sigmoid_focal_loss,
            poly_loss_cross_entropy=R.optax_poly_loss_cross_entropy,
            dice_loss=R.optax_dice_loss,
        )
    ),
}


def _peer_module(section):
    if section in SHIMS:
        return SHIMS[section]
    if section == "keras":
        k = _keras()
        if k is None:
            pytest.skip("keras with the torch backend is not installed")
        return k
    return pytest.importorskip(section + ".losses").__dict__ and __import__(section)


# --- inputs -------------------------------------------------------------------------------------------------


def _inputs(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x2 = (torch.randn(8, 5, generator=g, dtype=torch.float64) * 2).to(dtype).requires_grad_()
    t2 = torch.randint(0, 2, (8, 5), generator=g).to(dtype)
    q = torch.softmax(torch.randn(8, 5, generator=g, dtype=torch.float64), -1).to(dtype)
    y1 = torch.randint(0, 5, (8,), generator=g)
    xs = (torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64) * 2).to(dtype).requires_grad_()
    ys = torch.randint(0, 4, (3, 5, 6), generator=g)
    ys[1][ys[1] == 3] = 1
    ya = ys.clamp(max=2)
    yi = ys.clone()
    yi[0, :2] = -100
    ohs = torch.nn.functional.one_hot(ys, 4).movedim(-1, 1).to(dtype)
    return dict(
        x2=x2,
        t2=t2,
        q=q,
        y1=y1,
        oh=torch.nn.functional.one_hot(y1, 5).to(dtype),
        xs=xs,
        ys=ys,
        ym=ys[:, None],
        ya=ya,
        yi=yi,
        ohs=ohs,
        w4=torch.tensor([1.0, 2.0, 3.0, 0.5], dtype=dtype),
    )


def _run(code, section, dtype, ref64):
    """Evaluate ``code`` on fresh inputs; returns (value, {leaf: grad}) under a fixed random upstream gradient."""
    env = _inputs(dtype)
    if ref64:  # a transcribed peer: the float64 formula on the same numbers
        env = {
            k: (v.detach().double().requires_grad_(v.requires_grad) if v.is_floating_point() else v)
            for k, v in env.items()
        }
    leaves = {k: env[k] for k in ("x2", "xs")}
    env.update(xl=env["xs"].movedim(1, -1), ohl=env["ohs"].movedim(1, -1), torch=torch, F=F, losskit=losskit)
    env[section] = _peer_module(section)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = eval(code, env)
    if not isinstance(out, torch.Tensor):
        out = torch.as_tensor(out)
    up = torch.rand(out.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.5
    used = [k for k, v in leaves.items() if k in code or (k == "xs" and ("xl" in code))]
    grads = (
        torch.autograd.grad((out * up.to(out.dtype)).sum(), [leaves[k] for k in used], allow_unused=True)
        if out.requires_grad and used
        else ()
    )
    return out.detach(), {k: g for k, g in zip(used, grads, strict=False) if g is not None}


def _tol(section, dtype, peer_out, peer):
    if section == "kornia" and dtype == torch.float64:  # kornia's eps=1e-8 in the denominators
        return dict(rtol=1e-8, atol=1e-10)
    if section == "monai" and "GeneralizedDice" in peer and dtype == torch.float64:
        return dict(rtol=1e-6, atol=1e-8)  # MONAI's generalized Dice rounds its class weights to float32
    if peer_out.dtype == torch.float32 or section == "keras" or (section == "monai" and "Focal" in peer):
        # MONAI's focal losses and Keras compute in float32
        return dict(rtol=2e-5, atol=2e-6) if dtype == torch.float32 else dict(rtol=1e-5, atol=1e-6)
    return TOL[dtype]


def _same(a, b, tol):
    va, ga = a
    vb, gb = b
    if va.shape != vb.shape or not torch.allclose(va.double(), vb.double(), equal_nan=True, **tol):
        return False
    return ga.keys() == gb.keys() and all(torch.allclose(ga[k].double(), gb[k].double(), **tol) for k in ga)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("section, peer, target, nearest, dropin", ROWS)
def test_row(section, peer, target, nearest, dropin, dtype):
    if section == "keras" and dtype == torch.float64:
        pytest.skip("Keras computes in floatx (float32): its rows run in float32")
    ref64 = section in SHIMS
    if target is None and nearest is None:  # refused, as the peer refuses it: the same kind of error
        with pytest.raises(Exception) as refusal:
            _run(peer, section, dtype, ref64)
        assert dropin is not None, f"{peer}: a refused row names the drop-in that refuses it"
        with pytest.raises(type(refusal.value)):
            _run(dropin, section, dtype, False)
        return
    theirs = _run(peer, section, dtype, ref64)
    tol = _tol(section, dtype, theirs[0], peer)
    if nearest is not None:
        near = _run(nearest, section, dtype, False)
        assert not _same(near, theirs, tol), f"{peer} is reachable by {nearest}: move it to a same-number row"
        return
    for code in filter(None, (target, dropin)):
        ours = _run(code, section, dtype, False)
        assert ours[0].shape == theirs[0].shape, f"{code}: shape {tuple(ours[0].shape)} != {tuple(theirs[0].shape)}"
        torch.testing.assert_close(
            ours[0].double(),
            theirs[0].double(),
            equal_nan=True,
            **tol,
            msg=lambda m, code=code: f"{code} vs {peer}: {m}",
        )
        assert ours[1].keys() == theirs[1].keys(), f"{code}: gradients of {sorted(ours[1])} vs {sorted(theirs[1])}"
        for k in ours[1]:
            torch.testing.assert_close(
                ours[1][k].double(),
                theirs[1][k].double(),
                **tol,
                msg=lambda m, k=k, code=code: f"gradient wrt {k}, {code} vs {peer}: {m}",
            )


@pytest.mark.parametrize("code", _missing())
def test_not_yet_in_losskit_raises_naming_it(code):
    env = _inputs(torch.float64)
    env.update(torch=torch, F=F, losskit=losskit)
    with pytest.raises(NotImplementedError):
        eval(code, env)
