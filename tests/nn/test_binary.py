"""BCEWithLogitsLoss / BCELoss: drop-ins for torch.nn, the functional's numbers, buffers, reprs."""

import pytest
import torch
from torch import nn

import losskit
import losskit.functional as LF
from helpers import assert_close, assert_refuses

W3 = torch.tensor([0.5, 1.0, 2.0])


def _cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g)
    yb = torch.randint(0, 2, (4, 3), generator=g).float()
    return [
        # (ours, torch's, positional constructor args in torch's order, inputs)
        (losskit.BCEWithLogitsLoss, nn.BCEWithLogitsLoss, (W3, None, None, "none", W3 * 2), (x, yb)),
        (losskit.BCELoss, nn.BCELoss, (W3, None, None, "sum"), (torch.sigmoid(x), yb)),
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
    fn = {"BCEWithLogitsLoss": LF.binary_cross_entropy_with_logits, "BCELoss": LF.binary_cross_entropy}[ours.__name__]
    kwargs = {"reduction": m.reduction, "weight": m.weight}
    for attr in ("pos_weight", "label_smoothing"):
        if getattr(m, attr, None) is not None:
            kwargs[attr] = getattr(m, attr)
    assert torch.equal(m(*inputs), fn(*inputs, **kwargs))


def test_label_smoothing_is_keyword_only_after_torch_arguments():
    x = torch.randn(4, 3)
    with pytest.raises(TypeError):
        losskit.BCEWithLogitsLoss(None, None, None, "mean", None, 0.1)  # label_smoothing is keyword-only
    m = losskit.BCEWithLogitsLoss(label_smoothing=0.1)
    yb = torch.randint(0, 2, (4, 3)).float()
    assert_close(m(x, yb), LF.binary_cross_entropy_with_logits(x, yb, label_smoothing=0.1))


def test_weight_buffers_follow_to_and_state_dict():
    bce = losskit.BCEWithLogitsLoss(weight=W3.clone(), pos_weight=W3.clone() * 2)
    assert set(bce.state_dict()) == {"weight", "pos_weight"}
    bce.to(torch.float64)
    assert bce.weight.dtype == bce.pos_weight.dtype == torch.float64
    fresh = losskit.BCEWithLogitsLoss(weight=torch.ones(3), pos_weight=torch.ones(3))
    fresh.load_state_dict(bce.state_dict())
    assert torch.equal(fresh.pos_weight, bce.pos_weight.float())
    # torch's own modules and ours share the state-dict layout
    theirs = nn.BCEWithLogitsLoss(weight=torch.ones(3), pos_weight=torch.ones(3))
    theirs.load_state_dict(bce.state_dict())
    assert torch.equal(theirs.pos_weight, bce.pos_weight.float())
    assert losskit.BCELoss(weight=[1.0, 2.0]).weight.dtype == torch.get_default_dtype()
    assert losskit.BCELoss().state_dict() == {}


def test_repr_shows_the_options_set():
    assert repr(losskit.BCEWithLogitsLoss()) == "BCEWithLogitsLoss()"
    r = repr(losskit.BCEWithLogitsLoss(pos_weight=torch.ones(3), reduction="sum", label_smoothing=0.1))
    assert r == "BCEWithLogitsLoss(reduction='sum', pos_weight=<tensor (3,)>, label_smoothing=0.1)"
    assert repr(losskit.BCELoss(weight=torch.ones(2))) == "BCELoss(weight=<tensor (2,)>)"


def test_options_validated_at_construction():
    assert_refuses(lambda: losskit.BCEWithLogitsLoss(label_smoothing=1.0), match=r"label_smoothing must be in \[0, 1\)")
    assert_refuses(lambda: losskit.BCELoss(reduction="avg"), match="reduction")


def test_modules_are_in_the_catalog():
    from losskit import catalog

    for name, module in [
        ("binary_cross_entropy_with_logits", losskit.BCEWithLogitsLoss),
        ("binary_cross_entropy", losskit.BCELoss),
    ]:
        spec = catalog.get(name)
        assert spec.module is module and spec.torch_twin == name


def test_target_threshold_and_float_pos_weight_in_the_module():
    x = torch.randn(4, 3)
    soft = torch.rand(4, 3)
    m = losskit.BCEWithLogitsLoss(pos_weight=2.0, target_threshold=0.5)
    assert_close(m(x, soft), LF.binary_cross_entropy_with_logits(x, soft, pos_weight=2.0, target_threshold=0.5))
    assert "target_threshold=0.5" in repr(m)
    assert_refuses(lambda: losskit.BCEWithLogitsLoss(target_threshold=2.0), match="target_threshold")
