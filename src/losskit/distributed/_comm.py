"""The torch.distributed calls losskit makes: thin wrappers over torch's own collectives.

Every collective losskit issues goes through this file (so the count per call is easy to read
off): an all-gather into one tensor, an in-place all-reduce (sum), and, for evaluation-time
helpers only, a gather of tensors whose first dimension differs between ranks.
"""

from __future__ import annotations

import torch
from torch import Tensor

try:  # torch.distributed is absent from some builds (e.g. some macOS wheels)
    import torch.distributed as dist
except ImportError:  # pragma: no cover - depends on the torch build
    dist = None  # type: ignore[assignment]

__all__ = ["check_group", "rank", "world_size", "all_gather", "all_reduce", "gather_rows"]


def check_group(group: object, fn: str) -> object | None:
    """``group`` (a ``ProcessGroup``, or ``None`` for the default group) once torch.distributed is up."""
    if dist is None or not dist.is_available():
        raise RuntimeError(f"{fn}: this torch build has no torch.distributed; install a build that has it")
    if not dist.is_initialized():
        raise RuntimeError(
            f"{fn}: torch.distributed is not initialised; call "
            "torch.distributed.init_process_group(backend) first ('gloo' on CPU, 'nccl' on GPUs)"
        )
    if group is not None and not isinstance(group, dist.ProcessGroup):
        raise TypeError(
            f"{fn}: group must be a torch.distributed.ProcessGroup or None (the default group), got "
            f"{type(group).__name__}; make one with torch.distributed.new_group(ranks) or "
            "device_mesh.get_group(dim)"
        )
    return group


def rank(group) -> int:
    """This process's rank within ``group``."""
    return dist.get_rank(group)


def world_size(group) -> int:
    """The number of ranks in ``group``."""
    return dist.get_world_size(group)


def all_gather(t: Tensor, group) -> Tensor:
    """``(world, *t.shape)``: ``t`` of every rank of ``group``, stacked in rank order (one collective)."""
    world = world_size(group)
    out = t.new_empty(world * t.numel())  # the concatenated form: every backend takes it
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor  # renamed in torch 2.13
    gather(out, t.reshape(-1).contiguous(), group=group)
    return out.view(world, *t.shape)


def all_reduce(t: Tensor, group) -> Tensor:
    """``t`` summed over ``group``, in place (one collective); returns ``t``."""
    dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
    return t


def gather_rows(t: Tensor, group) -> Tensor:
    """``t`` of every rank concatenated along dim 0, in rank order; the first dimension may differ
    between ranks (the other dimensions may not). Two collectives (the lengths, then the rows
    padded to the longest), and a host read of the lengths: for evaluation, not for a training step."""
    if t.dtype == torch.bool:  # not every backend reduces bool tensors: send bytes
        return gather_rows(t.to(torch.uint8), group).bool()
    t = t.contiguous()
    lengths = all_gather(torch.full((), t.shape[0], dtype=torch.int64, device=t.device), group).tolist()
    longest = max(lengths)
    padded = t.new_zeros((longest, *t.shape[1:]))
    padded[: t.shape[0]] = t
    every = all_gather(padded, group)
    return torch.cat([every[r, :n] for r, n in enumerate(lengths)])
