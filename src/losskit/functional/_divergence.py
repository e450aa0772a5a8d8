"""Information measures between distributions: entropy, KL and Jensen-Shannon divergence, and the
``kl_div`` loss (the exact twin of :func:`torch.nn.functional.kl_div`).

:func:`entropy`, :func:`kl_divergence` and :func:`js_divergence` are measures, not losses: they take
no ``reduction`` and return one value per distribution (the input's shape without ``dim``). They
accept probabilities or, with ``log_input=True``, log-probabilities, and follow the conventions
:math:`0 \\log 0 = 0` and :math:`0 \\log(0/q) = 0`: zeros in ``p`` give finite values *and finite
gradients* (the zero entries get gradient 0, as structural zeros). :math:`\\mathrm{KL}(p \\| q)` is
``+inf`` exactly where some :math:`p_c > 0` meets :math:`q_c = 0`.

They relate to the cross-entropy losses by
:math:`H(p, q) = H(p) + \\mathrm{KL}(p \\| q)`: ``cross_entropy(log q, p, reduction="none")`` (with
probability targets ``p``) equals ``entropy(p, dim=1) + kl_divergence(p, q, dim=1)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import _checks, _reduction
from .._reduction import check_reduction, legacy_reduction
from ._cross_entropy import cross_entropy

__all__ = ["entropy", "kl_divergence", "js_divergence", "kl_div", "generalized_kl_divergence", "jsd_cross_entropy"]

_LOG2 = math.log(2.0)


def _check_dim(dim: int, ndim: int, shape: tuple, fn: str) -> int:
    """``dim`` as a non-negative index into a shape of ``ndim`` dimensions, or a ``ValueError``."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{fn}: dim must be an int, got {type(dim).__name__}")
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"{fn}: dim={dim} is out of range for shape {shape} ({ndim} dimensions); pass the dimension that "
            f"holds the outcomes, in [{-ndim}, {ndim - 1}]"
        )
    return dim % ndim


def _prep(x: Tensor, name: str, log_input: bool) -> Tensor:
    x = _checks.floating(x, name)
    if x.dim() == 0:
        raise ValueError(f"{name} must have a dimension holding the distribution, got a 0-dimensional tensor")
    if log_input:
        _checks.finite(x, name, neginf_ok=True)  # -inf is an impossible outcome; NaN and +inf are errors
    else:
        _checks.finite(x, name)
        _checks.values_in(
            x, name, low=0.0, high=1.0, fix="pass probabilities in [0, 1] (or log-probabilities with log_input=True)"
        )
    return _checks.upcast(x)


def _pair(p: Tensor, q: Tensor, dim: int, fn: str) -> None:
    _checks.tensor(p, "p")
    _checks.tensor(q, "q")
    shape = _checks.broadcast_shape(p.shape, q.shape)
    if shape is None:
        raise ValueError(
            f"{fn}: p with shape {tuple(p.shape)} and q with shape {tuple(q.shape)} do not broadcast; give them "
            f"the same shape, or shapes that broadcast (e.g. q of shape (C,) for one reference distribution)"
        )
    if p.dim() == 0 or q.dim() == 0:
        return  # _prep refuses a 0-d p or q with its own message
    # dim indexes the broadcast shape (aligned on the right, like broadcasting); a tensor with fewer
    # dimensions that lacks that dimension has one outcome there
    d = _check_dim(dim, len(shape), tuple(shape), fn) - len(shape)
    n_p = p.shape[d] if -p.dim() <= d else 1
    n_q = q.shape[d] if -q.dim() <= d else 1
    if n_p != n_q:
        raise ValueError(
            f"{fn}: p has {n_p} outcomes along dim={dim} but q has {n_q} (shapes "
            f"{tuple(p.shape)} and {tuple(q.shape)}); both must describe the same outcomes"
        )


def _out(x: Tensor, *inputs: Tensor) -> Tensor:
    dtype = inputs[0].dtype
    for t in inputs[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return x if x.dtype == dtype else x.to(dtype)


def _prep_pair(p: Tensor, q: Tensor, dim: int, log_input: bool, fn: str) -> tuple[Tensor, Tensor]:
    """Validate ``p`` and ``q`` and return both expanded to their broadcast shape (computation dtype)."""
    _pair(p, q, dim, fn)
    xp, xq = _prep(p, "p", log_input), _prep(q, "q", log_input)
    shape = torch.broadcast_shapes(xp.shape, xq.shape)
    return xp.expand(shape), xq.expand(shape)


def _plogp_over(p: Tensor, logp: Tensor, logr: Tensor, mask: Tensor, dim: int) -> Tensor:
    """``sum_c p_c (log p_c - log r_c)`` over ``dim``, with terms where ``mask`` (p > 0) is False set to 0.

    The log arguments are replaced by 0 off the mask *before* they meet ``p``, so neither the value
    nor the gradient sees ``0 * (-inf)`` (a plain ``where`` on the product would leak NaN gradients).
    """
    zero = torch.zeros((), dtype=logp.dtype, device=logp.device)
    logp = torch.where(mask, logp, zero)
    logr = torch.where(mask, logr, zero)
    return (p * (logp - logr)).sum(dim)


def entropy(p: Tensor, *, dim: int = -1, log_input: bool = False) -> Tensor:
    r"""Shannon entropy (in nats) of the categorical distributions along ``dim``.

    .. math:: H(p) = -\sum_c p_c \log p_c, \qquad 0 \log 0 = 0.

    The expected negative log-likelihood of a Categorical(p) under itself: the floor of the
    cross-entropy :math:`H(p, q) = H(p) + \mathrm{KL}(p \| q)` that a model q can reach on data drawn
    from p. Zero entries get gradient 0.

    Args:
        p: probabilities (each slice along ``dim`` sums to 1), or log-probabilities if
            ``log_input`` (``-inf`` for impossible outcomes is fine). float16/bfloat16 are computed
            in float32.
        dim: the dimension that holds the outcomes.
        log_input: ``p`` holds log-probabilities (e.g. ``log_softmax`` output).

    Returns:
        ``p``'s shape without ``dim``.

    Example:
        >>> import torch
        >>> from losskit.functional import entropy
        >>> entropy(torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]))
        tensor([0.6931, 0.0000])

    References:
        Cover & Thomas, *Elements of Information Theory*, 2nd ed., ch. 2.
    """
    x = _prep(p, "p", log_input)
    _check_dim(dim, x.dim(), tuple(x.shape), "entropy")
    if log_input:
        logp, mask = x, x > -math.inf
        prob = torch.exp(x)
    else:
        prob, mask = x, x > 0
        logp = torch.log(torch.where(mask, x, torch.ones((), dtype=x.dtype, device=x.device)))
    # H = -sum p log p  (= -_plogp_over with log r = 0)
    h = -_plogp_over(prob, logp, torch.zeros_like(logp), mask, dim)
    return _out(h, p)


def kl_divergence(p: Tensor, q: Tensor, *, dim: int = -1, log_input: bool = False) -> Tensor:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \| q)` (in nats) along ``dim``.

    .. math:: \mathrm{KL}(p \| q) = \sum_c p_c \log \frac{p_c}{q_c}, \qquad 0 \log \frac{0}{q} = 0,

    ``+inf`` where some :math:`p_c > 0` has :math:`q_c = 0`. It is the excess negative
    log-likelihood of data from p scored by a model q: :math:`H(p, q) - H(p)`. Unlike
    :func:`kl_div` (the loss), the arguments are in the mathematical order (p first), both in the
    same space, and nothing is reduced.

    Args:
        p: probabilities (or log-probabilities if ``log_input``), distributions along ``dim``.
        q: same as ``p`` (shapes must broadcast; same number of outcomes).
        dim: the dimension that holds the outcomes.
        log_input: ``p`` and ``q`` hold log-probabilities.

    Returns:
        the broadcast shape of ``p`` and ``q`` without ``dim``.

    Example:
        >>> import torch
        >>> from losskit.functional import kl_divergence
        >>> p = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
        >>> q = torch.tensor([[0.25, 0.25, 0.5], [1.0, 0.0, 0.0]])
        >>> kl_divergence(p, q)
        tensor([0.6931,    inf])

    References:
        Kullback & Leibler, "On Information and Sufficiency", Ann. Math. Statist. 22 (1951).
    """
    xp, xq = _prep_pair(p, q, dim, log_input, "kl_divergence")
    if log_input:
        logp, logq, mask = xp, xq, xp > -math.inf
        prob = torch.exp(xp)
    else:
        one = torch.ones((), dtype=xp.dtype, device=xp.device)
        prob, mask = xp, xp > 0
        logp = torch.log(torch.where(mask, xp, one))
        # q is replaced by 1 where p = 0 before the log (no 1/0 in the gradient there); where p > 0
        # and q = 0, log q = -inf and KL = +inf as it should
        logq = torch.log(torch.where(mask, xq, one))
    kl = _plogp_over(prob, logp, logq, mask, dim)
    return _out(kl, p, q)


def js_divergence(p: Tensor, q: Tensor, *, dim: int = -1, log_input: bool = False) -> Tensor:
    r"""Jensen-Shannon divergence (in nats) along ``dim``: symmetric, finite, at most :math:`\log 2`.

    .. math::
        \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \| m) + \tfrac12 \mathrm{KL}(q \| m),
        \qquad m = \tfrac12 (p + q)

    (with log inputs, :math:`\log m = \operatorname{logaddexp}(\log p, \log q) - \log 2`). Since
    :math:`m_c > 0` wherever :math:`p_c > 0` or :math:`q_c > 0`, it is finite for any p, q, with
    finite gradients.

    Likelihood view: the mean excess negative log-likelihood of data drawn from p and from q when
    both are scored by the mixture model m (a measure, not a loss: no link, no reduction).

    Args:
        p, q: two distributions along ``dim``, as for :func:`kl_divergence` (probabilities, or
            log-probabilities if ``log_input``; broadcastable, the same number of outcomes).
        dim, log_input: as for :func:`kl_divergence`.

    Returns:
        one divergence per pair of distributions: the broadcast shape without ``dim``.

    Example:
        >>> import torch
        >>> from losskit.functional import js_divergence
        >>> js_divergence(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))
        tensor(0.6931)

    References:
        Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991).
    """
    xp, xq = _prep_pair(p, q, dim, log_input, "js_divergence")
    zero = torch.zeros((), dtype=xp.dtype, device=xp.device)
    if log_input:
        mp, mq = xp > -math.inf, xq > -math.inf
        both = mp | mq
        # logaddexp(-inf, -inf) has a NaN gradient: feed it zeros where both are impossible (masked later)
        logm = torch.logaddexp(torch.where(both, xp, zero), torch.where(both, xq, zero)) - _LOG2
        prob_p, prob_q, logp, logq = torch.exp(xp), torch.exp(xq), xp, xq
    else:
        one = torch.ones((), dtype=xp.dtype, device=xp.device)
        mp, mq = xp > 0, xq > 0
        m = 0.5 * (xp + xq)
        logm = torch.log(torch.where(mp | mq, m, one))
        prob_p, prob_q = xp, xq
        logp, logq = torch.log(torch.where(mp, xp, one)), torch.log(torch.where(mq, xq, one))
    js = 0.5 * _plogp_over(prob_p, logp, logm, mp, dim) + 0.5 * _plogp_over(prob_q, logq, logm, mq, dim)
    return _out(js, p, q)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    r"""The Kullback-Leibler divergence loss, ``KL(target || exp(input))`` elementwise.

    The exact twin of :func:`torch.nn.functional.kl_div` — note torch's argument order: ``input``
    is the model's **log**-probabilities, ``target`` the reference distribution (probabilities, or
    log-probabilities if ``log_target``):

    .. math:: \ell = t\,(\log t - x) \quad (0 \text{ where } t = 0), \qquad
        \ell = e^{t}\,(t - x) \text{ if log\_target}.

    Reductions: ``"batchmean"`` (sum / N, the true mean KL per sample — use this), ``"sum"``,
    ``"none"``, and ``"mean"`` (sum / number of elements, which also divides by the number of
    classes; kept for torch compatibility and warned about, like torch).

    Likelihood: up to the target's entropy (a constant), the cross-entropy
    :math:`-\sum_c t_c x_c`, i.e. the NLL of a Categorical model with log-probabilities ``input``
    averaged over soft labels ``t`` (distillation). Compare :func:`kl_divergence` (the measure).

    Args:
        input: log-probabilities, any shape, e.g. (N, C).
        target: probabilities (or log-probabilities), ``input``'s shape or broadcastable to it.
        size_average, reduce: deprecated torch aliases of ``reduction``.
        reduction: ``"none"`` | ``"batchmean"`` | ``"sum"`` | ``"mean"``.
        log_target: ``target`` holds log-probabilities.

    Returns:
        ``"none"``: ``input``'s shape; otherwise a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import kl_div
        >>> log_q = torch.log(torch.tensor([[0.25, 0.25, 0.5]]))
        >>> print(round(kl_div(log_q, torch.tensor([[0.5, 0.5, 0.0]]), reduction="batchmean").item(), 4))
        0.6931

    References:
        PyTorch, ``torch.nn.KLDivLoss``; Hinton et al., "Distilling the Knowledge in a Neural
        Network", 2015.
    """
    reduction = check_reduction(
        legacy_reduction(size_average, reduce, reduction), allowed=("none", "batchmean", "sum", "mean")
    )
    log_target = _checks.flag(log_target, "log_target", fn="kl_div")
    _checks.floating(input, "input")
    _checks.broadcasts_to(
        target, input.shape, "kl_div: target", "input", fix="give target input's shape (or one that broadcasts to it)"
    )
    b = _checks.pointwise_inputs(
        "kl_div", {"input": input, "target": target}, neginf_ok=("input", "target") if log_target else ("input",)
    )
    if reduction == "mean" and not _checks.tracing():  # (a warning would break a fullgraph compile)
        _checks.warn_user(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the support size; "
            "reduction='batchmean' divides only by the batch size and is the KL divergence per sample"
        )
    # t (log t - x), or e^t (t - x) with log targets: torch's operator (on autocast's float32 list)
    rows = torch.kl_div(b.tensors[0], b.tensors[1], 0, log_target=log_target)
    return _reduction.reduce(rows, reduction)  # batchmean: sum / input.shape[0]; mean: sum / numel


def generalized_kl_divergence(
    input: Tensor, target: Tensor, *, log_input: bool = False, reduction: str = "batchmean"
) -> Tensor:
    r"""Generalized KL divergence (I-divergence) between non-negative measures that need not sum to 1.

    .. math::
        \ell_i = t_i \log\frac{t_i}{x_i} - t_i + x_i, \qquad 0 \log 0 = 0

    (with ``log_input=True``, ``input`` holds :math:`z = \log x`:
    :math:`\ell_i = t_i(\log t_i - z_i) - t_i + e^{z_i}`). Every term is :math:`\ge 0`, with
    equality only at :math:`x_i = t_i`; summed over a distribution's entries it is
    :math:`\mathrm{KL}(t \| x)` when both sum to 1, and otherwise adds the mass difference
    :math:`\sum x - \sum t`. It is jointly convex in :math:`(t, x)`. The divergence behind
    non-negative matrix factorisation (Lee & Seung's KL objective).

    **Likelihood.** The Poisson NLL with rate :math:`x_i` (identity link; the log link with
    ``log_input=True``) of counts :math:`t_i`: :math:`-\log p(t_i) = x_i - t_i \log x_i + \log t_i!`,
    so :math:`\ell_i = -\log p(t_i) + (t_i\log t_i - t_i - \log t_i!)`, a constant of the target
    (compare :func:`losskit.functional.poisson_nll_loss`). Predict :math:`x` (the mean).

    Args:
        input: predicted measure :math:`x \ge 0` (or :math:`\log x` with ``log_input``), e.g. ``(N, C)``.
        target: target measure :math:`t \ge 0`, broadcastable to ``input``.
        log_input: ``input`` holds :math:`\log x` (any real number; exact and stable for large rates).
        reduction: ``"none"`` | ``"batchmean"`` (the sum divided by ``input.shape[0]``: the divergence
            per sample, summing each sample's entries; the default) | ``"sum"`` | ``"mean"`` (the sum
            divided by the number of terms).

    Returns:
        ``"none"``: the terms, in ``input``'s shape; otherwise a scalar (see ``reduction``).

    Example:
        >>> import torch
        >>> from losskit.functional import generalized_kl_divergence
        >>> generalized_kl_divergence(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.3069)

    References:
        Csiszár, "Why least squares and maximum entropy?", Ann. Statist. 19 (1991) (the
        I-divergence); Lee & Seung, "Algorithms for non-negative matrix factorization", NIPS 2000.

    Peers: optax ``convex_kl_divergence(log_predictions, targets)`` is this with ``log_input=True``,
    summed over the last axis and not reduced over the batch (``reduction="none"`` then ``.sum(-1)``).
    """
    fn = "generalized_kl_divergence"
    reduction = check_reduction(reduction, allowed=("none", "batchmean", "sum", "mean"))
    log_input = _checks.flag(log_input, "log_input", fn=fn)
    _checks.floating(input, "input")
    _checks.broadcasts_to(
        target, input.shape, f"{fn}: target", "input", fix="give target input's shape (or one that broadcasts to it)"
    )
    b = _checks.pointwise_inputs(fn, {"input": input, "target": target}, neginf_ok=("input",) if log_input else ())
    if not log_input:
        _checks.values_in(
            input,
            "input",
            low=0.0,
            fix="input is a non-negative measure; pass log_input=True for log-measures (e.g. a model's raw output)",
        )
    _checks.values_in(target, "target", low=0.0, fix="the target is a non-negative measure (counts, intensities)")
    x, t = b.tensors
    out = _checks.autocast_dtype(x, b.dtype)
    if _checks.compute_dtype(b.dtype) != b.dtype:  # half: the logs and exp in float32
        x, t = x.float(), t.float()
    if log_input:
        rows = torch.xlogy(t, t) - t * x - t + torch.exp(x)  # t log t - t z - t + e^z
    else:
        rows = torch.xlogy(t, t) - torch.xlogy(t, x) - t + x  # t log(t/x) - t + x, 0 log 0 = 0
    return _reduction.reduce(rows.expand(input.shape), reduction).to(out)


def jsd_cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    num_splits: int | None = 3,
    alpha: float = 12.0,
    label_smoothing: float = 0.1,
    reduction: str = "mean",
) -> Tensor:
    r"""Cross-entropy on the clean split plus a Jensen-Shannon consistency term over augmented splits
    (AugMix; timm's ``JsdCrossEntropy``).

    .. math::
        \ell_n = \mathrm{CE}_\varepsilon(z^{(0)}_n, y_n)
                 + \alpha \cdot \frac1S \sum_{s=0}^{S-1} \mathrm{KL}\big(p^{(s)}_n \,\big\|\, M_n\big),
        \qquad p^{(s)}_n = \operatorname{softmax}(z^{(s)}_n), \quad M_n = \frac1S \sum_s p^{(s)}_n

    for each of the ``M`` images: split 0 holds the clean images, splits ``1..S-1`` augmented views
    of the same images in the same order. The second term is the generalised Jensen-Shannon
    divergence of the ``S`` predictions (for ``S = 2`` it is :func:`js_divergence`); :math:`\log M_n`
    is computed as :math:`\operatorname{logsumexp}_s \log p^{(s)}_n - \log S` (exact, where timm
    clamps :math:`M` at 1e-7). ``CE_ε`` is :func:`cross_entropy` with ``label_smoothing=ε``.

    **Likelihood view.** The Categorical NLL of the clean images (smoothed targets), plus a penalty
    that is 0 exactly when every augmented view gives the clean view's distribution: a reweighting
    toward augmentation-invariant predictions, not a likelihood of the augmented images.

    Args:
        logits: ``(S·M, C)`` -- timm's layout, the splits stacked along dim 0 (``torch.cat([clean,
            aug1, aug2])``) -- or ``(S, M, C)``.
        target: class indices ``(M,)`` of the clean split, or ``(S·M,)`` (timm passes the whole batch's
            targets and reads the first ``M``).
        num_splits: :math:`S` for ``(S·M, C)`` logits (timm's default 3); for ``(S, M, C)`` logits
            ``None`` or ``S``.
        alpha: weight :math:`\alpha \ge 0` of the consistency term (timm's default 12).
        label_smoothing: :math:`\varepsilon` of the clean split's cross-entropy (timm's default 0.1).
        reduction: ``"none"`` (``(M,)``: one term per image) | ``"mean"`` (their mean over the ``M``
            images: timm's value) | ``"sum"``.

    Returns:
        ``"none"``: ``(M,)``; ``"mean"``/``"sum"``: a scalar.

    Example:
        >>> import torch
        >>> from losskit.functional import jsd_cross_entropy
        >>> clean = torch.tensor([[2.0, 0.0, -1.0]])
        >>> logits = torch.cat([clean, clean, clean])          # augmentations that change nothing
        >>> print(round(jsd_cross_entropy(logits, torch.tensor([0])).item(), 4))   # = smoothed CE
        0.3365

    References:
        Hendrycks et al., "AugMix: A Simple Data Processing Method to Improve Robustness and
        Uncertainty", ICLR 2020; timm ``timm/loss/jsd.py`` (``JsdCrossEntropy``, same defaults).
    """
    fn = "jsd_cross_entropy"
    reduction = check_reduction(reduction)
    alpha = _checks.number(alpha, "alpha", low=0.0, fn=fn, hint="12 is timm's default; 0 gives cross_entropy")
    x = _checks.floating(logits, "logits")
    _checks.tensor(target, "target")
    if x.dim() == 3:
        if num_splits is not None and num_splits != x.shape[0]:
            raise ValueError(
                f"{fn}: logits of shape {tuple(x.shape)} hold {x.shape[0]} splits (dim 0) but "
                f"num_splits={num_splits}; pass num_splits=None or {x.shape[0]}"
            )
        s, m = x.shape[0], x.shape[1]
    elif x.dim() == 2:
        s = _checks.number(
            num_splits,
            "num_splits",
            low=1,
            integer=True,
            fn=fn,
            hint="the number of splits stacked along dim 0 (clean + augmented), timm's default 3",
        )
        if x.shape[0] % s:
            raise ValueError(
                f"{fn}: logits has {x.shape[0]} rows, which is not num_splits={s} splits of equal size; "
                "stack [clean; aug1; ...] along dim 0, each split holding the same images"
            )
        m = x.shape[0] // s
    else:
        raise ValueError(
            f"{fn}: logits must be (S*M, C) (splits stacked along dim 0) or (S, M, C), got shape {tuple(x.shape)}"
        )
    z = x.reshape(s, m, x.shape[-1])
    if target.dim() == 1 and target.shape[0] == s * m and s > 1:
        target = target[:m]  # timm's convention: the whole batch's targets, the clean split first
    ce = cross_entropy(z[0], target, ignore_index=None, label_smoothing=label_smoothing, reduction="none")
    logp = torch.log_softmax(z if _checks.compute_dtype(z.dtype) == z.dtype else z.float(), dim=-1)
    # log of the mean of the S softmaxes; log S as a tensor op (math.log would specialise a symbolic S)
    log_mix = torch.logsumexp(logp, dim=0) - logp.new_ones(()).mul(s).log()
    js = (logp.exp() * (logp - log_mix)).sum(-1).mean(0)  # (1/S) sum_s KL(p_s || M)
    rows = ce + alpha * js.to(ce.dtype)
    return _reduction.reduce(rows, reduction)
