"""losskit.distributed's decision metrics over 2 and 3 gloo ranks (different numbers of rows per
rank) equal losskit.decision on the concatenated predictions."""

import numpy as np
import pytest
import torch
import torch.distributed as dist

from losskit import decision
from losskit.distributed import expected_calibration_error, fit_temperature, gather, reliability_curve, tune_threshold


def _predictions(rank: int):
    g = torch.Generator().manual_seed(10 + rank)
    n = 7 + 4 * rank
    target = torch.randint(0, 3, (n,), generator=g)
    logits = torch.randn(n, 3, generator=g) * 2 + 2 * torch.nn.functional.one_hot(target, 3)  # informative
    scores = torch.rand(n, generator=g)
    labels = (torch.rand(n, generator=g) < scores).long()
    return logits, target, scores, labels


def case_metrics():
    world, r = dist.get_world_size(), dist.get_rank()
    every = [torch.cat(parts) for parts in zip(*(_predictions(k) for k in range(world)), strict=True)]
    logits, target, scores, labels = _predictions(r)
    probs = torch.softmax(logits, 1)
    all_probs = torch.softmax(every[0], 1)
    assert torch.equal(gather(probs), all_probs)
    assert torch.equal(gather(labels.bool()), every[3].bool())
    ece = expected_calibration_error(probs, target, n_bins=5)
    assert ece == decision.expected_calibration_error(all_probs, every[1], n_bins=5)
    curve, want = reliability_curve(scores, labels, 4), decision.reliability_curve(every[2], every[3], 4)
    np.testing.assert_array_equal(curve.counts, want.counts)
    np.testing.assert_allclose(curve.accuracy, want.accuracy, equal_nan=True)
    for metric in ("f1", "youden"):
        got, ref = (
            tune_threshold(scores, labels, metric=metric),
            decision.tune_threshold(every[2], every[3], metric=metric),
        )
        assert (got.threshold, got.value) == (ref.threshold, ref.value)
    assert fit_temperature(logits, target) == pytest.approx(decision.fit_temperature(every[0], every[1]), rel=1e-9)
    return ece


@pytest.mark.parametrize("world", [2, 3])
def test_metrics_over_ranks_equal_the_metrics_of_all_predictions(ranks, world):
    values = ranks(world).run(case_metrics)
    assert len(set(values)) == 1


def case_refusals():
    with pytest.raises(TypeError, match=r"must be torch tensors"):
        gather(np.zeros(3))
    with pytest.raises(ValueError, match=r"0-dimensional tensor has no rows"):
        gather(torch.tensor(1.0))


def test_bad_arguments_are_refused(ranks):
    ranks(2).run(case_refusals)
