"""What the package root and its namespaces export."""

import torch

import losskit


def test_package_root_exports_decision():
    assert "decision" in losskit.__all__
    assert losskit.decision.tune_threshold is not None
    assert losskit.CombinedLoss is losskit.nn.CombinedLoss
    assert losskit.nn.CrossEntropyLoss(ignore_index=None)(torch.randn(2, 3), torch.tensor([0, 2])).isfinite()


def test_nn_all_lists_exactly_the_reexported_modules():
    import losskit.nn as N

    public = {n for n, v in vars(N).items() if not n.startswith("_") and isinstance(v, type)}
    assert len(N.__all__) == len(set(N.__all__))
    assert set(N.__all__) == public


def test_functional_all_lists_exactly_the_reexported_names():
    import losskit.functional as F

    public = {
        n for n, v in vars(F).items() if not n.startswith("_") and getattr(v, "__module__", "").startswith(F.__name__)
    }
    assert len(F.__all__) == len(set(F.__all__))
    assert set(F.__all__) == public
