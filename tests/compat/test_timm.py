"""losskit.compat.timm against timm's formulas (timm/loss/cross_entropy.py, binary_cross_entropy.py,
asymmetric_loss.py, transcribed in float64 in tests/reference.py: timm does not install beside CPU torch 2.13)."""

import pytest
import torch

import reference as R
from helpers import TOL, check_against
from losskit.compat import timm as T

DTYPES = [torch.float64, torch.float32]


def _logits(dtype, shape=(6, 5), seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def _labels(n=6, c=5, seed=1):
    return torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.1, 0.0, 0.3])
def test_label_smoothing_cross_entropy(dtype, smoothing):
    check_against(
        lambda x, y: T.LabelSmoothingCrossEntropy(smoothing)(x, y),
        lambda x, y: R.timm_label_smoothing_cross_entropy(x, y, smoothing),
        _logits(dtype),
        _labels(),
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_label_smoothing_cross_entropy_classes_on_the_last_dimension(dtype):
    x = _logits(dtype, (3, 4, 5))
    y = torch.randint(0, 5, (3, 4))
    check_against(
        lambda x, y: T.LabelSmoothingCrossEntropy()(x, y),
        R.timm_label_smoothing_cross_entropy,
        x,
        y,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
def test_soft_target_cross_entropy(dtype, shape):
    t = torch.softmax(_logits(torch.float64, shape, seed=3), -1).to(dtype)
    check_against(
        lambda x, t: T.SoftTargetCrossEntropy()(x, t),
        R.timm_soft_target_cross_entropy,
        _logits(dtype, shape),
        t,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(smoothing=0.0),
        dict(smoothing=0.2, target_threshold=0.1),
        dict(reduction="sum"),
        dict(reduction="none"),
        dict(weight=torch.rand(5, dtype=torch.float64) + 0.5, pos_weight=torch.rand(5, dtype=torch.float64) + 0.5),
    ],
)
def test_binary_cross_entropy_from_class_indices(dtype, options):
    opts = {k: (v.to(dtype) if isinstance(v, torch.Tensor) else v) for k, v in options.items()}
    ref_opts = {k: (v.to(torch.float64) if isinstance(v, torch.Tensor) else v) for k, v in options.items()}
    check_against(
        lambda x, y: T.BinaryCrossEntropy(**opts)(x, y),
        lambda x, y: R.timm_binary_cross_entropy(x, y, **ref_opts),
        _logits(dtype),
        _labels(),
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_dense_targets_are_not_smoothed(dtype):
    t = torch.rand(6, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64).to(dtype)
    check_against(
        lambda x, t: T.BinaryCrossEntropy(smoothing=0.3, target_threshold=0.5)(x, t),
        lambda x, t: R.timm_binary_cross_entropy(x, t, smoothing=0.3, target_threshold=0.5),
        _logits(dtype),
        t,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(reduction="sum"),
        dict(reduction="mean"),
        dict(reduction="none"),
        dict(gamma_neg=2, gamma_pos=0, clip=None),
        dict(gamma_neg=0, gamma_pos=0, clip=0.1),
        dict(weight=torch.linspace(0.5, 2.0, 5, dtype=torch.float64)),
        dict(disable_torch_grad_focal_loss=True),
        dict(disable_torch_grad_focal_loss=True, gamma_neg=2, gamma_pos=3, clip=None, reduction="sum"),
        dict(disable_torch_grad_focal_loss=True, clip=0.1, reduction="sum", pos_weight=2.0),
        dict(disable_torch_grad_focal_loss=True, gamma_pos=0, weight=torch.linspace(0.5, 2.0, 5, dtype=torch.float64)),
        dict(pos_weight=torch.linspace(0.5, 3.0, 5, dtype=torch.float64), reduction="mean"),
    ],
)
def test_asymmetric_loss_multilabel(dtype, options):
    opts = {k: (v.to(dtype) if isinstance(v, torch.Tensor) else v) for k, v in options.items()}
    y = torch.randint(0, 2, (6, 5), generator=torch.Generator().manual_seed(5)).to(dtype)
    # logits within ±15: timm clamps p at eps=1e-8 before the log (only below -18.4 does that bite)
    x = _logits(dtype, scale=4.0).clamp(-15, 15)
    # in float32 both formulas lose ~2e-4 (relative) of the negatives' gradient where p is near 1 (1 - p from
    # sigmoid(z)), so float32 is compared with timm's formula in float32, float64 with float64
    check_against(
        lambda x, y: T.AsymmetricLossMultiLabel(**opts)(x, y),
        lambda x, y: R.timm_asymmetric_loss_multilabel(x, y, **opts),
        x,
        y,
        grad=[True, False],
        tol=TOL[dtype],
    )


def test_asymmetric_defaults_are_timms():
    m = T.AsymmetricLossMultiLabel()
    assert (m.gamma_neg, m.gamma_pos, m.clip, m.reduction) == (4.0, 1.0, 0.05, "batchmean")


def test_disable_torch_grad_focal_loss_keeps_the_value_and_changes_the_gradient():
    x = _logits(torch.float64, scale=4.0).clamp(-15, 15).requires_grad_()
    y = torch.randint(0, 2, (6, 5), generator=torch.Generator().manual_seed(5)).to(torch.float64)
    no_grad_focus = T.AsymmetricLossMultiLabel(disable_torch_grad_focal_loss=True)(x, y)
    full = T.AsymmetricLossMultiLabel()(x, y)
    torch.testing.assert_close(no_grad_focus, full)
    (g_const,) = torch.autograd.grad(no_grad_focus, x)
    (g_full,) = torch.autograd.grad(full, x)
    assert not torch.allclose(g_const, g_full)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options", [dict(smoothing=0.1), dict(smoothing=0.3, clip=None, gamma_neg=2), dict(smoothing=0.2, pos_weight=2.0)]
)
def test_smoothing_gives_timms_number(dtype, options):
    """timm mixes the focusing exponents on the smoothed target: losskit's soft_target="peers"."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64).mul(2).to(dtype)
    y = torch.randint(0, 2, (6, 5), generator=g).to(dtype)
    check_against(
        lambda x, y: T.AsymmetricLossMultiLabel(**options)(x, y),
        lambda x, y: R.timm_asymmetric_loss_multilabel(x, y, **options),
        x,
        y,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )
    import losskit.functional as LF

    expected_form = LF.asymmetric_loss(x, y, gamma_pos=1.0, label_smoothing=options["smoothing"], reduction="sum") / 6
    assert not torch.allclose(expected_form, T.AsymmetricLossMultiLabel(**options)(x, y))


@pytest.mark.parametrize("pos_weight", [2.0, torch.tensor([0.5, 1.0, 2.0, 3.0, 1.5])])
def test_pos_weight_agrees_with_timm(pos_weight):
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randint(0, 2, (6, 5), generator=g).double()
    pw = pos_weight if isinstance(pos_weight, float) else pos_weight.double()
    check_against(
        lambda x, y: T.AsymmetricLossMultiLabel(pos_weight=pw)(x, y),
        lambda x, y: R.timm_asymmetric_loss_multilabel(x, y, pos_weight=pw),
        x,
        y,
        grad=[True, False],
    )


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="reduction"):
        T.AsymmetricLossMultiLabel(reduction="avg")
    with pytest.raises(ValueError, match="smoothing"):
        T.LabelSmoothingCrossEntropy(1.5)
    with pytest.raises(ValueError, match="batch size"):
        T.BinaryCrossEntropy()(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))
