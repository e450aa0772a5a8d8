"""KLDivLoss: a drop-in for torch.nn.KLDivLoss (values, gradients, positional constructor), equal to
losskit.functional.kl_div, options validated at construction, and its catalog entry."""

import pytest
import torch
from torch import nn

import losskit
import losskit.functional as LF
from helpers import assert_close
from losskit import catalog


def _cases():
    g = torch.Generator().manual_seed(0)
    logq = torch.log_softmax(torch.randn(4, 3, generator=g), 1)
    p = torch.softmax(torch.randn(4, 3, generator=g), 1)
    return [
        ((None, None, "batchmean", False), (logq, p)),
        ((None, None, "sum", True), (logq, p.log())),
        ((None, None, "none", False), (logq, p)),
    ]


@pytest.mark.parametrize("ctor, inputs", _cases(), ids=["batchmean", "sum-log_target", "none"])
def test_module_is_a_drop_in_for_torch(ctor, inputs):
    m, t = losskit.KLDivLoss(*ctor), nn.KLDivLoss(*ctor)
    x = inputs[0].clone().requires_grad_()
    xt = inputs[0].clone().requires_grad_()
    out, ref = m(x, *inputs[1:]), t(xt, *inputs[1:])
    assert_close(out, ref)
    g = torch.rand_like(out) + 0.5
    out.backward(g)
    ref.backward(g)
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize("ctor, inputs", _cases(), ids=["batchmean", "sum-log_target", "none"])
def test_module_equals_functional(ctor, inputs):
    m = losskit.KLDivLoss(*ctor)
    assert torch.equal(m(*inputs), LF.kl_div(*inputs, reduction=m.reduction, log_target=m.log_target))


def test_module_options():
    assert losskit.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    with pytest.raises(ValueError, match="reduction"):
        losskit.KLDivLoss(reduction="avg")
    with pytest.raises(TypeError, match="KLDivLoss: log_target must be True or False"):
        losskit.KLDivLoss(log_target="yes")
    assert "log_target=True" in repr(losskit.KLDivLoss(log_target=True))


def test_module_is_in_the_catalog():
    spec = catalog.get("kl_div")
    assert spec.module is losskit.KLDivLoss and spec.torch_twin == "kl_div"
    assert spec.reductions == ("none", "mean", "sum", "batchmean")
    assert spec.family == "divergence" and spec.takes == "log_probs"
