"""``losskit.workbench.compare`` on the user's own model and data: every task kind, modules, factories, loaders."""

import csv
import json

import numpy as np
import pytest
import torch
from torch import nn

from losskit.workbench import PlanError, compare

TINY = dict(epochs=2, seeds=1, progress=False, workers=1)


class SmallCNN(nn.Module):
    """A user-defined CNN for 8x8 digit images."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.head = nn.Linear(8 * 4 * 4, n_classes)

    def forward(self, x):
        return self.head(torch.flatten(nn.functional.max_pool2d(torch.relu(self.conv(x)), 2), 1))


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.images[:, None] / 16.0, dtype=torch.float32)
    return X, torch.tensor(d.target)


def test_user_cnn_on_tensors_multiclass(digits, tmp_path):
    X, y = digits
    result = compare(
        SmallCNN(),
        (X[:600], y[:600]),
        (X[600:800], y[600:800]),
        (X[800:1000], y[800:1000]),
        losses="ce,focal:gamma=1|2",
        epochs=2,
        seeds=2,
        progress=False,
        workers=1,
    )
    task = result.tasks[0]
    assert task.kind == "multiclass" and [r.key for r in task.runs] == ["ce", "focal:gamma=1", "focal:gamma=2"]
    assert task.seeds == [0, 1] and "SmallCNN" in task.model and "deep-copied" in task.model
    assert "task='auto': integer targets with 10 values: multi-class" in task.problem.steps[0]
    assert all(0.1 < r.metrics["accuracy"] <= 1 for r in task.runs)
    paths = result.write(str(tmp_path / "out"))
    assert set(paths) == {"json", "csv", "html"}
    rows = list(csv.DictReader(open(paths["csv"])))
    n_metrics = len(task.runs[0].metrics) + 1  # + seconds
    assert len(rows) == 1 * 3 * 2 * n_metrics  # task x loss x seed x metric
    assert {r["seed"] for r in rows} == {"0", "1"} and {r["loss"] for r in rows} == {
        "ce",
        "focal:gamma=1",
        "focal:gamma=2",
    }
    data = json.load(open(paths["json"]))
    assert data["tasks"][0]["kind"] == "multiclass" and data["partial"] is False
    # a module is deep-copied: every seed starts from its weights, and the module itself is untouched
    first = [r.test_out for r in task.seed_runs[0]]
    assert not np.array_equal(first[0], task.seed_runs[1][0].test_out)  # another batch order


def test_module_is_not_trained_in_place(digits):
    X, y = digits
    model = SmallCNN()
    before = [p.detach().clone() for p in model.parameters()]
    compare(model, (X[:200], y[:200]), (X[200:300], y[200:300]), losses="ce", **TINY)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_factory_draws_new_weights_per_seed_and_shares_them_across_losses(digits):
    X, y = digits
    built = []

    def factory():
        m = SmallCNN()
        built.append(m.conv.weight.detach().clone())
        return m

    compare(
        factory,
        (X[:200], y[:200]),
        (X[200:300], y[200:300]),
        losses="ce,focal",
        epochs=1,
        seeds=2,
        progress=False,
        workers=1,
    )
    # check() builds once per loss for its trial; each seed's group builds once per loss, from the seed
    seed0, seed1 = built[-4:-2], built[-2:]
    assert torch.equal(seed0[0], seed0[1]) and torch.equal(seed1[0], seed1[1]) and not torch.equal(seed0[0], seed1[0])


def test_dataloaders_binary_and_validation_only(digits):
    X, y = digits
    yb = (y == 8).float()
    ds = torch.utils.data.TensorDataset(X[:400], yb[:400])
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[400:600], yb[400:600]), batch_size=64)
    result = compare(lambda: SmallCNN(1), loader, val, losses="bce,weighted-bce", **TINY)
    task = result.tasks[0]
    assert task.kind == "binary" and len(task.groups[0].y_test) == 200
    assert task.problem.test_is_val
    from losskit.workbench.report import conclusion

    assert any("No test split was given" in s for s in conclusion(task)["does_not"])


def test_regression_with_a_variance_output():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(400, 4, generator=g)
    y = 3 * X[:, 0] + (1 + X[:, 1].abs()) * torch.randn(400, generator=g) + 50
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))  # mean, variance before softplus
    result = compare(
        model,
        (X[:240], y[:240]),
        (X[240:320], y[240:320]),
        (X[320:], y[320:]),
        epochs=5,
        seeds=1,
        progress=False,
        workers=1,
    )
    task = result.tasks[0]
    assert task.kind == "regression" and [r.key for r in task.runs] == ["mse", "l1", "huber", "gaussian-nll"]
    assert "regression" in task.problem.steps[0]
    gauss = task.runs[3]
    assert np.isfinite(gauss.test_out[:, 1]).all() and np.isnan(task.runs[0].test_out[:, 1]).all()
    assert all(0 < r.metrics["rmse"] < 60 for r in task.runs)  # in the target's units (mean 50)
    with pytest.raises(PlanError, match=r"a predicted variance needs two outputs per sample, \(N, 2\)"):
        compare(nn.Linear(4, 1), (X[:240], y[:240]), (X[240:], y[240:]), **TINY)
    result = compare(nn.Linear(4, 1), (X[:240], y[:240]), (X[240:], y[240:]), losses="mse,l1", **TINY)
    assert [r.key for r in result.tasks[0].runs] == ["mse", "l1"]


def test_multilabel_and_segmentation_tensors():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(200, 6, generator=g)
    Y = (X[:, :3] > 0).float()
    res = compare(
        nn.Linear(6, 3),
        (X[:120], Y[:120]),
        (X[120:160], Y[120:160]),
        (X[160:], Y[160:]),
        classes=["a", "b", "c"],
        **TINY,
    )
    t = res.tasks[0]
    assert t.kind == "multilabel" and [r.key for r in t.runs] == ["bce", "asymmetric", "focal"]
    assert [n for n, _ in t.runs[0].per_class] == ["a", "b", "c"]
    images = torch.rand(40, 1, 8, 8, generator=g)
    masks = (images[:, 0] > 0.7).long() + (images[:, 0] > 0.9).long()
    seg = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 1))
    res = compare(seg, (images[:24], masks[:24]), (images[24:32], masks[24:32]), (images[32:], masks[32:]), **TINY)
    t = res.tasks[0]
    assert t.kind == "segmentation" and [r.key for r in t.runs] == ["ce", "dice", "ce+dice", "focal", "tversky"]
    assert t.runs[0].test_out.shape == (8, 3, 8, 8) and {"miou", "mdice", "fg_iou"} <= set(t.runs[0].metrics)


@pytest.mark.parametrize(
    "model, losses, match",
    [
        (
            nn.Linear(64, 3),
            None,
            r"model: its output does not fit a multiclass task with 10 classes: expected \(N, 10\), got \(64, 3\)",
        ),
        (nn.Linear(5, 10), None, r"model: forward pass on a training batch of shape \(64, 64\) failed: RuntimeError"),
        (nn.Linear(64, 10), "bce", "none of --losses apply to your data \\(multiclass\\); multiclass tasks take ce"),
        (nn.Linear(64, 10), "focal:gamma=-1", r"loss 'focal:gamma=-1' \(focal_loss\) cannot run on this data: .*gamma"),
        (lambda n: nn.Linear(64, 10), None, "a factory must take no arguments"),
        ("not a model", None, "model must be an nn.Module or a zero-argument function"),
    ],
)
def test_bad_model_or_losses_say_what_to_fix(digits, model, losses, match):
    X, y = digits
    flat = X.reshape(len(X), -1)
    with pytest.raises(PlanError, match=match):
        compare(model, (flat[:200], y[:200]), (flat[200:300], y[200:300]), losses=losses, **TINY)


def test_unknown_option_is_a_type_error(digits):
    X, y = digits
    with pytest.raises(TypeError, match="unknown option\\(s\\) epoch; TrainConfig fields are epochs"):
        compare(SmallCNN(), (X, y), (X, y), epoch=3)
