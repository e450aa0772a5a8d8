"""losskit.compat.kornia against kornia itself (installed in the test extra): values and gradients, float64 and
float32, random inputs, ignored pixels, every reduction and average."""

import pytest
import torch

kornia_losses = pytest.importorskip("kornia.losses")

from helpers import TOL, check_against  # noqa: E402
from losskit.compat import kornia as K  # noqa: E402

DTYPES = [torch.float64, torch.float32]
N, C, H, W = 3, 4, 5, 6
# kornia adds eps=1e-8 to the Dice/Tversky denominators: the drop-ins pass it as losskit's smooth_denominator,
# so the overlap losses agree to the common tolerance
TOL_OVERLAP = TOL


def _data(dtype, seed=0, ignore=True):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(N, C, H, W, generator=g, dtype=torch.float64) * 2).to(dtype)
    y = torch.randint(0, C, (N, H, W), generator=g)
    y[1][y[1] == C - 1] = 0  # a class absent from one image
    if ignore:
        y[0, :2] = -100
    return x, y


def _id(v):
    return ",".join(f"{k}={v}" for k, v in v.items()) if isinstance(v, dict) else str(v)


FOCAL = [
    dict(alpha=0.3),
    dict(alpha=None, gamma=1.5, reduction="sum"),
    dict(alpha=0.3, reduction="none"),
    dict(alpha=0.3, reduction="mean"),
    dict(alpha=0.7, gamma=0.0, reduction="mean", weight=True),
    dict(alpha=None, reduction="sum", weight=True, ignore_index=None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", FOCAL, ids=_id)
def test_focal_loss_equals_kornia(dtype, options):
    x, y = _data(dtype, ignore=options.get("ignore_index", -100) is not None)
    opts = dict(options)
    if opts.pop("weight", False):
        opts["weight"] = torch.linspace(0.5, 2.0, C, dtype=dtype)
    check_against(
        lambda x, y: K.focal_loss(x, y, **opts),
        lambda x, y: kornia_losses.focal_loss(x, y, **opts),
        x,
        y,
        grad=[True, False],
        tol=TOL[dtype],
    )
    check_against(
        lambda x, y: K.FocalLoss(**opts)(x, y),
        lambda x, y: kornia_losses.FocalLoss(**opts)(x, y),
        x,
        y,
        grad=[True, False],
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(average="macro"),
        dict(average="macro", weight=True),
        dict(ignore_index=None),
        dict(weight=True),
        dict(weight=True, ignore_index=None, eps=1e-3),
        dict(average="macro", eps=0.5),
    ],
    ids=_id,
)
def test_dice_loss_equals_kornia(dtype, options):
    x, y = _data(dtype, ignore=options.get("ignore_index", -100) is not None)
    opts = dict(options)
    if opts.pop("weight", False):
        opts["weight"] = torch.linspace(0.5, 2.0, C, dtype=dtype)
    check_against(
        lambda x, y: K.dice_loss(x, y, **opts),
        lambda x, y: kornia_losses.dice_loss(x, y, **opts),
        x,
        y,
        grad=[True, False],
        tol=TOL_OVERLAP[dtype],
    )
    check_against(
        lambda x, y: K.DiceLoss(**opts)(x, y),
        lambda x, y: kornia_losses.DiceLoss(**opts)(x, y),
        x,
        y,
        grad=[True, False],
        tol=TOL_OVERLAP[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha, beta", [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)])
def test_tversky_loss_equals_kornia(dtype, alpha, beta):
    x, y = _data(dtype)
    check_against(
        lambda x, y: K.tversky_loss(x, y, alpha, beta),
        lambda x, y: kornia_losses.tversky_loss(x, y, alpha, beta),
        x,
        y,
        grad=[True, False],
        tol=TOL_OVERLAP[dtype],
    )
    check_against(
        lambda x, y: K.TverskyLoss(alpha, beta)(x, y),
        lambda x, y: kornia_losses.TverskyLoss(alpha, beta)(x, y),
        x,
        y,
        grad=[True, False],
        tol=TOL_OVERLAP[dtype],
    )


def test_an_image_with_every_pixel_ignored_scores_loss_one_as_in_kornia():
    x, y = _data(torch.float64)
    y[2] = -100
    for ours, theirs in [
        (K.dice_loss(x, y), kornia_losses.dice_loss(x, y)),
        (K.dice_loss(x, y, "macro"), kornia_losses.dice_loss(x, y, "macro")),
        (K.tversky_loss(x, y, 0.3, 0.7), kornia_losses.tversky_loss(x, y, 0.3, 0.7)),
    ]:
        torch.testing.assert_close(ours, theirs, **TOL_OVERLAP[torch.float64])


def test_errors_name_the_argument():
    x, y = _data(torch.float64)
    with pytest.raises(ValueError, match="average"):
        K.dice_loss(x, y, average="weighted")
    with pytest.raises(ValueError, match="reduction"):
        K.focal_loss(x, y, 0.3, reduction="avg")
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        K.dice_loss(x[..., 0], y[..., 0])
    with pytest.raises(ValueError, match="weight"):
        K.dice_loss(x, y, weight=-torch.ones(C, dtype=torch.float64))
