r"""Hand-derived numeric pieces of the reference path, each with its derivation and its own tests.

The losses compose these where plain autograd would be inexact or would store too much: each piece
is a PyTorch computation (no kernel), and every kernel that serves the same primitive is tested
against it.

* :func:`cross_entropy_rows_and_grad` -- the loss of a chunk of logit rows and its gradient with
  respect to those logits, in one pass (the chunk step of :func:`losskit.functional.linear_cross_entropy`).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

__all__ = ["cross_entropy_rows_and_grad"]


def cross_entropy_rows_and_grad(logits: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int,
                                label_smoothing: float, row_scale: Optional[Tensor], z_loss: float = 0.0,
                                softcap: Optional[float] = None) -> tuple[Tensor, Optional[Tensor]]:
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
    lse = torch.logsumexp(z, dim=1)
    logp = z - lse[:, None]
    eps = float(label_smoothing)
    w = None if weight is None else weight.to(z.dtype)
    if target.is_floating_point():
        tp = target.to(z.dtype)
        if eps:
            tp = tp * (1.0 - eps) + eps / c  # smoothed target t'
        wt = tp if w is None else tp * w
        rows = -(wt * logp).sum(1)
        if z_loss:
            rows = rows + z_loss * lse.square()  # z-loss ζ·lse²
        if row_scale is None:
            return rows, None
        coef = wt.sum(1, keepdim=True) + (2.0 * z_loss) * lse[:, None]
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
    if z_loss:
        rows = rows + z_loss * a * lse.square()  # z-loss ζ·w_y·lse², weighted like the row
    if row_scale is None:
        return rows, None
    wsum = float(c) if w is None else w.sum()
    coef = a * (1.0 - eps) + v * (eps * wsum / c) + (2.0 * z_loss) * a * lse
    grad = logp.exp_().mul_(coef[:, None])
    grad.scatter_add_(1, y[:, None], -(a * (1.0 - eps))[:, None])
    if eps:
        grad.sub_((v * (eps / c))[:, None] * (1.0 if w is None else w[None, :]))
    # rows that count get their scale; the others get exactly 0 (even if the scale is inf or NaN)
    scale = torch.where(valid, row_scale.to(z.dtype), torch.zeros((), dtype=z.dtype, device=z.device))
    grad.mul_(scale[:, None])
    return rows, grad if th is None else grad.mul_(1.0 - th.square())
