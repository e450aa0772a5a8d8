r"""Cross-entropy over a vocabulary sharded across the ranks of a process group.

Each rank holds a contiguous slice of the classes (ranks in group order; slices may differ in
size). The full ``(tokens, classes)`` logits are never gathered: every rank reduces its slice to a
few numbers per token, the group exchanges those, and each rank forms the loss of every token and
the gradient of its own slice. The identities used, with :math:`r` the ranks and :math:`S_r` the
classes of rank :math:`r`:

.. math::
    \operatorname{lse}(z) = \log \sum_r \exp \operatorname{lse}(z_{S_r}), \qquad
    z_y = \sum_r [y \in S_r]\, z_y, \qquad \sum_c w_c z_c = \sum_r \sum_{c \in S_r} w_c z_c,

and :math:`\partial \ell / \partial z_c` only needs :math:`p_c = \exp(z_c - \operatorname{lse})`
and per-token numbers every rank has, so the backward of :func:`vocab_parallel_cross_entropy`
needs no collective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from .. import _checks, _reduction
from .._reduction import Sums, check_all_ignored, check_reduction, denominator
from ..functional._cross_entropy import linear_inputs
from . import _comm

__all__ = ["vocab_parallel_cross_entropy", "vocab_parallel_linear_cross_entropy"]

# values of a block of logits held in float32 at once (2**25: 128 MiB), when no chunk size is given
_BLOCK_ELEMENTS = 1 << 25


def _rows_per_block(per_row: int) -> int:
    return max(1, _BLOCK_ELEMENTS // max(1, per_row))


@dataclass(frozen=True)
class _Shard:
    """Where this rank's classes sit in the group, and the group-wide constants of the formula.

    The first three are device tensors (from one all-gather): no value is read on the host.
    """

    offset: Tensor  # 0-d long: global index of this shard's first class
    classes: Tensor  # 0-d: C, the number of classes over the group
    weight_sum: Tensor  # 0-d: sum of the class weights over the group (C without weights)
    weight: Tensor | None  # (C_r,) this shard's class weights in the compute dtype
    group: object
    ignore_index: int
    eps: float  # label smoothing
    zeta: float  # z-loss coefficient
    probs: bool  # class-probability targets (sliced like the logits)


def _layout(
    fn: str, group, local_classes: int, positions: int, weight: Tensor | None, device, acc: torch.dtype
) -> tuple[Tensor, Tensor, Tensor]:
    """One all-gather of (classes, weight sum, positions) per rank: this shard's offset, the group's
    totals (classes, weight sum) and the gathered ``(world, 3)`` table."""
    f64 = torch.float64
    size = torch.full((), float(local_classes), dtype=f64, device=device)
    mine = torch.stack(
        [
            size,
            size if weight is None else weight.sum(dtype=f64),
            torch.full((), float(positions), dtype=f64, device=device),
        ]
    )
    every = _comm.all_gather(mine, group)
    if _checks.values_checkable(every) and bool((every[:, 2] != every[0, 2]).any()):
        raise ValueError(
            f"{fn}: the ranks of the group hold different numbers of positions "
            f"({every[:, 2].long().tolist()} in rank order); every rank must pass the logits of the "
            "same tokens (its own slice of the classes) and the same target"
        )
    offset = every[: _comm.rank(group), 0].sum().long()  # the classes of the ranks before this one
    return offset, every[:, :2].sum(0).to(acc), every


def _along_classes(w: Tensor, z: Tensor) -> Tensor:
    """A ``(C_r,)`` vector viewed along dim 1 of ``z`` ``(R, C_r, d1..dk)``."""
    return w.view(-1, *([1] * (z.dim() - 2)))


def _owned(t: Tensor, s: _Shard, local_classes: int) -> tuple[Tensor, Tensor]:
    """Positions whose (counted) target class is in this shard, and its local index (0 elsewhere)."""
    li = t - s.offset
    own = (li >= 0) & (li < local_classes) & (t != s.ignore_index)
    return own, torch.where(own, li, torch.zeros((), dtype=li.dtype, device=li.device))


def _smoothed(t: Tensor, s: _Shard, dtype: torch.dtype, z: Tensor) -> Tensor:
    """Weighted smoothed probability targets ``w_c ((1-eps) t_c + eps/C)`` of this shard."""
    wt = t.to(dtype)
    if s.eps:
        wt = wt * (1.0 - s.eps) + s.eps / s.classes  # t' = (1-eps) t + eps/C
    return wt if s.weight is None else wt * _along_classes(s.weight, z)


def _logsumexp(z: Tensor) -> Tensor:
    """``logsumexp(z, 1)`` with one temporary the size of ``z`` (torch's makes two): m + log sum exp(z - m)."""
    if not z.shape[1]:  # an empty shard: exp sums to 0
        return torch.full((z.shape[0], *z.shape[2:]), -torch.inf, dtype=z.dtype, device=z.device)
    m = z.amax(1, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros((), dtype=m.dtype, device=m.device), m)  # rows of +-inf, as torch
    return (z - m).exp_().sum(1).log_().add_(m.squeeze(1))


def _local_stats(z: Tensor, t: Tensor, s: _Shard) -> Tensor:
    """``(k, R, ...)``: what a block of this shard's logits ``z`` contributes to each position.

    Class indices: ``lse`` of the slice, the target logit (0 unless the target is here), the
    target's weight (with weights), ``sum_c w_c z_c`` (with smoothing). Probabilities: ``lse``,
    ``sum_c w_c t'_c``, ``sum_c w_c t'_c z_c``.
    """
    parts = [_logsumexp(z)]
    if s.probs:
        wt = _smoothed(t, s, z.dtype, z)
        return torch.stack([*parts, wt.sum(1), (wt * z).sum(1)])
    own, li = _owned(t, s, z.shape[1])
    zero = torch.zeros((), dtype=z.dtype, device=z.device)
    if z.shape[1]:
        picked = [z.gather(1, li.unsqueeze(1)).squeeze(1)] + ([] if s.weight is None else [s.weight[li]])
        parts += [torch.where(own, v, zero) for v in picked]
    else:  # an empty shard owns no target
        parts += [zero.expand(own.shape)] * (1 if s.weight is None else 2)
    if s.eps:
        parts.append((z if s.weight is None else z * _along_classes(s.weight, z)).sum(1))
    return torch.stack(parts)


def _combine(every: Tensor) -> Tensor:
    """The group's numbers from every rank's ``_local_stats`` ``(world, k, ...)``: lse over ranks, sums for the rest."""
    return torch.cat([torch.logsumexp(every[:, :1], 0), every[:, 1:].sum(0)])


def _rows(st: Tensor, t: Tensor, s: _Shard) -> tuple[Tensor, Tensor]:
    """Loss per position from the group's numbers, and the per-position factor the gradient needs
    (``a = [counted] w_y`` for class indices, ``sum_c w_c t'_c`` for probabilities)."""
    lse = st[0]
    if s.probs:
        _, s1, s2 = st
        rows = lse * s1 - s2  # -sum_c w_c t'_c log p_c = lse sum_c w_c t'_c - sum_c w_c t'_c z_c
        return (rows + s.zeta * lse.square() if s.zeta else rows), s1
    zy = st[1]
    v = (t != s.ignore_index).to(lse.dtype)
    a = st[2] if s.weight is not None else v
    rows = a * (1.0 - s.eps) * (lse - zy)  # w_y (-log p_y), weighted by 1 - eps
    if s.eps:  # (eps/C) sum_c w_c (-log p_c) = (eps/C) (W lse - sum_c w_c z_c)
        rows = rows + v * (s.eps / s.classes) * (s.weight_sum * lse - st[-1])
    if s.zeta:
        rows = rows + s.zeta * a * lse.square()  # z-loss zeta w_y lse^2
    return rows, a


def _block_grad(
    z: Tensor, t: Tensor, lse: Tensor, aux: Tensor, g: Tensor, s: _Shard, target_grad: bool
) -> tuple[Tensor, Tensor | None]:
    r"""Gradient of :math:`\sum_i g_i \ell_i` w.r.t. a block of this shard's logits (and probability targets).

    Class indices: :math:`\partial\ell/\partial z_c = p_c\,(a(1-\varepsilon) + v\varepsilon W/C + 2\zeta a\,\mathrm{lse})
    - a(1-\varepsilon)[c=y] - v\tfrac{\varepsilon}{C} w_c`; probabilities: :math:`p_c(\sum_k w_k t'_k +
    2\zeta\,\mathrm{lse}) - w_c t'_c` and :math:`\partial\ell/\partial t_c = (1-\varepsilon) w_c (\mathrm{lse} - z_c)`.
    Positions that are not counted get exactly 0, whatever ``g`` holds there.
    """
    p = (z - lse.unsqueeze(1)).exp_()  # softmax of the whole row, from the group's lse
    if s.probs:
        coef = aux + 2.0 * s.zeta * lse if s.zeta else aux
        dz = p.mul_(coef.unsqueeze(1)).sub_(_smoothed(t, s, z.dtype, z)).mul_(g.unsqueeze(1))
        if not target_grad:
            return dz, None
        dt = (lse.unsqueeze(1) - z).mul_(g.unsqueeze(1) * (1.0 - s.eps))
        return dz, (dt if s.weight is None else dt.mul_(_along_classes(s.weight, z)))
    zero = torch.zeros((), dtype=z.dtype, device=z.device)
    counted = t != s.ignore_index
    gs = torch.where(counted, g.to(z.dtype), zero)
    coef = aux * (1.0 - s.eps)
    if s.eps:
        coef = coef + counted.to(z.dtype) * (s.eps * s.weight_sum / s.classes)
    if s.zeta:
        coef = coef + 2.0 * s.zeta * aux * lse
    dz = p.mul_((gs * coef).unsqueeze(1))
    own, li = _owned(t, s, z.shape[1])
    if z.shape[1]:
        dz.scatter_add_(1, li.unsqueeze(1), torch.where(own, -gs * aux * (1.0 - s.eps), zero).unsqueeze(1))
    if s.eps:
        share = (gs * (s.eps / s.classes)).unsqueeze(1)
        dz.sub_(share if s.weight is None else share * _along_classes(s.weight, z))
    return dz, None


def _acc_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _spans(n: int, step: int):
    return ((i, min(n, i + step)) for i in range(0, n, step))


class _VocabParallelCE(torch.autograd.Function):
    """Loss per position of sharded logits ``(N, C_r, ...)``: two collectives in the forward, none in the backward."""

    @staticmethod
    def forward(ctx, logits: Tensor, target: Tensor, s: _Shard):
        acc = _acc_dtype(logits.dtype)
        n = logits.shape[0]
        step = _rows_per_block(logits[:1].numel())
        local = torch.cat([_local_stats(logits[i:j].to(acc), target[i:j], s) for i, j in _spans(n, step)], 1)
        st = _combine(_comm.all_gather(local, s.group))
        rows, aux = _rows(st, target, s)
        ctx.save_for_backward(logits, target, st[0], aux)
        ctx.shard, ctx.step = s, step
        ctx.mark_non_differentiable(aux)
        return rows, aux

    @staticmethod
    @once_differentiable
    def backward(ctx, g_rows: Tensor, _g_aux):
        logits, target, lse, aux = ctx.saved_tensors
        s, acc = ctx.shard, _acc_dtype(logits.dtype)
        need_t = ctx.needs_input_grad[1]
        grad = torch.empty_like(logits) if ctx.needs_input_grad[0] else None
        grad_t = torch.empty_like(target) if need_t else None
        for i, j in _spans(logits.shape[0], ctx.step):
            dz, dt = _block_grad(logits[i:j].to(acc), target[i:j], lse[i:j], aux[i:j], g_rows[i:j], s, need_t)
            if grad is not None:
                grad[i:j] = dz
            if grad_t is not None and dt is not None:  # dt is computed exactly when need_t
                grad_t[i:j] = dt
            del dz, dt  # one block's buffers at a time
        return grad, grad_t, None


def _shard_weight(fn: str, weight: Tensor | None, local_classes: int, like: Tensor, name: str) -> Tensor | None:
    """This shard's class weights ``(C_r,)``, >= 0, in the dtype the loss computes in; no gradient."""
    if weight is None:
        return None
    _checks.floating(weight, "weight")
    if weight.dim() != 1 or weight.shape[0] != local_classes:
        raise ValueError(
            f"{fn}: weight must be this rank's slice of the class weights, one entry per class of "
            f"{name} ({local_classes},), got shape {tuple(weight.shape)}"
        )
    _checks.values_in(weight, "weight", low=0.0, fix="weight scales each class's term; pass values >= 0")
    if weight.requires_grad and torch.is_grad_enabled():
        raise ValueError(
            f"{fn}: weight requires grad, but class weights get no gradient (as in torch's "
            "cross_entropy); pass weight.detach()"
        )
    return _checks.like_dtype(weight, _checks.autocast_dtype(like), "weight", name, fn=fn)


def _prepare(
    fn: str,
    group,
    like: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: object,
    label_smoothing: object,
    z_loss: object,
    name: str,
) -> tuple[_checks.ClassInputs, _Shard]:
    """Checks, then the layout collective, then the checks that need the group's class count.

    ``like`` stands for this rank's logits ``(N, C_r, ...)`` (shape and dtype). Metadata is checked
    before the collective; class indices are checked against the group's C only where values may be
    read (CPU by default), from numbers every rank has, so that no rank raises alone.
    """
    group = _comm.check_group(group, fn)
    _checks.tensor(target, "target")
    cd = 1 if like.dim() > 1 else 0
    local = like.shape[cd]
    probs = tuple(target.shape) == tuple(like.shape)  # sliced like the logits
    w = _shard_weight(fn, weight, local, like, name)
    zeta = _checks.number(z_loss, "z_loss", low=0.0, fn=fn, hint="0 turns it off; PaLM uses 1e-4")

    def inputs(classes: int) -> _checks.ClassInputs:
        shape = (*like.shape[:cd], classes, *like.shape[cd + 1 :])
        return _checks.class_inputs(
            fn,
            like.new_zeros(()).expand(shape),
            target,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            name=name,
            shape_only=True,
        )

    if probs:
        c = inputs(local)
    else:  # metadata only before the collective: the indices are global, checked below against the group's C
        with _checks.checks("off"):
            c = inputs(local)
    acc = _acc_dtype(_checks.autocast_dtype(like))
    positions = math.prod(like.shape[:cd] + like.shape[cd + 1 :])
    offset, totals, every = _layout(fn, group, local, positions, w, like.device, acc)
    if not probs and _checks.values_checkable(c.target):
        c = inputs(int(every[:, 0].sum()))  # indices against the group's class count (read on the host)
    return c, _Shard(
        offset,
        totals[0],
        totals[1],
        None if w is None else w.to(acc),
        group,
        c.torch_ignore_index,
        c.label_smoothing,
        zeta,
        probs,
    )


def _unit(n: int, like: Tensor) -> Tensor:
    return torch.ones((), dtype=like.dtype, device=like.device).expand(n)


def _linear_pass(
    x: Tensor,
    lw: Tensor,
    lb: Tensor | None,
    target: Tensor,
    s: _Shard,
    chunk: int,
    grads: list,
    g: Tensor | None,
    saved: tuple[Tensor, Tensor] | None,
):
    """One pass over chunks of ``chunk`` tokens of the projection ``z = x W_r^T + b_r`` (one GEMM each).

    Without ``saved`` (the forward): the loss per token, one all-gather per chunk. Where ``grads``
    (``[gx, gW, gb, gt]``, ``None`` for those not wanted) holds buffers, the gradients of
    :math:`\\sum_i g_i \\ell_i` (``g=None``: ones) go into them, two GEMMs a chunk, and the input's
    gradient is summed over the group at the end (one all-reduce). With ``saved`` (``lse``, ``aux``
    of the forward) only the gradients are formed: no all-gather.
    """
    n, acc = x.shape[0], _acc_dtype(x.dtype)
    rows = lse = aux = None
    if saved is None:
        rows, lse, aux = (torch.empty(n, dtype=acc, device=x.device) for _ in range(3))
    else:
        lse, aux = saved
    gx, gw, gb, gt = grads
    for i, j in _spans(n, chunk):
        t = target[i:j]
        z = F.linear(x[i:j], lw, lb).to(acc)  # the chunk's logits: (chunk, C_r), never (N, C_r)
        if saved is None:
            st = _combine(_comm.all_gather(_local_stats(z, t, s), s.group))
            assert rows is not None and aux is not None and lse is not None  # allocated above when saved is None
            rows[i:j], aux[i:j] = _rows(st, t, s)
            lse[i:j] = st[0]
        if any(b is not None for b in grads):
            dz, dt = _block_grad(z, t, lse[i:j], aux[i:j], _unit(j - i, z) if g is None else g[i:j], s, gt is not None)
            dzl = dz.to(x.dtype)
            if gx is not None:
                torch.mm(dzl, lw, out=gx[i:j])  # this shard's part of dL/dx = dL/dz W
            if gw is not None:
                gw.addmm_(dzl.t(), x[i:j])  # dL/dW_r += dL/dz^T x
            if gb is not None:
                gb += dz.sum(0)
            if gt is not None:
                gt[i:j] = dt
            del dz, dzl, dt
        del z  # before the next chunk's logits: one chunk's buffers at a time
    if gx is not None:
        _comm.all_reduce(gx, s.group)  # dL/dx = sum over the shards
    return rows, lse, aux


def _buffers(x: Tensor, lw: Tensor, lb: Tensor | None, target: Tensor, needs) -> list:
    acc = _acc_dtype(x.dtype)
    return [
        torch.empty_like(x) if needs[0] else None,
        torch.zeros_like(lw) if needs[1] else None,
        torch.zeros(lb.shape, dtype=acc, device=lb.device) if lb is not None and needs[2] else None,
        torch.empty_like(target) if needs[3] else None,
    ]


class _VocabParallelLinearCE(torch.autograd.Function):
    """Loss of ``x W_r^T + b_r`` over the group, chunked over tokens. For a sum (``per_row=False``)
    the gradients are formed in the forward (three GEMMs a chunk) and the backward only scales
    them; per row, the backward forms each chunk's logits again."""

    @staticmethod
    def forward(ctx, x, lw, lb, target, s: _Shard, per_row: bool, chunk: int):
        needs = ctx.needs_input_grad[:4]
        grads = _buffers(x, lw, lb, target, needs) if not per_row and any(needs) else [None] * 4
        rows, lse, aux = _linear_pass(x, lw, lb, target, s, chunk, grads, None, None)
        ctx.save_for_backward(x, lw, lb, target, lse, aux)
        ctx.grads = grads  # scaled in place by the backward (not saved: no version check on them)
        ctx.shard, ctx.per_row, ctx.chunk, ctx.consumed = s, per_row, chunk, False
        ctx.mark_non_differentiable(aux)
        out = rows if per_row else _reduction.reduce(rows, "sum", valid=None if s.probs else target != s.ignore_index)
        return out, aux

    @staticmethod
    @once_differentiable
    def backward(ctx, g_out, _g_aux):
        x, lw, lb, target, lse, aux = ctx.saved_tensors
        grads = ctx.grads
        if ctx.per_row:
            grads = _buffers(x, lw, lb, target, ctx.needs_input_grad[:4])
            _linear_pass(x, lw, lb, target, ctx.shard, ctx.chunk, grads, g_out, (lse, aux))
        else:
            if ctx.consumed:
                raise RuntimeError(
                    "vocab_parallel_linear_cross_entropy: its gradients are formed in the forward and "
                    "serve one backward only; call it again for a second backward"
                )
            ctx.consumed = True
            # an all-ignored mean hands down an infinite scale (d(0/0)/d0); every gradient is 0 then, as in torch
            scale = torch.where(torch.isfinite(g_out), g_out, torch.zeros_like(g_out))
            grads = [None if b is None else b.mul_(scale.to(b.dtype)) for b in grads]  # in place: no second buffer
            ctx.grads = None
        gx, gw, gb, gt = grads
        return gx, gw, None if gb is None else gb.to(lb.dtype), gt, None, None, None


def vocab_parallel_cross_entropy(
    logits_shard: Tensor,
    target: Tensor,
    *,
    group,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Cross-entropy of logits whose class dimension is sharded across the ranks of ``group``.

    The numbers of :func:`losskit.functional.cross_entropy` on the gathered logits
    ``torch.cat([shard of rank 0, shard of rank 1, ...], dim=1)``, for every option, without ever
    gathering them: with :math:`\log p_{n,c} = z_{n,c} - \operatorname{lse}(z_n)`, weights
    :math:`w`, :math:`C` classes over the group and smoothing :math:`\varepsilon`, for class indices

    .. math::
        \ell_n = (1-\varepsilon)\, w_{y_n} (-\log p_{n,y_n})
               + \frac{\varepsilon}{C} \sum_c w_c (-\log p_{n,c})
               + \zeta\, w_{y_n} \operatorname{lse}(z_n)^2,
        \qquad \ell_n = 0 \text{ if } y_n = \text{ignore\_index},

    and for class probabilities :math:`t` (sliced like the logits, smoothed to
    :math:`(1-\varepsilon)t + \varepsilon/C`) :math:`\ell_n = -\sum_c w_c t_{n,c} \log p_{n,c} +
    \zeta \operatorname{lse}(z_n)^2`. Each rank reduces its slice to a few numbers per position
    (its log-sum-exp, the target logit if the target class is in its slice, the target's weight,
    :math:`\sum_c w_c z_c`), and the group exchanges them.

    Likelihood: the negative log-likelihood of a Categorical distribution with the softmax link
    over all :math:`C` classes (see :func:`losskit.functional.cross_entropy`); predict with the
    arg-max over the group (the largest of each rank's ``logits_shard.max(1)``).

    Communication: two collectives per call, both in the forward (an all-gather of the shard
    sizes and weight sums, then one all-gather of the per-position numbers, ``k`` values per
    position and rank, ``k <= 4``); the backward forms the gradient of this rank's slice from
    numbers it holds, with no collective. No value is read on the host (on CUDA with the default
    checks). The loss and its gradient are the same on every rank (each rank computes the loss of
    every position); the gradient of ``logits_shard`` is the gradient of that loss with respect to
    this rank's slice. Every rank of ``group`` must call it with the same ``target`` and options.

    Args:
        logits_shard: this rank's contiguous slice of the class dimension, ``(N, C_r)``,
            ``(N, C_r, d1, ..., dk)`` or ``(C_r,)``; ranks hold the slices in group order and
            :math:`C = \sum_r C_r` (the slices may differ in size). Half precision is computed in
            float32, block by block (no float32 copy of the whole slice).
        target: class indices over all :math:`C` classes, shape (N), (N, d1, ..., dk) or (),
            the same on every rank; or class probabilities, this rank's slice, the shape of
            ``logits_shard``.
        group: the ``torch.distributed`` process group the classes are sharded over (``None``:
            the default group).
        weight: this rank's slice of the per-class weights, shape ``(C_r,)``, values >= 0 (no
            gradient, as in torch).
        ignore_index: as in :func:`losskit.functional.cross_entropy` (``None``: none ignored).
        label_smoothing: :math:`\varepsilon \in [0, 1]`, uniform over all :math:`C` classes.
        z_loss: :math:`\zeta \ge 0` (0: off), weighted like the row's loss.
        softcap: ``cap > 0`` replaces the logits by :math:`\text{cap}\tanh(z/\text{cap})` first
            (``None``: off).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        all_ignored: ``"nan"`` (torch's 0/0) or ``"zero"`` for a ``mean`` in which every target is
            ignored.

    Returns:
        ``"none"``: the target's shape (indices) or ``(N, d1, ..., dk)`` (probabilities);
        ``"sum"``: the scalar sum; ``"mean"``: :math:`\sum_n \ell_n / \sum_{n\ \text{counted}} w_{y_n}`
        (torch's weighted mean; the number of positions for probabilities). The same on every rank,
        in ``logits_shard``'s dtype (float32 under ``torch.autocast``).

    Example:
        With a group of one process the shard is the whole vocabulary:

        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import vocab_parallel_cross_entropy
        >>> from losskit.functional import cross_entropy
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> logits, target = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]]), torch.tensor([0, 2])
        >>> vocab_parallel_cross_entropy(logits, target, group=None, label_smoothing=0.1)
        tensor(0.9547)
        >>> cross_entropy(logits, target, label_smoothing=0.1)
        tensor(0.9547)
        >>> dist.destroy_process_group()

    References:
        Shoeybi et al., "Megatron-LM: Training Multi-Billion Parameter Language Models Using Model
        Parallelism", 2019 (vocabulary-parallel cross-entropy); PyTorch,
        ``torch.distributed.tensor.parallel.loss_parallel`` (plain CE on class-sharded DTensors,
        without label smoothing or z-loss).
    """
    reduction = check_reduction(reduction)
    all_ignored = check_all_ignored(all_ignored)
    p = cross_entropy_parts(logits_shard, target, group, weight, ignore_index, label_smoothing, z_loss, softcap)
    return _reduction.reduce(p.out, reduction, valid=p.valid, weight=p.weight, all_ignored=all_ignored).to(p.dtype)


@dataclass(frozen=True)
class Parts:
    """What the sharded losses hand to the reduction: the loss per position (or, from the linear
    form's ``sum``, the sum), the counted positions and the weighted mean's denominator weights."""

    out: Tensor
    valid: Tensor | None
    weight: Tensor | None
    shape: tuple  # the positions' shape
    dtype: torch.dtype  # the result's

    def count(self) -> Tensor:
        """The mean's denominator over this rank's positions."""
        return denominator(
            self.shape, valid=self.valid, weight=self.weight, dtype=self.out.dtype, device=self.out.device
        )


def cross_entropy_parts(logits_shard, target, group, weight, ignore_index, label_smoothing, z_loss, softcap) -> Parts:
    """:func:`vocab_parallel_cross_entropy` before its reduction."""
    fn = "vocab_parallel_cross_entropy"
    x = _checks.floating(logits_shard, "logits_shard")
    if x.dim() == 0:
        raise ValueError(
            f"{fn}: logits_shard must have a class dimension — (N, C_r), (N, C_r, d1, ..., dk) or "
            "(C_r,) — got a 0-dimensional tensor"
        )
    cap = (
        None
        if softcap is None
        else _checks.number(softcap, "softcap", low=0.0, low_open=True, fn=fn, hint="None turns it off")
    )
    c, s = _prepare(fn, group, x, target, weight, ignore_index, label_smoothing, z_loss, "logits_shard")
    _checks.finite(x, "logits_shard")
    if cap is not None:
        x = cap * torch.tanh(x / cap)  # soft cap: cap·tanh(x/cap)
    one = x.dim() == 1  # unbatched (C_r,): one position
    rows, aux = _VocabParallelCE.apply(x.unsqueeze(0) if one else x, c.target.unsqueeze(0) if one else c.target, s)
    rows, aux = (rows[0], aux[0]) if one else (rows, aux)
    w_y = aux if s.weight is not None and not s.probs else None
    return Parts(rows, c.valid, w_y, tuple(rows.shape), _checks.autocast_dtype(logits_shard))


def vocab_parallel_linear_cross_entropy(
    input: Tensor,
    weight_shard: Tensor,
    target: Tensor,
    *,
    group,
    bias_shard: Tensor | None = None,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: str = "mean",
    all_ignored: str = "nan",
    chunk_size: int | None = None,
) -> Tensor:
    r"""Cross-entropy of ``input @ W.T + b`` where the rows of the output layer ``W`` are sharded across ``group``.

    .. math:: z_{n,S_r} = W_r x_n + b_r, \qquad \ell_n = \mathrm{CE}(z_n, y_n)

    with ``CE`` exactly as in :func:`vocab_parallel_cross_entropy` (and
    :func:`losskit.functional.cross_entropy` on the gathered logits): weights, ``ignore_index``,
    label smoothing, z-loss, probability targets, the weighted mean. ``weight_shard`` is this rank's
    contiguous block of rows of the (sharded) language-model head, ranks in group order; the
    tokens are processed ``chunk_size`` at a time, so that not even this rank's logits
    ``(N, C_r)`` exist at once: per chunk, one GEMM forms the chunk's logits, the group exchanges
    a few numbers per token (one all-gather), and for ``mean``/``sum`` two more GEMMs form the
    gradients during the forward (the backward only scales them, in place).
    ``reduction="none"`` forms each chunk's logits again in the backward (a fourth GEMM; no
    all-gather then).

    Likelihood: the Categorical NLL of logits linear in the features (softmax link over all
    classes of the group; predict the arg-max over the group).

    Gradients: ``weight_shard`` and ``bias_shard`` get the gradient of the loss with respect to
    this rank's rows; ``input`` (the same on every rank, as in tensor parallelism) gets the full
    gradient, already summed over the group (one all-reduce of ``(N, H)``, in the forward for
    ``mean``/``sum``) -- so do not also all-reduce it (e.g. through a "copy to tensor-parallel
    region" whose backward sums over the group). Every rank must make the same call.
    Collectives per call: one (shard sizes) + one per chunk + one for the input's gradient.

    Args:
        input: features ``(N, H)`` or ``(H,)``, the same on every rank.
        weight_shard: this rank's rows of the output layer, ``(C_r, H)``; :math:`C = \sum_r C_r`.
        target: class indices over all :math:`C` classes ``(N,)`` / ``()`` (the same on every
            rank), or class probabilities, this rank's slice ``(N, C_r)`` / ``(C_r,)``.
        group: the process group the classes are sharded over (``None``: the default group).
        bias_shard: this rank's slice of the output layer's bias ``(C_r,)``, or ``None``.
        weight: this rank's slice of the per-class weights ``(C_r,)`` (no gradient).
        ignore_index, label_smoothing, z_loss, reduction, all_ignored: as in
            :func:`vocab_parallel_cross_entropy`.
        chunk_size: tokens per chunk; default: as many as keep one chunk of this rank's float32
            logits near 128 MiB.

    Returns:
        ``(N,)`` (``()`` for unbatched input) for ``"none"``, else a scalar; the same on every rank,
        in the projection's dtype (``input``'s, float32 under ``torch.autocast``).

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import vocab_parallel_linear_cross_entropy
        >>> from losskit.functional import linear_cross_entropy
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> g = torch.Generator().manual_seed(0)
        >>> x, W = torch.randn(6, 4, generator=g), torch.randn(10, 4, generator=g)
        >>> y = torch.tensor([1, 0, 9, -100, 3, 3])
        >>> a = vocab_parallel_linear_cross_entropy(x, W, y, group=None, chunk_size=4)
        >>> b = linear_cross_entropy(x, W, y)
        >>> print(f"{a.item():.4f} {b.item():.4f}")
        4.7714 4.7714
        >>> dist.destroy_process_group()

    References:
        Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", ICLR 2025 (the
        logits never materialised); Shoeybi et al., "Megatron-LM", 2019 (the sharded head).
    """
    reduction = check_reduction(reduction)
    all_ignored = check_all_ignored(all_ignored)
    p = linear_cross_entropy_parts(
        input,
        weight_shard,
        target,
        group,
        bias_shard,
        weight,
        ignore_index,
        label_smoothing,
        z_loss,
        chunk_size,
        reduction == "none",
    )
    if reduction == "none":
        return _reduction.reduce(p.out, "none", valid=p.valid).reshape(p.shape).to(p.dtype)
    if reduction == "sum":
        return p.out.to(p.dtype)
    return _reduction.reduce(Sums(p.out, p.count()), "mean", all_ignored=all_ignored).to(p.dtype)


def linear_cross_entropy_parts(
    input, weight_shard, target, group, bias_shard, weight, ignore_index, label_smoothing, z_loss, chunk_size, per_row
) -> Parts:
    """:func:`vocab_parallel_linear_cross_entropy` before its reduction (``out``: the rows where ``per_row``,
    else their sum)."""
    fn = "vocab_parallel_linear_cross_entropy"
    x, lw = linear_inputs(fn, input, weight_shard, "weight_shard", "H")
    if lw.dim() != 2 or lw.shape[1] != x.shape[-1]:
        raise ValueError(f"{fn}: weight_shard must have shape (C_r, H={x.shape[-1]}), got {tuple(lw.shape)}")
    if bias_shard is not None:
        _checks.floating(bias_shard, "bias_shard")
        if tuple(bias_shard.shape) != (lw.shape[0],):
            raise ValueError(
                f"{fn}: bias_shard must have shape ({lw.shape[0]},) like weight_shard's rows, got "
                f"{tuple(bias_shard.shape)}"
            )
    autocast = torch.is_autocast_enabled(x.device.type)
    if x.dtype != lw.dtype and not autocast:
        raise TypeError(
            f"{fn}: input and weight_shard must have the same dtype, got {x.dtype} and {lw.dtype}; "
            "cast one of them, or run under torch.autocast"
        )
    dt = torch.get_autocast_dtype(x.device.type) if autocast else x.dtype  # the projection's dtype
    chunk = (
        _rows_per_block(lw.shape[0])
        if chunk_size is None
        else _checks.number(
            chunk_size, "chunk_size", low=1, integer=True, fn=fn, hint="tokens per chunk, or None for the default"
        )
    )
    _checks.finite(x, "input")
    _checks.finite(lw, "weight_shard")
    n_shape = () if x.dim() == 1 else (x.shape[0],)
    like = x.new_zeros((), dtype=dt).expand(*n_shape, lw.shape[0])  # stands for this rank's logits
    c, s = _prepare(fn, group, like, target, weight, ignore_index, label_smoothing, z_loss, "logits")
    xb, n = x.reshape(-1, x.shape[-1]).to(dt), math.prod(n_shape)
    t = c.target.reshape(n, lw.shape[0]) if c.probs else c.target.reshape(n)
    with torch.autocast(x.device.type, enabled=False):  # every dtype is settled above
        out, aux = _VocabParallelLinearCE.apply(
            xb, lw.to(dt), None if bias_shard is None else bias_shard.to(dt), t, s, per_row, chunk
        )
    valid = None if c.valid is None else c.valid.reshape(n)
    w_y = aux if s.weight is not None and not s.probs else None
    return Parts(out, valid, w_y, n_shape if per_row else (n,), _checks.autocast_dtype(like))
