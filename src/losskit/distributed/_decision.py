"""losskit.decision's metrics over the predictions of every rank of a group.

Calibration and threshold tuning need every prediction of the evaluation set: each function here
gathers the predictions and targets of the ranks (concatenated in rank order; the number of rows
may differ between ranks) and calls the :mod:`losskit.decision` function of the same name, so
every rank gets the number one process holding the whole set would compute. Evaluation-time
tools: they read values on the host.
"""

from __future__ import annotations

from torch import Tensor

from .. import decision
from . import _comm

__all__ = ["gather", "expected_calibration_error", "reliability_curve", "tune_threshold", "fit_temperature"]


def gather(tensor: Tensor, group=None) -> Tensor:
    """Every rank's ``tensor`` concatenated along dim 0, in rank order, on every rank.

    The first dimension may differ between ranks, the others may not. Two collectives and a host
    read of the lengths.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import gather
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> gather(torch.tensor([0.2, 0.9]))
        tensor([0.2000, 0.9000])
        >>> dist.destroy_process_group()
    """
    _comm.check_group(group, "gather")
    return _comm.gather_rows(_rows_of(tensor), group)


def _rows_of(t: object) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"gather: the predictions and targets must be torch tensors (on a device the group's backend "
            f"serves), got {type(t).__name__}; wrap them with torch.as_tensor(...)"
        )
    if t.dim() == 0:
        raise ValueError("gather: a 0-dimensional tensor has no rows to concatenate; pass shape (N, ...)")
    return t


def expected_calibration_error(
    probs: Tensor, target: Tensor, n_bins: int = 15, *, from_logits: bool = False, group=None
) -> float:
    r""":func:`losskit.decision.expected_calibration_error` over the predictions of every rank of ``group``.

    .. math:: \mathrm{ECE} = \sum_b \frac{n_b}{N} \bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|
        \quad\text{over all ranks' predictions}

    Likelihood view: how far the model's Bernoulli / Categorical probabilities are from the
    observed frequencies, over the whole evaluation set.

    Args:
        probs, target, n_bins, from_logits: as in :func:`losskit.decision.expected_calibration_error`
            (this rank's rows).
        group: the process group (``None``: the default group).

    Returns:
        float in [0, 1], the same on every rank.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import expected_calibration_error
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> probs = torch.tensor([[0.95, 0.05], [0.55, 0.45], [0.25, 0.75], [0.15, 0.85]])
        >>> round(expected_calibration_error(probs, torch.tensor([0, 1, 1, 1]), n_bins=5), 3)
        0.25
        >>> dist.destroy_process_group()

    References:
        Naeini, Cooper & Hauskrecht, AAAI 2015; Guo et al., ICML 2017.
    """
    return decision.expected_calibration_error(
        gather(probs, group), gather(target, group), n_bins, from_logits=from_logits
    )


def reliability_curve(
    probs: Tensor, target: Tensor, n_bins: int = 15, *, from_logits: bool = False, group=None
) -> decision.ReliabilityCurve:
    """:func:`losskit.decision.reliability_curve` over the predictions of every rank of ``group``
    (the same curve on every rank)."""
    return decision.reliability_curve(gather(probs, group), gather(target, group), n_bins, from_logits=from_logits)


def tune_threshold(scores: Tensor, target: Tensor, *, group=None, **options) -> decision.ThresholdResult:
    r""":func:`losskit.decision.tune_threshold` over the scores of every rank of ``group``.

    .. math:: t^\star = \arg\max_{t} M\bigl(TP(t), FP(t), FN(t)\bigr) \quad\text{over all ranks' scores}

    Likelihood view: the inference rule on top of a Bernoulli model, tuned on the whole
    validation set. ``options`` (``metric``, ``from_logits``, ``cost_fp``, ``cost_fn``,
    ``min_recall``) are those of :func:`losskit.decision.tune_threshold`; the same threshold on
    every rank.

    Example:
        >>> import torch, torch.distributed as dist
        >>> from losskit.distributed import tune_threshold
        >>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)  # a group of one
        >>> res = tune_threshold(torch.tensor([0.1, 0.35, 0.4, 0.8, 0.7, 0.2]), torch.tensor([0, 1, 0, 1, 1, 0]))
        >>> round(res.threshold, 2), round(res.value, 3)
        (0.35, 0.857)
        >>> dist.destroy_process_group()
    """
    return decision.tune_threshold(gather(scores, group), gather(target, group), **options)


def fit_temperature(logits: Tensor, target: Tensor, *, group=None, **options) -> float:
    """:func:`losskit.decision.fit_temperature` on the held-out logits of every rank of ``group``
    (the same temperature on every rank); ``options`` as there (``max_iter``)."""
    return decision.fit_temperature(gather(logits, group), gather(target, group), **options)
