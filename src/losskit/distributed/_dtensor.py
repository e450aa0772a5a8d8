"""Class-sharded DTensors given to ``losskit.functional.cross_entropy`` / ``linear_cross_entropy``.

Code written for torch's ``loss_parallel()`` (logits from a ``ColwiseParallel`` output layer with
``use_local_output=False``, a ``Shard`` on the class dimension) works with losskit's functions
as they are, with every losskit option: the mesh dimension that shards the classes is the
vocabulary-parallel group, and :mod:`losskit.distributed` computes on the local pieces. Other
mesh dimensions may replicate or shard the positions (data parallel); there ``"mean"`` is the
exact mean over every position of the mesh (torch's ``loss_parallel`` refuses ``"mean"`` on a
mesh of more than one dimension).

The result is a DTensor: ``"none"`` placed like the positions (``Replicate`` on the class mesh
dimension), ``"sum"`` with ``Partial`` over the mesh dimensions that shard the positions,
``"mean"`` replicated. No ``loss_parallel()`` context is needed, for the forward or the backward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.distributed.tensor import DTensor, Partial, Replicate, Shard

from .. import _reduction
from .._reduction import check_all_ignored
from ._cross_entropy import cross_entropy_parts, linear_cross_entropy_parts
from ._means import mean_over_groups

if TYPE_CHECKING:
    from torch.distributed.device_mesh import DeviceMesh

__all__ = ["cross_entropy", "linear_cross_entropy"]


@dataclass(frozen=True)
class _Layout:
    """The mesh of the logits, the mesh dimension that shards the classes, and the positions' placements."""

    mesh: DeviceMesh
    tp: int
    logits: tuple  # placements of the logits
    positions: tuple  # placements of the loss per position (the class dimension removed)

    @property
    def group(self):
        return self.mesh.get_group(self.tp)

    @property
    def batch_groups(self) -> list:
        return [self.mesh.get_group(i) for i, p in enumerate(self.positions) if p.is_shard()]

    def pieces(self, t, placements, shape, name: str, fn: str) -> Tensor:
        """This rank's piece of ``t`` under ``placements``: a DTensor is redistributed; a plain tensor
        must be the whole value ``shape`` (the same on every rank) and is cut locally."""
        if isinstance(t, DTensor):
            return self.local(t.redistribute(self.mesh, placements))
        if tuple(t.shape) != tuple(shape):
            raise ValueError(
                f"{fn}: {name} is a plain tensor of shape {tuple(t.shape)} beside DTensor inputs; pass "
                f"the whole {name} (shape {tuple(shape)}, the same on every rank) or a DTensor"
            )
        whole = DTensor.from_local(t, self.mesh, [Replicate()] * self.mesh.ndim, run_check=False)
        return whole.redistribute(self.mesh, placements).to_local()  # Replicate -> Shard: a local cut

    def local(self, t: DTensor) -> Tensor:
        """``t.to_local()``; where ``t`` is replicated over a mesh dimension that shards the positions,
        its local gradient is this rank's part of a sum (``Partial``), not the whole."""
        grads = [
            Partial() if pos.is_shard() and p.is_replicate() else p
            for pos, p in zip(self.positions, t.placements, strict=True)
        ]
        return t.to_local(grad_placements=grads)

    def classes_only(self) -> list:
        """Placements of a per-class vector (weight, bias): sharded like the classes, replicated elsewhere."""
        return [Shard(0) if i == self.tp else Replicate() for i in range(self.mesh.ndim)]

    def result(self, out: Tensor, reduction: str, shape: tuple) -> DTensor:
        if reduction == "none":
            placements = self.positions
        elif reduction == "sum":
            placements = tuple(Partial() if p.is_shard() else Replicate() for p in self.positions)
        else:
            placements = (Replicate(),) * self.mesh.ndim
        stride = torch.empty(shape, device="meta").stride() if reduction == "none" else ()
        return DTensor.from_local(
            out,
            self.mesh,
            placements,
            run_check=False,
            shape=torch.Size(shape if reduction == "none" else ()),
            stride=stride,
        )


def _layout(fn: str, placements: tuple, mesh, class_dim: int, name: str) -> _Layout:
    tp = [i for i, p in enumerate(placements) if p.is_shard(class_dim)]
    if len(tp) != 1:
        raise ValueError(
            f"{fn}: {name} is a DTensor with placements {tuple(placements)}; losskit's vocabulary-parallel "
            f"path needs its class dimension {class_dim} sharded on exactly one mesh dimension "
            f"(Shard({class_dim}), e.g. from ColwiseParallel(use_local_output=False)); redistribute it, or "
            "pass a plain tensor"
        )
    for p in placements:
        if not (p.is_shard() or p.is_replicate()):
            raise ValueError(
                f"{fn}: {name} has placement {p}; only Shard and Replicate are supported: "
                "redistribute it first (e.g. dtensor.redistribute(mesh, [Replicate(), ...]))"
            )
    positions = tuple(
        Replicate() if i == tp[0] else Shard(p.dim - 1) if p.is_shard() and p.dim > class_dim else p
        for i, p in enumerate(placements)
    )
    return _Layout(mesh, tp[0], tuple(placements), positions)


def _finish(fn: str, lay: _Layout, parts, reduction: str, all_ignored: str, shape: tuple, summed: bool) -> DTensor:
    """The reduction of the local parts, as a DTensor; ``mean`` over every position of the mesh."""
    if reduction == "none":
        out = _reduction.reduce(parts.out, "none", valid=parts.valid).reshape(parts.shape)
    else:
        total = parts.out if summed else _reduction.reduce(parts.out, "sum", valid=parts.valid)
        if reduction == "sum":
            out = total
        else:  # the exact mean: sums and counts over the mesh dimensions that shard the positions
            out = mean_over_groups(total, parts.count(), lay.batch_groups, all_ignored, fn)
    return lay.result(out.to(parts.dtype), reduction, shape)


def cross_entropy(
    logits: DTensor, target, weight, ignore_index, reduction: str, label_smoothing, *, z_loss, softcap, all_ignored
) -> DTensor:
    """``losskit.functional.cross_entropy`` of DTensor ``logits`` sharded on the class dimension."""
    fn = "cross_entropy"
    all_ignored = check_all_ignored(all_ignored)
    cd = 1 if logits.dim() > 1 else 0
    lay = _layout(fn, logits.placements, logits.device_mesh, cd, "logits")
    probs = isinstance(target, Tensor) and tuple(target.shape) == tuple(logits.shape)
    shape = tuple(logits.shape[:cd] + logits.shape[cd + 1 :])
    t = lay.pieces(target, lay.logits if probs else lay.positions, logits.shape if probs else shape, "target", fn)
    w = None if weight is None else lay.pieces(weight, lay.classes_only(), (logits.shape[cd],), "weight", fn)
    parts = cross_entropy_parts(lay.local(logits), t, lay.group, w, ignore_index, label_smoothing, z_loss, softcap)
    return _finish(fn, lay, parts, reduction, all_ignored, shape, summed=False)


def linear_cross_entropy(
    input,
    linear_weight,
    target,
    *,
    linear_bias,
    weight,
    reduction: str,
    ignore_index,
    label_smoothing,
    chunk_size,
    all_ignored,
) -> DTensor:
    """``losskit.functional.linear_cross_entropy`` with DTensor ``linear_weight`` sharded on its rows (the classes)."""
    fn = "linear_cross_entropy"
    all_ignored = check_all_ignored(all_ignored)
    if not isinstance(linear_weight, DTensor) or linear_weight.dim() != 2:
        raise ValueError(
            f"{fn}: with DTensor inputs, linear_weight must be a 2-D DTensor (C, H) sharded on its rows "
            "(Shard(0), e.g. from ColwiseParallel); got "
            f"{type(linear_weight).__name__} of shape {tuple(linear_weight.shape)}"
        )
    mesh = linear_weight.device_mesh
    cd = 1 if input.dim() > 1 else 0
    weight_pl = linear_weight.placements
    if any(p.is_shard(1) for p in weight_pl):
        raise ValueError(
            f"{fn}: linear_weight is sharded on its input features (placements {tuple(weight_pl)}); "
            "the vocabulary-parallel path needs it sharded on its rows (Shard(0))"
        )
    if not isinstance(input, DTensor) and mesh.ndim > 1:
        raise ValueError(
            f"{fn}: input is a plain tensor but linear_weight lives on a {mesh.ndim}-dimensional mesh; "
            "pass input as a DTensor, whose placements say which mesh dimensions shard the tokens"
        )
    input_pl = input.placements if isinstance(input, DTensor) else (Replicate(),)
    if any(p.is_shard(input.dim() - 1) for p in input_pl):
        raise ValueError(
            f"{fn}: input is sharded on its features (placements {tuple(input_pl)}); replicate them "
            "across the mesh (e.g. SequenceParallel's output gathered), or shard the tokens (Shard(0))"
        )
    logits_pl = tuple(Shard(cd) if w.is_shard(0) else p for w, p in zip(weight_pl, input_pl, strict=True))
    lay = _layout(fn, logits_pl, mesh, cd, "linear_weight")
    classes, shape = linear_weight.shape[0], tuple(input.shape[:-1])
    x = lay.local(input) if isinstance(input, DTensor) else input
    probs = isinstance(target, Tensor) and target.is_floating_point() and tuple(target.shape) == (*shape, classes)
    t = lay.pieces(target, lay.logits if probs else lay.positions, (*shape, classes) if probs else shape, "target", fn)
    w, b = (
        None if v is None else lay.pieces(v, lay.classes_only(), (classes,), name, fn)
        for v, name in ((weight, "weight"), (linear_bias, "linear_bias"))
    )
    parts = linear_cross_entropy_parts(
        x,
        lay.local(linear_weight),
        t,
        lay.group,
        b,
        w,
        ignore_index,
        label_smoothing,
        0.0,
        chunk_size,
        reduction == "none",
    )
    return _finish(fn, lay, parts, reduction, all_ignored, shape, summed=reduction != "none")
