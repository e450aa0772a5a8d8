"""Workbench roster, training (stacked and one after another, early stopping) and metrics."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    jaccard_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from helpers import assert_close
from losskit import catalog
from losskit.workbench import api, tasks
from losskit.workbench import train as wt
from losskit.workbench.data import load_builtin

F = torch.nn.functional


def _inputs(task, n=16, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    if task == "binary":
        return torch.randn(n, generator=g, dtype=torch.float64) * 3, torch.randint(0, 2, (n,), generator=g).double()
    if task == "multilabel":
        return torch.randn(n, k, generator=g, dtype=torch.float64) * 3, torch.randint(
            0, 2, (n, k), generator=g
        ).double()
    if task == "regression":
        return torch.randn(n, 2, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    if task == "segmentation":
        return (
            torch.randn(2, k, 5, 5, generator=g, dtype=torch.float64) * 3,
            torch.randint(0, k, (2, 5, 5), generator=g),
        )
    return torch.randn(n, k, generator=g, dtype=torch.float64) * 3, torch.randint(0, k, (n,), generator=g)


def _counts(task):
    return {
        "binary": torch.tensor([30, 5]),
        "multiclass": torch.tensor([10, 20, 5, 7]),
        "multilabel": torch.tensor([[10, 12, 15, 3], [6, 4, 1, 13]]),
        "regression": torch.tensor([16]),
        "segmentation": torch.tensor([400, 30, 20, 50]),
    }[task]


def _bernoulli(z, y, ls=0.0, pw=1.0):
    ys = y * (1 - ls) + ls / 2
    return -(pw * ys * F.logsigmoid(z) + (1 - ys) * F.logsigmoid(-z))


def _soft_counts(logits, target):
    p = logits.softmax(1)
    t = F.one_hot(target, logits.shape[1]).movedim(-1, 1).double()
    dims = (0, 2, 3)
    return (p * t).sum(dims), (p * (1 - t)).sum(dims), ((1 - p) * t).sum(dims)


def _reference(row, out, target, counts):
    """The row's per-sample (for overlap losses: batch) loss written out from its definition (float64)."""
    key, task = row.key, row.task
    if task == "binary":
        y, z = target, out
        p_t = torch.where(y == 1, torch.sigmoid(z), torch.sigmoid(-z))
        bce = _bernoulli(
            z, y, 0.1 if key == "smooth-bce" else 0.0, counts[0] / counts[1] if key == "weighted-bce" else 1.0
        )
        if key in ("bce", "weighted-bce", "smooth-bce"):
            return bce
        if key == "poly1":
            return bce + 1.0 * (1 - p_t)
        focal = (1 - p_t) ** 2 * bce
        if key == "cb-focal":
            w = (1 - 0.999) / (1 - 0.999 ** counts.double())
            return (w * 2 / w.sum())[y.long()] * focal
        return focal
    if task == "multilabel":
        y, z = target, out
        p = torch.sigmoid(z)
        if key == "bce":
            return _bernoulli(z, y)
        if key == "weighted-bce":
            return _bernoulli(z, y, pw=counts[0] / counts[1])
        if key == "focal":
            p_t = torch.where(y == 1, p, 1 - p)
            return (1 - p_t) ** 2 * _bernoulli(z, y)
        # asymmetric (Ridnik et al. 2021), gamma_pos=0, gamma_neg=4, clip=0.05
        pm = (p - 0.05).clamp_min(0)
        return -(y * torch.log(p) + (1 - y) * pm**4 * torch.log(1 - pm))
    if task == "regression":
        r = out[:, 0] - target
        if key == "mse":
            return r**2
        if key == "l1":
            return r.abs()
        if key == "huber":
            return torch.where(r.abs() <= 1, 0.5 * r**2, r.abs() - 0.5)
        var = F.softplus(out[:, 1])
        return 0.5 * (torch.log(var) + r**2 / var)
    logp = torch.log_softmax(out, 1)
    logp_t = logp.gather(1, target.unsqueeze(1)).squeeze(1)
    p_t = logp_t.exp()
    k = out.shape[1]
    if task == "segmentation" and key in ("dice", "ce+dice", "tversky"):
        tp, fp, fn = _soft_counts(out, target)
        if key == "tversky":
            return (1 - tp / (tp + 0.3 * fp + 0.7 * fn)).mean()
        dice = (1 - 2 * tp / (2 * tp + fp + fn)).mean()
        return dice + (-logp_t.mean() if key == "ce+dice" else 0)
    if key == "ce":
        return -logp_t
    if key == "smooth-ce":
        return -(0.9 * logp_t + 0.1 * logp.mean(1))
    if key == "weighted-ce":
        w = counts.sum() / (k * counts.double())
        return -w[target] * logp_t
    if key == "poly1":
        return -logp_t + (1 - p_t)
    focal = -((1 - p_t) ** 2) * logp_t
    if key == "cb-focal":
        w = (1 - 0.999) / (1 - 0.999 ** counts.double())
        return (w * k / w.sum())[target] * focal
    return focal


@pytest.mark.parametrize("row", catalog.roster(), ids=lambda r: f"{r.task}-{r.key}")
def test_every_roster_row_matches_its_definition(row):
    out, target = _inputs(row.task)
    counts = _counts(row.task)
    loss = wt.resolve(row, counts)
    expected = _reference(row, out, target, counts)
    overlap = row.task == "segmentation" and row.loss in ("dice_loss", "tversky_loss")
    if overlap:  # not a per-sample loss: compare the objective
        got = loss(out, target)
    else:
        got = loss.per_sample(out, target)
        if row.task == "segmentation":
            expected = expected.reshape(got.shape)
    assert_close(got, expected.to(got.dtype), tol=dict(rtol=1e-5, atol=1e-6))
    objective = loss(out, target)
    assert objective.shape == () and torch.isfinite(objective)
    if not overlap and "weight" not in loss.options:  # torch's weighted mean divides by the summed weights
        assert_close(objective, expected.mean().to(objective.dtype), tol=dict(rtol=1e-5, atol=1e-6))
    assert loss.source.startswith(f"losskit.functional.{row.loss}") and loss.fn.__name__ == row.loss


def test_roster_selection_and_keys():
    assert [e.key for e in wt.roster("binary")] == ["bce", "weighted-bce", "focal", "cb-focal", "poly1", "smooth-bce"]
    assert [e.key for e in wt.roster("multiclass")] == ["ce", "focal", "poly1", "smooth-ce"]
    assert [e.key for e in wt.roster("multiclass", ["focal", "weighted-ce"])] == ["weighted-ce", "focal"]
    assert [e.key for e in wt.roster("multilabel")] == ["bce", "asymmetric", "focal"]
    assert [e.key for e in wt.roster("regression")] == ["mse", "l1", "huber", "gaussian-nll"]
    assert [e.key for e in wt.roster("segmentation")] == ["ce", "dice", "ce+dice", "focal", "tversky"]
    assert wt.roster("multiclass", ["bce"]) == []
    for task in catalog.TASKS:
        keys = catalog.roster_keys(task)
        assert len(set(keys)) == len(keys)
    combo = catalog.select("segmentation", "ce+dice")[0]
    assert combo.loss == "dice_loss" and [t.loss for t in combo.also] == ["cross_entropy"]
    assert [r.variance for r in catalog.select("regression")] == [False, False, False, True]


def test_losses_spec_options_and_sweeps():
    rows = catalog.select("binary", "bce,focal:gamma=0.5|1|2")
    assert [r.key for r in rows] == ["bce", "focal:gamma=0.5", "focal:gamma=1", "focal:gamma=2"]
    assert [r.display for r in rows[1:]] == ["focal (gamma=0.5)", "focal (gamma=1)", "focal (gamma=2)"]
    assert [r.kwargs(torch.tensor([5, 5]))["gamma"] for r in rows[1:]] == [0.5, 1, 2]
    two = catalog.select("binary", "focal:gamma=1|2,alpha=0.25|0.5")
    assert [dict(r.overrides) for r in two] == [
        {"gamma": 1, "alpha": 0.25},
        {"gamma": 1, "alpha": 0.5},
        {"gamma": 2, "alpha": 0.25},
        {"gamma": 2, "alpha": 0.5},
    ]
    assert catalog.select("binary", ["focal:gamma=1:alpha=0.25"])[0].overrides == (("gamma", 1), ("alpha", 0.25))
    # the same sweep applies to every task that has the key, each with its own loss
    assert catalog.select("multiclass", "focal:gamma=3")[0].loss == "focal_loss"
    assert catalog.select("binary", "focal:gamma=3")[0].loss == "sigmoid_focal_loss"


@pytest.mark.parametrize(
    "spec, match",
    [
        ("focl", r"unknown loss name 'focl' \(did you mean 'focal'\?\) in --losses; known losses: bce"),
        ("", "--losses is empty"),
        ("gamma=1", r"an option needs a loss before it, e\.g\. focal:gamma=1"),
        ("focal:gamma", r"write options as name=value"),
        ("focal:gama=1", r"sigmoid_focal_loss \(binary\) has no option 'gama'; its options are: alpha, gamma"),
    ],
)
def test_losses_spec_errors(spec, match):
    with pytest.raises(catalog.RosterError, match=match):
        catalog.select("binary", spec)


@pytest.fixture(scope="module")
def wine_plan():
    cfg = wt.TrainConfig(epochs=4, seeds=1, patience=2)
    plan = api.check(api.plan_dataset(load_builtin("wine"), cfg, "ce,focal,smooth-ce"), cfg)
    return plan, cfg


def test_stacked_training_equals_one_loss_after_another(wine_plan):
    plan, cfg = wine_plan
    from dataclasses import replace

    stacked = wt.train_group(plan, 3, cfg)
    alone = wt.train_group(plan, 3, replace(cfg, stack=False))
    assert stacked.stacked and not alone.stacked
    for a, b in zip(stacked.runs, alone.runs, strict=True):
        np.testing.assert_allclose(a.test_out, b.test_out, rtol=1e-4, atol=1e-5)
        assert a.best_epoch == b.best_epoch and a.epochs_run == b.epochs_run
        np.testing.assert_allclose(a.history["val"], b.history["val"], rtol=1e-5)


def test_training_is_deterministic_and_loss_dependent(wine_plan):
    plan, cfg = wine_plan
    a, b = wt.train_group(plan, 5, cfg), wt.train_group(plan, 5, cfg)
    for ra, rb in zip(a.runs, b.runs, strict=True):
        np.testing.assert_array_equal(ra.test_out, rb.test_out)
        assert ra.history == rb.history
    assert not np.array_equal(a.runs[0].test_out, a.runs[1].test_out)
    assert len(a.runs[0].history["val"]) == a.runs[0].epochs_run <= 4


def test_early_stopping_keeps_the_best_validation_epoch():
    cfg = wt.TrainConfig(epochs=40, seeds=1, patience=3, lr=0.05)  # a large step: validation log-loss soon rises
    plan = api.check(api.plan_dataset(load_builtin("breast-cancer"), cfg, "bce"), cfg)
    g = wt.train_group(plan, 0, cfg)
    r = g.runs[0]
    val = r.history["val"]
    assert r.best_epoch == int(np.argmin(val)) + 1
    assert r.epochs_run == min(40, r.best_epoch + 3) and r.epochs_run < 40
    # the outputs kept are those of the best epoch: their validation log-loss is the best one seen
    kind = tasks.get("binary")
    assert math.isclose(kind.val_score(torch.from_numpy(r.val_out), torch.from_numpy(g.y_val)), min(val), rel_tol=1e-5)


def test_same_initial_model_for_every_loss():
    from losskit.workbench.models import Model, mlp

    spec = Model(lambda: mlp(5, 3, 8))
    m1, m2 = spec.build(3), spec.build(3)
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    mod = mlp(5, 3, 8)
    copies = Model.of(mod)
    assert all(
        torch.equal(a, b) for a, b in zip(copies.build(0).parameters(), copies.build(7).parameters(), strict=True)
    )
    assert copies.build(0) is not mod


def test_binary_metrics_against_sklearn():
    rng = np.random.default_rng(0)
    y_val, y_test = rng.integers(0, 2, 200), rng.integers(0, 2, 300)
    z_val = rng.normal(size=200) + 2 * (y_val - 0.5)
    z_test = rng.normal(size=300) + 2 * (y_test - 0.5)
    m = tasks.get("binary").evaluate(z_val, y_val, z_test, y_test, None)
    p = 1 / (1 + np.exp(-z_test))
    assert math.isclose(m["roc_auc"], roc_auc_score(y_test, p))
    assert math.isclose(m["pr_auc"], average_precision_score(y_test, p))
    assert math.isclose(m["log_loss"], log_loss(y_test, p), rel_tol=1e-9)
    assert math.isclose(m["macro_f1"], f1_score(y_test, p >= 0.5, average="macro"))
    assert math.isclose(m["accuracy"], np.mean((p >= 0.5) == y_test))
    assert 0 < m["threshold"] < 1 and 0 < m["temperature"] and 0 <= m["ece"] <= 1
    from losskit.decision import expected_calibration_error

    assert math.isclose(m["ece"], expected_calibration_error(p, y_test, 10, strategy="quantile"), rel_tol=1e-12)
    # the threshold comes from validation: F1 at it on validation is the best achievable there
    pv = 1 / (1 + np.exp(-z_val))
    best_val = max(f1_score(y_val, pv >= t) for t in np.unique(pv))
    assert math.isclose(f1_score(y_val, pv >= m["threshold"] - 1e-12), best_val, rel_tol=1e-9)


def test_multiclass_metrics_against_sklearn():
    rng = np.random.default_rng(1)
    y_val, y_test = rng.integers(0, 3, 150), rng.integers(0, 3, 150)
    z_val = rng.normal(size=(150, 3)) + 2 * np.eye(3)[y_val]
    z_test = rng.normal(size=(150, 3)) + 2 * np.eye(3)[y_test]
    m = tasks.get("multiclass").evaluate(z_val, y_val, z_test, y_test, None)
    p = np.exp(z_test) / np.exp(z_test).sum(1, keepdims=True)
    assert math.isclose(m["roc_auc"], roc_auc_score(y_test, p, multi_class="ovr"))
    assert math.isclose(m["log_loss"], log_loss(y_test, p), rel_tol=1e-9)
    assert math.isclose(m["macro_f1"], f1_score(y_test, p.argmax(1), average="macro"))
    assert "threshold" not in m


def test_multilabel_metrics_against_sklearn():
    rng = np.random.default_rng(2)
    y_val, y_test = rng.integers(0, 2, (120, 3)), rng.integers(0, 2, (150, 3))
    z_val, z_test = rng.normal(size=(120, 3)) + 2 * (y_val - 0.5), rng.normal(size=(150, 3)) + 2 * (y_test - 0.5)
    m = tasks.get("multilabel").evaluate(z_val, y_val, z_test, y_test, None)
    p = 1 / (1 + np.exp(-z_test))
    assert math.isclose(m["micro_f1"], f1_score(y_test, p >= 0.5, average="micro"))
    assert math.isclose(m["macro_f1"], f1_score(y_test, p >= 0.5, average="macro"))
    assert math.isclose(m["roc_auc"], roc_auc_score(y_test, p, average="macro"))
    assert math.isclose(m["pr_auc"], average_precision_score(y_test, p, average="macro"))
    assert math.isclose(m["log_loss"], np.mean([log_loss(y_test[:, j], p[:, j]) for j in range(3)]), rel_tol=1e-9)
    assert math.isclose(m["exact"], np.mean(((p >= 0.5) == y_test).all(1)))


def test_regression_metrics_against_sklearn_in_target_units():
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    y_val, y_test = rng.normal(size=80), rng.normal(size=100)
    point = lambda y: np.stack([y + 0.3 * rng.normal(size=len(y)), np.full(len(y), np.nan)], 1)
    val, test = point(y_val), point(y_test)
    info = SimpleNamespace(y_scale=(10.0, 2.0))
    m = tasks.get("regression").evaluate(val, y_val, test, y_test, info)
    yt, mu = y_test * 2 + 10, test[:, 0] * 2 + 10
    assert math.isclose(m["rmse"], math.sqrt(mean_squared_error(yt, mu)), rel_tol=1e-9)
    assert math.isclose(m["mae"], mean_absolute_error(yt, mu), rel_tol=1e-9)
    assert math.isclose(m["r2"], r2_score(yt, mu), rel_tol=1e-9)
    var = np.mean((val[:, 0] - y_val) ** 2) * 4  # a point prediction: one variance fitted on validation
    from scipy.stats import norm

    assert math.isclose(m["nll"], -np.mean(norm.logpdf(yt, mu, np.sqrt(var))), rel_tol=1e-9)
    test[:, 1] = 0.09  # a predicted variance (standardised units) is used as given
    m2 = tasks.get("regression").evaluate(val, y_val, test, y_test, info)
    assert math.isclose(m2["nll"], -np.mean(norm.logpdf(yt, mu, np.sqrt(0.09 * 4))), rel_tol=1e-9)


def test_segmentation_metrics_against_sklearn():
    from types import SimpleNamespace

    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, (6, 8, 8))
    z = rng.normal(size=(6, 3, 8, 8)) + 2.5 * np.eye(3)[y].transpose(0, 3, 1, 2)
    info = SimpleNamespace(classes=["bg", "a", "b"])
    m = tasks.get("segmentation").evaluate(z, y, z, y, info)
    pred = z.argmax(1).ravel()
    ious = jaccard_score(y.ravel(), pred, average=None)
    assert math.isclose(m["miou"], ious.mean(), rel_tol=1e-9) and math.isclose(
        m["fg_iou"], ious[1:].mean(), rel_tol=1e-9
    )
    assert math.isclose(m["mdice"], f1_score(y.ravel(), pred, average="macro"), rel_tol=1e-9)
    assert math.isclose(m["pixel_acc"], np.mean(pred == y.ravel()))
    zz = z.transpose(0, 2, 3, 1).reshape(-1, 3)
    p = np.exp(zz) / np.exp(zz).sum(1, keepdims=True)
    assert math.isclose(m["log_loss"], log_loss(y.ravel(), p), rel_tol=1e-9)
    rows = tasks.get("segmentation").per_class(z, y, info)
    assert [n for n, _ in rows] == ["bg", "a", "b"] and math.isclose(rows[1][1]["iou"], ious[1], rel_tol=1e-9)


def _task(values: list) -> wt.TaskResult:
    """A task whose metric 'accuracy' per seed and loss is ``values[seed][loss]``."""
    seed_runs = [
        [
            wt.RunResult(f"l{i}", f"l{i}", "x", "", "", "", s, {}, 1, 1, None, None, 0.0, metrics={"accuracy": v})
            for i, v in enumerate(row)
        ]
        for s, row in enumerate(values)
    ]
    return wt.TaskResult("t", "binary", [], wt.TrainConfig(), None, {}, [], list(range(len(values))), seed_runs)


def test_summary_and_paired_differences():
    values = [[0.80, 0.83, 0.79], [0.70, 0.74, 0.71], [0.75, 0.77, 0.74], [0.90, 0.91, 0.92]]
    t = _task(values)
    a = np.array(values)
    (_m0, _s0), (m1, s1), _ = wt.summary(t, "accuracy")
    assert math.isclose(m1, a[:, 1].mean()) and math.isclose(s1, a[:, 1].std(ddof=1))
    base, up, mixed = wt.paired_differences(t, "accuracy")
    d = a[:, 1] - a[:, 0]
    assert base[:3] == (0.0, 0.0, False) and not wt.significant(base)
    assert math.isclose(up[0], d.mean()) and math.isclose(up[1], d.std(ddof=1)) and up[2] is True and up[5] == 4
    from scipy.stats import t as student

    half = student.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert math.isclose(up[3], d.mean() - half) and math.isclose(up[4], d.mean() + half)
    assert wt.significant(up) and not wt.significant(mixed)  # mixed signs, interval across 0
    # two seeds never make a difference hold, whatever their signs
    assert not wt.significant(wt.paired_differences(_task(values[:2]), "accuracy")[1])


def test_one_seed_task_has_no_spread():
    t = _task([[0.5, 0.6]])
    (mean, sd), _ = wt.summary(t, "accuracy")
    assert mean == 0.5 and math.isnan(sd)


def test_training_silences_only_the_sigmoid_twice_heuristic():
    import warnings

    from losskit.workbench.models import Model

    cfg = wt.TrainConfig(epochs=1, seeds=1)
    plan = api.plan_dataset(load_builtin("breast-cancer"), cfg, "bce")
    # a model whose outputs all lie in [0, 1]: the losses' "sigmoid applied twice?" check would fire
    inner = plan.model
    plan.model = Model(lambda: torch.nn.Sequential(inner.source(), torch.nn.Sigmoid()), builtin=True)
    plan.first = plan.make_problem(0)
    row = plan.rows[0]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        wt.train_group(plan, 0, cfg)
        # outside training the check still speaks
        wt.resolve(row, torch.tensor([200, 140]))(torch.sigmoid(torch.zeros(8, requires_grad=True)), torch.ones(8))
    msgs = [str(w.message) for w in seen if "sigmoid applied twice" in str(w.message)]
    assert len(msgs) == 1


def test_a_model_vmap_cannot_run_is_trained_one_loss_after_another():
    class Stateful(torch.nn.Module):  # a data-dependent branch on its weights: vmap refuses the .item()
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(13, 3)

        def forward(self, x):
            if self.lin.weight.abs().sum().item() > 1e9:
                return self.lin(x) * 0
            return self.lin(x)

    from losskit.workbench.models import Model

    cfg = wt.TrainConfig(epochs=2, seeds=1)
    plan = api.plan_dataset(load_builtin("wine"), cfg, "ce,focal")
    plan.model = Model(Stateful, builtin=False)
    plan = api.check(plan, cfg)
    g = wt.train_group(plan, 0, cfg)
    assert not g.stacked and "trained one loss after another: torch.func.vmap cannot run this model" in g.note
    assert len(g.runs) == 2 and g.runs[0].epochs_run >= 1
