"""losskit.decision against scikit-learn: thresholds from its PR/ROC curves, AUC, calibration_curve."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import f1_score, log_loss, precision_recall_curve, roc_auc_score, roc_curve

from losskit.decision import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_curve,
    tune_threshold,
)


@st.composite
def scored_labels(draw, min_size=2, max_size=60, ties=None):
    """Scores in [0, 1] (often tied) and 0/1 labels holding both classes."""
    n = draw(st.integers(min_size, max_size))
    ties = draw(st.booleans()) if ties is None else ties
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = rng.integers(0, 8, n) / 8.0 if ties else rng.random(n)
    s = np.clip(s + 0.15 * y * rng.random(n), 0, 1)  # some signal
    return s, y


def _f1_at(s, y, t):
    return f1_score(y, (s >= t).astype(int), zero_division=0.0)


@given(scored_labels())
def test_f1_threshold_matches_sklearn_pr_curve(data):
    s, y = data
    precision, recall, thresholds = precision_recall_curve(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
    res = tune_threshold(s, y, metric="f1")
    assert math.isclose(res.value, f1.max(), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(_f1_at(s, y, res.threshold), f1.max(), rel_tol=1e-12)
    best = np.flatnonzero(np.isclose(f1, f1.max(), rtol=1e-12, atol=0))
    assert res.threshold == thresholds[best[0]]  # ties -> lowest threshold, as np.argmax on sklearn's curve


@given(scored_labels())
def test_youden_threshold_matches_sklearn_roc_curve(data):
    s, y = data
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    j = tpr - fpr
    res = tune_threshold(torch.from_numpy(s), torch.from_numpy(y), metric="youden")
    assert math.isclose(res.value, j.max(), abs_tol=1e-12)
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    assert res.threshold == thr[best].min()


@given(scored_labels(), st.floats(0.1, 10), st.floats(0.1, 10))
def test_cost_threshold_is_the_brute_force_minimum(data, cfp, cfn):
    s, y = data
    cands = np.r_[np.unique(s), np.inf]
    costs = [(cfp * np.sum((s >= t) & (y == 0)) + cfn * np.sum((s < t) & (y == 1))) / y.size for t in cands]
    res = tune_threshold(s, y, metric="cost", cost_fp=cfp, cost_fn=cfn)
    assert math.isclose(res.value, min(costs), rel_tol=1e-12)
    assert res.threshold == cands[int(np.argmin(costs))]
    np.testing.assert_allclose(res.values, costs, rtol=1e-12)
    np.testing.assert_array_equal(res.thresholds, cands)


@given(scored_labels(), st.floats(0.0, 1.0))
def test_precision_at_recall_respects_the_floor(data, floor):
    s, y = data
    precision, recall, _thresholds = precision_recall_curve(y, s)
    feasible = recall[:-1] >= floor
    res = tune_threshold(s, y, metric="precision_at_recall", min_recall=floor)
    assert math.isclose(res.value, precision[:-1][feasible].max(), rel_tol=1e-12)
    pred = s >= res.threshold
    assert pred[y == 1].mean() >= floor


@given(scored_labels(ties=False))
def test_logit_input_gives_the_same_decisions(data):
    s, y = data
    s = np.clip(s, 1e-6, 1 - 1e-6)
    z = torch.logit(torch.from_numpy(s))
    for metric in ("f1", "youden"):
        p_res = tune_threshold(s, y, metric=metric)
        z_res = tune_threshold(z, y, metric=metric, from_logits=True)
        np.testing.assert_array_equal(p_res.predict(s), z_res.predict(z))
        assert math.isclose(z_res.probability, p_res.threshold, rel_tol=1e-9)


def test_multilabel_gives_per_column_thresholds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (50, 3))
    s = np.clip(rng.random((50, 3)) + 0.3 * y, 0, 1)
    res = tune_threshold(torch.from_numpy(s).float(), torch.from_numpy(y), metric="f1")
    assert res.threshold.shape == (3,) and res.value.shape == (3,)
    for k in range(3):
        one = tune_threshold(torch.from_numpy(s[:, k]).float(), y[:, k])
        assert res.threshold[k] == one.threshold and res.value[k] == one.value
        np.testing.assert_array_equal(res.thresholds[k], one.thresholds)
    assert res.predict(s).shape == (50, 3)


def test_accepts_tensors_with_grad_and_half_precision():
    s = torch.tensor([0.2, 0.8, 0.6, 0.1], requires_grad=True)
    res = tune_threshold(s.half(), torch.tensor([0, 1, 1, 0]))
    assert res.value == 1.0 and isinstance(res.threshold, float)


@pytest.mark.parametrize(
    "kwargs, scores, target, match",
    [
        ({"metric": "auc"}, [0.1, 0.9], [0, 1], "metric='auc' is not supported"),
        ({"metric": "precision_at_recall"}, [0.1, 0.9], [0, 1], "needs min_recall"),
        ({}, [-2.0, 3.0], [0, 1], "look like logits — pass from_logits=True"),
        ({}, [0.1, float("nan")], [0, 1], "1 NaN"),
        ({}, [0.1, 0.9], [0, 2], "0/1 labels"),
        ({}, [0.1, 0.9], [0, 1, 1], "shape"),
        ({}, [0.1, 0.9], [0, 0], "no positive"),
        ({"metric": "youden"}, [0.1, 0.9], [1, 1], "needs both"),
        ({"metric": "cost", "cost_fp": -1}, [0.1, 0.9], [0, 1], "costs must be >= 0"),
    ],
)
def test_threshold_errors(kwargs, scores, target, match):
    with pytest.raises(ValueError, match=match):
        tune_threshold(scores, target, **kwargs)


@given(scored_labels(), st.integers(1, 20))
def test_reliability_curve_matches_sklearn_calibration_curve(data, n_bins):
    s, y = data
    curve = reliability_curve(torch.from_numpy(s), torch.from_numpy(y), n_bins=n_bins)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins, strategy="uniform")
    keep = curve.counts > 0
    np.testing.assert_allclose(curve.accuracy[keep], prob_true, rtol=1e-12)
    np.testing.assert_allclose(curve.confidence[keep], prob_pred, rtol=1e-12)
    assert curve.counts.sum() == y.size and np.isnan(curve.accuracy[~keep]).all()
    # ECE from sklearn's curve: counts are not returned there, so recount with the same bins
    ids = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], s)
    counts = np.bincount(ids, minlength=n_bins)[keep]
    expected = np.sum(counts / y.size * np.abs(prob_true - prob_pred))
    assert math.isclose(expected_calibration_error(s, y, n_bins=n_bins), expected, rel_tol=1e-9, abs_tol=1e-12)


@given(scored_labels(), st.integers(1, 20))
def test_quantile_reliability_curve_matches_sklearn_calibration_curve(data, n_bins):
    s, y = data
    curve = reliability_curve(torch.from_numpy(s), torch.from_numpy(y), n_bins=n_bins, strategy="quantile")
    prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins, strategy="quantile")
    keep = curve.counts > 0
    np.testing.assert_allclose(curve.accuracy[keep], prob_true, rtol=1e-12)
    np.testing.assert_allclose(curve.confidence[keep], prob_pred, rtol=1e-12)
    edges = np.percentile(s, np.linspace(0, 100, n_bins + 1))
    np.testing.assert_allclose(curve.edges, edges)
    counts = np.bincount(np.searchsorted(edges[1:-1], s), minlength=n_bins)
    np.testing.assert_array_equal(curve.counts, counts)
    expected = np.sum(counts[keep] / y.size * np.abs(prob_true - prob_pred))
    got = expected_calibration_error(s, y, n_bins=n_bins, strategy="quantile")
    assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)


def test_quantile_bins_hold_equal_mass():
    rng = np.random.default_rng(0)
    s = rng.beta(0.3, 3.0, 1000)  # most scores near 0: uniform bins would leave the upper bins nearly empty
    y = (rng.random(1000) < s).astype(int)
    curve = reliability_curve(s, y, n_bins=10, strategy="quantile")
    assert curve.counts.tolist() == [100] * 10
    assert (reliability_curve(s, y, n_bins=10).counts < 20).sum() >= 5


@given(st.integers(2, 6), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_multiclass_ece_is_top_label_calibration(k, n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 3
    y = rng.integers(0, k, n)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    conf, correct = p.max(1), (p.argmax(1) == y).astype(float)
    edges = np.linspace(0, 1, 11)
    ids = np.searchsorted(edges[1:-1], conf)
    expected = sum((ids == b).sum() / n * abs(correct[ids == b].mean() - conf[ids == b].mean()) for b in np.unique(ids))
    assert math.isclose(expected_calibration_error(p, y, n_bins=10), expected, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(
        expected_calibration_error(torch.from_numpy(z), torch.from_numpy(y), n_bins=10, from_logits=True),
        expected,
        rel_tol=1e-9,
        abs_tol=1e-12,
    )


def test_calibration_errors():
    with pytest.raises(ValueError, match="rows sum to 1"):
        expected_calibration_error(np.array([[2.0, -1.0]]), [0])
    with pytest.raises(ValueError, match="class indices"):
        expected_calibration_error(np.array([[0.5, 0.5]]), [3])
    with pytest.raises(ValueError, match="n_bins"):
        reliability_curve([0.5], [1], n_bins=0)
    with pytest.raises(ValueError, match="strategy must be 'uniform' or 'quantile'; got 'equal'"):
        expected_calibration_error([0.5], [1], strategy="equal")


@given(scored_labels(min_size=10))
def test_roc_auc_of_tuned_curve_matches_sklearn(data):
    # the threshold sweep is the ROC curve: integrating it gives sklearn's ROC-AUC
    s, y = data
    res = tune_threshold(s, y, metric="youden")
    pos, neg = y.sum(), (1 - y).sum()
    # recover TPR/FPR at each candidate threshold from the curve's decisions
    tpr = np.array([np.sum((s >= t) & (y == 1)) / pos for t in res.thresholds])
    fpr = np.array([np.sum((s >= t) & (y == 0)) / neg for t in res.thresholds])
    np.testing.assert_allclose(res.values, tpr - fpr, atol=1e-12)
    auc = np.trapezoid(tpr[::-1], fpr[::-1]) if hasattr(np, "trapezoid") else np.trapz(tpr[::-1], fpr[::-1])
    assert math.isclose(auc, roc_auc_score(y, s), rel_tol=1e-9)


@pytest.mark.parametrize("true_t", [0.5, 2.5])
def test_fit_temperature_recovers_the_scale_binary(true_t):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(20000, generator=g, dtype=torch.float64) * 2
    y = torch.bernoulli(torch.sigmoid(z), generator=g)
    t = fit_temperature(true_t * z, y)
    assert abs(t - true_t) / true_t < 0.05


def test_fit_temperature_minimises_multiclass_nll():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(3000, 5, generator=g, dtype=torch.float64) * 2
    y = torch.multinomial(torch.softmax(z, 1), 1, generator=g).squeeze(1)
    logits = 4 * z
    t = fit_temperature(logits.float(), y)
    grid = np.exp(np.linspace(np.log(0.5), np.log(10), 400))
    nll = [log_loss(y.numpy(), torch.softmax(logits / g_, 1).numpy(), labels=range(5)) for g_ in grid]
    assert abs(np.log(t) - np.log(grid[int(np.argmin(nll))])) < 0.02  # grid step is 0.0075 in log T
    scaled = apply_temperature(logits, t)
    assert isinstance(scaled, torch.Tensor) and torch.equal(scaled.argmax(1), logits.argmax(1))


def test_temperature_errors():
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        apply_temperature(torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="class indices"):
        fit_temperature(torch.zeros(4, 3), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="0/1 labels"):
        fit_temperature(torch.zeros(2), torch.tensor([0, 2]))


@pytest.mark.parametrize("case", ["binary", "binary_ties", "one_class", "multiclass", "multiclass_ties"])
def test_fit_temperature_refuses_separated_validation_logits(case):
    """Every target already has the largest logit: the NLL falls for ever as T -> 0. L-BFGS used to stop
    along the way and return a small, meaningless T (about 0.06 for the first case)."""
    z, y = {
        "binary": (torch.tensor([2.0, 3.0, -1.0, -4.0]), torch.tensor([1, 1, 0, 0])),
        "binary_ties": (torch.tensor([0.0, 0.0, 1.5]), torch.tensor([1, 0, 1])),
        "one_class": (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 1])),
        "multiclass": (torch.tensor([[3.0, 0.0], [0.0, 3.0]]), torch.tensor([0, 1])),
        "multiclass_ties": (torch.tensor([[3.0, 3.0, 0.0], [1.0, 1.0, 1.0]]), torch.tensor([0, 2])),
    }[case]
    with pytest.raises(ValueError, match="T -> 0"):
        fit_temperature(z, y)


@pytest.mark.parametrize("multiclass", [False, True])
def test_fit_temperature_refuses_logits_that_point_away_from_the_targets(multiclass):
    """Worse than uniform on average: the NLL falls for ever as T -> infinity (it used to return ~2e7)."""
    if multiclass:
        z, y = torch.tensor([[0.0, 2.0], [1.0, 0.0], [3.0, 0.0]]), torch.tensor([0, 1, 0])
    else:
        z, y = torch.tensor([-2.0, -3.0, 1.0, 0.5]), torch.tensor([1, 1, 0, 1])
    with pytest.raises(ValueError, match="T -> infinity"):
        fit_temperature(z, y)


def test_fit_temperature_flat_logits_and_finite_cases_still_fit():
    assert fit_temperature(torch.zeros(4), torch.tensor([1, 0, 1, 0])) == 1.0  # the NLL does not depend on T
    assert fit_temperature(torch.zeros(3, 2), torch.tensor([0, 1, 1])) == 1.0
    # one mistake among confident hits: a finite optimum exists, and it is the grid minimum
    z, y = torch.tensor([2.0, 3.0, -1.0, -4.0, 0.5]), torch.tensor([1, 1, 0, 0, 0])
    t = fit_temperature(z, y)
    grid = np.exp(np.linspace(-3, 3, 2001))
    nll = [float(torch.nn.functional.binary_cross_entropy_with_logits(z.double() / g_, y.double())) for g_ in grid]
    assert abs(math.log(t) - math.log(grid[int(np.argmin(nll))])) < 0.01


def test_tied_infinite_scores_are_one_threshold():
    """np.diff of two +inf scores is NaN, which used to split their tie into two candidate thresholds."""
    res = tune_threshold(np.array([np.inf, np.inf, 0.5, -np.inf]), np.array([1, 0, 1, 0]), from_logits=True)
    finite_or_score = res.thresholds[:-1]  # the last one is the 'predict nothing' sentinel
    assert np.count_nonzero(np.isposinf(finite_or_score)) == 1
    assert res.threshold == 0.5 and res.value == pytest.approx(0.8)


def test_calibration_refuses_empty_input():
    """An empty batch used to report ECE 0.0, i.e. 'perfectly calibrated'."""
    with pytest.raises(ValueError, match="empty"):
        expected_calibration_error([], [])
    with pytest.raises(ValueError, match="empty"):
        reliability_curve(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_multilabel_error_names_the_column():
    s = np.array([[0.2, 0.9], [0.7, 0.1], [0.4, 0.3]])
    y = np.array([[1, 0], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match=r"label column 1 of 2: target has no positive"):
        tune_threshold(s, y)


def test_fit_temperature_refuses_fractional_class_targets():
    # (N, C) logits with non-integer targets were silently truncated to class indices
    from losskit.decision import fit_temperature

    z = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="class indices in"):
        fit_temperature(z, torch.full((20,), 1.5))
    fit_temperature(z, torch.arange(20) % 3)
