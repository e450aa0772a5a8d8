r"""Weighted sums of named losses, computing the shared activation once.

A combination is a mapping ``name -> part``. A part is any callable ``part(x, target) -> Tensor``.
By default it receives the raw logits. A part can instead declare that it takes a precomputed
activation of those logits, by carrying two attributes (the :func:`precomputed` wrapper sets them):

* ``takes``: ``"logits"`` (default), ``"probs"`` or ``"log_probs"``;
* ``activation``: ``"softmax"`` (default; over dim 1, or dim 0 for 1-D logits) or ``"sigmoid"``.

For each activation the log-space value is computed once per call (``log_softmax`` or
``logsigmoid``) and the probabilities are its ``exp``, so a cross-entropy part that takes
log-probabilities (``nll_loss``) and an overlap part that takes probabilities (e.g. a dice loss
called with ``from_logits=False``) share one softmax pass instead of computing two.

The result is a plain tensor: :func:`combined_loss` returns the total
:math:`\sum_k \lambda_k L_k`; :func:`combined_loss_components` returns ``(total, {name: L_k})``
with the unweighted parts (still attached to the graph).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from .. import _checks
from .._options import ACTIVATIONS as _ACTIVATIONS
from .._options import Precomputed as _Precomputed
from .._options import combination_parts as _check_parts
from ._focal import focal_loss  # noqa: F401  (used in the examples)

__all__ = ["Activations", "precomputed", "combined_loss", "combined_loss_components"]

Weight = float | Tensor


class Activations:
    """Activations of one logits tensor, each computed at most once (on first use).

    ``log_softmax`` / ``softmax`` are over dim 1 (dim 0 for 1-D logits), the class dimension of
    ``(N, C, d1..dk)``; ``softmax = exp(log_softmax)`` and ``sigmoid = exp(logsigmoid)`` reuse the
    log-space pass.

    >>> acts = Activations(torch.tensor([[0.0, 0.0]]))
    >>> acts.get("probs", "softmax")
    tensor([[0.5000, 0.5000]])
    """

    def __init__(self, logits: Tensor) -> None:
        self.logits = logits
        self.dim = 1 if logits.dim() > 1 else 0
        self._cache: dict[tuple[str, str], Tensor] = {}

    def computed(self, takes: str, activation: str = "softmax") -> bool:
        """Whether :meth:`get` has computed this activation already (logits always are)."""
        return takes == "logits" or (takes, activation) in self._cache

    def get(self, takes: str, activation: str = "softmax") -> Tensor:
        """``takes`` in ``"logits" | "probs" | "log_probs"``, ``activation`` in ``"softmax" | "sigmoid"``."""
        if takes == "logits":
            return self.logits
        key = (takes, activation)
        if key not in self._cache:
            log_key = ("log_probs", activation)
            if log_key not in self._cache:
                if activation == "softmax":
                    self._cache[log_key] = torch.log_softmax(self.logits, self.dim)
                else:
                    self._cache[log_key] = torch.nn.functional.logsigmoid(self.logits)
            if takes == "probs":
                self._cache[key] = self._cache[log_key].exp()  # p = exp(log p)
        return self._cache[key]


def precomputed(loss: Callable, *, takes: str = "probs", activation: str = "softmax", **kwargs: Any) -> _Precomputed:
    r"""Declare that ``loss`` takes a precomputed activation instead of logits.

    Inside :func:`combined_loss` (and :class:`losskit.nn.CombinedLoss`) the part is called as
    ``loss(act, target, **kwargs)`` where ``act`` is the ``probs`` or ``log_probs`` of the shared
    logits under ``activation``, computed once for all parts that ask for it. Pass the keyword that
    tells ``loss`` its input is not logits, e.g. ``from_logits=False`` for the overlap losses.

    The activation is the link of the part's likelihood (softmax: Categorical, sigmoid:
    Bernoulli), applied once to the logits instead of once per part:

    .. math:: \log p = \operatorname{log\_softmax}(z) \ \text{or}\ \log\sigma(z), \qquad p = e^{\log p}

    Args:
        loss: a callable ``loss(x, target, **kwargs)`` (a function or an ``nn.Module``).
        takes: ``"probs"`` or ``"log_probs"``.
        activation: ``"softmax"`` (over the class dim 1) or ``"sigmoid"``.
        **kwargs: fixed keyword arguments for ``loss``.

    Returns:
        A callable part with ``takes`` and ``activation`` attributes, for :func:`combined_loss`.

    Example:
        >>> import torch.nn.functional as F
        >>> part = precomputed(F.nll_loss, takes="log_probs")
        >>> part.takes, part.activation
        ('log_probs', 'softmax')
    """
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    if takes not in ("probs", "log_probs"):
        raise ValueError(f"takes={takes!r} is not valid: use 'probs' or 'log_probs' (plain parts take logits)")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is not valid: use 'softmax' or 'sigmoid'")
    return _Precomputed(loss, takes, activation, kwargs)


def _label_map(input: Tensor, target: Tensor) -> Tensor:
    """A MONAI-style class-index label map ``(N, 1, *)`` for logits ``(N, C, *)`` (``C > 1``) as ``(N, *)``, the
    class-index form every losskit part takes; anything else unchanged. Unambiguous: an integer target with
    one channel cannot be one-hot or multi-label masks (those have C channels)."""
    if (
        isinstance(target, Tensor)
        and not (target.is_floating_point() or target.is_complex() or target.dtype == torch.bool)
        and input.dim() >= 2
        and target.dim() == input.dim()
        and input.shape[1] > 1
        and target.shape[1] == 1
        and target.shape[0] == input.shape[0]
        and target.shape[2:] == input.shape[2:]
    ):
        return target.squeeze(1)
    return target


def combined_loss_components(
    input: Tensor,
    target: Tensor,
    losses: Mapping[str, Callable],
    *,
    weights: Mapping[str, Weight] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""The weighted sum of named losses and the (unweighted) value of each.

    .. math::

        L = \sum_k \lambda_k\, L_k(x, y), \qquad \lambda_k = \texttt{weights[k]}\ (1\ \text{if absent})

    Each part gets the logits, or the shared precomputed activation it declares (see
    :func:`precomputed`). Parts reduce themselves (their own ``reduction``); they should return
    tensors of one shape (normally scalars).

    An integer label map of shape ``(N, 1, *)`` for logits ``(N, C, *)`` with ``C > 1`` (MONAI's
    layout, e.g. ``DiceCELoss(to_onehot_y=True)``) is passed to the parts as ``(N, *)`` class indices,
    the form cross-entropy and the multiclass overlap losses take.

    Likelihood view: a sum of negative log-likelihoods (and/or overlap measures) is the NLL of
    the product of the corresponding likelihoods raised to the powers :math:`\lambda_k` — a
    tempered product of experts over the same prediction.

    Args:
        input: logits, e.g. ``(N, C, d1..dk)``.
        target: passed to every part (an ``(N, 1, *)`` integer label map as ``(N, *)``, see above).
        losses: mapping ``name -> part``.
        weights: mapping ``name -> lambda`` (floats or scalar tensors); missing names weigh 1.

    Returns:
        ``(total, components)``: the total, and a dict ``name -> L_k`` (attached to the graph).

    Example:
        >>> import torch.nn.functional as F
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> target = torch.tensor([0, 2])
        >>> total, parts = combined_loss_components(
        ...     logits, target, {"ce": precomputed(F.nll_loss, takes="log_probs"), "focal": focal_loss},
        ...     weights={"focal": 2.0})
        >>> print(round(total.item(), 4), {k: round(v.item(), 4) for k, v in parts.items()})
        0.2208 {'ce': 0.2056, 'focal': 0.0076}

    References:
        Hinton, "Training Products of Experts by Minimizing Contrastive Divergence", Neural
        Computation 14 (2002); Taghanaki et al., "Combo loss: Handling input and output imbalance in
        multi-organ segmentation", CMIG 75 (2019) (cross-entropy + Dice).
    """
    _checks.tensor(input, "input")
    weights = _check_parts(losses, weights)
    target = _label_map(input, target)
    acts = Activations(input)
    if _checks.tracing():
        return _sum_parts(acts, target, losses, weights)
    # the parts share their reads of input and target, and the class log-probabilities of the input
    with _checks.checked_once(), _checks.shared_activations(acts):
        return _sum_parts(acts, target, losses, weights)


def _sum_parts(
    acts: Activations, target: Tensor, losses: Mapping[str, Callable], weights: Mapping[str, Weight]
) -> tuple[Tensor, dict[str, Tensor]]:
    total: Tensor | None = None
    parts: dict[str, Tensor] = {}
    for name, part in losses.items():
        x = acts.get(getattr(part, "takes", "logits"), getattr(part, "activation", "softmax"))
        value = part(x, target)
        if not isinstance(value, Tensor):
            raise TypeError(f"losses[{name!r}] returned {type(value).__name__}, expected a Tensor")
        parts[name] = value
        w = weights.get(name, 1.0)
        term = value if (not isinstance(w, Tensor) and w == 1.0) else value * w
        total = term if total is None else total + term
    return total, parts  # type: ignore[return-value]  # losses is non-empty (checked)


def combined_loss(
    input: Tensor,
    target: Tensor,
    losses: Mapping[str, Callable],
    *,
    weights: Mapping[str, Weight] | None = None,
) -> Tensor:
    r"""The weighted sum :math:`\sum_k \lambda_k L_k(x, y)` of named losses (a plain tensor).

    .. math::

        L = \sum_k \lambda_k\, L_k(x, y)

    Likelihood view: a sum of NLLs is the NLL of the tempered product of their likelihoods (see
    :func:`combined_loss_components`, which also gives the per-part values).

    Args:
        input: logits, e.g. ``(N, C, d1..dk)``.
        target: passed to every part (an ``(N, 1, *)`` integer label map as ``(N, *)`` class indices).
        losses: mapping ``name -> part`` (callables; :func:`precomputed` parts share activations).
        weights: mapping ``name -> lambda``; missing names weigh 1.

    Returns:
        The total, of the parts' shape (a scalar for reduced parts).

    Example:
        >>> import torch.nn.functional as F
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
        >>> round(combined_loss(logits, torch.tensor([0, 2]), {"ce": F.cross_entropy}).item(), 4)
        0.2056

    References:
        See :func:`combined_loss_components`.
    """
    return combined_loss_components(input, target, losses, weights=weights)[0]
