"""What every catalog module gets from losskit.nn's base class: its options reach the functional by
name, it survives pickling and deep copies, and its forward traces into one graph."""

import copy
import inspect
import pickle

import pytest
import torch

from examples import inputs as example_inputs
from helpers import assert_close
from losskit import catalog
from losskit import nn as LN

SPECS = [s for s in catalog.entries() if s.module is not None]
IDS = [s.name for s in SPECS]


def _built(spec):
    """The module built with the example's options, its call arguments and the functional's value."""
    args, kwargs = example_inputs(spec.name, 0)
    params = inspect.signature(spec.module.__init__).parameters
    module = spec.module(**{k: v for k, v in kwargs.items() if k in params})
    per_call = {k: v for k, v in kwargs.items() if k not in params}
    return module, args, per_call, spec.functional(*args, **kwargs)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_option_is_a_keyword_of_the_functional(spec):
    assert spec.module._functional is spec.functional
    taken = inspect.signature(spec.module._functional).parameters
    assert set(spec.module._option_names) <= set(taken), (spec.name, set(spec.module._option_names) - set(taken))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_pickled_and_deep_copied_modules_compute_the_same(spec):
    module, args, per_call, expected = _built(spec)
    for twin in (pickle.loads(pickle.dumps(module)), copy.deepcopy(module)):
        assert repr(twin) == repr(module)
        assert twin.state_dict().keys() == module.state_dict().keys()
        assert_close(twin(*args, **per_call), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LN.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0]), label_smoothing=0.1, all_ignored="zero"),
        lambda: LN.FocalLoss(alpha=0.25, gamma=1.5),
        lambda: LN.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 1.0]), label_smoothing=0.1),
    ],
)
def test_module_forward_compiles_into_one_graph(make):
    module = make()
    x = torch.randn(4, 3)
    y = torch.tensor([0, 2, 1, 1]) if not isinstance(module, LN.BCEWithLogitsLoss) else torch.rand(4, 3)
    torch._dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend="eager")
    assert_close(compiled(x, y), module(x, y))


def test_options_are_checked_at_construction_with_the_losses_name():
    with pytest.raises(ValueError, match="Poly1FocalLoss: gamma"):
        LN.Poly1FocalLoss(gamma=-1.0)
    with pytest.raises(TypeError, match="CrossEntropyLoss: ignore_index must be an int"):
        LN.CrossEntropyLoss(ignore_index=0.5)
    assert LN.Poly1SigmoidFocalLoss(ignore_index=0.5).ignore_index == 0.5  # 0/1-or-soft targets: a number
    assert isinstance(LN.SigmoidFocalLoss(pos_weight=[2.0]).pos_weight, torch.Tensor)  # a buffer, as for BCE
