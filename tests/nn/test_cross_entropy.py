"""CrossEntropyLoss and NLLLoss: same as the functional, same as torch.nn, buffers follow .to()."""

import warnings

import pytest
import torch
from torch import nn

import losskit
import losskit.functional as LF
from helpers import assert_close

W3 = torch.tensor([0.5, 1.0, 2.0])


def _cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g)
    y = torch.tensor([0, 2, -100, 1])
    torch.randint(0, 2, (4, 3), generator=g)  # (a draw kept so that the ones after it stay the same)
    logq = torch.log_softmax(torch.randn(4, 3, generator=g), 1)
    p = torch.softmax(torch.randn(4, 3, generator=g), 1)
    return [
        # (ours, torch's, positional constructor args in torch's order, inputs)
        (
            losskit.CrossEntropyLoss,
            nn.CrossEntropyLoss,
            (W3, None, 1, None, "sum", 0.2),
            (x, torch.tensor([0, 2, 1, 1])),
        ),
        (losskit.CrossEntropyLoss, nn.CrossEntropyLoss, (None, None, -100, None, "mean", 0.1), (x, p)),
        (losskit.NLLLoss, nn.NLLLoss, (W3, None, -100, None, "mean"), (logq, y)),
    ]


@pytest.mark.parametrize("ours, theirs, ctor, inputs", _cases(), ids=lambda v: getattr(v, "__name__", ""))
def test_module_is_a_drop_in_for_torch(ours, theirs, ctor, inputs):
    m, t = ours(*ctor), theirs(*ctor)
    x = inputs[0].clone().requires_grad_()
    xt = inputs[0].clone().requires_grad_()
    out, ref = m(x, *inputs[1:]), t(xt, *inputs[1:])
    assert_close(out, ref)
    g = torch.rand_like(out) + 0.5
    out.backward(g)
    ref.backward(g)
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize("ours, theirs, ctor, inputs", _cases(), ids=lambda v: getattr(v, "__name__", ""))
def test_module_equals_functional(ours, theirs, ctor, inputs):
    m = ours(*ctor)
    name = {
        "CrossEntropyLoss": "cross_entropy",
        "NLLLoss": "nll_loss",
    }[ours.__name__]
    fn = getattr(LF, name)
    kwargs = {"reduction": m.reduction}
    if getattr(m, "weight", None) is not None:
        kwargs["weight"] = m.weight
    for attr in ("pos_weight", "ignore_index", "label_smoothing", "log_target", "all_ignored"):
        if hasattr(m, attr) and getattr(m, attr) is not None:
            kwargs[attr] = getattr(m, attr)
    assert torch.equal(m(*inputs), fn(*inputs, **kwargs))


def test_extensions_are_keyword_only_after_torch_arguments():
    x, y = torch.randn(4, 3), torch.full((4,), -100)
    m = losskit.CrossEntropyLoss(all_ignored="zero")
    assert m(x, y).item() == 0.0
    assert "label_smoothing=0.1" in repr(losskit.CrossEntropyLoss(label_smoothing=0.1))


def test_weight_buffers_follow_to_and_state_dict():
    ce = losskit.CrossEntropyLoss(weight=W3.clone())
    assert set(ce.state_dict()) == {"weight"}
    ce.double()
    assert ce.weight.dtype == torch.float64
    x = torch.randn(4, 3, dtype=torch.float64)
    assert ce(x, torch.tensor([0, 1, 2, 0])).dtype == torch.float64
    assert losskit.CrossEntropyLoss(weight=[1.0, 2.0]).weight.dtype == torch.get_default_dtype()
    assert losskit.CrossEntropyLoss().state_dict() == {}


def test_module_refusals():
    with pytest.raises(ValueError, match="batchmean"):
        losskit.CrossEntropyLoss(reduction="batchmean")
    with pytest.warns(UserWarning, match="deprecated"):
        assert losskit.NLLLoss(size_average=False).reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.NLLLoss(size_average=False).reduction == "sum"


def test_modules_are_in_the_catalog():
    from losskit import catalog

    for name, module in [("cross_entropy", losskit.CrossEntropyLoss)]:
        spec = catalog.get(name)
        assert spec.module is module and spec.torch_twin == name
