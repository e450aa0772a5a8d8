r"""Cross-entropy: the negative log-likelihood of a Categorical distribution with the softmax link.

* :func:`cross_entropy` -- from logits, the exact twin of ``torch.nn.functional.cross_entropy``,
  plus ``all_ignored``, z-loss and logit soft-capping;
* :func:`nll_loss` -- from log-probabilities, the twin of ``torch.nn.functional.nll_loss``;
* :func:`linear_cross_entropy` -- from features and the weight of the last linear layer, chunked
  over the tokens so that the ``(tokens, classes)`` logits never exist at once (the twin of torch
  2.13's ``torch.nn.functional.linear_cross_entropy``).

On CUDA tensors the rows of :func:`cross_entropy` and the chunk step of
:func:`linear_cross_entropy` are offered to fused Triton kernels (:mod:`losskit.kernels`); the
PyTorch path here is the reference they are tested against.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import Sums, check_all_ignored, check_reduction, denominator, legacy_reduction
from ..kernels import _dispatch
from ._primitives import cross_entropy_rows_and_grad

if TYPE_CHECKING:
    from torch.distributed.tensor import DTensor

__all__ = ["cross_entropy", "nll_loss", "linear_cross_entropy", "generalized_cross_entropy"]


def _dtensor(*ts) -> bool:
    """True if one of ``ts`` is a DTensor (possible only once torch.distributed.tensor is loaded; eager only)."""
    if torch.compiler.is_compiling():
        return False
    mod = sys.modules.get("torch.distributed.tensor")
    return mod is not None and any(isinstance(t, mod.DTensor) for t in ts)


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int | None = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    z_loss: float = 0.0,
    softcap: float | None = None,
    class_mask: Tensor | None = None,
    sample_weight: Tensor | None = None,
    all_ignored: str = "nan",
) -> Tensor:
    r"""Cross-entropy between softmax(logits) and class-index or class-probability targets.

    The exact twin of :func:`torch.nn.functional.cross_entropy` (same arguments in the same order,
    same numbers and gradients), with clearer errors, ``all_ignored``, and two options for
    large-vocabulary training (``z_loss``, ``softcap``).

    With :math:`\log p_{n,c} = \operatorname{log\_softmax}(x_n)_c`, weights :math:`w` (ones if not
    given), :math:`C` classes and smoothing :math:`\varepsilon`, for **class indices** :math:`y_n`:

    .. math::
        \ell_n = (1-\varepsilon)\, w_{y_n} (-\log p_{n,y_n})
               + \frac{\varepsilon}{C} \sum_c w_c (-\log p_{n,c})
               + \zeta\, w_{y_n} \operatorname{lse}(x_n)^2,
        \qquad \ell_n = 0 \text{ if } y_n = \text{ignore\_index}

    and ``mean`` is the weighted mean :math:`\sum_n \ell_n / \sum_{n:\,y_n \ne \text{ignore}} w_{y_n}`
    (the smoothing term is weighted and normalised the same way -- torch's semantics since
    pytorch#73205 / #104776). For **class probabilities** :math:`t_{n,c}` (smoothed to
    :math:`t(1-\varepsilon) + \varepsilon/C`):

    .. math:: \ell_n = -\sum_c w_c\, t_{n,c} \log p_{n,c} + \zeta \operatorname{lse}(x_n)^2,

    and ``mean`` divides by the number of items (:math:`N d_1 \cdots d_k`), not by the weights.
    The z-loss :math:`\zeta\,\operatorname{lse}^2` (PaLM) keeps the log-normaliser near 0; with
    ``softcap`` the logits are first replaced by :math:`\text{cap}\cdot\tanh(x/\text{cap})` (Gemma 2).
    With ``class_mask`` the softmax, the smoothing (:math:`\varepsilon/K` over the :math:`K` kept
    classes) and the probability-target sum run over the kept classes only (optax's ``where=``).
    ``sample_weight`` :math:`s_n` multiplies each item's loss and joins the mean's denominator:
    ``mean`` is :math:`\sum_n s_n \ell_n / \sum_n s_n w_{y_n}` (:math:`\sum_n s_n` for probability
    targets) -- Keras divides by the number of items instead (``reduction="sum"`` and divide by N).

    Likelihood: the negative log-likelihood of a Categorical distribution with the softmax link
    :math:`p = \operatorname{softmax}(x)`; predict with ``logits.argmax(1)`` (the mode), or
    ``softmax`` for probabilities. Label smoothing is the cross-entropy against the mixture
    :math:`(1-\varepsilon)\,\text{onehot}(y) + \varepsilon\,\text{Uniform}(C)`.

    Args:
        logits: unnormalised scores, shape (C,), (N, C) or (N, C, d1, ..., dk). Half-precision
            logits are handled as torch handles them (float32 accumulation; float32 results under
            ``torch.autocast``).
        target: class indices, an integer tensor of shape (), (N) or (N, d1, ..., dk) with values
            in [0, C) or ``ignore_index``; or class probabilities, a float tensor of ``logits``'
            shape.
        weight: optional per-class weight of shape (C,), values >= 0.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        ignore_index: target value that contributes neither loss nor gradient (indices only);
            ``None``: no label is ignored (a -100 is then an out-of-range index).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        z_loss: :math:`\zeta \ge 0`, the coefficient of :math:`\operatorname{lse}^2` (0: off; PaLM
            uses 1e-4), weighted like the row's loss (:math:`w_{y_n}`, 0 where ignored).
        softcap: ``cap > 0`` to soft-cap the logits at :math:`\pm\text{cap}` (``None``: off; Gemma 2
            uses 30).
        class_mask: bool, ``(C,)`` or ``logits``' shape: the classes that take part (``None``: all).
            A target class must be kept.
        sample_weight: per-item weight, the shape of the loss per item ``(N, d1, ..., dk)`` (or
            broadcasting to it), values >= 0 (``None``: off). ``weight`` stays per class.
        all_ignored: what ``mean`` gives when every target is ignored (or all weights of the present
            classes are 0): ``"nan"`` (torch's 0/0) or ``"zero"`` (0 with zero gradient, no host sync).

    Returns:
        ``"none"``: shape (), (N) or (N, d1, ..., dk); ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import cross_entropy
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
        >>> print(round(cross_entropy(logits, torch.tensor([0, 2])).item(), 4))
        0.8964
        >>> print(round(cross_entropy(logits, torch.tensor([0, -100]), label_smoothing=0.1).item(), 4))
        0.3913
        >>> cross_entropy(logits, torch.tensor([-100, -100]), all_ignored="zero")
        tensor(0.)

    References:
        PyTorch, ``torch.nn.CrossEntropyLoss``; Szegedy et al., "Rethinking the Inception
        Architecture for Computer Vision", CVPR 2016 (label smoothing); Chowdhery et al., "PaLM",
        JMLR 2023 (z-loss); Gemma Team, "Gemma 2", 2024 (logit soft-capping).
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if _dtensor(logits):  # sharded on the class dimension: the vocabulary-parallel path, no gather
        from ..distributed import _dtensor as dt

        return dt.cross_entropy(
            cast("DTensor", logits),
            target,
            weight,
            ignore_index,
            reduction,
            label_smoothing,
            z_loss=z_loss,
            softcap=softcap,
            all_ignored=all_ignored,
        )
    all_ignored = check_all_ignored(all_ignored)
    # torch's fused call for sure (no option of ours, no kernel): its CPU kernel refuses out-of-range labels
    fused = (
        class_mask is None
        and sample_weight is None
        and isinstance(z_loss, (int, float))
        and not z_loss
        and softcap is None
        and reduction != "none"
        and all_ignored == "nan"
        and isinstance(logits, Tensor)
        and not _dispatch.may_run(logits.device)
    )
    c = _checks.class_inputs(
        "cross_entropy",
        logits,
        target,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        range_by_torch=fused,
    )
    zeta = _checks.number(z_loss, "z_loss", low=0.0, fn="cross_entropy", hint="0 turns it off; PaLM uses 1e-4")
    cap = (
        None
        if softcap is None
        else _checks.number(softcap, "softcap", low=0.0, low_open=True, fn="cross_entropy", hint="None turns it off")
    )
    mask = _checks.class_mask(class_mask, c.logits, fn="cross_entropy", target=c.target, ignore_index=c.ignore_index)
    s = _checks.sample_weights(sample_weight, c.target.shape if not c.probs else _item_shape(c), fn="cross_entropy")
    rows = None
    if mask is None:
        rows = _dispatch.kernel(
            "cross_entropy_rows", c, z_loss=zeta, softcap=cap, reduction=reduction if s is None else "none"
        )
    if rows is None:
        if mask is None and s is None and not zeta and cap is None and reduction != "none" and all_ignored == "nan":
            # exactly torch's call: its fused reduction (Σ w_y·ℓ / Σ w_y, 0/0 = nan) is the one reduce()
            # would compute, without the (N, *) rows, the mask and the where
            logp = None if c.probs or c.label_smoothing else _checks.shared_log_softmax(c.logits)
            if logp is not None:  # in a combined loss: torch's cross_entropy is nll_loss(log_softmax), shared
                out = _checks.torch_range_checked(
                    c, F.nll_loss, logp, c.target, c.weight, ignore_index=c.torch_ignore_index, reduction=reduction
                )
                return _in_dtype(out, _checks.autocast_dtype(c.logits))
            out = _checks.torch_range_checked(
                c,
                F.cross_entropy,
                c.logits,
                c.target,
                c.weight,
                ignore_index=c.torch_ignore_index,
                reduction=reduction,
                label_smoothing=c.label_smoothing,
            )
            return _in_dtype(out, _checks.autocast_dtype(c.logits))
        rows = _categorical_rows(c, zeta, cap, mask)
    return _reduce_rows(rows, c, s, reduction, all_ignored)


def _in_dtype(t: Tensor, dtype: torch.dtype) -> Tensor:
    return t if t.dtype == dtype else t.to(dtype)  # (no dispatch when it already is: most calls)


def _item_shape(c) -> tuple:
    return () if c.logits.dim() == 1 else (c.logits.shape[0], *c.logits.shape[2:])


def _reduce_rows(rows, c, s: Tensor | None, reduction: str, all_ignored: str) -> Tensor:
    """The one reduction of the categorical losses: torch's weighted mean, times the sample weights."""
    w = c.weight_at_target
    if s is not None:
        s = s.to(rows.dtype if torch.is_tensor(rows) else torch.float32)
        rows = rows * s
        w = s if w is None else w * s
    out = _reduction.reduce(rows, reduction, valid=c.valid, weight=w, all_ignored=all_ignored)
    return _in_dtype(out, _checks.autocast_dtype(c.logits))


def _categorical_rows(c, zeta: float, cap: float | None, mask: Tensor | None) -> Tensor:
    """Rows of cross-entropy by torch's op, with the soft cap, z-loss and class mask on top."""
    x = c.logits if cap is None else cap * torch.tanh(c.logits / cap)  # soft cap: cap·tanh(x/cap)
    if mask is not None:
        return _masked_rows(c, _checks.upcast(x), mask, zeta)
    rows = F.cross_entropy(
        x, c.target, c.weight, ignore_index=c.torch_ignore_index, reduction="none", label_smoothing=c.label_smoothing
    )
    if zeta:
        lse = torch.logsumexp(_checks.upcast(x), dim=c.class_dim)
        a = c.weight_at_target if c.weight_at_target is not None else torch.ones_like(lse)
        rows = rows + (zeta * a * lse.square()).to(rows.dtype)  # z-loss ζ·w_y·lse², weighted like the row
    return rows


def _masked_rows(c, x: Tensor, mask: Tensor, zeta: float) -> Tensor:
    """Cross-entropy over the kept classes: log-softmax over them, smoothing ε/K over them."""
    d = c.class_dim
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype, device=x.device)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    x = torch.where(mask, x, neg_inf)
    lse = torch.logsumexp(x, dim=d, keepdim=True)
    logp = x - lse  # log softmax over the kept classes (-inf elsewhere)
    w = None if c.weight is None else c.weight.to(x.dtype).view(-1, *([1] * (x.dim() - 1 - d)))
    kept = torch.broadcast_to(mask, x.shape).sum(d, dtype=x.dtype)  # K per position
    wlogp = torch.where(mask, logp if w is None else w * logp, zero)  # (where first: no 0·(-inf))
    eps = c.label_smoothing
    if c.probs:
        t = c.target.to(x.dtype)
        if eps:
            t = t * (1.0 - eps) + eps / kept.unsqueeze(d)  # t' = t(1-ε) + ε/K
        rows = -(torch.where(mask, t, zero) * wlogp).sum(d)
        a = None
    else:
        y = (c.target if c.valid is None else c.target.masked_fill(~c.valid, 0)).unsqueeze(d)
        nll = -logp.gather(d, y).squeeze(d)
        a = None if c.weight_at_target is None else c.weight_at_target.to(x.dtype)
        rows = (1.0 - eps) * (nll if a is None else a * nll)
        if eps:
            rows = rows + eps * -wlogp.sum(d) / kept  # (ε/K) Σ_kept w_c (-log p_c)
    if zeta:
        z = lse.squeeze(d).square() * zeta
        rows = rows + (z if a is None else a * z)
    if c.valid is not None:
        rows = torch.where(c.valid, rows, zero)
    return rows.to(_checks.autocast_dtype(c.logits, c.logits.dtype))


def nll_loss(
    log_probs: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int | None = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    *,
    sample_weight: Tensor | None = None,
    all_ignored: str = "nan",
) -> Tensor:
    r"""Negative log-likelihood of class indices given log-probabilities.

    The exact twin of :func:`torch.nn.functional.nll_loss`:

    .. math:: \ell_n = -w_{y_n} \log p_{n, y_n}, \qquad \ell_n = 0 \text{ if } y_n = \text{ignore\_index},

    with ``mean`` the weighted mean :math:`\sum_n \ell_n / \sum_{n:\,y_n \ne \text{ignore}} w_{y_n}`.
    ``cross_entropy(x, y) == nll_loss(log_softmax(x, 1), y)``.

    Likelihood: the Categorical NLL with the probabilities given in log space (no link applied);
    predict with ``log_probs.argmax(1)``. A warning is raised when ``log_probs`` do not look like
    log-probabilities (up to 32 distributions spread over the batch and about 4096 values, on tensors
    whose values may be read: see :func:`losskit.checks`; silent when the graph shows a ``log_softmax``).
    Under the default ``checks("auto")`` the read runs on the first call from each line of code with
    each kind of input, then at most once every 10 ms (a loop's logits are flagged within 10 ms of
    the first step that gives them); under ``checks("full")`` on every call.

    Args:
        log_probs: shape (C,), (N, C) or (N, C, d1, ..., dk).
        target: integer class indices of shape (), (N) or (N, d1, ..., dk), in [0, C) or
            ``ignore_index``.
        weight: optional per-class weight of shape (C,), values >= 0.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        ignore_index: target value that contributes neither loss nor gradient; ``None``: none.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        sample_weight: per-item weight of the target's shape, as in :func:`cross_entropy`.
        all_ignored: ``"nan"`` (torch) or ``"zero"``, as in :func:`cross_entropy`.

    Returns:
        ``"none"``: the target's shape; ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import nll_loss
        >>> log_probs = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
        >>> print(round(nll_loss(log_probs, torch.tensor([0, 2])).item(), 4))
        0.2899

    References:
        PyTorch, ``torch.nn.NLLLoss``.
    """
    if (
        weight is None
        and sample_weight is None
        and size_average is None
        and reduce is None
        and type(ignore_index) is int
        and type(reduction) is str
        and (reduction == "mean" or reduction == "sum")
        and type(all_ignored) is str
        and all_ignored == "nan"
        and _checks.plain_class_indices(log_probs, target)
    ):  # the commonest call, whose checks are the read of the values and torch's range check
        _checks.warn_not_log_probs(log_probs, fn="nll_loss", plain=True)
        return _checks.range_checked(
            target,
            log_probs.shape[1],
            ignore_index,
            F.nll_loss,
            log_probs,
            target,
            ignore_index=ignore_index,
            reduction=reduction,
        )
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    all_ignored = check_all_ignored(all_ignored)
    fused = sample_weight is None and reduction != "none" and all_ignored == "nan"  # exactly torch's call
    c = _checks.class_inputs(
        "nll_loss",
        log_probs,
        target,
        weight=weight,
        ignore_index=ignore_index,
        probs_allowed=False,
        name="log_probs",
        link=None,
        range_by_torch=fused,
    )
    _checks.warn_not_log_probs(c.logits, fn="nll_loss")
    s = _checks.sample_weights(sample_weight, c.target.shape, fn="nll_loss")
    if fused:  # torch's fused reduction, and on CPU its own refusal of an out-of-range index
        out = _checks.torch_range_checked(
            c, F.nll_loss, c.logits, c.target, c.weight, ignore_index=c.torch_ignore_index, reduction=reduction
        )
        return _in_dtype(out, _checks.autocast_dtype(c.logits))
    rows = F.nll_loss(c.logits, c.target, c.weight, ignore_index=c.torch_ignore_index, reduction="none")
    return _reduce_rows(rows, c, s, reduction, all_ignored)


# ---------------------------------------------------------------------------------------------
# linear + cross-entropy, chunked over the tokens
# ---------------------------------------------------------------------------------------------

# Logits held per chunk (elements) when chunk_size is not given: 2**25 values, 128 MiB in float32.
_CHUNK_ELEMENTS = 1 << 25


def _default_chunk(n: int, classes: int) -> int:
    """Tokens per chunk: a power of two (>= 16) whose logits fit the budget, and at most half of ``n``
    from 32 tokens on -- a float32 chunk of half the tokens takes the memory of the whole logits in half
    precision, so the chunked path never holds more than torch's unfused one."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, classes))
    if n >= 32:
        rows = min(rows, n // 2)
    rows = max(16, 1 << (rows.bit_length() - 1))
    return max(1, min(n, rows))


def _chunk_step(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    eps: float,
    row_scale: Tensor | None,
    zeta: float,
    cap: float,
) -> tuple[Tensor, Tensor | None]:
    out = _dispatch.kernel(
        "linear_cross_entropy_chunk",
        logits,
        target,
        weight,
        ignore_index,
        eps,
        row_scale,
        z_loss=zeta,
        softcap=cap or None,
    )
    if out is None:
        out = cross_entropy_rows_and_grad(logits, target, weight, ignore_index, eps, row_scale, zeta, cap or None)
    return out


def _run_chunks(
    x: Tensor,
    lw: Tensor,
    lb: Tensor | None,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    eps: float,
    zeta: float,
    cap: float,
    chunk: int,
    row_scale: Tensor | None,
    needs: tuple[bool, bool, bool],
):
    """Loss per row and, with ``row_scale``, the gradients of ``sum_i scale_i loss_i`` (three GEMMs a chunk)."""
    n = x.shape[0]
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    rows = torch.empty(n, dtype=acc, device=x.device)
    grads = row_scale is not None
    gx = torch.empty_like(x) if grads and needs[0] else None
    gw = torch.zeros_like(lw) if grads and needs[1] else None
    gb = torch.zeros(lb.shape, dtype=acc, device=lb.device) if grads and lb is not None and needs[2] else None
    lwx = lw if lw.dtype == x.dtype else lw.to(x.dtype)  # the GEMM's dtype (autocast's, or the input's)
    lbx = None if lb is None else (lb if lb.dtype == x.dtype else lb.to(x.dtype))
    for i in range(0, n, chunk):
        xc = x[i : i + chunk]
        logits = F.linear(xc, lwx, lbx)  # GEMM, float32 accumulation, in the input's dtype
        r, dz = _chunk_step(
            logits,
            target[i : i + chunk],
            weight,
            ignore_index,
            eps,
            None if row_scale is None else row_scale[i : i + chunk],
            zeta,
            cap,
        )
        rows[i : i + chunk] = r
        if dz is None:
            continue
        dzl = dz.to(x.dtype)
        if gx is not None:
            torch.mm(dzl, lwx, out=gx[i : i + chunk])  # dL/dx = dL/dz W
        if gw is not None:
            gw.addmm_(dzl.t().to(gw.dtype), xc.to(gw.dtype))  # dL/dW += dL/dz^T x  (in W's dtype)
        if gb is not None:
            gb += dz.sum(0, dtype=gb.dtype)
        del logits, dz, dzl
    return rows, gx, gw, None if gb is None or lb is None else gb.to(lb.dtype)  # gb exists only with lb


def _empty(t: Tensor) -> Tensor:
    return t.new_empty(0)


@torch.library.custom_op("losskit::linear_cross_entropy", mutates_args=())
def _lce_op(
    x: Tensor,
    lw: Tensor,
    lb: Tensor | None,
    target: Tensor,
    weight: Tensor | None,
    row_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float,
    per_row: bool,
    chunk: int,
    need_x: bool,
    need_w: bool,
    need_b: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Rows (``per_row``) or their sum weighted by ``row_weight``, and the gradients of that sum (computed
    in the forward: the backward only scales them); empty tensors where a gradient is not wanted."""
    needs = (need_x, need_w, need_b)
    if per_row or not any(needs):
        rows, *_ = _run_chunks(
            x, lw, lb, target, weight, ignore_index, label_smoothing, z_loss, softcap, chunk, None, needs
        )
        out = rows if per_row else (rows if row_weight is None else rows * row_weight).sum()
        return out, _empty(x), _empty(x), _empty(x)
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    scale = torch.ones((), dtype=acc, device=x.device).expand(x.shape[0]) if row_weight is None else row_weight
    rows, gx, gw, gb = _run_chunks(
        x, lw, lb, target, weight, ignore_index, label_smoothing, z_loss, softcap, chunk, scale, needs
    )
    total = (rows if row_weight is None else rows * row_weight).sum()
    return total, *(_empty(x) if g is None else g for g in (gx, gw, gb))


@_lce_op.register_fake
def _(
    x,
    lw,
    lb,
    target,
    weight,
    row_weight,
    ignore_index,
    label_smoothing,
    z_loss,
    softcap,
    per_row,
    chunk,
    need_x,
    need_w,
    need_b,
):
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    out = x.new_empty((x.shape[0],) if per_row else (), dtype=acc)
    grads = not per_row
    return (
        out,
        x.new_empty(x.shape) if grads and need_x else _empty(x),
        lw.new_empty(lw.shape) if grads and need_w else _empty(x),
        lb.new_empty(lb.shape) if grads and need_b and lb is not None else _empty(x),
    )


@torch.library.custom_op("losskit::linear_cross_entropy_backward", mutates_args=())
def _lce_backward_op(
    g_rows: Tensor,
    x: Tensor,
    lw: Tensor,
    lb: Tensor | None,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float,
    chunk: int,
    need_x: bool,
    need_w: bool,
    need_b: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of ``sum_i g_i loss_i`` (``reduction="none"``): the chunk logits are formed again."""
    _, gx, gw, gb = _run_chunks(
        x,
        lw,
        lb,
        target,
        weight,
        ignore_index,
        label_smoothing,
        z_loss,
        softcap,
        chunk,
        g_rows.to(torch.float64 if x.dtype == torch.float64 else torch.float32),
        (need_x, need_w, need_b),
    )
    return tuple(_empty(x) if g is None else g for g in (gx, gw, gb))  # type: ignore[return-value]


@_lce_backward_op.register_fake
def _(g_rows, x, lw, lb, target, weight, ignore_index, label_smoothing, z_loss, softcap, chunk, need_x, need_w, need_b):
    return (
        x.new_empty(x.shape) if need_x else _empty(x),
        lw.new_empty(lw.shape) if need_w else _empty(x),
        lb.new_empty(lb.shape) if need_b and lb is not None else _empty(x),
    )


def _lce_setup(ctx, inputs, output):
    x, lw, lb, target, weight, row_weight, ignore_index, eps, zeta, cap, per_row, chunk, need_x, need_w, need_b = inputs
    _, gx, gw, gb = output
    ctx.save_for_backward(x, lw, lb, target, weight, row_weight, gx, gw, gb)
    ctx.opts = (ignore_index, eps, zeta, cap, per_row, chunk, need_x, need_w, need_b)
    ctx.consumed = False


def _lce_backward(ctx, g_out, _gx, _gw, _gb):
    ignore_index, eps, zeta, cap, per_row, chunk, need_x, need_w, need_b = ctx.opts
    if ctx.consumed:
        raise RuntimeError(
            "linear_cross_entropy: its gradients are formed in the forward and serve one backward "
            "only; for retain_graph=True compute cross_entropy(F.linear(input, W, b), target)"
        )
    x, lw, lb, target, weight, row_weight, gx, gw, gb = ctx.saved_tensors
    if torch.is_grad_enabled():
        # create_graph=True: differentiate the unfused computation (it holds the logits) so that
        # the gradient is itself differentiable
        return _reference_grads(g_out, x, lw, lb, target, weight, row_weight, ignore_index, eps, zeta, cap, per_row)
    if per_row:
        gx, gw, gb = _lce_backward_op(
            g_out, x, lw, lb, target, weight, ignore_index, eps, zeta, cap, chunk, need_x, need_w, need_b
        )
    else:
        ctx.consumed = True
        # an all-ignored mean hands down an infinite scale (d(0/0)/d0); every gradient is 0 then, as in torch
        scale = torch.where(torch.isfinite(g_out), g_out, torch.zeros_like(g_out))
        if torch.compiler.is_compiling():
            gx, gw, gb = (g * scale.to(g.dtype) for g in (gx, gw, gb))
        else:  # in place: no second gradient-sized buffer
            gx, gw, gb = (g.mul_(scale.to(g.dtype)) for g in (gx, gw, gb))
    return (gx if need_x else None, gw if need_w else None, gb if need_b else None) + (None,) * 12


def _reference_grads(g_out, x, lw, lb, target, weight, row_weight, ignore_index, eps, zeta, cap, per_row):
    inputs = [t for t in (x, lw, lb) if t is not None and t.requires_grad]
    with torch.enable_grad():
        logits = F.linear(x, lw.to(x.dtype), None if lb is None else lb.to(x.dtype))
        rows = _unfused_rows(logits, target, weight, ignore_index, eps, zeta, cap)
        out = rows if per_row else (rows if row_weight is None else rows * row_weight).sum()
        found = iter(torch.autograd.grad(out, inputs, g_out.to(out.dtype), create_graph=True))
    grads = [next(found) if t is not None and t.requires_grad else None for t in (x, lw, lb)]
    return tuple(grads) + (None,) * 12


def _unfused_rows(logits, target, weight, ignore_index, eps, zeta, cap):
    """Rows of the unfused computation (plain autograd): the same formula as the chunk step."""
    if cap:
        logits = cap * torch.tanh(logits / cap)
    w = None if weight is None else weight.to(logits.dtype)
    rows = F.cross_entropy(logits, target, w, ignore_index=ignore_index, reduction="none", label_smoothing=eps)
    if zeta:
        lse = torch.logsumexp(_checks.upcast(logits), dim=1)
        if target.is_floating_point():
            a = torch.ones_like(lse)
        else:
            valid = target != ignore_index
            a = valid.to(lse.dtype) if w is None else torch.where(valid, w[target.masked_fill(~valid, 0)], 0.0)
        rows = rows + (zeta * a * lse.square()).to(rows.dtype)
    return rows


_lce_op.register_autograd(_lce_backward, setup_context=_lce_setup)


def linear_inputs(fn: str, input: object, linear_weight: object, weight_name: str, features: str) -> tuple:
    """``(input, linear_weight)`` of a linear cross-entropy, both floating, ``input`` ``(N, features)`` or
    ``(features,)``; the weight's shape is the caller's to check (a full head or a vocabulary shard)."""
    x = _checks.floating(input, "input")
    lw = _checks.floating(linear_weight, weight_name)
    if x.dim() not in (1, 2):
        raise ValueError(
            f"{fn}: input must have shape (N, {features}) or ({features},), got {tuple(x.shape)}; "
            "flatten leading dims with input.flatten(0, -2) and target.flatten()"
        )
    return x, lw


def _gemm_dtype(fn: str, x: Tensor, lw: Tensor) -> torch.dtype:
    """The dtype of the projection: autocast's where it is on, else the common dtype of input and weight."""
    if torch.is_autocast_enabled(x.device.type) and x.dtype.is_floating_point:
        try:
            return torch.get_autocast_dtype(x.device.type)
        except AttributeError:  # pragma: no cover - torch < 2.4
            return x.dtype
    if x.dtype != lw.dtype:
        raise TypeError(
            f"{fn}: input and linear_weight must have the same dtype, got {x.dtype} and {lw.dtype}; "
            "cast one of them (e.g. input.to(linear_weight.dtype)), or run under torch.autocast"
        )
    return x.dtype


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    sample_weight: Tensor | None = None,
    chunk_size: int | None = None,
    all_ignored: str = "nan",
    options=None,
) -> Tensor:
    r"""Cross-entropy of ``input @ linear_weight.T + linear_bias`` against ``target``, chunked over tokens.

    .. math::
        z_i = W x_i + b, \qquad \ell_i = \mathrm{CE}(z_i, y_i)

    with ``CE`` exactly as in :func:`cross_entropy` (class weights, ``ignore_index``, label
    smoothing, probability targets, the weighted mean, z-loss and logit soft-capping). It is the negative log-likelihood of a
    Categorical distribution whose logits are a linear function of the features (softmax link;
    predict :math:`\arg\max_c z_{ic}`). Equal to ``torch.nn.functional.linear_cross_entropy`` (torch
    2.13) and to ``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, but the
    ``(N, C)`` logits never exist at once: the tokens are processed ``chunk_size`` at a time, and for
    ``mean``/``sum`` the gradients of ``input``, ``linear_weight`` and ``linear_bias`` are formed
    during the forward (three GEMMs in all; the backward only multiplies by the upstream gradient,
    in place). ``reduction="none"`` recomputes each chunk's logits in the backward (a fourth GEMM).

    Where the chunked path cannot serve, the unfused computation does (the logits are then
    formed whole): higher-order gradients (``create_graph=True`` differentiates it again),
    ``torch.func`` transforms, a ``target`` or ``weight`` that requires grad, and a K-dimensional
    ``linear_weight`` ``(C, d1, ..., dk, H)``. Under ``torch.compile`` the chunked path is one
    opaque operator, compiled once for every batch size.

    The logits of a chunk are the GEMM's output in the projection's dtype (``input``'s, or
    autocast's under ``torch.autocast``, where a bfloat16 input with a float32 weight is accepted as
    torch accepts it); the softmax is computed in float32. ``linear_weight``'s gradient accumulates
    across chunks in ``linear_weight``'s dtype.

    Args:
        input: features ``(N, H)`` or ``(H,)``.
        linear_weight: ``(C, H)`` (or ``(C, d1, ..., dk, H)``, which is not chunked).
        target: class indices ``(N,)`` / ``()`` (any integer dtype), or class probabilities
            ``(N, C)`` / ``(C,)``.
        linear_bias: optional ``(C,)`` (or ``(C, d1, ..., dk)``).
        weight: optional per-class weight ``(C,)``.
        reduction: ``"none"`` | ``"mean"`` (``sum_i w_{y_i} l_i / sum_i w_{y_i}`` over counted rows,
            as torch) | ``"sum"``.
        ignore_index: class index that contributes neither loss nor gradient (default -100, as
            torch's default); ``None``: none ignored, as in :func:`cross_entropy` (torch 2.13 maps
            an explicit ``None`` to -100).
        label_smoothing: in [0, 1].
        z_loss: coefficient of :math:`\operatorname{lse}^2` per row, as in :func:`cross_entropy` (0: off).
        softcap: soft cap of the logits, as in :func:`cross_entropy` (``None``: off; Gemma 2 uses 30).
        sample_weight: per-token weight ``(N,)``, values >= 0, as in :func:`cross_entropy` (``None``: off).
        chunk_size: tokens per chunk; default: a power of two keeping one chunk of float32 logits
            near 128 MiB.
        all_ignored: ``"nan"`` (torch) or ``"zero"``: the ``mean`` of a batch in which every target
            is ignored.
        options: accepted for drop-in compatibility with torch; only its ``batch_chunk_size`` is read.

    Returns:
        ``(N,)`` (``()`` for unbatched input) for ``"none"``, else a scalar; in the projection's dtype.

    Example:
        >>> import torch
        >>> from losskit.functional import linear_cross_entropy
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(6, 4, generator=g, requires_grad=True)
        >>> W = torch.randn(10, 4, generator=g, requires_grad=True)
        >>> y = torch.tensor([1, 0, 9, -100, 3, 3])
        >>> loss = linear_cross_entropy(x, W, y, chunk_size=4)
        >>> ref = torch.nn.functional.cross_entropy(x @ W.T, y)
        >>> print(f"{loss.item():.4f} {ref.item():.4f}")
        4.7714 4.7714
        >>> loss.backward()
        >>> W.grad.shape
        torch.Size([10, 4])

    References:
        Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", ICLR 2025.
        Hsu et al., "Liger Kernel: Efficient Triton Kernels for LLM Training", 2024.
    """
    fn = "linear_cross_entropy"
    reduction = check_reduction(reduction)
    if _dtensor(input, linear_weight):  # a head sharded on its rows (the classes): the vocabulary-parallel path
        from ..distributed import _dtensor as dtensor

        return dtensor.linear_cross_entropy(
            input,
            linear_weight,
            target,
            linear_bias=linear_bias,
            weight=weight,
            reduction=reduction,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            chunk_size=chunk_size or getattr(options, "batch_chunk_size", None),
            all_ignored=all_ignored,
        )
    all_ignored = check_all_ignored(all_ignored)
    x, lw = linear_inputs(fn, input, linear_weight, "linear_weight", "in_features")
    dt, zeta, cap, chunk_size = _linear_options(fn, x, lw, linear_bias, z_loss, softcap, chunk_size, options)
    if (
        lw.dim() > 2
        or (_checks.tracing() and not torch.compiler.is_compiling())
        or any(t is not None and t.requires_grad for t in (target, weight, sample_weight))
    ):  # the unfused computation: cross_entropy validates the target and reduces
        logits = F.linear(x, lw.flatten(0, -2), None if linear_bias is None else linear_bias.flatten())
        return cross_entropy(
            logits.unflatten(-1, tuple(lw.shape[:-1])),
            target,
            weight,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
            z_loss=zeta,
            softcap=cap,
            sample_weight=sample_weight,
            all_ignored=all_ignored,
        )
    n_shape = () if x.dim() == 1 else (x.shape[0],)
    like = x.new_zeros((), dtype=dt).expand(*n_shape, lw.shape[0])  # stands for the logits' shape and dtype
    c = _checks.class_inputs(
        fn, like, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, shape_only=True
    )
    sw = _checks.sample_weights(sample_weight, n_shape, fn=fn)
    return _linear_fused(
        x.reshape(-1, x.shape[-1]).to(dt),
        lw,
        linear_bias,
        c,
        sw,
        n_shape,
        reduction,
        zeta,
        cap,
        chunk_size,
        all_ignored,
        out_dtype=_checks.autocast_dtype(like),
    )


def _linear_options(
    fn: str,
    x: Tensor,
    lw: Tensor,
    linear_bias: Tensor | None,
    z_loss: float,
    softcap: float | None,
    chunk_size: int | None,
    options: object,
) -> tuple[torch.dtype, float, float | None, int | None]:
    """The checks of linear_cross_entropy's head and options: ``(gemm dtype, z_loss, softcap, chunk_size)``."""
    if lw.dim() < 2 or lw.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"{fn}: linear_weight must have shape (C, ..., in_features={x.shape[-1]}), got {tuple(lw.shape)}"
        )
    if linear_bias is not None:
        _checks.floating(linear_bias, "linear_bias")
        if tuple(linear_bias.shape) != tuple(lw.shape[:-1]):
            raise ValueError(
                f"{fn}: linear_bias must have shape {tuple(lw.shape[:-1])}, got {tuple(linear_bias.shape)}"
            )
    dt = _gemm_dtype(fn, x, lw)
    zeta = _checks.number(z_loss, "z_loss", low=0.0, fn=fn, hint="0 turns it off; PaLM uses 1e-4")
    cap = (
        None
        if softcap is None
        else _checks.number(softcap, "softcap", low=0.0, low_open=True, fn=fn, hint="None turns it off")
    )
    if chunk_size is None and options is not None:
        chunk_size = getattr(options, "batch_chunk_size", None)
    if chunk_size is not None:
        chunk_size = _checks.number(
            chunk_size, "chunk_size", low=1, integer=True, fn=fn, hint="tokens per chunk, or None for the default"
        )
    for t, name in ((x, "input"), (lw, "linear_weight")):
        _checks.finite(t, name)
    return dt, zeta, cap, chunk_size


def _linear_fused(
    xb: Tensor,
    lw: Tensor,
    linear_bias: Tensor | None,
    c: _checks.ClassInputs,
    sw: Tensor | None,
    n_shape: tuple[int, ...],
    reduction: str,
    zeta: float,
    cap: float | None,
    chunk_size: int | None,
    all_ignored: str,
    *,
    out_dtype: torch.dtype,
) -> Tensor:
    """linear_cross_entropy on the chunked op: ``xb`` (n, in_features) in the GEMM dtype, ``c`` the
    checked targets, ``sw`` the checked per-sample weights; never holds more than a chunk of logits."""
    n, num_classes = xb.shape[0], lw.shape[0]
    if sw is not None:
        sw = sw.detach().expand(*n_shape).reshape(n).to(torch.float64 if xb.dtype == torch.float64 else torch.float32)
    t = c.target.reshape(n, num_classes) if c.probs else c.target.reshape(n)
    w = None if c.weight is None else c.weight.detach()
    grad_on = torch.is_grad_enabled()
    needs = (
        grad_on and xb.requires_grad,
        grad_on and lw.requires_grad,
        grad_on and linear_bias is not None and linear_bias.requires_grad,
    )
    chunk = int(chunk_size or _default_chunk(n, num_classes))
    out, *_ = _lce_op(
        xb,
        lw,
        linear_bias,
        t,
        w,
        sw,
        c.torch_ignore_index,
        c.label_smoothing,
        zeta,
        cap or 0.0,
        reduction == "none",
        chunk,
        *needs,
    )
    if reduction == "none":
        return (out if sw is None else out * sw).reshape(n_shape).to(out_dtype)
    if reduction == "sum":
        return out.to(out_dtype)
    valid = None if c.valid is None else c.valid.reshape(n)
    w_y = None if c.weight_at_target is None else c.weight_at_target.reshape(n).to(out.dtype)
    if sw is not None:
        w_y = sw if w_y is None else w_y * sw
    count = denominator((n,), valid=valid, weight=w_y, dtype=out.dtype, device=out.device)
    return _reduction.reduce(Sums(out, count), "mean", all_ignored=all_ignored).to(out_dtype)


# ---------------------------------------------------------------------------------------------
# generalized cross-entropy (noise-robust)
# ---------------------------------------------------------------------------------------------


def generalized_cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    q: float = 0.7,
    weight: Tensor | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    sample_weight: Tensor | None = None,
    reduction: str = "mean",
    all_ignored: str = "nan",
) -> Tensor:
    r"""Generalized cross-entropy (Zhang & Sabuncu 2018): the Box-Cox transform of the likelihood, robust to noisy labels.

    .. math:: \ell = \frac{1 - p_y^{\,q}}{q}, \qquad p = \operatorname{softmax}(z),\ q \in (0, 1],

    computed as :math:`-\operatorname{expm1}(q \log p_y)/q` (exact for small :math:`q`). As
    :math:`q \to 0` it is :func:`cross_entropy` (:math:`-\log p_y`); :math:`q = 1` is the mean absolute
    error :math:`1 - p_y` between the softmax and the one-hot target, bounded and so robust to
    mislabelled examples but slow to train; the paper uses :math:`q = 0.7`. For probability targets
    (or with label smoothing, the target :math:`(1-\varepsilon)\,\text{onehot}(y) + \varepsilon/C`) it
    is the expectation :math:`\sum_c t_c\, w_c (1 - p_c^{\,q})/q`.

    Likelihood view: not a likelihood for :math:`q > 0`: the negative Box-Cox transform
    :math:`(1 - L^q)/q` of the Categorical likelihood :math:`L = p_y` (softmax link), which
    down-weights examples the model finds unlikely (the gradient is :math:`p_y^q` times
    cross-entropy's). Predict with the arg-max of :math:`z`.

    Args:
        logits: ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``.
        target: class indices ``(N, d1, ..., dk)`` or class probabilities of ``logits``' shape.
        q: the exponent in (0, 1] (default 0.7, the paper's).
        weight: per-class weight ``(C,)``, as in :func:`cross_entropy`.
        ignore_index: class index that contributes nothing (``None``: none).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        sample_weight: per-item weight, as in :func:`cross_entropy`.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"`` (the weighted mean of :func:`cross_entropy`).
        all_ignored: ``"nan"`` | ``"zero"``, as in :func:`cross_entropy`.

    Returns:
        ``"none"``: ``(N, d1, ..., dk)``; ``"mean"`` / ``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import generalized_cross_entropy, cross_entropy
        >>> logits, y = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]), torch.tensor([0, 1])
        >>> round(generalized_cross_entropy(logits, y, q=1.0).item(), 4)  # mean of 1 - p_y
        0.5501
        >>> torch.allclose(generalized_cross_entropy(logits, y, q=1e-6), cross_entropy(logits, y), atol=1e-5)
        True

    References:
        Zhang & Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural Networks with Noisy
        Labels", NeurIPS 2018 (arXiv:1805.07836).
    """
    fn = "generalized_cross_entropy"
    reduction = check_reduction(reduction)
    all_ignored = check_all_ignored(all_ignored)
    c = _checks.class_inputs(
        fn, logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing
    )
    q = _checks.number(q, "q", low=0.0, high=1.0, low_open=True, fn=fn, hint="the paper uses 0.7; q -> 0 is CE")
    s = _checks.sample_weights(sample_weight, c.target.shape if not c.probs else _item_shape(c), fn=fn)
    d = c.class_dim
    logp = torch.log_softmax(_checks.upcast(c.logits), dim=d)
    one_minus = -torch.expm1(q * logp) / q  # (1 - p^q)/q = -expm1(q log p)/q
    eps = c.label_smoothing
    if c.probs or eps:
        if c.probs:
            t = c.target.to(logp.dtype)
            t = t * (1.0 - eps) + eps / c.num_classes if eps else t  # t' = t(1-ε) + ε/C
        else:
            y = (c.target if c.valid is None else c.target.masked_fill(~c.valid, 0)).unsqueeze(d)
            t = torch.full_like(logp, eps / c.num_classes).scatter_add_(
                d, y, torch.full(y.shape, 1.0 - eps, dtype=logp.dtype, device=logp.device)
            )
        w = None if c.weight is None else c.weight.to(logp.dtype).view(-1, *([1] * (logp.dim() - 1 - d)))
        rows = (t * (one_minus if w is None else w * one_minus)).sum(d)  # Σ_c t_c w_c (1 - p_c^q)/q
    else:
        y = (c.target if c.valid is None else c.target.masked_fill(~c.valid, 0)).unsqueeze(d)
        rows = one_minus.gather(d, y).squeeze(d)
        if c.weight_at_target is not None:
            rows = rows * c.weight_at_target.to(rows.dtype)
    if c.valid is not None:
        rows = torch.where(c.valid, rows, torch.zeros((), dtype=rows.dtype, device=rows.device))
    return _reduce_rows(rows, c, s, reduction, all_ignored)
