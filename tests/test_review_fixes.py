"""Regression tests for bugs found in review: each test failed before its fix."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.functional as LF
from helpers import assert_close


@pytest.mark.parametrize("fn", [LF.kl_divergence, LF.js_divergence])
def test_divergence_positive_dim_with_broadcast_reference(fn):
    # q of shape (C,) broadcast against p (N, C): dim=1 (positive) used to raise IndexError
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(4, 5, generator=g, dtype=torch.float64), 1)
    q = torch.softmax(torch.randn(5, generator=g, dtype=torch.float64), 0)
    assert_close(fn(p, q, dim=1), fn(p, q.expand(4, 5), dim=-1))
    with pytest.raises(ValueError, match=r"dim=5 is out of range for shape \(4, 5\)"):
        fn(p, q, dim=5)
    with pytest.raises(ValueError, match="p has 4 outcomes along dim=0 but q has 1"):
        fn(p, q, dim=0)  # q has no dim 0 of its own: one outcome there


def test_entropy_dim_out_of_range_names_the_argument():
    with pytest.raises(ValueError, match=r"entropy: dim=2 is out of range"):
        LF.entropy(torch.full((3, 4), 0.25), dim=2)


def test_full_checks_refuse_plus_inf_log_probabilities():
    # +inf in log-probabilities was turned into the largest float by nan_to_num and passed the check
    logp = torch.tensor([0.0, math.inf, -math.inf])
    with losskit.checks("full"):
        with pytest.raises(ValueError, match="non-finite"):
            LF.entropy(logp, log_input=True)
        with pytest.raises(ValueError, match="non-finite"):
            LF.kl_div(logp, torch.tensor([0.2, 0.3, 0.5]))
        LF.entropy(torch.tensor([0.0, -math.inf]), log_input=True)  # -inf (impossible outcome) is fine


def test_overlap_multiclass_1d_input_message_names_no_made_up_shape():
    # a (C,) input used to be told "for this input that is target (3,) or (3,)"
    with pytest.raises(ValueError, match=r"expects input \(N, C, \*\).*got input \(3,\) and target \(\)") as e:
        LF.dice_loss(torch.randn(3), torch.tensor(1))
    assert "for this input" not in str(e.value)
