"""What the package root and its namespaces export."""

import torch

import losskit


def test_package_root_exports_decision():
    assert "decision" in losskit.__all__
    assert losskit.decision.tune_threshold is not None
    assert losskit.CombinedLoss is losskit.nn.CombinedLoss
    assert losskit.nn.CrossEntropyLoss(ignore_index=None)(torch.randn(2, 3), torch.tensor([0, 2])).isfinite()
