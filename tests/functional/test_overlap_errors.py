"""Every refusal of the overlap losses: the message names the argument, the value seen and the fix."""

from __future__ import annotations

import re
import warnings

import pytest
import torch

import losskit
from losskit.functional import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss

from helpers import assert_refuses

ALL = [dice_loss, tversky_loss, focal_tversky_loss, jaccard_loss]


def logits(*shape):
    return torch.randn(*shape)


@pytest.mark.parametrize("f", ALL)
def test_unknown_mode(f):
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), mode="softmax"),
                   match=r"mode='softmax' is not valid: use 'binary'.*'multiclass'.*'multilabel'")


@pytest.mark.parametrize("f", ALL)
def test_bad_reduction(f):
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), reduction="avg"),
                   match="'avg' is not a valid value for reduction")


@pytest.mark.parametrize("f", ALL)
def test_shape_mismatch_multiclass(f):
    assert_refuses(lambda: f(logits(2, 3, 4, 4), torch.zeros(2, 4, 5, dtype=torch.long)),
                   match=re.escape("mode='multiclass' expects input (N, C, *) logits and target (N, *) class "
                                   "indices or (N, C, *) one-hot/probabilities; for this input that is target "
                                   "(2, 4, 4) or (2, 3, 4, 4); got input (2, 3, 4, 4) and target (2, 4, 5)"))
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4, 4)), match=r"got input \(2, 3, 4\) and target \(2, 4, 4\)")
    assert_refuses(lambda: f(logits(3), torch.zeros(3, dtype=torch.long)), match=r"expects input \(N, C, \*\)")


@pytest.mark.parametrize("f", ALL)
def test_shape_mismatch_binary_and_multilabel(f):
    assert_refuses(lambda: f(logits(2, 1, 4), torch.zeros(2, 5), mode="binary"),
                   match=re.escape("mode='binary' expects input (N, 1, *) or (N, *) logits and a 0/1 target of "
                                   "the same shape (or (N, *) for an (N, 1, *) input); got input (2, 1, 4) and "
                                   "target (2, 5)"))
    # a 2-channel input is not binary: the squeezed-target form needs a channel of size 1
    assert_refuses(lambda: f(logits(2, 2, 4), torch.zeros(2, 4), mode="binary"), match="mode='binary' expects")
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4), mode="multilabel"),
                   match=re.escape("mode='multilabel' expects input (N, C, *) logits and a 0/1 target (N, C, *) "
                                   "of the same shape; got input (2, 3, 4) and target (2, 4)"))


@pytest.mark.parametrize("f", [tversky_loss, focal_tversky_loss])
def test_negative_alpha_beta(f):
    x, t = logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long)
    assert_refuses(lambda: f(x, t, alpha=-0.1), match=r"alpha must be in \[0, inf\], got -0.1")
    assert_refuses(lambda: f(x, t, beta=-1.0), match=r"beta must be in \[0, inf\], got -1.0")
    assert_refuses(lambda: f(x, t, alpha=0.0, beta=0.0), match="alpha=0 and beta=0 make the Tversky index 1")


@pytest.mark.parametrize("gamma", [0.0, -1.0])
def test_gamma_not_positive(gamma):
    assert_refuses(lambda: focal_tversky_loss(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), gamma=gamma),
                   match=rf"gamma must be in \(0, inf\], got {gamma}")


@pytest.mark.parametrize("f", ALL)
def test_weight_wrong_length(f):
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), weight=torch.ones(2)),
                   match=re.escape("weight must be a 1-D tensor with one entry per class (3 classes), got shape (2,)"))
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), weight=torch.ones(1, 3)),
                   match="got shape \\(1, 3\\)")
    # binary has one class
    assert_refuses(lambda: f(logits(2, 4), torch.zeros(2, 4), mode="binary", weight=torch.ones(2)),
                   match=re.escape("(1 classes), got shape (2,)"))


@pytest.mark.parametrize("f", ALL)
def test_ignore_index_with_one_hot_target(f):
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 3, 4), ignore_index=255),
                   match=re.escape("ignore_index=255 needs class-index targets (N, *), but target (2, 3, 4) is "
                                   "one-hot/probabilities like input; pass class indices"))


@pytest.mark.parametrize("f", ALL)
def test_class_index_out_of_range(f):
    t = torch.tensor([[0, 1, 3, 2]])
    assert_refuses(lambda: f(logits(1, 3, 4), t), match=r"target has class index 3 outside \[0, 2\] for input with 3 classes")
    assert_refuses(lambda: f(logits(1, 3, 4), torch.tensor([[0, -1, 1, 2]])), match="class index -1 outside")
    # the ignore label is allowed
    f(logits(1, 3, 4), torch.tensor([[0, 255, 1, 2]]), ignore_index=255)
    assert_refuses(lambda: f(logits(1, 3, 4), t, ignore_index=255), match=r"3 outside .*\(ignore_index=255\)")


@pytest.mark.parametrize("f", ALL)
def test_float_class_indices(f):
    assert_refuses(lambda: f(logits(2, 3, 4), torch.zeros(2, 4)), match="target must hold class indices")


@pytest.mark.parametrize("f", ALL)
def test_logits_passed_as_probabilities(f):
    assert_refuses(lambda: f(torch.tensor([[[3.0, -2.0], [0.1, 0.5]]]), torch.tensor([[0, 1]]), from_logits=False),
                   match=re.escape("input has values outside [0, 1] (min -2, max 3); with from_logits=False input "
                                   "must hold probabilities — these look like logits: use from_logits=True (the "
                                   "default), which applies the softmax over dim 1"))
    assert_refuses(lambda: f(torch.tensor([[3.0, -2.0]]), torch.tensor([[1.0, 0.0]]), mode="binary", from_logits=False),
                   match="use from_logits=True \\(the default\\), which applies the sigmoid")


def test_value_checks_follow_the_check_level():
    x = torch.tensor([[3.0, -2.0]])
    with losskit.checks("off"):
        dice_loss(x, torch.tensor([[1.0, 0.0]]), mode="binary", from_logits=False)  # not read
    with losskit.checks("full"):
        assert_refuses(lambda: dice_loss(torch.tensor([[float("nan"), 0.0]]), torch.tensor([[1.0, 0.0]]),
                                         mode="binary"), match="non-finite")


@pytest.mark.parametrize("f", ALL)
def test_binary_target_out_of_range(f):
    assert_refuses(lambda: f(logits(2, 4), torch.tensor([[0.0, 1.0, 2.0, 0.0], [1.0, 0, 0, 0]]), mode="binary"),
                   match=re.escape("target has values outside [0, 1] (min 0, max 2)"))
    # 255 as a void label is fine once it is the ignore_index
    f(logits(2, 4), torch.tensor([[0, 1, 255, 0], [1, 0, 0, 0]]), mode="binary", ignore_index=255)


@pytest.mark.parametrize("f", ALL)
def test_include_background_false_without_background(f):
    assert_refuses(lambda: f(logits(2, 4), torch.zeros(2, 4), mode="binary", include_background=False),
                   match="include_background=False drops channel 0, but mode='binary' has a single")
    assert_refuses(lambda: f(logits(2, 1, 4), torch.zeros(2, 1, 4), mode="multilabel", include_background=False),
                   match=re.escape("leaves no class for input (2, 1, 4) with 1 channel"))


@pytest.mark.parametrize("f", ALL)
def test_bad_smoothing_and_empty(f):
    x, t = logits(2, 3, 4), torch.zeros(2, 4, dtype=torch.long)
    assert_refuses(lambda: f(x, t, smooth=-1.0), match=r"smooth must be in \[0, inf\], got -1.0")
    assert_refuses(lambda: f(x, t, eps=0.0), match=r"eps must be in \(0, inf\], got 0.0")
    assert_refuses(lambda: f(x, t, empty="skip"), match="empty='skip' is not valid: use 'exclude'")


@pytest.mark.parametrize("f", ALL)
def test_input_types(f):
    assert_refuses(lambda: f(torch.zeros(2, 3, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long)),
                   match="input must be a floating-point tensor, got dtype torch.int64")
    assert_refuses(lambda: f(logits(2, 3, 4), [[0, 1, 2, 0]] * 2), match="target must be a torch.Tensor")


def test_probabilities_passed_as_logits_warn():
    probs = torch.rand(2, 1, 8, 8)
    t = (torch.rand(2, 1, 8, 8) < 0.5).float()
    with pytest.warns(UserWarning, match=r"was a sigmoid applied twice\?.*dice_loss\(\.\.\., from_logits=False\)"):
        dice_loss(probs, t, mode="binary")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dice_loss(probs, t, mode="binary", from_logits=False)
