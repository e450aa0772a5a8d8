"""Regression tests for bugs found in review: each test failed before its fix."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.functional as LF
from helpers import assert_close


def test_legacy_reduction_traces_under_fullgraph_compile():
    # the deprecation warning of size_average/reduce used to break torch.compile(fullgraph=True)
    fn = lambda x, y: LF.cross_entropy(x, y, None, False)  # noqa: E731  (size_average=False: "sum")
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="eager")
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    assert_close(compiled(x, y), F.cross_entropy(x, y, reduction="sum"))
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        fn(x, y)  # eager still warns



@pytest.mark.parametrize("fn, inp", [
    (LF.cross_entropy, lambda x: x),
    (LF.nll_loss, lambda x: torch.log_softmax(x, 1)),
])
def test_ignore_index_none_means_no_ignored_label(fn, inp):
    # ignore_index=None used to crash inside torch ("must be int, not NoneType")
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1])
    assert_close(fn(inp(x), y, ignore_index=None), fn(inp(x), y))
    with pytest.raises(ValueError, match="class index -100 outside"):
        fn(inp(x), torch.tensor([0, -100, 1, 1]), ignore_index=None)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        fn(inp(x), y, ignore_index=1.5)


def test_label_smoothing_accepts_numpy_numbers():
    np = pytest.importorskip("numpy")
    x, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert_close(LF.cross_entropy(x, y, label_smoothing=np.float32(0.25)),
                 F.cross_entropy(x, y, label_smoothing=0.25))
    z, t = torch.randn(5), torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    assert_close(LF.binary_cross_entropy_with_logits(z, t, label_smoothing=np.float32(0.5)),
                 LF.binary_cross_entropy_with_logits(z, t, label_smoothing=0.5))
    with pytest.raises(TypeError, match="label_smoothing must be a Python number"):
        LF.cross_entropy(x, y, label_smoothing=torch.tensor(0.1))

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


def test_linear_cross_entropy_k_dim_honours_all_ignored():
    # the (C, d1, H) weight path called torch's cross_entropy and silently dropped all_ignored
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, generator=g, requires_grad=True)
    w = torch.randn(3, 2, 4, generator=g)
    y = torch.full((5, 2), -100)
    out = LF.linear_cross_entropy(x, w, y, all_ignored="zero")
    assert out.item() == 0.0
    out.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert LF.linear_cross_entropy(x, w, y).isnan()  # torch's 0/0 by default
    y[0, 0] = 7
    with pytest.raises(ValueError, match="class index 7 outside"):
        LF.linear_cross_entropy(x, w, y)


def test_categorical_log_prob_refuses_out_of_range_index_by_name():
    # a -100 padding label used to fail inside torch.gather
    from losskit.likelihoods import Categorical
    z = torch.randn(2, 3)
    with pytest.raises(ValueError, match="class index -100 outside"):
        Categorical().log_prob(z, torch.tensor([0, -100]))
    assert_close(Categorical().log_prob(z, torch.tensor([0.0, 2.0])), Categorical().log_prob(z, torch.tensor([0, 2])))


def test_fit_temperature_refuses_fractional_class_targets():
    # (N, C) logits with non-integer targets were silently truncated to class indices
    from losskit.decision import fit_temperature
    z = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="class indices in"):
        fit_temperature(z, torch.full((20,), 1.5))
    fit_temperature(z, torch.arange(20) % 3)


def test_package_root_exports_decision():
    assert "decision" in losskit.__all__
    assert losskit.decision.tune_threshold is not None
    assert losskit.CombinedLoss is losskit.nn.CombinedLoss
    assert losskit.nn.CrossEntropyLoss(ignore_index=None)(torch.randn(2, 3), torch.tensor([0, 2])).isfinite()
