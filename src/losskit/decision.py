"""Turning scores into decisions: tuned thresholds and calibration.

A loss trains a model to output scores; this module decides what to do with them.

* :func:`tune_threshold` picks the decision threshold that maximises F1 or Youden's J, minimises an
  expected cost, or maximises precision subject to a recall floor — on held-out data, never on the
  test set. Multi-label ``(N, K)`` inputs get one threshold per column.
* :func:`expected_calibration_error` and :func:`reliability_curve` measure whether predicted
  probabilities match observed frequencies (binary: the positive-class probability; multi-class:
  the top-label confidence).
* :func:`fit_temperature` / :func:`apply_temperature` fit and apply temperature scaling (Guo et
  al., 2017): one scalar ``T > 0`` that divides the logits, chosen to minimise the held-out
  negative log-likelihood. It changes confidence, never the ranking or the arg-max.

Every function takes torch tensors (any device, with or without grad) or numpy arrays and computes
in float64 numpy on the host: these are evaluation-time tools, so reading the values is the point.
Returned numbers are Python floats or numpy arrays.

References:
    Youden, "Index for rating diagnostic tests", Cancer 3(1), 1950.
    Guo, Pleiss, Sun, Weinberger, "On Calibration of Modern Neural Networks", ICML 2017.
    Naeini, Cooper, Hauskrecht, "Obtaining Well Calibrated Probabilities Using Bayesian
    Binning", AAAI 2015 (expected calibration error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "ThresholdResult",
    "tune_threshold",
    "ReliabilityCurve",
    "reliability_curve",
    "expected_calibration_error",
    "fit_temperature",
    "apply_temperature",
]

ArrayLike = torch.Tensor | np.ndarray | Any
_METRICS = ("f1", "youden", "cost", "precision_at_recall")


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _to_numpy(x: ArrayLike, name: str) -> np.ndarray:
    """float64/int numpy copy of a tensor or array-like; refuses complex and object input."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        x = x.cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object or np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers; got an array of dtype {arr.dtype}")
    return arr


def _scores(x: ArrayLike, name: str, from_logits: bool) -> np.ndarray:
    arr = _to_numpy(x, name).astype(np.float64)
    n_nan = int(np.isnan(arr).sum())
    if n_nan:
        raise ValueError(f"{name} has {n_nan} NaN value(s); remove or impute them before tuning/calibrating")
    if not from_logits and arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(
            f"{name} has values outside [0, 1] (min {arr.min():.4g}, max {arr.max():.4g}); "
            "they look like logits — pass from_logits=True"
        )
    return arr


def _binary_target(y: ArrayLike, name: str, shape: tuple) -> np.ndarray:
    arr = _to_numpy(y, name)
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape} but the scores have shape {shape}; they must match")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise ValueError(
            f"{name} must hold 0/1 labels; found {np.unique(arr[bad])[:5].tolist()} — encode the positive class as 1"
        )
    return arr.astype(bool)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # sigmoid(z) = exp(-logaddexp(0, -z)) is finite for every z
    return np.exp(-np.logaddexp(0.0, -z))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------------
# thresholds
# --------------------------------------------------------------------------------------------
@dataclass
class ThresholdResult:
    """What :func:`tune_threshold` found.

    Attributes:
        threshold: predict positive when ``score >= threshold``; on the scale of the input (a logit
            when ``from_logits=True``, else a probability). A float for 1-D input, an array of shape
            ``(K,)`` for multi-label ``(N, K)`` input. ``inf`` means "never predict positive".
        value: the metric at that threshold (float, or ``(K,)`` array). For ``metric="cost"`` it is
            the mean cost per sample (lower is better); for the others higher is better.
        metric: the metric name.
        thresholds: the candidate thresholds, ascending (every distinct score, then ``inf``); a
            list of such arrays for multi-label input.
        values: the metric at each candidate (``nan`` where undefined, e.g. precision where recall
            is below ``min_recall``); a list for multi-label input.
        probability: ``threshold`` as a probability (the sigmoid of it when ``from_logits``).
    """

    threshold: float | np.ndarray
    value: float | np.ndarray
    metric: str
    thresholds: np.ndarray | list = field(repr=False)
    values: np.ndarray | list = field(repr=False)
    probability: float | np.ndarray = field(repr=False, default=float("nan"))

    def predict(self, scores: ArrayLike) -> np.ndarray:
        """Boolean decisions ``scores >= threshold`` (scores on the scale the threshold was tuned on)."""
        return _to_numpy(scores, "scores").astype(np.float64) >= self.threshold


def _counts(scores: np.ndarray, y: np.ndarray):
    """Distinct thresholds (ascending, then ``inf``) and TP/FP when predicting ``score >= t``."""
    order = np.argsort(-scores, kind="mergesort")
    s, yy = scores[order], y[order]
    tp = np.cumsum(yy)
    fp = np.cumsum(~yy)
    # keep the last index of each run of equal scores: all tied items cross the threshold together
    # (compared with !=, not np.diff: inf - inf is NaN, which would split a run of infinite logits)
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1] if s.size else np.zeros(0, dtype=int)
    thr, tp, fp = s[last], tp[last], fp[last]
    # ascending thresholds, with +inf (nothing predicted positive) appended
    thr = np.r_[thr[::-1], np.inf]
    tp = np.r_[tp[::-1], 0].astype(np.float64)
    fp = np.r_[fp[::-1], 0].astype(np.float64)
    return thr, tp, fp


def _tune_1d(scores, y, metric, cost_fp, cost_fn, min_recall):
    thr, tp, fp = _counts(scores, y)
    pos = float(y.sum())
    neg = float(y.size - pos)
    fn = pos - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "f1":
            if pos == 0:
                raise ValueError("target has no positive (1) labels: F1 is undefined; use metric='cost'")
            # F1 = 2 TP / (2 TP + FP + FN); 0 when nothing is predicted positive
            values = 2.0 * tp / (2.0 * tp + fp + fn)
        elif metric == "youden":
            if pos == 0 or neg == 0:
                raise ValueError(
                    f"target has {int(pos)} positive and {int(neg)} negative labels: Youden's J needs both"
                )
            values = tp / pos - fp / neg  # J = TPR - FPR
        elif metric == "cost":
            values = (cost_fp * fp + cost_fn * fn) / max(y.size, 1)
        else:  # precision_at_recall
            if pos == 0:
                raise ValueError("target has no positive (1) labels: recall is undefined")
            recall = tp / pos
            precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            values = np.where(recall >= min_recall, precision, np.nan)
    if metric == "cost":
        best = int(np.argmin(values))  # first minimum: the lowest threshold among ties
    else:
        if np.all(np.isnan(values)):
            raise ValueError(f"no threshold reaches recall >= {min_recall}")
        best = int(np.nanargmax(values))  # first maximum: the lowest threshold among ties
    return float(thr[best]), float(values[best]), thr, values


def tune_threshold(
    scores: ArrayLike,
    target: ArrayLike,
    *,
    metric: str = "f1",
    from_logits: bool = False,
    cost_fp: float = 1.0,
    cost_fn: float = 1.0,
    min_recall: float | None = None,
) -> ThresholdResult:
    r"""The decision threshold that optimises a metric on held-out scores.

    Every distinct score is a candidate (plus ``inf``, "predict nothing"); the rule is
    ``positive ⇔ score >= threshold`` (scikit-learn's convention), and ties go to the lowest
    threshold (the one with more recall).

    * ``"f1"``: maximise :math:`F_1 = 2TP / (2TP + FP + FN)`.
    * ``"youden"``: maximise :math:`J = TPR - FPR` (the ROC point farthest above the diagonal).
    * ``"cost"``: minimise the mean cost :math:`(c_{FP} FP + c_{FN} FN) / N`. With calibrated
      probabilities the Bayes-optimal threshold is :math:`c_{FP} / (c_{FP} + c_{FN})`; tuning finds
      the empirical one when they are not calibrated.
    * ``"precision_at_recall"``: maximise precision subject to :math:`recall \ge` ``min_recall``.

    .. math:: t^\star = \arg\max_{t \in \{s_i\} \cup \{\infty\}} M\bigl(TP(t), FP(t), FN(t)\bigr),
        \qquad \hat y = [s \ge t]

    Likelihood view: the inference rule on top of a Bernoulli model (one per column). With
    calibrated :math:`p = \sigma(z)`, the Bayes decision for costs :math:`c_{FP}, c_{FN}` is
    :math:`p \ge c_{FP}/(c_{FP} + c_{FN})` (0.5 for equal costs); F1 and precision-at-recall are not
    decomposable per sample, so their best threshold is found on data.

    Tune on a validation split and apply the threshold to new data: tuning on the test set
    overstates the metric. Before choosing, look at the histogram of scores per class.

    Args:
        scores: ``(N,)`` probabilities (or logits with ``from_logits=True``) for the positive class,
            or ``(N, K)`` for K independent labels (multi-label); torch tensor or numpy array.
        target: 0/1 labels of the same shape.
        metric: ``"f1"``, ``"youden"``, ``"cost"`` or ``"precision_at_recall"``.
        from_logits: the scores are logits; the threshold is then returned as a logit
            (compare logits to it directly) and ``result.probability`` gives it as a probability.
        cost_fp, cost_fn: costs of a false positive and a false negative (``metric="cost"``).
        min_recall: the recall floor in [0, 1] (required for ``"precision_at_recall"``).

    Returns:
        :class:`ThresholdResult`: ``threshold``, ``value``, the curve (``thresholds``,
        ``values``) it optimised; per-column arrays for ``(N, K)`` input.

    Example:
        >>> import torch
        >>> from losskit.decision import tune_threshold
        >>> probs = torch.tensor([0.1, 0.35, 0.4, 0.8, 0.7, 0.2])
        >>> target = torch.tensor([0, 1, 0, 1, 1, 0])
        >>> res = tune_threshold(probs, target)                 # F1-optimal: below 0.5 here
        >>> round(res.threshold, 2), round(res.value, 3)
        (0.35, 0.857)
        >>> res = tune_threshold(probs, target, metric="cost", cost_fp=5)  # false alarms cost 5x
        >>> round(res.threshold, 2), round(res.value, 3)
        (0.7, 0.167)
        >>> res = tune_threshold(probs, target, metric="precision_at_recall", min_recall=0.6)
        >>> round(res.threshold, 2), res.value
        (0.7, 1.0)
        >>> res = tune_threshold(torch.logit(probs), target, metric="youden", from_logits=True)
        >>> round(res.threshold, 3), round(res.probability, 2)  # a logit, and as a probability
        (-0.619, 0.35)
        >>> res.predict(torch.logit(probs)).astype(int).tolist()
        [0, 1, 1, 1, 1, 0]

    References:
        Lipton, Elkan, Naryanaswamy, "Optimal Thresholding of Classifiers to Maximize F1
        Measure", ECML PKDD 2014. Youden, Cancer 3(1), 1950.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric={metric!r} is not supported; use one of {', '.join(map(repr, _METRICS))}")
    if metric == "precision_at_recall":
        if min_recall is None or not (0.0 <= float(min_recall) <= 1.0):
            raise ValueError(f"metric='precision_at_recall' needs min_recall in [0, 1]; got min_recall={min_recall!r}")
        min_recall = float(min_recall)
    if metric == "cost" and (cost_fp < 0 or cost_fn < 0 or cost_fp + cost_fn == 0):
        raise ValueError(f"costs must be >= 0 and not both 0; got cost_fp={cost_fp}, cost_fn={cost_fn}")
    s = _scores(scores, "scores", from_logits)
    if s.ndim not in (1, 2):
        raise ValueError(f"scores must have shape (N,) or (N, K); got {s.shape}")
    if s.shape[0] == 0:
        raise ValueError("scores is empty: need at least one sample")
    y = _binary_target(target, "target", s.shape)
    to_prob = _sigmoid if from_logits else (lambda t: t)
    if s.ndim == 1:
        t, v, thr, vals = _tune_1d(s, y, metric, cost_fp, cost_fn, min_recall)
        return ThresholdResult(t, v, metric, thr, vals, float(to_prob(np.float64(t))))
    per = []
    for k in range(s.shape[1]):
        try:
            per.append(_tune_1d(s[:, k], y[:, k], metric, cost_fp, cost_fn, min_recall))
        except ValueError as e:  # say which label failed
            raise ValueError(f"label column {k} of {s.shape[1]}: {e}") from None
    t = np.array([p[0] for p in per])
    return ThresholdResult(
        t, np.array([p[1] for p in per]), metric, [p[2] for p in per], [p[3] for p in per], to_prob(t)
    )


# --------------------------------------------------------------------------------------------
# calibration
# --------------------------------------------------------------------------------------------
@dataclass
class ReliabilityCurve:
    """Per-bin calibration statistics (arrays of length ``n_bins``; empty bins hold ``nan``).

    Attributes:
        edges: the ``n_bins + 1`` bin edges on [0, 1].
        centers: the bin centres.
        accuracy: observed frequency in each bin (fraction of positives for binary input, fraction
            of correct top-label predictions for multi-class input).
        confidence: mean predicted probability in each bin.
        counts: number of samples in each bin.
    """

    edges: np.ndarray
    centers: np.ndarray
    accuracy: np.ndarray
    confidence: np.ndarray
    counts: np.ndarray

    @property
    def ece(self) -> float:
        """The expected calibration error, ``sum_b (n_b / N) |accuracy_b - confidence_b|``."""
        n = self.counts.sum()
        keep = self.counts > 0
        return float(np.sum(self.counts[keep] / n * np.abs(self.accuracy[keep] - self.confidence[keep])))


def _calibration_inputs(probs, target, from_logits):
    """(confidence, hit) pairs: positive-class probability and label, or top-label confidence and correctness."""
    p = _to_numpy(probs, "probs").astype(np.float64)
    if p.ndim in (1, 2) and p.shape[0] == 0:
        raise ValueError("probs is empty: calibration needs at least one sample")
    if np.isnan(p).any():
        raise ValueError(f"probs has {int(np.isnan(p).sum())} NaN value(s)")
    if p.ndim == 1:
        if from_logits:
            p = _sigmoid(p)
        elif p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError("probs has values outside [0, 1]; they look like logits — pass from_logits=True")
        y = _binary_target(target, "target", p.shape)
        return p, y.astype(np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (N,) (binary) or (N, C) (multi-class); got {tuple(p.shape)}")
    if from_logits:
        p = _softmax(p)
    elif p.size and (p.min() < 0 or p.max() > 1 or not np.allclose(p.sum(1), 1.0, atol=1e-3)):
        raise ValueError(
            "probs of shape (N, C) must be probabilities whose rows sum to 1; for logits pass from_logits=True"
        )
    t = _to_numpy(target, "target")
    if t.shape != (p.shape[0],):
        raise ValueError(f"target must have shape ({p.shape[0]},) of class indices; got {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= p.shape[1] or not np.all(np.equal(np.mod(t, 1), 0))):
        raise ValueError(f"target must hold class indices in [0, {p.shape[1] - 1}]")
    return p.max(axis=1), (p.argmax(axis=1) == t.astype(np.int64)).astype(np.float64)


def reliability_curve(
    probs: ArrayLike, target: ArrayLike, n_bins: int = 15, *, from_logits: bool = False, strategy: str = "uniform"
) -> ReliabilityCurve:
    r"""Bin predictions by confidence and compare mean confidence with observed frequency.

    Bins closed on the right (``(a, b]``; the first also holds its lower edge), as in
    :func:`sklearn.calibration.calibration_curve`: ``strategy="uniform"`` cuts [0, 1] into equal
    widths, ``strategy="quantile"`` at the quantiles of the confidences (equal-mass bins: every bin
    holds about ``N / n_bins`` samples, so no point rests on a handful of samples; tied
    confidences can leave a bin empty):

    .. math:: \mathrm{acc}_b = \frac{1}{n_b} \sum_{i \in B_b} h_i, \qquad
        \mathrm{conf}_b = \frac{1}{n_b} \sum_{i \in B_b} c_i

    with :math:`c_i` the confidence and :math:`h_i` the outcome (positive label, or correct top
    label). Likelihood view: a model is calibrated when its Bernoulli / Categorical probabilities
    are frequencies, :math:`P(h = 1 \mid c) = c`; the curve estimates that conditional per bin.

    Args:
        probs: ``(N,)`` positive-class probabilities (binary) or ``(N, C)`` class probabilities
            (multi-class: the top-label confidence is binned); logits with ``from_logits=True``.
        target: ``(N,)`` 0/1 labels (binary) or class indices (multi-class).
        n_bins: number of bins.
        from_logits: apply sigmoid (1-D) or softmax (2-D) first.
        strategy: ``"uniform"`` (equal widths on [0, 1]) or ``"quantile"`` (equal mass).

    Returns:
        :class:`ReliabilityCurve` (``edges``, ``centers``, ``accuracy``, ``confidence``, ``counts``,
        ``ece``).

    Example:
        >>> from losskit.decision import reliability_curve
        >>> curve = reliability_curve([0.1, 0.2, 0.7, 0.9], [0, 1, 1, 1], n_bins=2)
        >>> curve.counts.tolist(), curve.accuracy.tolist(), curve.confidence.round(2).tolist()
        ([2, 2], [0.5, 1.0], [0.15, 0.8])
        >>> reliability_curve([0.1, 0.2, 0.3, 0.9], [0, 0, 1, 1], n_bins=2, strategy="quantile").edges.tolist()
        [0.1, 0.25, 0.9]

    References:
        DeGroot & Fienberg, "The Comparison and Evaluation of Forecasters", The Statistician 32
        (1983); Niculescu-Mizil & Caruana, "Predicting Good Probabilities with Supervised
        Learning", ICML 2005.
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    n_bins = int(n_bins)
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}")
    conf, hit = _calibration_inputs(probs, target, from_logits)
    if strategy == "quantile":
        edges = np.percentile(conf, np.linspace(0.0, 100.0, n_bins + 1))  # sklearn's equal-mass edges
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], conf)  # side="left": bins are (a, b]
    counts = np.bincount(ids, minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.bincount(ids, weights=hit, minlength=n_bins) / counts
        confidence = np.bincount(ids, weights=conf, minlength=n_bins) / counts
    return ReliabilityCurve(edges, (edges[:-1] + edges[1:]) / 2, accuracy, confidence, counts)


def expected_calibration_error(
    probs: ArrayLike, target: ArrayLike, n_bins: int = 15, *, from_logits: bool = False, strategy: str = "uniform"
) -> float:
    r"""Expected calibration error with uniform (or equal-mass) bins.

    .. math::
        \mathrm{ECE} = \sum_b \frac{n_b}{N} \,\bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|

    Binary ``(N,)`` input measures the positive-class probability against the fraction of
    positives (as :func:`sklearn.calibration.calibration_curve`); multi-class ``(N, C)`` input
    measures the top-label confidence against top-label accuracy (Guo et al., 2017). 0 is
    perfectly calibrated. With few samples per bin it is biased upward; read it next to the
    reliability diagram. Likelihood view: how far the model's Bernoulli / Categorical probabilities
    are from observed frequencies (see :func:`reliability_curve`); a likelihood loss (BCE/CE) is a
    proper scoring rule and rewards calibration, reweighted losses (focal, dice) do not.

    Args:
        probs: ``(N,)`` or ``(N, C)`` probabilities (logits with ``from_logits=True``).
        target: ``(N,)`` 0/1 labels or class indices.
        n_bins: number of bins.
        from_logits: apply sigmoid (1-D) or softmax (2-D) first.
        strategy: ``"uniform"`` (equal widths on [0, 1]) or ``"quantile"`` (equal-mass bins, the
            bins of :func:`reliability_curve` with the same argument).

    Returns:
        float in [0, 1].

    Example:
        >>> import torch
        >>> from losskit.decision import expected_calibration_error
        >>> probs = torch.tensor([[0.95, 0.05], [0.55, 0.45], [0.25, 0.75], [0.15, 0.85]])
        >>> round(expected_calibration_error(probs, torch.tensor([0, 1, 1, 1]), n_bins=5), 3)
        0.25
        >>> round(expected_calibration_error([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 3)  # honest coin
        0.0

    References:
        Naeini, Cooper & Hauskrecht, "Obtaining Well Calibrated Probabilities Using Bayesian
        Binning", AAAI 2015; Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.
    """
    return reliability_curve(probs, target, n_bins, from_logits=from_logits, strategy=strategy).ece


def fit_temperature(logits: ArrayLike, target: ArrayLike, *, max_iter: int = 100) -> float:
    r"""Fit a temperature :math:`T > 0` on held-out logits by minimising the NLL of ``logits / T``.

    .. math::
        T^\star = \arg\min_{T>0} \; -\frac1N \sum_i \log \mathrm{softmax}(z_i / T)_{y_i}

    (sigmoid and Bernoulli NLL for 1-D binary logits): maximum likelihood of the Categorical
    (Bernoulli) model with the link :math:`\operatorname{softmax}(z / T)`. Optimised over :math:`\log T` (so T stays
    positive) with L-BFGS and a strong-Wolfe line search, in float64 on the CPU. ``T > 1`` softens
    an over-confident model, ``T < 1`` sharpens an under-confident one; the ranking and the arg-max
    do not change, so accuracy and ROC-AUC are untouched.

    Args:
        logits: ``(N,)`` binary logits (target 0/1) or ``(N, C)`` class logits (target indices).
            Held-out data: fitting on the training set learns nothing.
        target: ``(N,)`` labels.
        max_iter: L-BFGS iterations.

    Returns:
        float: the temperature.

    Raises:
        ValueError: when no finite ``T`` minimises the NLL: every held-out target already has the
            largest logit (perfect separation, ``T -> 0``), or the logits favour the wrong classes on
            average (``T -> inf``). Flat logits (the NLL does not depend on ``T``) give ``1.0``.

    Example:
        >>> import torch
        >>> from losskit.decision import fit_temperature, apply_temperature
        >>> g = torch.Generator().manual_seed(0)
        >>> true_logits = torch.randn(20000, generator=g)
        >>> target = torch.bernoulli(torch.sigmoid(true_logits), generator=g)
        >>> T = fit_temperature(3 * true_logits, target)      # a model 3x too confident
        >>> round(T, 1)
        3.0
        >>> apply_temperature(torch.tensor([3.0, -6.0]), T).round(decimals=1)
        tensor([ 1., -2.])

    References:
        Guo, Pleiss, Sun, Weinberger, "On Calibration of Modern Neural Networks", ICML 2017.
    """
    z = torch.as_tensor(_scores(logits, "logits", from_logits=True), dtype=torch.float64)
    if z.ndim not in (1, 2) or z.shape[0] == 0:
        raise ValueError(f"logits must have shape (N,) or (N, C) with N >= 1; got {tuple(z.shape)}")
    t_np = _to_numpy(target, "target")
    if z.ndim == 1:
        y = torch.as_tensor(_binary_target(t_np, "target", tuple(z.shape)), dtype=torch.float64)

        def nll(scaled):
            return torch.nn.functional.binary_cross_entropy_with_logits(scaled, y)

    else:
        if t_np.shape != (z.shape[0],) or (
            t_np.size and (t_np.min() < 0 or t_np.max() >= z.shape[1] or not np.all(np.equal(np.mod(t_np, 1), 0)))
        ):
            raise ValueError(
                f"target must have shape ({z.shape[0]},) with class indices in [0, {z.shape[1] - 1}]"
                f"; got shape {t_np.shape}, values in [{t_np.min()}, {t_np.max()}]"
                if t_np.size
                else f"target must have shape ({z.shape[0]},); got {t_np.shape}"
            )
        y = torch.as_tensor(t_np.astype(np.int64))

        def nll(scaled):
            return torch.nn.functional.cross_entropy(scaled, y)

    _check_finite_temperature(z, y)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nll(z * torch.exp(-log_t))  # z / T with T = exp(log_t)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    t = math.exp(float(log_t.detach()))
    if not math.isfinite(t):
        raise ValueError("temperature did not converge (the held-out logits may separate the classes perfectly)")
    return t


def _check_finite_temperature(z: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse the two cases in which the NLL has no minimiser at a finite ``T > 0``.

    With ``b = 1/T`` the NLL is convex in ``b`` (a mean of ``logsumexp(b z_i) - b z_iy``, or of
    ``softplus(-b m_i)`` with the margin ``m_i = (2y_i - 1) z_i`` for binary logits), so:

    * ``T -> 0`` (``b -> inf``) when every target already has the largest logit (``m_i >= 0``) and
      some row is not flat: the NLL falls for ever as the logits are sharpened;
    * ``T -> inf`` (``b -> 0``) when the slope at ``b = 0`` is >= 0, i.e. the mean of
      ``z_iy - mean_c z_ic`` (binary: of ``m_i``) is <= 0: the logits point away from the targets on
      average and the best fit is the uniform prediction.

    L-BFGS would stop somewhere along the way and return a meaningless finite T. Logits that are
    flat in every row (the NLL does not depend on T) are left to the optimiser, which returns 1.
    """
    if z.ndim == 1:
        margin = (2.0 * y - 1.0) * z
        flat = bool((z == 0).all())
        slope0 = float(margin.mean())  # -2 x dNLL/db at b = 0
    else:
        zy = z.gather(1, y[:, None]).squeeze(1)
        top = z.max(1).values
        margin = zy - top  # 0 where the target is an arg-max, < 0 elsewhere
        flat = bool((top == z.min(1).values).all())
        slope0 = float((zy - z.mean(1)).mean())
    if flat:
        return
    if bool((margin >= 0).all()):
        raise ValueError(
            "temperature has no finite fit: every held-out target already has the largest logit, so the NLL "
            "keeps falling as T -> 0 (the validation set is separated perfectly); use more held-out data"
        )
    if not slope0 > 0:
        raise ValueError(
            "temperature has no finite fit: on average the held-out logits favour the wrong classes, so the NLL "
            "keeps falling as T -> infinity (predicting uniform probabilities); check that logits and targets "
            "are aligned"
        )


def apply_temperature(logits: ArrayLike, temperature: float) -> ArrayLike:
    r"""Divide logits by a fitted temperature, keeping the input's type (tensor in, tensor out; array in, array out).

    .. math:: z' = z / T

    Likelihood view: the link becomes :math:`\operatorname{softmax}(z/T)` (or :math:`\sigma(z/T)`);
    the arg-max and the ranking are unchanged.

    Args:
        logits: ``(N,)`` or ``(N, C)`` logits (tensor, array or list).
        temperature: ``T > 0``, e.g. from :func:`fit_temperature`.

    Returns:
        ``logits / T``: a tensor for tensor input, else a float64 numpy array.

    Example:
        >>> import numpy as np
        >>> from losskit.decision import apply_temperature
        >>> apply_temperature(np.array([2.0, -4.0]), 2.0)
        array([ 1., -2.])

    References:
        Guo, Pleiss, Sun, Weinberger, "On Calibration of Modern Neural Networks", ICML 2017.
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0; got {temperature!r}")
    if isinstance(logits, torch.Tensor):
        return logits / temperature
    return np.asarray(logits, dtype=np.float64) / temperature
