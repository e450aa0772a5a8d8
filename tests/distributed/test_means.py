"""global_mean and target_count on 2 and 3 gloo ranks: the exact mean over ranks and accumulation
steps, its gradient (1 / global count, no collective in the backward), and a DDP training run that
equals one process training on the concatenated batch."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
import torch.distributed as dist

import losskit.functional as LF
from helpers import TOL, assert_close
from losskit.distributed import global_mean, target_count, vocab_parallel_cross_entropy

_COLLECTIVES = (
    "all_gather_single",
    "all_gather_into_tensor",
    "all_gather",
    "all_reduce",
    "broadcast",
    "reduce_scatter_tensor",
    "all_to_all_single",
    "gather",
    "scatter",
    "reduce",
)


@contextlib.contextmanager
def count_collectives(calls: list):
    """Record the name of every torch.distributed collective called inside the block."""
    saved = {name: getattr(dist, name) for name in _COLLECTIVES if hasattr(dist, name)}

    def spy(name, fn):
        def call(*args, **kwargs):
            calls.append(name)
            return fn(*args, **kwargs)

        return call

    for name, fn in saved.items():
        setattr(dist, name, spy(name, fn))
    try:
        yield calls
    finally:
        for name, fn in saved.items():
            setattr(dist, name, fn)


def _rank_targets(rank: int, n: int, ignored: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed + 17 * rank)
    y = torch.randint(0, 5, (n,), generator=g)
    return torch.where(torch.rand(n, generator=g) < ignored, torch.full_like(y, -100), y)


def case_global_mean(ignored_per_rank, dtype_name, all_ignored):
    dtype = getattr(torch, dtype_name)
    r, world = dist.get_rank(), dist.get_world_size()
    counts = [sum(int(v != -100) for v in _rank_targets(k, 6, ignored_per_rank[k])) for k in range(world)]
    sums = [float(3 * k + 1.5) if counts[k] else 0.0 for k in range(world)]  # no counted target: a sum of 0
    s = torch.tensor(sums[r], dtype=dtype, requires_grad=True)
    calls: list = []
    with count_collectives(calls):
        m = global_mean(s, torch.tensor(counts[r]) if r % 2 else counts[r], all_ignored=all_ignored)
    assert calls == ["all_reduce"], calls
    assert m.dtype == dtype
    total = sum(counts)
    want = sum(sums) / total if total else (0.0 if all_ignored == "zero" else math.nan)
    assert_close(m.detach(), torch.tensor(want, dtype=torch.float64), tol=TOL[dtype])
    calls.clear()
    with count_collectives(calls):
        m.backward()
    assert calls == [], f"collectives in the backward: {calls}"
    # "zero" divides by 1 (as losskit's weighted mean): the sum of ignored targets' losses, 0, with
    # their gradient (0) passed on unscaled
    grad = 1.0 / total if total else (1.0 if all_ignored == "zero" else math.inf)
    assert_close(s.grad, torch.tensor(grad, dtype=torch.float64), tol=TOL[dtype])
    return m.item()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
@pytest.mark.parametrize("world", [2, 3])
def test_global_mean_is_the_sum_over_ranks_over_the_count_over_ranks(ranks, world, dtype):
    ignored = [0.0, 1.0, 0.5][:world]  # rank 1 has no counted target at all
    values = ranks(world).run(case_global_mean, ignored, dtype, "nan")
    assert len(set(values)) == 1


@pytest.mark.parametrize("all_ignored", ["nan", "zero"])
def test_global_mean_of_a_group_without_counted_targets(ranks, all_ignored):
    ranks(3).run(case_global_mean, [1.0, 1.0, 1.0], "float32", all_ignored)


def case_target_count(weighted, ignore_index):
    r, world = dist.get_rank(), dist.get_world_size()
    weight = torch.tensor([0.5, 1.0, 2.0, 0.0, 3.0]) if weighted else None
    steps = {k: [_rank_targets(k, 5 + m, 0.4, seed=m) for m in range(2)] for k in range(world)}  # 2 micro-batches
    if ignore_index is None:  # nothing ignored: every target a class
        steps = {k: [y.clamp(min=0) for y in ys] for k, ys in steps.items()}
    got = target_count(steps[r], ignore_index=ignore_index, weight=weight)
    every = torch.cat([y for k in range(world) for y in steps[k]])
    keep = every != ignore_index if ignore_index is not None else torch.ones_like(every, dtype=torch.bool)
    want = keep.sum() if weight is None else weight[every.clamp(min=0)][keep].sum()
    assert got.dtype == torch.float64
    assert_close(got, want.double(), tol=TOL[torch.float64])
    one = target_count(steps[r][0], ignore_index=ignore_index, weight=weight)  # a tensor, not a sequence
    first = torch.cat([steps[k][0] for k in range(world)])
    keep = first != ignore_index if ignore_index is not None else torch.ones_like(first, dtype=torch.bool)
    assert_close(one, (keep.sum() if weight is None else weight[first.clamp(min=0)][keep].sum()).double())


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, None])
def test_target_count_counts_every_micro_batch_of_every_rank(ranks, weighted, ignore_index):
    ranks(3).run(case_target_count, weighted, ignore_index)


def case_vocab_parallel_collectives(reduction):
    """vocab_parallel_cross_entropy: at most three collectives in the forward, none in the backward."""
    r = dist.get_rank()
    logits = torch.randn(8, 5 + r, requires_grad=True)
    classes = sum(5 + k for k in range(dist.get_world_size()))  # shards of 5, 6, 7 classes
    target = torch.randint(0, classes, (8,), generator=torch.Generator().manual_seed(0))
    calls: list = []
    with count_collectives(calls):
        out = vocab_parallel_cross_entropy(
            logits, target, group=None, weight=torch.rand(5 + r), label_smoothing=0.1, z_loss=1e-3, reduction=reduction
        )
    assert len(calls) <= 3, f"{len(calls)} collectives in the forward: {calls}"
    forward = list(calls)
    calls.clear()
    with count_collectives(calls):
        out.sum().backward()
    assert calls == [], f"collectives in the backward: {calls}"
    return forward


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_vocab_parallel_cross_entropy_makes_two_collectives_and_none_in_the_backward(ranks, reduction):
    calls = ranks(3).run(case_vocab_parallel_collectives, reduction)
    assert all(len(c) == 2 for c in calls), calls  # the shard layout, then the per-position numbers


def _model():
    torch.manual_seed(123)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 5)).double()


def _micro_batches(rank: int, step: int):
    """Two micro-batches per rank and step; rank 0 ignores few targets, rank 1 most."""
    out = []
    for m in range(2):
        g = torch.Generator().manual_seed(1000 * step + 10 * rank + m)
        x = torch.randn(6 + 2 * m, 4, generator=g, dtype=torch.float64)
        y = torch.randint(0, 5, (x.shape[0],), generator=g)
        y[torch.rand(x.shape[0], generator=g) < (0.1 if rank == 0 else 0.7)] = -100
        out.append((x, y))
    return out


def case_ddp_training(recipe: str, steps: int = 3):
    from torch.nn.parallel import DistributedDataParallel as DDP

    r, world = dist.get_rank(), dist.get_world_size()
    model = DDP(_model())
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for step in range(steps):
        mbs = _micro_batches(r, step)
        n = target_count([y for _, y in mbs])
        for i, (x, y) in enumerate(mbs):
            with model.no_sync() if i < len(mbs) - 1 else contextlib.nullcontext():
                if recipe == "target_count":
                    loss = LF.cross_entropy(model(x), y, reduction="sum") * world / n
                elif recipe == "global_mean":  # this rank's count of the whole step, summed over the group inside
                    s = LF.cross_entropy(model(x), y, reduction="sum")
                    loss = global_mean(s, sum(int((t != -100).sum()) for _, t in mbs)) * world
                else:  # the common mistake: each rank and micro-batch takes its own mean
                    loss = LF.cross_entropy(model(x), y) / len(mbs)
                loss.backward()
        opt.step()
        opt.zero_grad()

    single = _model()  # one process on the concatenated batch of every rank and micro-batch
    opt1 = torch.optim.SGD(single.parameters(), lr=0.5, momentum=0.9)
    for step in range(steps):
        batch = [mb for k in range(world) for mb in _micro_batches(k, step)]
        x, y = torch.cat([b[0] for b in batch]), torch.cat([b[1] for b in batch])
        LF.cross_entropy(single(x), y).backward()
        opt1.step()
        opt1.zero_grad()
    diffs = [float((a - b).abs().max()) for a, b in zip(model.module.parameters(), single.parameters(), strict=True)]
    return max(diffs)


@pytest.mark.parametrize("recipe", ["target_count", "global_mean"])
def test_ddp_with_accumulation_equals_one_process_on_the_whole_batch(ranks, recipe):
    diffs = ranks(2).run(case_ddp_training, recipe, timeout=120)
    assert max(diffs) < 1e-12, f"parameters after 3 steps differ from single-process training by {max(diffs)}"


def test_averaging_per_rank_means_is_not_the_whole_batch_mean(ranks):
    """The check above is sensitive: averaging each rank's own mean (uneven ignored tokens) drifts."""
    diffs = ranks(2).run(case_ddp_training, "per-rank means", timeout=120)
    assert min(diffs) > 1e-3, diffs


def case_refusals():
    s = torch.tensor(1.0)
    with pytest.raises(ValueError, match=r"loss_sum must be a scalar"):
        global_mean(torch.ones(3), 3)
    with pytest.raises(TypeError, match=r"loss_sum must be a floating-point tensor"):
        global_mean(torch.tensor(3), 3)
    with pytest.raises(ValueError, match=r"count must be a 0-dimensional real tensor"):
        global_mean(s, torch.ones(2))
    with pytest.raises(ValueError, match=r"count has 1 entry below 0"):
        global_mean(s, torch.tensor(-1))
    with pytest.raises(ValueError, match=r"count must be in \[0, inf\]"):
        global_mean(s, -2)
    with pytest.raises(TypeError, match=r"count must be a tensor or a number, got str"):
        global_mean(s, "3")
    with pytest.raises(ValueError, match=r"all_ignored='skip' is not valid"):
        global_mean(s, 3, all_ignored="skip")
    with pytest.raises(TypeError, match=r"group must be a torch.distributed.ProcessGroup or None"):
        global_mean(s, 3, group=[0, 1])
    with pytest.raises(ValueError, match=r"target is an empty sequence"):
        target_count([])
    with pytest.raises(TypeError, match=r"target must hold class indices"):
        target_count(torch.rand(3))
    with pytest.raises(TypeError, match=r"ignore_index must be an int"):
        target_count(torch.tensor([1]), ignore_index=0.5)
    with pytest.raises(ValueError, match=r"target has class index 7 outside \[0, 2\]"):
        target_count(torch.tensor([1, 7]), weight=torch.ones(3))
    with pytest.raises(TypeError, match=r"weight must be a floating-point tensor"):
        target_count(torch.tensor([1]), weight=torch.tensor([1, 2]))


def test_bad_arguments_are_refused_on_every_rank(ranks):
    ranks(2).run(case_refusals)


def test_calls_without_a_process_group_say_how_to_start_one():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match=r"torch.distributed is not initialised; call .*init_process_group"):
        global_mean(torch.tensor(1.0), 1)
    with pytest.raises(RuntimeError, match=r"not initialised"):
        vocab_parallel_cross_entropy(torch.randn(2, 3), torch.tensor([0, 1]), group=None)
