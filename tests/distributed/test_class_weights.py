"""class_counts and class_balanced_weights over 2 and 3 gloo ranks equal the single-process
functions on the labels of every rank together."""

import pytest
import torch
import torch.distributed as dist

import losskit.functional as LF
from helpers import assert_close
from losskit.distributed import class_balanced_weights, class_counts


def _labels(rank: int, multilabel: bool):
    g = torch.Generator().manual_seed(rank)
    n = 5 + 3 * rank  # ranks hold different numbers of labels
    if multilabel:
        return (torch.rand(n, 4, generator=g) < 0.3).float()
    y = torch.randint(0, 4, (n,), generator=g)
    y[torch.rand(n, generator=g) < 0.2] = -100
    return y if rank != 1 else y[y != 3]  # class 3 absent on rank 1


def case_counts(multilabel: bool):
    world, r = dist.get_world_size(), dist.get_rank()
    every = torch.cat([_labels(k, multilabel) for k in range(world)])
    ii = None if multilabel else -100
    got = class_counts(_labels(r, multilabel), 4, ignore_index=ii)
    want = LF.class_counts(every, 4, ignore_index=ii)
    assert got.dtype == want.dtype
    torch.testing.assert_close(got, want)
    local = LF.class_counts(_labels(r, multilabel), 4, ignore_index=ii)
    for kw in (dict(beta=0.99), dict(beta=0.9999, normalize="max", absent="zero")):
        assert_close(class_balanced_weights(local, **kw), LF.class_balanced_weights(want, **kw))
    assert_close(class_balanced_weights(local.tolist(), beta=0.9), LF.class_balanced_weights(want.tolist(), beta=0.9))
    return got.tolist()


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("world", [2, 3])
def test_counts_and_weights_are_those_of_all_labels_together(ranks, world, multilabel):
    counts = ranks(world).run(case_counts, multilabel)
    assert all(c == counts[0] for c in counts)


def case_refusals():
    with pytest.raises(TypeError, match=r"counts must hold real numbers"):
        class_balanced_weights(torch.tensor([True, False]))
    with pytest.raises(TypeError, match=r"group must be a torch.distributed.ProcessGroup"):
        class_counts(torch.tensor([0, 1]), 2, group="world")


def test_bad_arguments_are_refused(ranks):
    ranks(2).run(case_refusals)
