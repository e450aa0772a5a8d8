"""Workbench roster, training loop and metrics."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, f1_score, log_loss, roc_auc_score

from helpers import assert_close
from losskit.workbench import train as wt
from losskit.workbench.data import load_builtin, split


def _inputs(task, n=16, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    if task == "binary":
        return torch.randn(n, generator=g, dtype=torch.float64) * 3, torch.randint(0, 2, (n,), generator=g).double()
    return torch.randn(n, k, generator=g, dtype=torch.float64) * 3, torch.randint(0, k, (n,), generator=g)


def _reference(entry, logits, target, counts):
    """The entry's per-sample loss written out from its definition (float64)."""
    F = torch.nn.functional
    if entry.task == "binary":
        y, z = target, logits
        ls = 0.1 if entry.key == "smooth-bce" else 0.0
        ys = y * (1 - ls) + ls / 2
        pw = counts[0] / counts[1] if entry.key == "weighted-bce" else 1.0
        bce = -(pw * ys * F.logsigmoid(z) + (1 - ys) * F.logsigmoid(-z))
        p_t = torch.where(y == 1, torch.sigmoid(z), torch.sigmoid(-z))
        if entry.key in ("bce", "weighted-bce", "smooth-bce"):
            return bce
        if entry.key == "poly1":
            return bce + 1.0 * (1 - p_t)
        focal = (1 - p_t) ** 2 * bce
        if entry.key == "cb-focal":
            w = (1 - 0.999) / (1 - 0.999 ** counts.double())
            w = w * 2 / w.sum()
            return w[y.long()] * focal
        return focal
    logp = torch.log_softmax(logits, 1)
    logp_t = logp.gather(1, target[:, None]).squeeze(1)
    p_t = logp_t.exp()
    k = logits.shape[1]
    if entry.key == "ce":
        return -logp_t
    if entry.key == "smooth-ce":
        return -(0.9 * logp_t + 0.1 * logp.mean(1))
    if entry.key == "weighted-ce":
        w = counts.sum() / (k * counts.double())
        return -w[target] * logp_t
    if entry.key == "poly1":
        return -logp_t + (1 - p_t)
    focal = -((1 - p_t) ** 2) * logp_t
    if entry.key == "cb-focal":
        w = (1 - 0.999) / (1 - 0.999 ** counts.double())
        return (w * k / w.sum())[target] * focal
    return focal


@pytest.mark.parametrize("entry", wt.ROSTER, ids=lambda e: f"{e.task}-{e.key}")
def test_every_roster_entry_matches_its_definition(entry):
    logits, target = _inputs(entry.task)
    counts = torch.tensor([30, 5]) if entry.task == "binary" else torch.tensor([10, 20, 5, 7])
    loss = wt.resolve(entry, counts)
    # the reference needs the same dtype as the resolved options (float32 pos_weight / weights)
    expected = _reference(entry, logits, target, counts)
    got = loss.per_sample(logits, target)
    assert_close(got, expected.to(got.dtype), tol=dict(rtol=1e-5, atol=1e-6))
    objective = loss(logits, target)
    assert objective.shape == () and torch.isfinite(objective)
    assert loss.source == f"losskit.functional.{entry.loss}" and loss.fn.__name__ == entry.loss


def test_roster_selection_and_keys():
    assert [e.key for e in wt.roster("binary")] == ["bce", "weighted-bce", "focal", "cb-focal", "poly1", "smooth-bce"]
    assert [e.key for e in wt.roster("multiclass")] == ["ce", "focal", "poly1", "smooth-ce"]
    assert [e.key for e in wt.roster("multiclass", ["focal", "weighted-ce"])] == ["weighted-ce", "focal"]
    assert wt.roster("multiclass", ["bce"]) == []
    assert len(set(wt.roster_keys())) == len(wt.roster_keys())


@pytest.fixture(scope="module")
def wine():
    ds = load_builtin("wine")
    return ds, split(ds, 0)


def test_training_is_deterministic_and_loss_dependent(wine):
    ds, sp = wine
    cfg = wt.TrainConfig(epochs=3, seed=5)
    entries = wt.roster("multiclass", ["ce", "focal"])
    a = wt.run_task(ds, sp, entries, cfg)
    b = wt.run_task(ds, sp, entries, cfg)
    for ra, rb in zip(a.runs, b.runs):
        np.testing.assert_array_equal(ra.test_logits, rb.test_logits)
        assert ra.metrics == rb.metrics and ra.history == rb.history
    assert not np.array_equal(a.runs[0].test_logits, a.runs[1].test_logits)
    assert len(a.runs[0].history["val_log_loss"]) == 3


def test_same_initial_model_for_every_loss():
    m1, m2 = wt.make_model(5, 3, 8, seed=3), wt.make_model(5, 3, 8, seed=3)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)


def test_binary_metrics_against_sklearn():
    rng = np.random.default_rng(0)
    y_val, y_test = rng.integers(0, 2, 200), rng.integers(0, 2, 300)
    z_val = rng.normal(size=200) + 2 * (y_val - 0.5)
    z_test = rng.normal(size=300) + 2 * (y_test - 0.5)
    m = wt.evaluate(z_val, y_val, z_test, y_test, 2)
    p = 1 / (1 + np.exp(-z_test))
    assert math.isclose(m["roc_auc"], roc_auc_score(y_test, p))
    assert math.isclose(m["pr_auc"], average_precision_score(y_test, p))
    assert math.isclose(m["log_loss"], log_loss(y_test, p), rel_tol=1e-9)
    assert math.isclose(m["macro_f1"], f1_score(y_test, p >= 0.5, average="macro"))
    assert math.isclose(m["accuracy"], np.mean((p >= 0.5) == y_test))
    assert 0 < m["threshold"] < 1 and 0 < m["temperature"] and 0 <= m["ece"] <= 1
    # the threshold comes from validation: F1 at it on validation is the best achievable there
    pv = 1 / (1 + np.exp(-z_val))
    best_val = max(f1_score(y_val, pv >= t) for t in np.unique(pv))
    assert math.isclose(f1_score(y_val, pv >= m["threshold"] - 1e-12), best_val, rel_tol=1e-9)


def test_multiclass_metrics_against_sklearn():
    rng = np.random.default_rng(1)
    y_val, y_test = rng.integers(0, 3, 150), rng.integers(0, 3, 150)
    z_val = rng.normal(size=(150, 3)) + 2 * np.eye(3)[y_val]
    z_test = rng.normal(size=(150, 3)) + 2 * np.eye(3)[y_test]
    m = wt.evaluate(z_val, y_val, z_test, y_test, 3)
    p = np.exp(z_test) / np.exp(z_test).sum(1, keepdims=True)
    assert math.isclose(m["roc_auc"], roc_auc_score(y_test, p, multi_class="ovr"))
    assert math.isclose(m["log_loss"], log_loss(y_test, p), rel_tol=1e-9)
    assert math.isclose(m["macro_f1"], f1_score(y_test, p.argmax(1), average="macro"))
    assert "threshold" not in m


def test_run_seeds_pairs_losses_within_each_seed(wine):
    ds, _ = wine
    cfg = wt.TrainConfig(epochs=2, seed=0)
    entries = wt.roster("multiclass", ["ce", "focal"])
    task = wt.run_seeds(ds, entries, cfg, [3, 4])
    assert task.seeds == [3, 4] and len(task.seed_runs) == 2 and task.seed_runs[0] is task.runs
    assert task.config.seed == 3  # the figures show the first seed
    # each seed is exactly run_task on that seed's split and initial weights
    alone = wt.run_task(ds, split(ds, 4), entries, wt.TrainConfig(epochs=2, seed=4))
    for got, want in zip(task.seed_runs[1], alone.runs):
        np.testing.assert_array_equal(got.test_logits, want.test_logits)
    # summary: mean and sd (ddof=1) over seeds; paired differences: seed by seed, minus the first loss
    acc = np.array([[runs[i].metrics["log_loss"] for i in range(2)] for runs in task.seed_runs])
    (m0, s0), (m1, s1) = wt.summary(task, "log_loss")
    assert math.isclose(m1, acc[:, 1].mean()) and math.isclose(s1, acc[:, 1].std(ddof=1))
    d = acc[:, 1] - acc[:, 0]
    base, other = wt.paired_differences(task, "log_loss")
    assert base[:2] == (0.0, 0.0) and base[2] is False
    assert math.isclose(other[0], d.mean()) and math.isclose(other[1], d.std(ddof=1))
    assert other[2] == bool((d > 0).all() or (d < 0).all())


def test_one_seed_task_has_no_spread(wine):
    ds, sp = wine
    task = wt.run_task(ds, sp, wt.roster("multiclass", ["ce"]), wt.TrainConfig(epochs=1, seed=7))
    assert task.seeds == [7] and task.seed_runs == [task.runs]
    (mean, sd), = wt.summary(task, "accuracy")
    assert mean == task.runs[0].metrics["accuracy"] and math.isnan(sd)


def test_training_silences_only_the_sigmoid_twice_heuristic(monkeypatch):
    import warnings

    ds = load_builtin("breast-cancer")
    sp = split(ds, 0)
    make = wt.make_model
    # a model whose outputs all lie in [0, 1]: the losses' "sigmoid applied twice?" check would fire
    monkeypatch.setattr(wt, "make_model", lambda *a, **k: torch.nn.Sequential(make(*a, **k), torch.nn.Sigmoid()))
    entry = wt.roster("binary", ["bce"])[0]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        wt.train_one(wt.resolve(entry, torch.tensor([200, 140])), sp, 2, wt.TrainConfig(epochs=1))
        # outside training the check still speaks
        wt.resolve(entry, torch.tensor([200, 140]))(torch.full((8,), 0.5), torch.ones(8))
    msgs = [str(w.message) for w in seen if "sigmoid applied twice" in str(w.message)]
    assert len(msgs) == 1
