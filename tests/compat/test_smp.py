"""losskit.compat.smp against segmentation_models_pytorch's formulas (segmentation_models_pytorch/losses/
dice.py, jaccard.py, tversky.py, focal.py, _functional.py, transcribed in float64 in tests/reference.py:
smp does not install beside CPU torch 2.13)."""

import functools

import pytest
import torch

import reference as R
from helpers import TOL, check_against
from losskit.compat import smp as S

DTYPES = [torch.float64, torch.float32]
N, C, H, W = 3, 4, 5, 6


def _data(mode, dtype, seed=0, ignore=None):
    g = torch.Generator().manual_seed(seed)
    if mode == "binary":
        x = torch.randn(N, 1, H, W, generator=g, dtype=torch.float64) * 2
        y = torch.randint(0, 2, (N, 1, H, W), generator=g).to(torch.float64)
    elif mode == "multilabel":
        x = torch.randn(N, C, H, W, generator=g, dtype=torch.float64) * 2
        y = torch.randint(0, 2, (N, C, H, W), generator=g).to(torch.float64)
        y[:, 2] = 0  # a label absent from the batch
    else:
        x = torch.randn(N, C, H, W, generator=g, dtype=torch.float64) * 2
        y = torch.randint(0, C - 1, (N, H, W), generator=g)  # class C-1 absent from the batch
    if ignore is not None:
        y[0, ..., :2] = ignore
    return x.to(dtype), (y.to(dtype) if y.is_floating_point() else y)


OVERLAP = [
    ("dice", S.DiceLoss, {}),
    ("jaccard", S.JaccardLoss, {}),
    ("tversky", S.TverskyLoss, {}),
    ("dice", S.DiceLoss, dict(smooth=1.0)),
    ("jaccard", S.JaccardLoss, dict(smooth=0.5, classes=[0, 2])),
    ("tversky", S.TverskyLoss, dict(alpha=0.3, beta=0.7)),
    ("tversky", S.TverskyLoss, dict(alpha=0.7, beta=0.3, gamma=2.0)),
    ("dice", S.DiceLoss, dict(ignore_index=-1)),
    ("tversky", S.TverskyLoss, dict(ignore_index=-1, smooth=0.1)),
    ("dice", S.DiceLoss, dict(log_loss=True, smooth=0.1)),
    ("jaccard", S.JaccardLoss, dict(log_loss=True, classes=[0, 2])),
    ("tversky", S.TverskyLoss, dict(log_loss=True, alpha=0.3, beta=0.7, gamma=2.0, ignore_index=-1)),
]


def _equals_smp(cls, reference, mode, dtype, options):
    """``cls(mode, **options)`` against the float64 ``reference(x, y, mode=mode, **options)``: values and gradients."""
    x, y = _data(mode, dtype, ignore=options.get("ignore_index"))
    check_against(
        lambda x, y: cls(mode, **options)(x, y),
        lambda x, y: reference(x, y, mode=mode, **options),
        x,
        y,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("kind, cls, options", OVERLAP, ids=lambda v: getattr(v, "__name__", str(v)))
def test_overlap_losses_equal_smp(dtype, mode, kind, cls, options):
    if mode == "binary" and "classes" in options:
        pytest.skip("smp refuses classes in binary mode (tested below)")
    _equals_smp(cls, functools.partial(R.smp_overlap_loss, kind), mode, dtype, options)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["binary", "multilabel"])
def test_overlap_losses_take_probabilities(dtype, mode):
    x, y = _data(mode, dtype)
    p = torch.sigmoid(x)
    check_against(
        lambda p, y: S.DiceLoss(mode, from_logits=False)(p, y),
        lambda p, y: R.smp_overlap_loss("dice", p, y, mode=mode, from_logits=False),
        p,
        y,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


FOCAL = [
    dict(),
    dict(alpha=0.25),
    dict(gamma=0.5, reduction="sum"),
    dict(ignore_index=-1),
    dict(ignore_index=-1, alpha=0.75, reduction="sum"),
    dict(reduction="none"),
    dict(ignore_index=-1, reduction="none"),
    dict(reduction="batchwise_mean"),
    dict(normalized=True),
    dict(reduced_threshold=0.5),
    dict(reduced_threshold=0.3, gamma=1.5, reduction="sum"),
    dict(normalized=True, reduced_threshold=0.5, alpha=0.25, ignore_index=-1),
    dict(normalized=True, ignore_index=-1, reduction="none"),
    dict(normalized=True, reduction="batchwise_mean"),
]


def test_focal_loss_probabilities_are_turned_into_logits_as_smp_does():
    x, y = _data("binary", torch.float64)
    p = torch.sigmoid(x).clamp(1e-7, 1 - 1e-7)
    torch.testing.assert_close(
        S.FocalLoss("binary", from_logits=False)(p, y), R.smp_focal_loss(torch.log(p / (1 - p)), y, mode="binary")
    )


LOVASZ = [dict(), dict(per_image=True), dict(ignore_index=-1), dict(per_image=True, ignore_index=-1)]
FOCAL_AND_LOVASZ = [
    *[pytest.param(S.FocalLoss, R.smp_focal_loss, o, id=f"FocalLoss-{o}") for o in FOCAL],
    *[pytest.param(S.LovaszLoss, R.smp_lovasz_loss, o, id=f"LovaszLoss-{o}") for o in LOVASZ],
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("cls, reference, options", FOCAL_AND_LOVASZ)
def test_focal_and_lovasz_losses_equal_smp(dtype, mode, cls, reference, options):
    _equals_smp(cls, reference, mode, dtype, options)


def test_lovasz_loss_multilabel_is_one_hinge_over_the_channels_as_smp_computes_it():
    import losskit.functional as LF

    x, y = _data("multilabel", torch.float64)
    smp_value = S.LovaszLoss("multilabel", per_image=True)(x, y)
    torch.testing.assert_close(smp_value, LF.lovasz_hinge_loss(x.reshape(N, 1, -1), y.reshape(N, 1, -1)))
    # losskit's multilabel mode is one hinge per channel: another number
    assert not torch.allclose(smp_value, LF.lovasz_hinge_loss(x, y, mode="multilabel"))


def test_lovasz_loss_counts_an_all_ignored_image_as_zero_in_the_image_mean():
    x, y = _data("binary", torch.float64)
    y[1] = -1
    value = S.LovaszLoss("binary", per_image=True, ignore_index=-1)(x, y)
    torch.testing.assert_close(value, R.smp_lovasz_loss(x, y, mode="binary", per_image=True, ignore_index=-1))
    kept = S.LovaszLoss("binary", per_image=True, ignore_index=-1)(x[[0, 2]], y[[0, 2]])
    torch.testing.assert_close(value, kept * 2 / 3)


def test_lovasz_loss_ignores_from_logits_as_smp_does():
    x, y = _data("multiclass", torch.float64)
    torch.testing.assert_close(S.LovaszLoss("multiclass", from_logits=False)(x, y), S.LovaszLoss("multiclass")(x, y))


def test_absent_classes_count_as_zero_in_the_mean():
    import losskit.functional as LF

    x, y = _data("multiclass", torch.float64)
    smp_value = S.DiceLoss("multiclass")(x, y)
    losskit_value = LF.dice_loss(x, y)  # class C-1 left out of the mean
    torch.testing.assert_close(smp_value * C / (C - 1), losskit_value)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: S.DiceLoss("binary", classes=[0]), "classes"),
        (lambda: S.DiceLoss("softmax"), "mode"),
        (lambda: S.FocalLoss("binary", reduction="avg"), "reduction"),
        (lambda: S.LovaszLoss("softmax"), "mode"),
    ],
)
def test_errors_name_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("mode", ["binary", "multiclass"])
def test_focal_loss_normalized_and_reduced_are_smp_focal_loss_with_logits(mode):
    x, y = _data(mode, torch.float64)
    for options in (dict(normalized=True), dict(reduced_threshold=0.5), dict(normalized=True, reduced_threshold=0.4)):
        value = S.FocalLoss(mode, **options)(x, y)
        torch.testing.assert_close(value, R.smp_focal_loss(x, y, mode=mode, **options))
        assert not torch.allclose(value, S.FocalLoss(mode)(x, y))  # the options change the number


def test_log_loss_raises_until_losskit_has_it_then_equals_smp():
    import inspect

    import losskit.functional as LF

    x, y = _data("multiclass", torch.float64)
    if "log_loss" not in inspect.signature(LF.dice_loss).parameters:
        with pytest.raises(NotImplementedError, match="log_loss"):
            S.DiceLoss("multiclass", log_loss=True)
    else:
        torch.testing.assert_close(
            S.DiceLoss("multiclass", log_loss=True)(x, y),
            R.smp_overlap_loss("dice", x, y, mode="multiclass", log_loss=True),
        )
