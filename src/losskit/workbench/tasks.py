"""The task kinds of ``losskit compare``: what the model outputs, what the loss is given, and how runs are scored.

========================  ===============================  ==========================================
kind                      model output / target            scored by
========================  ===============================  ==========================================
``binary``                ``(N,)`` or ``(N, 1)`` logit /    accuracy, F1, ROC-AUC, PR-AUC, log-loss,
                          0/1                               ECE, tuned threshold
``multiclass``            ``(N, K)`` logits / class index   accuracy, macro-F1, ROC-AUC, log-loss, ECE
``multilabel``            ``(N, L)`` logits / ``(N, L)``    exact match, micro/macro-F1, ROC-AUC,
                          0/1                               PR-AUC, log-loss, ECE, tuned thresholds
``regression``            ``(N,)``, ``(N, 1)``, or          RMSE, MAE, R², Gaussian NLL, coverage of
                          ``(N, 2)`` mean and variance      the 90% interval
``segmentation``          ``(N, K, H, W)`` logits /         pixel accuracy, mean IoU and Dice (per
                          ``(N, H, W)`` class index         class too), pixel log-loss
========================  ===============================  ==========================================

Every metric is computed on the test split; the decision threshold (binary, multi-label), the
temperature and the regression variance of point-prediction losses are fitted on validation only.
Calibration errors use :data:`ECE_BINS` equal-mass bins, the bins of the reliability diagrams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as TF

__all__ = ["Column", "Kind", "KINDS", "get", "ECE_BINS", "sigmoid", "softmax"]

#: equal-mass bins of every calibration error and reliability diagram of the report
ECE_BINS = 10


@dataclass(frozen=True)
class Column:
    """A metric column: its key in ``metrics``, header, format, which direction is better, description."""

    key: str
    header: str
    fmt: str
    better: str | None
    description: str


def _col(key, header, fmt, better, description) -> Column:
    return Column(key, header, fmt, better, description)


_EPOCH = _col("epoch", "epoch", "{:.0f}", None, "the epoch kept: best validation score (early stopping)")
_TIME = _col("seconds", "time", "{:.1f}s", None, "training time")
_ECE = f"expected calibration error, {ECE_BINS} equal-mass bins (those of the reliability diagram)"
_LOG_LOSS = _col(
    "log_loss", "log-loss", "{:.3f}", "low", "negative log-likelihood of the test labels (the comparable loss)"
)
_T = _col("temperature", "T", "{:.2f}", None, "temperature fitted on validation logits (>1: over-confident)")
_ECE_T = _col("ece_t", "ECE@T", "{:.3f}", "low", "ECE after dividing the logits by T")


def _table(text: str) -> tuple:
    """Columns from a ``key | header | format | better | description`` table (``-``: no better
    direction; ``ECE_TEXT`` stands for the ECE's description), then the epoch and time columns."""
    rows = [[c.strip() for c in line.split("|")] for line in text.strip().splitlines()]
    return (
        *tuple(_col(k, h, f, None if b == "-" else b, d.replace("ECE_TEXT", _ECE)) for k, h, f, b, d in rows),
        _EPOCH,
        _TIME,
    )


def _classification_columns(acc: str, f1: str, roc: str, pr: str, ece: str) -> tuple:
    """The columns binary and multi-class tasks share, with their own descriptions."""
    return (
        _col("accuracy", "acc", "{:.3f}", "high", acc),
        _col("macro_f1", "macro-F1", "{:.3f}", "high", f1),
        _col("roc_auc", "ROC-AUC", "{:.3f}", "high", roc),
        _col("pr_auc", "PR-AUC", "{:.3f}", "high", pr),
        _LOG_LOSS,
        _col("ece", "ECE", "{:.3f}", "low", ece),
        _T,
        _ECE_T,
    )


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _temperature(val_logits, y_val, test_logits, y_test):
    """Temperature fitted on validation, and the test ECE after it (``nan`` when no finite fit exists)."""
    from ..decision import expected_calibration_error, fit_temperature

    try:
        t = fit_temperature(val_logits, y_val)
    except ValueError:  # perfectly separated validation logits: no finite temperature
        return math.nan, math.nan
    p = sigmoid(test_logits / t) if test_logits.ndim == 1 else softmax(test_logits / t)
    return t, expected_calibration_error(p, y_test, ECE_BINS, strategy="quantile")


class Kind:
    """One task kind. Subclasses set the class attributes and implement the methods."""

    name: str = ""
    columns: tuple = ()
    #: validation metric that picks the epoch (early stopping), and its better direction
    select: str = ""
    select_better: str = "low"
    select_text: str = ""
    #: the metric shown in one-line progress logs
    headline: str = ""
    #: the columns of the paired-difference table
    delta_keys: tuple = ()

    # -- shapes ---------------------------------------------------------------------------------
    def outputs(self, n_classes: int, rows) -> int:
        """Model outputs the built-in model needs (per sample, or channels per pixel)."""
        return n_classes

    def check_output(self, out: torch.Tensor, n_classes: int, rows) -> str | None:
        """A sentence saying why the model output ``out`` does not fit, or ``None``."""
        want = self.outputs(n_classes, rows)
        if out.dim() != 2 or out.shape[1] != want:
            return f"expected (N, {want}), got {tuple(out.shape)}"
        return None

    def target(self, y: torch.Tensor) -> torch.Tensor:
        """The target as the losses take it."""
        return y

    def loss_input(self, out: torch.Tensor) -> torch.Tensor:
        """The model output as the losses take it."""
        return out

    def stored(self, out: torch.Tensor, row=None) -> np.ndarray:
        """What is kept of the validation/test outputs of ``row`` for scoring and figures."""
        return self.loss_input(out).detach().double().cpu().numpy()

    # -- scoring --------------------------------------------------------------------------------
    def val_score(self, out: torch.Tensor, y: torch.Tensor) -> float:
        raise NotImplementedError

    def evaluate(self, val, y_val, test, y_test, info) -> dict:
        raise NotImplementedError

    def per_class(self, test, y_test, info) -> list:
        """Rows ``(name, {metric: value})`` of the per-class (per-label) table; empty if none."""
        return []

    def counts(self, y: np.ndarray, n_classes: int) -> torch.Tensor:
        """The training counts that data-dependent loss options read (see :class:`losskit.catalog.Roster`)."""
        return torch.as_tensor(np.bincount(y.reshape(-1), minlength=n_classes))

    def noise(self, y_test: np.ndarray, info) -> str:
        """A sentence on what the size of the test split lets one see."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
class Binary(Kind):
    name = "binary"
    columns = (
        *_classification_columns(
            "accuracy at probability 0.5",
            "F1 averaged over both classes, same decisions as acc",
            "area under the ROC curve",
            "average precision (area under the precision-recall curve)",
            _ECE,
        ),
        _col("threshold", "thr*", "{:.2f}", None, "F1-optimal probability threshold, tuned on validation"),
        _col("f1_05", "F1@0.5", "{:.3f}", "high", "F1 of the positive class at threshold 0.5"),
        _col("f1_tuned", "F1@thr*", "{:.3f}", "high", "F1 of the positive class at the tuned threshold"),
        _EPOCH,
        _TIME,
    )
    select, select_text, headline = "log_loss", "validation log-loss", "pr_auc"
    delta_keys = ("accuracy", "macro_f1", "pr_auc", "log_loss", "ece", "f1_05", "f1_tuned")

    def outputs(self, n_classes, rows):
        return 1

    def check_output(self, out, n_classes, rows):
        if out.dim() == 1 or (out.dim() == 2 and out.shape[1] == 1):
            return None
        return f"expected one logit per sample, (N,) or (N, 1), got {tuple(out.shape)}"

    def target(self, y):
        return y.float()

    def loss_input(self, out):
        return out.squeeze(-1) if out.dim() == 2 else out

    def val_score(self, out, y):
        return float(TF.binary_cross_entropy_with_logits(self.loss_input(out).double(), y.double()))

    def evaluate(self, val, y_val, test, y_test, info):
        from sklearn.metrics import accuracy_score, average_precision_score, f1_score, log_loss, roc_auc_score

        from ..decision import expected_calibration_error, tune_threshold

        p = sigmoid(test)
        pred = (p >= 0.5).astype(int)
        m = {
            "accuracy": accuracy_score(y_test, pred),
            "macro_f1": f1_score(y_test, pred, average="macro", zero_division=0.0),
            "roc_auc": roc_auc_score(y_test, p) if 0 < y_test.sum() < len(y_test) else math.nan,
            "pr_auc": average_precision_score(y_test, p),
            "log_loss": log_loss(y_test, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]),
            "ece": expected_calibration_error(p, y_test, ECE_BINS, strategy="quantile"),
        }
        m["temperature"], m["ece_t"] = _temperature(val, y_val, test, y_test)
        m["f1_05"] = f1_score(y_test, pred, zero_division=0.0)
        # tune on logits: probabilities saturate to exactly 0/1 in floating point, logits do not
        res = tune_threshold(val, y_val, metric="f1", from_logits=True)
        m["threshold"] = res.probability
        m["f1_tuned"] = f1_score(y_test, (test >= res.threshold).astype(int), zero_division=0.0)
        return m

    def per_class(self, test, y_test, info):
        return _class_report(y_test, (sigmoid(test) >= 0.5).astype(int), info.classes)

    def noise(self, y_test, info):
        n, pos = len(y_test), int(y_test.sum())
        return (
            f"the test split holds {n} samples of which {pos} are {info.classes[1]!r}: one of them is "
            f"1/{pos} = {1 / max(pos, 1):.3f} of recall, one sample 1/{n} = {1 / n:.3f} of accuracy"
        )


def _class_report(y, pred, names) -> list:
    from sklearn.metrics import precision_recall_fscore_support

    k = len(names)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=list(range(k)), zero_division=0.0)
    return [(str(names[i]), {"precision": p[i], "recall": r[i], "f1": f[i], "support": int(s[i])}) for i in range(k)]


class Multiclass(Kind):
    name = "multiclass"
    columns = (
        *_classification_columns(
            "accuracy of the arg-max class",
            "F1 averaged over classes, same decisions as acc",
            "one-vs-rest macro ROC-AUC",
            "one-vs-rest macro average precision",
            "top-label " + _ECE,
        ),
        _EPOCH,
        _TIME,
    )
    select, select_text, headline = "log_loss", "validation log-loss", "accuracy"
    delta_keys = ("accuracy", "macro_f1", "pr_auc", "log_loss", "ece")

    def val_score(self, out, y):
        return float(TF.cross_entropy(out.double(), y))

    def evaluate(self, val, y_val, test, y_test, info):
        from sklearn.metrics import accuracy_score, average_precision_score, f1_score, log_loss, roc_auc_score

        from ..decision import expected_calibration_error

        k = test.shape[1]
        labels = list(range(k))
        p = softmax(test)
        pred = p.argmax(1)
        present = np.bincount(y_test, minlength=k) > 0
        onehot = np.eye(k)[y_test]
        m = {
            "accuracy": accuracy_score(y_test, pred),
            "macro_f1": f1_score(y_test, pred, average="macro", labels=labels, zero_division=0.0),
            "roc_auc": (
                roc_auc_score(y_test, p, multi_class="ovr", average="macro", labels=labels)
                if present.all()
                else math.nan
            ),
            "pr_auc": average_precision_score(onehot[:, present], p[:, present], average="macro"),
            "log_loss": log_loss(y_test, p, labels=labels),
            "ece": expected_calibration_error(p, y_test, ECE_BINS, strategy="quantile"),
        }
        m["temperature"], m["ece_t"] = _temperature(val, y_val, test, y_test)
        return m

    def per_class(self, test, y_test, info):
        return _class_report(y_test, test.argmax(1), info.classes)

    def noise(self, y_test, info):
        c = np.bincount(y_test, minlength=len(info.classes))
        i = int(c.argmin())
        return (
            f"the test split holds {len(y_test)} samples; its smallest class, {info.classes[i]!r}, has {int(c[i])}: "
            f"one of them is 1/{max(int(c[i]), 1)} = {1 / max(int(c[i]), 1):.3f} of that class's recall, "
            f"one sample 1/{len(y_test)} = {1 / len(y_test):.3f} of accuracy"
        )


class Multilabel(Kind):
    name = "multilabel"
    columns = _table("""
        exact          | exact         | {:.3f} | high | share of samples with every label right at probability 0.5
        micro_f1       | micro-F1      | {:.3f} | high | F1 over every (sample, label) decision at 0.5
        macro_f1       | macro-F1      | {:.3f} | high | F1 per label at 0.5, averaged over labels
        roc_auc        | ROC-AUC       | {:.3f} | high | ROC-AUC per label, averaged
        pr_auc         | PR-AUC        | {:.3f} | high | average precision per label, averaged
        log_loss       | log-loss      | {:.3f} | low  | Bernoulli negative log-likelihood per label, averaged
        ece            | ECE           | {:.3f} | low  | ECE_TEXT, over every (sample, label) probability
        macro_f1_tuned | macro-F1@thr* | {:.3f} | high | macro-F1 with each label's F1-optimal threshold tuned on validation
        """)
    select, select_text, headline = "log_loss", "validation log-loss (mean over labels)", "macro_f1"
    delta_keys = ("exact", "micro_f1", "macro_f1", "pr_auc", "log_loss", "ece", "macro_f1_tuned")

    def target(self, y):
        return y.float()

    def val_score(self, out, y):
        return float(TF.binary_cross_entropy_with_logits(out.double(), y.double()))

    def evaluate(self, val, y_val, test, y_test, info):
        from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

        from ..decision import expected_calibration_error, tune_threshold

        p = sigmoid(test)
        pred = (p >= 0.5).astype(int)
        both = [j for j in range(y_test.shape[1]) if 0 < y_test[:, j].sum() < len(y_test)]
        lp, lq = -np.logaddexp(0.0, -test), -np.logaddexp(0.0, test)  # log p, log(1-p) from the logit
        m = {
            "exact": float(np.mean((pred == y_test).all(1))),
            "micro_f1": f1_score(y_test, pred, average="micro", zero_division=0.0),
            "macro_f1": f1_score(y_test, pred, average="macro", zero_division=0.0),
            "roc_auc": roc_auc_score(y_test[:, both], p[:, both], average="macro") if both else math.nan,
            "pr_auc": average_precision_score(y_test[:, both], p[:, both], average="macro") if both else math.nan,
            "log_loss": float(-np.mean(y_test * lp + (1 - y_test) * lq)),
            "ece": expected_calibration_error(p.reshape(-1), y_test.reshape(-1), ECE_BINS, strategy="quantile"),
        }
        tuned = np.zeros_like(pred)
        for j in range(y_test.shape[1]):
            if 0 < y_val[:, j].sum() < len(y_val):
                res = tune_threshold(val[:, j], y_val[:, j], metric="f1", from_logits=True)
                tuned[:, j] = test[:, j] >= res.threshold
            else:  # a label without both values in validation keeps 0.5
                tuned[:, j] = pred[:, j]
        m["macro_f1_tuned"] = f1_score(y_test, tuned, average="macro", zero_division=0.0)
        return m

    def per_class(self, test, y_test, info):
        from sklearn.metrics import average_precision_score, f1_score

        p = sigmoid(test)
        out = []
        for j, name in enumerate(info.classes):
            y = y_test[:, j]
            ap = average_precision_score(y, p[:, j]) if 0 < y.sum() < len(y) else math.nan
            out.append(
                (
                    str(name),
                    {"f1": f1_score(y, p[:, j] >= 0.5, zero_division=0.0), "pr_auc": ap, "positives": int(y.sum())},
                )
            )
        return out

    def counts(self, y, n_classes):
        pos = y.sum(0)
        return torch.as_tensor(np.stack([len(y) - pos, pos]).astype(np.int64))  # (2, L)

    def noise(self, y_test, info):
        pos = y_test.sum(0).astype(int)
        j = int(pos.argmin())
        return (
            f"the test split holds {len(y_test)} samples; positives per label: "
            + ", ".join(f"{n} {int(c)}" for n, c in zip(info.classes, pos, strict=True))
            + f"; the rarest label, {info.classes[j]!r}, moves its F1 by about 1/{max(int(pos[j]), 1)} per sample"
        )


class Regression(Kind):
    name = "regression"
    columns = _table("""
        rmse     | RMSE    | {:.4g} | low  | root mean squared error, in the target's units
        mae      | MAE     | {:.4g} | low  | mean absolute error, in the target's units
        r2       | R²      | {:.3f} | high | coefficient of determination (1 - MSE / variance of the test target)
        nll      | NLL     | {:.3f} | low  | Gaussian negative log-likelihood per sample (target units): the predicted variance, or for point losses one variance fitted on validation residuals
        coverage | cover90 | {:.3f} | -    | share of test targets inside the central 90% interval of that Gaussian (0.9 is right)
        """)
    select, select_text, headline = "rmse", "validation RMSE", "rmse"
    delta_keys = ("rmse", "mae", "r2", "nll")

    def outputs(self, n_classes, rows):
        return 2 if any(r.variance for r in rows) else 1

    def check_output(self, out, n_classes, rows):
        if out.dim() == 1 or (out.dim() == 2 and out.shape[1] in (1, 2)):
            if any(r.variance for r in rows) and not (out.dim() == 2 and out.shape[1] == 2):
                return (
                    f"a predicted variance needs two outputs per sample, (N, 2): mean and variance before "
                    f"softplus; got {tuple(out.shape)}"
                )
            return None
        return f"expected (N,), (N, 1) or (N, 2) (mean, variance before softplus), got {tuple(out.shape)}"

    def target(self, y):
        return y.float()

    def loss_input(self, out):
        return out[:, 0] if out.dim() == 2 else out

    def stored(self, out, row=None):
        # the variance column only for a row that trains it (a point loss leaves the second output untrained)
        mean = self.loss_input(out).detach().double()
        trained = row is not None and row.variance and out.dim() == 2 and out.shape[1] == 2
        var = TF.softplus(out[:, 1].detach().double()) if trained else torch.full_like(mean, math.nan)
        return torch.stack([mean, var], 1).cpu().numpy()

    def val_score(self, out, y):
        return float(torch.sqrt(torch.mean((self.loss_input(out).double() - y.double()) ** 2)))

    def evaluate(self, val, y_val, test, y_test, info):
        from scipy.stats import norm

        loc, scale = info.y_scale
        mu, y = test[:, 0] * scale + loc, y_test * scale + loc
        if not np.isnan(test[:, 1]).any():  # the loss predicted a variance (its second output)
            var = np.maximum(test[:, 1], 1e-6) * scale**2
        else:  # a point prediction: one variance, the mean squared residual on validation
            var = np.full_like(mu, np.mean((val[:, 0] - y_val) ** 2) * scale**2)
        r = y - mu
        half = norm.ppf(0.95) * np.sqrt(var)
        return {
            "rmse": float(np.sqrt(np.mean(r**2))),
            "mae": float(np.mean(np.abs(r))),
            "r2": float(1 - np.mean(r**2) / np.var(y)) if np.var(y) > 0 else math.nan,
            "nll": float(np.mean(0.5 * (np.log(2 * np.pi * var) + r**2 / var))),
            "coverage": float(np.mean(np.abs(r) <= half)),
        }

    def counts(self, y, n_classes):
        return torch.tensor([len(y)])

    def noise(self, y_test, info):
        n = len(y_test)
        return (
            f"the test split holds {n} samples: an RMSE is known to about ±{100 / math.sqrt(2 * n):.0f}% "
            "of itself from the sample alone (its standard error for Gaussian residuals)"
        )


class Segmentation(Kind):
    name = "segmentation"
    columns = _table("""
        miou      | mIoU      | {:.3f} | high | intersection over union per class (pixels over the test split), averaged
        mdice     | mDice     | {:.3f} | high | Dice (F1) per class over the test pixels, averaged
        fg_iou    | fg-IoU    | {:.3f} | high | mean IoU of the classes other than the first (background)
        pixel_acc | pixel acc | {:.3f} | high | share of test pixels whose arg-max class is right
        log_loss  | log-loss  | {:.3f} | low  | per-pixel categorical negative log-likelihood
        ece       | ECE       | {:.3f} | low  | per-pixel top-label ECE_TEXT
        """)
    select, select_text, select_better, headline = "miou", "validation mean IoU", "high", "miou"
    delta_keys = ("miou", "mdice", "fg_iou", "pixel_acc", "log_loss", "ece")

    def check_output(self, out, n_classes, rows):
        if out.dim() == 4 and out.shape[1] == n_classes:
            return None
        return f"expected (N, {n_classes}, H, W) logits, got {tuple(out.shape)}"

    def stored(self, out, row=None):
        return out.detach().float().cpu().numpy()

    def val_score(self, out, y):
        return float(np.nanmean(_iou_dice(out.argmax(1).cpu().numpy(), y.cpu().numpy(), out.shape[1])[0]))

    def evaluate(self, val, y_val, test, y_test, info):
        from ..decision import expected_calibration_error

        k = test.shape[1]
        pred = test.argmax(1)
        iou, dice = _iou_dice(pred, y_test, k)
        z = torch.from_numpy(test).double()
        logp = torch.log_softmax(z, 1)
        nll = float(TF.nll_loss(logp, torch.from_numpy(y_test).long()))
        p = logp.exp().movedim(1, -1).reshape(-1, k).numpy()
        return {
            "miou": float(np.nanmean(iou)),
            "mdice": float(np.nanmean(dice)),
            "fg_iou": float(np.nanmean(iou[1:])) if k > 1 else math.nan,
            "pixel_acc": float(np.mean(pred == y_test)),
            "log_loss": nll,
            "ece": expected_calibration_error(p, y_test.reshape(-1), ECE_BINS, strategy="quantile"),
        }

    def per_class(self, test, y_test, info):
        k = test.shape[1]
        iou, dice = _iou_dice(test.argmax(1), y_test, k)
        n = np.bincount(y_test.reshape(-1), minlength=k)
        return [(str(info.classes[c]), {"iou": iou[c], "dice": dice[c], "pixels": int(n[c])}) for c in range(k)]

    def noise(self, y_test, info):
        k = len(info.classes)
        n = np.bincount(y_test.reshape(-1), minlength=k)
        present = np.array([np.any(y_test == c, axis=(1, 2)).sum() for c in range(k)])
        j = int(present[1:].argmin()) + 1 if k > 1 else 0
        return (
            f"the test split holds {len(y_test)} images, {int(n.sum())} pixels, {n[0] / n.sum():.0%} of them "
            f"{info.classes[0]!r}; the rarest class, {info.classes[j]!r}, appears in {int(present[j])} images "
            f"({int(n[j])} pixels), so its IoU rests on those few images"
        )


def _iou_dice(pred: np.ndarray, y: np.ndarray, k: int):
    """Per-class IoU and Dice over all pixels (``nan`` for a class absent from both prediction and truth)."""
    cm = np.bincount(y.reshape(-1) * k + pred.reshape(-1), minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(float)
    fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / (tp + fp + fn), 2 * tp / (2 * tp + fp + fn)


KINDS = {k.name: k for k in (Binary(), Multiclass(), Multilabel(), Regression(), Segmentation())}


def get(name: str) -> Kind:
    return KINDS[name]
