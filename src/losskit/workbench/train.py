"""The loss roster, the model, the training loop and the test metrics of ``losskit compare``.

Every loss in the roster trains the *same* model (a one-hidden-layer MLP, identical initial
weights, identical minibatch order) with AdamW; only the loss changes. Each roster entry names a
loss in :mod:`losskit.catalog` plus its options; data-dependent options (``pos_weight``,
class-balanced weights) are computed from the training split's class counts.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from .. import catalog
from .data import Dataset, Split

__all__ = [
    "RosterEntry",
    "ROSTER",
    "roster",
    "roster_keys",
    "ResolvedLoss",
    "resolve",
    "TrainConfig",
    "RunResult",
    "TaskResult",
    "make_model",
    "train_one",
    "evaluate",
    "run_task",
    "run_seeds",
    "summary",
    "paired_differences",
]

# the roster is the catalog's: each catalog entry lists its configured rows (losskit.catalog.Roster)
RosterEntry = catalog.Roster
ROSTER: tuple[RosterEntry, ...] = tuple(catalog.roster())
roster_keys = catalog.roster_keys


def roster(task: str, keys: Optional[list[str]] = None) -> list[RosterEntry]:
    """The rows of ``task``: the defaults, or those named in ``keys`` (in roster order)."""
    return [e for e in ROSTER if e.task == task and (e.default if keys is None else e.key in keys)]


@dataclass
class ResolvedLoss:
    """A roster entry bound to a function and concrete options for one training split."""

    entry: RosterEntry
    fn: Callable
    options: dict
    class_weights: Optional[torch.Tensor]
    source: str

    def _call(self, logits, target, reduction):
        opts = {k: v.to(logits.dtype) if isinstance(v, torch.Tensor) else v for k, v in self.options.items()}
        return self.fn(logits, target, reduction=reduction, **opts)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The training objective (a scalar) for a batch: logits ``(B,)``/``(B, K)``, targets ``(B,)``."""
        if self.class_weights is None:
            return self._call(logits, target, "mean")
        return self.per_sample(logits, target).mean()

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The ``(B,)`` per-sample losses, class weights included (their mean is the objective,
        except for losses with a ``weight`` option, whose mean divides by the summed weights as torch does)."""
        per = self._call(logits, target, "none")
        if self.class_weights is not None:
            per = self.class_weights.to(per.dtype)[target.long()] * per
        return per

    def options_text(self) -> str:
        parts = []
        for k, v in self.options.items():
            if isinstance(v, torch.Tensor):
                v = ", ".join(f"{x:.3g}" for x in v.flatten().tolist())
            parts.append(f"{k}={v}")
        if self.class_weights is not None:
            parts.append("class weights " + ", ".join(f"{x:.3g}" for x in self.class_weights.tolist()))
        return "; ".join(parts)


def resolve(entry: RosterEntry, counts: torch.Tensor, device: torch.device | str = "cpu") -> ResolvedLoss:
    """Bind ``entry`` to the registered losskit function of that name, with concrete options.

    ``counts`` are the training class counts, from which data-dependent options are computed.
    """
    fn = catalog.get(entry.loss).functional
    counts = torch.as_tensor(counts)
    opts = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in entry.options(counts).items()}
    cw = entry.sample_weights(counts).to(device) if entry.sample_weights else None
    return ResolvedLoss(entry, fn, opts, cw, f"losskit.functional.{entry.loss}")


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    hidden: int = 64
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "cpu"


@dataclass
class RunResult:
    """One loss trained on one task."""

    key: str
    display: str
    loss: str
    source: str
    options: str
    note: str
    history: dict  # "train_loss", "val_log_loss", "val_accuracy": one value per epoch
    val_logits: np.ndarray
    test_logits: np.ndarray
    metrics: dict
    seconds: float


@dataclass
class TaskResult:
    """Every loss trained on one task. ``runs``, ``split`` and ``config`` are those of the first seed
    (the figures show it); ``seed_runs[i]`` holds the runs of ``seeds[i]`` (``seed_runs[0] is runs``)."""

    dataset: Dataset
    split: Split
    runs: list
    config: TrainConfig
    resolved: list = field(default_factory=list)
    seeds: list = field(default_factory=list)
    seed_runs: list = field(default_factory=list)

    def __post_init__(self):
        if not self.seeds:
            self.seeds = [self.config.seed]
            self.seed_runs = [self.runs]


def make_model(n_features: int, n_outputs: int, hidden: int, seed: int) -> nn.Module:
    """The MLP every loss trains: Linear -> ReLU -> Linear, initialised from ``seed``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))


def _forward(model, X, binary):
    out = model(X)
    return out.squeeze(1) if binary else out


def _val_stats(logits: torch.Tensor, y: torch.Tensor, binary: bool) -> tuple[float, float]:
    """Validation log-loss (the NLL: comparable across losses) and accuracy."""
    if binary:
        nll = nn.functional.binary_cross_entropy_with_logits(logits.double(), y.double())
        acc = ((logits > 0).long() == y).double().mean()
    else:
        nll = nn.functional.cross_entropy(logits.double(), y)
        acc = (logits.argmax(1) == y).double().mean()
    return float(nll), float(acc)


def _train_epochs(model, opt, gen, loss, Xtr, ytr_in, Xva, yva, binary, cfg, hist, progress) -> None:
    """Run the epochs of :func:`train_one`: shuffled minibatches (order from ``gen``), AdamW steps, and
    the validation log-loss and accuracy after each epoch appended to ``hist``."""
    dev = Xtr.device
    n = Xtr.shape[0]
    for _ in range(cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen).to(dev)
        total = torch.zeros((), device=dev)
        for start in range(0, n, cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            obj = loss(_forward(model, Xtr[idx], binary), ytr_in[idx])
            opt.zero_grad(set_to_none=True)
            obj.backward()
            opt.step()
            total += obj.detach() * len(idx)
        model.eval()
        with torch.no_grad():
            nll, acc = _val_stats(_forward(model, Xva, binary), yva, binary)
        hist["train_loss"].append(float(total) / n)
        hist["val_log_loss"].append(nll)
        hist["val_accuracy"].append(acc)
        if progress is not None:
            progress.update(1)


def train_one(loss: ResolvedLoss, sp: Split, n_classes: int, cfg: TrainConfig, progress=None) -> RunResult:
    """Train a fresh model (same init for every loss) with ``loss``; return logits and history."""
    binary = n_classes == 2
    dev = torch.device(cfg.device)
    Xtr = torch.as_tensor(sp.X_train, dtype=torch.float32, device=dev)
    ytr = torch.as_tensor(sp.y_train, device=dev)
    ytr_in = ytr.float() if binary else ytr
    Xva = torch.as_tensor(sp.X_val, dtype=torch.float32, device=dev)
    yva = torch.as_tensor(sp.y_val, device=dev)
    Xte = torch.as_tensor(sp.X_test, dtype=torch.float32, device=dev)

    model = make_model(Xtr.shape[1], 1 if binary else n_classes, cfg.hidden, cfg.seed).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)  # same minibatch order for every loss
    hist = {"train_loss": [], "val_log_loss": [], "val_accuracy": []}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # the model's raw outputs are logits by construction; early in training a whole minibatch can
        # land in [0, 1], which the losses' "sigmoid applied twice?" check would flag
        warnings.filterwarnings("ignore", message=r".*was a sigmoid applied twice", category=UserWarning)
        _train_epochs(model, opt, gen, loss, Xtr, ytr_in, Xva, yva, binary, cfg, hist, progress)
    with torch.no_grad():
        val_logits = _forward(model, Xva, binary).double().cpu().numpy()
        test_logits = _forward(model, Xte, binary).double().cpu().numpy()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - t0
    e = loss.entry
    return RunResult(e.key, e.display, e.loss, loss.source, loss.options_text(), e.note, hist, val_logits,
                     test_logits, evaluate(val_logits, sp.y_val, test_logits, sp.y_test, n_classes), seconds)


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------
def _probs(logits: np.ndarray) -> np.ndarray:
    if logits.ndim == 1:
        return np.exp(-np.logaddexp(0.0, -logits))  # sigmoid
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def evaluate(val_logits, y_val, test_logits, y_test, n_classes: int) -> dict:
    """Test metrics; the threshold and the temperature are fitted on validation only.

    Binary: accuracy, macro-F1 and F1 of the positive class at probability 0.5, ROC-AUC, PR-AUC
    (average precision), log-loss, ECE (15 bins), temperature and ECE after it, the F1-optimal
    threshold tuned on validation and the test F1 at it. Multi-class: accuracy, macro-F1,
    one-vs-rest macro ROC-AUC and PR-AUC, log-loss, top-label ECE, temperature, ECE after it.
    """
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, log_loss, roc_auc_score

    from ..decision import expected_calibration_error, fit_temperature, tune_threshold

    p = _probs(test_logits)
    labels = list(range(n_classes))
    try:
        T = fit_temperature(val_logits, y_val)
        ece_t = expected_calibration_error(_probs(test_logits / T), y_test)
    except ValueError:  # perfectly separated validation logits: no finite temperature
        T, ece_t = math.nan, math.nan
    m = {}
    if n_classes == 2:
        pred = (p >= 0.5).astype(int)
        m["accuracy"] = accuracy_score(y_test, pred)
        m["macro_f1"] = f1_score(y_test, pred, average="macro", zero_division=0.0)
        m["roc_auc"] = roc_auc_score(y_test, p)
        m["pr_auc"] = average_precision_score(y_test, p)
        m["log_loss"] = log_loss(y_test, np.clip(p, 1e-15, 1 - 1e-15), labels=labels)
        m["ece"] = expected_calibration_error(p, y_test)
        m["temperature"], m["ece_t"] = T, ece_t
        m["f1_05"] = f1_score(y_test, pred, zero_division=0.0)
        # tune on logits: probabilities saturate to exactly 0/1 in floating point, logits do not
        res = tune_threshold(val_logits, y_val, metric="f1", from_logits=True)
        m["threshold"] = res.probability
        m["f1_tuned"] = f1_score(y_test, (test_logits >= res.threshold).astype(int), zero_division=0.0)
    else:
        pred = p.argmax(1)
        onehot = np.eye(n_classes)[y_test]
        m["accuracy"] = accuracy_score(y_test, pred)
        m["macro_f1"] = f1_score(y_test, pred, average="macro", labels=labels, zero_division=0.0)
        m["roc_auc"] = roc_auc_score(y_test, p, multi_class="ovr", average="macro", labels=labels)
        m["pr_auc"] = average_precision_score(onehot, p, average="macro")
        m["log_loss"] = log_loss(y_test, p, labels=labels)
        m["ece"] = expected_calibration_error(p, y_test)
        m["temperature"], m["ece_t"] = T, ece_t
    return {k: float(v) for k, v in m.items()}


def run_task(ds: Dataset, sp: Split, entries: list[RosterEntry], cfg: TrainConfig, progress=None) -> TaskResult:
    """Train every entry on one split and collect the results."""
    counts = torch.as_tensor(np.bincount(sp.y_train, minlength=ds.n_classes))
    resolved = [resolve(e, counts, cfg.device) for e in entries]
    runs = []
    for r in resolved:
        if progress is not None:
            progress.set_description(f"{ds.name}: {r.entry.display}")
        runs.append(train_one(r, sp, ds.n_classes, cfg, progress))
    return TaskResult(ds, sp, runs, cfg, resolved)


def run_seeds(ds: Dataset, entries: list[RosterEntry], cfg: TrainConfig, seeds: list[int], progress=None,
              split_fn: Optional[Callable] = None) -> TaskResult:
    """:func:`run_task` once per seed: each seed draws its own split, initial weights and batch order.

    Within a seed every loss still shares the split, the initial weights and the batch order, so the
    differences between losses can be paired by seed (:func:`paired_differences`).
    """
    from dataclasses import replace

    from .data import split as default_split

    split_fn = split_fn or default_split
    tasks = [run_task(ds, split_fn(ds, s), entries, replace(cfg, seed=s), progress) for s in seeds]
    first = tasks[0]
    return TaskResult(ds, first.split, first.runs, first.config, first.resolved, list(seeds),
                      [t.runs for t in tasks])


def _metric(run: RunResult, key: str) -> float:
    return run.seconds if key == "seconds" else run.metrics.get(key, math.nan)


def summary(task: TaskResult, key: str) -> list[tuple[float, float]]:
    """``(mean, sd)`` over seeds of one metric, per loss (sd is ``nan`` with one seed; ddof=1)."""
    out = []
    for i in range(len(task.runs)):
        v = np.array([_metric(runs[i], key) for runs in task.seed_runs], dtype=float)
        out.append((float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan))
    return out


def paired_differences(task: TaskResult, key: str, baseline: int = 0) -> list[tuple[float, float, bool]]:
    """``(mean, sd, same_sign)`` over seeds of ``metric(loss) - metric(baseline)``, seed by seed, per loss.

    Pairing removes what the losses share within a seed (the split, the initial weights), so a mean
    difference several times its sd is a consistent effect of the loss, not of the draw.
    ``same_sign`` is true when every seed's difference is nonzero with the same sign (with 5 seeds,
    a sign test puts the chance of that under no effect at 2/32).
    """
    out = []
    for i in range(len(task.runs)):
        d = np.array([_metric(runs[i], key) - _metric(runs[baseline], key) for runs in task.seed_runs], dtype=float)
        same = len(d) > 1 and bool(np.all(d > 0) or np.all(d < 0))
        out.append((float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else math.nan, same))
    return out
