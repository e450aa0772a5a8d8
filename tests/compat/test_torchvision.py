"""losskit.compat.torchvision.sigmoid_focal_loss against torchvision's formula (torchvision/ops/focal_loss.py,
transcribed in float64 in tests/reference.py: torchvision does not install beside CPU torch 2.13)."""

import pytest
import torch

import reference as R
from helpers import TOL, check_against
from losskit.compat.torchvision import sigmoid_focal_loss

DTYPES = [torch.float64, torch.float32]


def _data(dtype, shape=(7, 5), seed=0, soft=False):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 3).to(dtype)
    t = torch.randint(0, 2, shape, generator=g).to(dtype)
    if soft:
        t = torch.rand(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    return x, t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args", [(), (0.25, 2, "sum"), (0.5, 0.0, "mean"), (-1, 2, "mean"), (0.9, 3.5, "none")])
@pytest.mark.parametrize("targets", ["0/1", "soft"])
def test_values_and_gradients_equal_torchvision(dtype, args, targets):
    """0/1 and soft targets: on soft ones the drop-in keeps torchvision's BCE (1 - p_t)^gamma (losskit's
    soft_target="peers")."""
    x, t = _data(dtype, soft=targets == "soft")
    check_against(
        lambda x, t: sigmoid_focal_loss(x, t, *args),
        lambda x, t: R.torchvision_sigmoid_focal_loss(x, t, *args),
        x,
        t,
        grad=[True, False],
        ref_dtype=torch.float64,
        tol=TOL[dtype],
    )


def test_defaults_are_torchvisions():
    x, t = _data(torch.float64, (4, 3, 2))
    out = sigmoid_focal_loss(x, t)
    assert out.shape == x.shape  # reduction "none"
    torch.testing.assert_close(out, R.torchvision_sigmoid_focal_loss(x, t, alpha=0.25))


def test_keyword_call_and_negative_alpha_turns_alpha_off():
    x, t = _data(torch.float64)
    off = sigmoid_focal_loss(inputs=x, targets=t, alpha=-1, gamma=2, reduction="sum")
    torch.testing.assert_close(off, R.torchvision_sigmoid_focal_loss(x, t, -1, 2, "sum"))


def test_invalid_reduction_names_the_argument():
    x, t = _data(torch.float64)
    with pytest.raises(ValueError, match="reduction"):
        sigmoid_focal_loss(x, t, reduction="avg")


def test_soft_targets_differ_from_losskits_default_expectation():
    from losskit.functional import sigmoid_focal_loss as expected_form

    x, t = _data(torch.float64, soft=True)
    assert not torch.allclose(
        expected_form(x, t, alpha=0.25, reduction="sum"), sigmoid_focal_loss(x, t, reduction="sum")
    )


def test_integer_and_bool_targets_give_the_same_numbers():
    x, t = _data(torch.float64)
    ref = R.torchvision_sigmoid_focal_loss(x, t)
    for labels in (t.long(), t.bool()):
        torch.testing.assert_close(sigmoid_focal_loss(x, labels), ref)
