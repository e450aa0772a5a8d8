r"""Hand-derived numeric pieces of the reference path, each with its derivation and its own tests.

The losses compose these where plain autograd would be inexact or would store too much: each piece
is a PyTorch computation (no kernel), and every kernel that serves the same primitive is tested
against it.

* :func:`multilabel_margin_rows` -- the multi-label hinge per row: torch's kernel with a twice-differentiable
  backward (torch's op has no double backward).
* :func:`cross_entropy_rows_and_grad` -- the loss of a chunk of logit rows and its gradient with
  respect to those logits, in one pass (the chunk step of :func:`losskit.functional.linear_cross_entropy`).
* :func:`softmax_log_p_and_one_minus_p` -- :math:`\log p_c` and :math:`1 - p_c` of a softmax, exact at
  the arg-max where :math:`p` rounds to 1 (the focal and Poly-1 losses).
* :func:`focal_power` -- :math:`a^\gamma` for :math:`a = 1 - p`, whose gradient stays finite for
  :math:`\gamma < 1` where :math:`a` underflows.

The last two are plain differentiable PyTorch (no ``autograd.Function``): double backward,
``torch.func`` and ``torch.compile`` work through them unchanged.
"""

from __future__ import annotations

import inspect
from typing import TypeVar

import torch
from torch import Tensor

__all__ = ["cross_entropy_rows_and_grad", "multilabel_margin_rows", "softmax_log_p_and_one_minus_p", "focal_power"]


_FunctionType = TypeVar("_FunctionType", bound=type[torch.autograd.Function])


def signature_cached(cls: _FunctionType) -> _FunctionType:
    """Class decorator for an ``autograd.Function`` with ``setup_context``: compute its ``forward``'s
    signature once. ``Function.apply`` binds the call's default arguments through
    :func:`inspect.signature` on every call, which rebuilds the signature from the code object (about
    10 microseconds, the largest part of the Function's overhead); a ``__signature__`` attribute is
    what :func:`inspect.signature` returns first, so the binding is unchanged."""
    cls.forward.__signature__ = inspect.signature(cls.forward)  # type: ignore[attr-defined]
    return cls


def cross_entropy_rows_and_grad(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    row_scale: Tensor | None,
    z_loss: float = 0.0,
    softcap: float | None = None,
) -> tuple[Tensor, Tensor | None]:
    r"""Cross-entropy per row of ``logits`` ``(R, C)`` and, with ``row_scale``, the gradient of
    :math:`\sum_i s_i \ell_i` with respect to the logits. Float32 math (float64 kept).

    Class indices (row :math:`i`, target :math:`y`, :math:`v = [y \ne \text{ignore}]`,
    :math:`a = v\, w_y`, :math:`W = \sum_c w_c`, smoothing :math:`\varepsilon`, z-loss :math:`\zeta`):

    .. math::
        \ell_i = a (1-\varepsilon)(\mathrm{lse} - z_y) + v \tfrac{\varepsilon}{C}(W\,\mathrm{lse} - \textstyle\sum_c w_c z_c)
                 + \zeta\, a\, \mathrm{lse}^2

        \partial \ell_i / \partial z_c = p_c \big(a(1-\varepsilon) + v\varepsilon W / C + 2\zeta a\,\mathrm{lse}\big)
            - a(1-\varepsilon)[c = y] - v \tfrac{\varepsilon}{C} w_c

    (:math:`\partial\,\mathrm{lse}/\partial z_c = p_c`, :math:`\partial z_y/\partial z_c = [c = y]`).
    Probabilities :math:`t` (smoothed :math:`t' = (1-\varepsilon)t + \varepsilon/C`, :math:`a = 1`):
    :math:`\ell_i = -\sum_c w_c t'_c \log p_c + \zeta\,\mathrm{lse}^2`,
    :math:`\partial\ell_i/\partial z_c = p_c (\sum_k w_k t'_k + 2\zeta\,\mathrm{lse}) - w_c t'_c`.
    With ``softcap`` the logits are first :math:`\text{cap}\tanh(z/\text{cap})`, whose derivative
    :math:`1 - \tanh^2(z/\text{cap})` multiplies the gradient. Rows that are ignored get exactly 0 (also
    where the scale is inf or NaN).

    Returns:
        ``(rows, grad)``: ``rows`` ``(R,)`` in float32 (float64 for float64 logits); ``grad`` ``(R, C)``
        in that dtype, or ``None`` without ``row_scale``.
    """
    z = logits.to(torch.float64 if logits.dtype == torch.float64 else torch.float32)
    th = None
    if softcap:
        th = torch.tanh(z / softcap)
        z = th * softcap  # soft cap: cap·tanh(z/cap)
    c = z.shape[1]
    logp = torch.log_softmax(z, 1)  # one fused pass; lse = z_c - log p_c (any c), needed by the z-loss only
    lse = (z[:, 0] - logp[:, 0]) if z_loss else None
    eps = float(label_smoothing)
    w = None if weight is None else weight.to(z.dtype)
    if target.is_floating_point():
        tp = target.to(z.dtype)
        if eps:
            tp = tp * (1.0 - eps) + eps / c  # smoothed target t'
        wt = tp if w is None else tp * w
        rows = -(wt * logp).sum(1)
        if lse is not None:
            rows = rows + z_loss * lse.square()  # z-loss ζ·lse²
        if row_scale is None:
            return rows, None
        coef = wt.sum(1, keepdim=True)
        if lse is not None:
            coef = coef + (2.0 * z_loss) * lse[:, None]
        grad = logp.exp_().mul_(coef).sub_(wt).mul_(row_scale.to(z.dtype)[:, None])
        return rows, grad if th is None else grad.mul_(1.0 - th.square())
    valid = target != ignore_index
    y = torch.where(valid, target, torch.zeros_like(target))
    v = valid.to(z.dtype)
    a = v if w is None else w[y] * v
    rows = a * (1.0 - eps) * -logp.gather(1, y[:, None]).squeeze(1)
    if eps:
        smooth = -(logp.sum(1) if w is None else (logp * w).sum(1))  # -sum_c w_c log p_c
        rows = rows + v * (eps / c) * smooth
    if lse is not None:
        rows = rows + z_loss * a * lse.square()  # z-loss ζ·w_y·lse², weighted like the row
    if row_scale is None:
        return rows, None
    coef = a
    if eps:
        wsum = float(c) if w is None else w.sum()
        coef = a * (1.0 - eps) + v * (eps * wsum / c)
    if lse is not None:
        coef = coef + (2.0 * z_loss) * a * lse
    grad = logp.exp_().mul_(coef[:, None])
    grad.scatter_add_(1, y[:, None], -(a * (1.0 - eps))[:, None])
    if eps:
        grad.sub_((v * (eps / c))[:, None] * (1.0 if w is None else w[None, :]))
    # rows that count get their scale; the others get exactly 0 (even if the scale is inf or NaN)
    scale = torch.where(valid, row_scale.to(z.dtype), torch.zeros((), dtype=z.dtype, device=z.device))
    grad.mul_(scale[:, None])
    return rows, grad if th is None else grad.mul_(1.0 - th.square())


# ---------------------------------------------------------------------------------------------
# multilabel margin rows
# ---------------------------------------------------------------------------------------------


@signature_cached
class _MultilabelMarginRows(torch.autograd.Function):
    r"""Rows of the multi-label hinge, torch's kernel in the forward and a twice-differentiable backward.

    Row :math:`n` with listed labels :math:`Y` (entries before the first -1, a repeated entry counted
    again) and :math:`C` classes:

    .. math:: \ell_n = \frac{1}{C} \sum_{k} \sum_{i \notin Y} \max(0,\, 1 - x_{t_k} + x_i)

    is piecewise linear in :math:`x`, so :math:`\partial \ell_n / \partial x = G_n(x)` is piecewise
    constant: :math:`G_{n,i} = \#\{k: 1 - x_{t_k} + x_i > 0\}/C` for :math:`i \notin Y` and
    :math:`G_{n,j} = -\sum_{k: t_k = j} \#\{i \notin Y: 1 - x_j + x_i > 0\}/C` for a listed label.
    The backward returns :math:`g_n G_n` with :math:`G` computed without a graph
    (:func:`_multilabel_margin_slope`): linear in the upstream gradient :math:`g` and constant in
    :math:`x` -- exactly the second derivative (0 almost everywhere), so double backward is right
    where torch's own op has none. Memory stays linear in C (the pairwise sum is never
    materialised, unlike a formula over all (label, non-label) pairs). When no graph is being built
    (eager, outside ``create_graph=True``) the same :math:`g_n G_n` is torch's backward kernel,
    written straight into the one (N, C) gradient, from the ``is_target`` mask (1 at each listed
    label) its forward kernel wrote: saved as torch saves it, the second output (not differentiable).
    """

    @staticmethod
    def forward(x: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return torch.ops.aten.multilabel_margin_loss_forward(x, target, 0)  # reduction "none": (rows, is_target)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, target = inputs
        ctx.mark_non_differentiable(output[1])
        ctx.set_materialize_grads(False)  # no (N, C) zeros for the mask's gradient
        ctx.save_for_backward(x, target, output[1])

    @staticmethod
    def backward(ctx, grad_rows: Tensor | None, _grad_is_target: Tensor | None):
        x, target, is_target = ctx.saved_tensors
        if grad_rows is None:
            return None, None
        if not torch.is_grad_enabled() and not torch.compiler.is_compiling():
            # no graph to build (eager): torch's own backward kernel
            return torch.ops.aten.multilabel_margin_loss_backward(grad_rows, x, target, 0, is_target), None
        with torch.no_grad():
            slope = _multilabel_margin_slope(x.detach(), target)
        return slope * grad_rows.unsqueeze(-1), None

    @staticmethod
    def vmap(info, in_dims, x: Tensor, target: Tensor):
        # fold the vmapped dimension into the rows: (B, N, C) -> (B*N, C)
        x_dim, t_dim = in_dims
        b = info.batch_size
        x = x.movedim(x_dim, 0) if x_dim is not None else x.expand(b, *x.shape)
        target = target.movedim(t_dim, 0) if t_dim is not None else target.expand(b, *target.shape)
        c = x.shape[-1]
        rows, is_target = _MultilabelMarginRows.apply(x.reshape(-1, c), target.reshape(-1, c))
        return (rows.reshape(x.shape[:-1]), is_target.reshape(x.shape)), (0, 0)


def _multilabel_margin_slope(x: Tensor, target: Tensor) -> Tensor:
    r""":math:`\partial \ell_n / \partial x` of :class:`_MultilabelMarginRows` for ``x`` ``(N, C)``, in
    :math:`O(C \log C)` per row: the counts of the derivation by sorting, never the (label, non-label)
    pairs. :math:`1 - x_{t_k} + x_i > 0 \iff x_{t_k} < x_i + 1`: for a non-label :math:`i` the count is the
    number of listed scores below :math:`x_i + 1` (``searchsorted`` in the sorted listed scores); for a
    listed :math:`t_k`, the number of non-label scores above :math:`x_{t_k} - 1`."""
    c = x.shape[-1]
    listed = torch.cumprod((target != -1).to(torch.int8), dim=-1).bool()  # entries before the first -1
    t = torch.where(listed, target, 0)
    is_target = torch.zeros_like(t, dtype=torch.int32).scatter_add_(-1, t, listed.int()) > 0
    x_t = x.gather(-1, t)
    inf = torch.full((), float("inf"), dtype=x.dtype, device=x.device)
    # the counts fit in int32 (at most C): half the memory of searchsorted's default int64
    listed_sorted = torch.where(listed, x_t, inf).sort(-1).values
    above = torch.searchsorted(
        listed_sorted, (x + 1).contiguous(), side="left", out_int32=True
    )  # listed k: x_{t_k} < x_i + 1
    slope = torch.where(is_target, 0, above).to(x.dtype)
    others_sorted = torch.where(is_target, -inf, x).sort(-1).values
    at_most = torch.searchsorted(others_sorted, (x_t - 1).contiguous(), side="right", out_int32=True)
    # -(number of i not in Y with x_i > x_t - 1) = at_most - C
    slope.scatter_add_(-1, t, torch.where(listed, at_most - c, 0).to(x.dtype))
    return slope.div_(c)


def multilabel_margin_rows(x: Tensor, target: Tensor) -> Tensor:
    """The multi-label hinge of each row of ``x`` ``(N, C)`` given ``-1``-padded label lists ``target``
    ``(N, C)`` (long): ``(N,)``, twice differentiable (see :class:`_MultilabelMarginRows`)."""
    return _MultilabelMarginRows.apply(x, target)[0]


def softmax_log_p_and_one_minus_p(logits: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    r"""``(log p, 1 - p)`` of :math:`p = \operatorname{softmax}(z)` along ``dim``, both exact where
    :math:`p_c` rounds to 1.

    Derivation. Off the arg-max :math:`k` every :math:`p_c \le 1/2`, so :math:`1 - p_c` is one exact
    subtraction and :math:`\log p_c = z_c - \operatorname{lse}(z) \le -\log 2` has a small relative
    rounding. At the arg-max :math:`p_k` may round to 1 (``log_softmax`` then gives exactly 0 and
    ``1 - softmax`` exactly 0, where the true values are about :math:`-\sum_{j \ne k} e^{z_j - z_k}`):
    there

    .. math::
        1 - p_k = \sum_{j \ne k} p_j \quad\text{(a sum of positive terms: exact)}, \qquad
        \log p_k = \operatorname{log1p}(-(1 - p_k)) \quad\text{where } p_k > 1/2.

    Both are compositions of differentiable ops, so their gradients are autograd's, as exact as the
    values: :math:`\partial (1 - p_k)/\partial z_j = p_j([j \ne k] - (1 - p_k))`, with no
    cancellation. The unselected ``log1p`` branch sees :math:`\min(1 - p, 1/2)`, so it is finite.
    """
    log_p = torch.log_softmax(logits, dim)
    p = log_p.exp()
    c = logits.shape[dim]
    classes = torch.arange(c, device=logits.device).view(-1, *([1] * (logits.dim() - 1 - dim)))
    top = classes == logits.argmax(dim, keepdim=True)  # the one class that can have p > 1/2
    zero = torch.zeros((), dtype=p.dtype, device=p.device)
    a_top = torch.where(top, zero, p).sum(dim, keepdim=True)  # 1 - p_k = sum_{j != k} p_j
    one_minus = torch.where(top, a_top, 1.0 - p)
    log_p = torch.where(top & (p > 0.5), torch.log1p(-one_minus.clamp(max=0.5)), log_p)  # log p_k = log1p(-(1 - p_k))
    return log_p, one_minus


def focal_power(a: Tensor, gamma: float) -> Tensor:
    r""":math:`a^\gamma` for :math:`a = 1 - p \in [0, 1]`, with a gradient that stays finite for
    :math:`0 < \gamma < 1`.

    Derivation. :math:`d a^\gamma / da = \gamma a^{\gamma - 1}` is infinite at :math:`a = 0` for
    :math:`\gamma < 1`, and autograd multiplies it by :math:`da/dz = 0` there: NaN. In a focal term
    :math:`a^\gamma (-\log p)` the derivative :math:`-a^\gamma(1 + \gamma\, p\, (-\log p)/a)` is bounded
    (:math:`-\log p / a \to 1`), and where :math:`a` is below the dtype's smallest normal number
    :math:`\tau` every term of it is below :math:`\tau` too. So: the value is :math:`a^\gamma` everywhere;
    where :math:`a < \tau` its gradient is dropped (the exact one is smaller than :math:`\tau`), and
    elsewhere it is autograd's :math:`\gamma a^{\gamma-1} \le \gamma \tau^{\gamma - 1}`, finite.
    """
    if gamma == 0:
        return torch.ones_like(a)
    if gamma == 1:
        return a
    small = a < torch.finfo(a.dtype).tiny
    safe = torch.where(small, torch.ones((), dtype=a.dtype, device=a.device), a)
    return torch.where(small, a.detach().pow(gamma), safe.pow(gamma))
