"""Datasets for ``losskit compare``: bundled real data, the user's CSV, and the split.

Bundled tasks come from scikit-learn's own copies of UCI datasets (no download):

========================  =======================================================================
``digits-8-rare``          binary, rare positives: "is this handwritten digit an 8?", with 7 in 10 of
                           the training split's 8s dropped (≈3% positives in training; validation
                           and test keep the natural ≈10%)
``digits-9``               binary, imbalanced: "is this handwritten digit a 9?" (≈10% positives)
``digits``                 10-class handwritten digits
``breast-cancer``          binary: malignant vs benign tumour (37% malignant)
``wine``                   3-class wine cultivars (178 samples: small, noisy metrics)
========================  =======================================================================

A CSV needs a header row, numeric feature columns and one target column (any labels: two distinct
values make a binary task, more make a multi-class one). Everything wrong with it is reported as a
:class:`DataError` whose message says what and where.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

__all__ = ["DataError", "Dataset", "Split", "BUILTIN", "DEFAULT_DATASETS", "load_builtin", "load_csv", "split"]

#: minimum rows per class: a stratified train/validation/test split needs a few of each
MIN_PER_CLASS = 5
#: more classes than this is almost surely a continuous target or an ID column
MAX_CLASSES = 100
_MISSING = {"", "nan", "na", "n/a", "null", "none", "?"}


class DataError(ValueError):
    """The data cannot be used as given; the message says what is wrong and where."""


@dataclass
class Dataset:
    """A classification table: features ``X`` (float64, ``(N, D)``) and class indices ``y`` (``(N,)``).

    ``classes[i]`` is the label of class ``i``; for binary tasks ``classes[1]`` is the positive one.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    classes: list
    feature_names: list
    source: str
    license: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)
    #: binary only: keep this share of the *training split's* positive rows, drop the rest
    #: (see :func:`split`); validation and test are left as they are
    train_positive_keep: Optional[float] = None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def task(self) -> str:
        """``"binary"`` or ``"multiclass"``."""
        return "binary" if self.n_classes == 2 else "multiclass"

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.n_classes)


@dataclass
class Split:
    """Stratified train/validation/test split, standardised with the training mean and std."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    #: what was done to the training split beyond the plain split (empty if nothing)
    note: str = ""

    def sizes(self) -> dict:
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}


_UCI = "UCI Machine Learning Repository, licensed CC BY 4.0; the copy bundled with scikit-learn (BSD-3-Clause) is used, nothing is downloaded"


def _digits(binary: bool) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    src = (
        "Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998): 1797 8x8 images, "
        "pixel intensities 0-16, via sklearn.datasets.load_digits"
    )
    if binary:
        y = (d.target == 9).astype(np.int64)
        return Dataset("digits-9", d.data.astype(np.float64), y, ["not 9", "9"], list(d.feature_names), src, _UCI,
                       "binary, imbalanced: is the handwritten digit a 9?")
    return Dataset("digits", d.data.astype(np.float64), d.target.astype(np.int64), [str(i) for i in range(10)],
                   list(d.feature_names), src, _UCI, "10-class handwritten digits")


#: share of the training 8s that ``digits-8-rare`` keeps
RARE_KEEP = 0.3


def _digits_8_rare() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    y = (d.target == 8).astype(np.int64)
    src = (
        "Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998): 1797 8x8 images, "
        "pixel intensities 0-16, via sklearn.datasets.load_digits"
    )
    desc = (f"binary, rare positives in training: is the handwritten digit an 8? {1 - RARE_KEEP:.0%} of the "
            f"training split's 8s are dropped (about 3% positives left); validation and test keep the natural 10%")
    why = (
        "Why: on the plain digit tasks this small model is nearly perfect and every loss scores the same. A "
        "training set that under-represents the class of interest is common (positives are costly to label "
        "or collect), and it is where the choice of loss shows: losses that up-weight positives move "
        "predictions at threshold 0.5, while a threshold tuned on validation (which, like test, has the "
        "natural rate) recovers the difference. Of the digits tried (1, 3, 8, 9), 8 was the hardest to tell from the rest."
    )
    return Dataset("digits-8-rare", d.data.astype(np.float64), y, ["not 8", "8"], list(d.feature_names), src,
                   _UCI, desc, extra={"why": why}, train_positive_keep=RARE_KEEP)


def _breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    # sklearn codes malignant as 0; make malignant the positive class
    y = (d.target == 0).astype(np.int64)
    src = (
        "Breast Cancer Wisconsin (Diagnostic) (Wolberg, Street & Mangasarian, 1995): 569 tumours, 30 "
        "features of cell nuclei, via sklearn.datasets.load_breast_cancer"
    )
    return Dataset("breast-cancer", d.data.astype(np.float64), y, ["benign", "malignant"], list(d.feature_names),
                   src, _UCI, "binary: malignant vs benign tumour")


def _wine() -> Dataset:
    from sklearn.datasets import load_wine

    d = load_wine()
    src = "Wine recognition (Forina et al., 1988): 178 wines, 13 chemical features, via sklearn.datasets.load_wine"
    return Dataset("wine", d.data.astype(np.float64), d.target.astype(np.int64), list(d.target_names),
                   list(d.feature_names), src, _UCI, "3-class wine cultivars (small: metrics are noisy)")


BUILTIN = {
    "digits-8-rare": _digits_8_rare,
    "digits-9": lambda: _digits(binary=True),
    "digits": lambda: _digits(binary=False),
    "breast-cancer": _breast_cancer,
    "wine": _wine,
}
DEFAULT_DATASETS = ("digits-8-rare", "digits")


def load_builtin(name: str) -> Dataset:
    """One of the bundled datasets by name (see :data:`BUILTIN`)."""
    if name not in BUILTIN:
        raise DataError(f"unknown dataset {name!r}; bundled datasets: {', '.join(BUILTIN)}")
    return BUILTIN[name]()


def _rows_text(rows: list, limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f", ... ({len(rows)} rows)" if len(rows) > limit else "")


def _as_float(text: str) -> Optional[float]:
    """The number in ``text``, ``nan`` for a missing-value marker, ``None`` if it is not a number."""
    t = text.strip()
    if t.lower() in _MISSING:
        return math.nan
    try:
        return float(t)
    except ValueError:
        return None


def _label_key(label: str):
    """Sort numeric labels numerically (``-1 < 1``, ``2 < 10``) and others alphabetically."""
    v = _as_float(label)
    return (0, v, "") if v is not None and not math.isnan(v) else (1, 0.0, label)


def load_csv(path: str, target: str, *, positive: Optional[str] = None) -> Dataset:
    """Read a classification table from a CSV file with a header row.

    Every column except ``target`` must be numeric. The target may hold any labels; they are
    sorted (numerically when they are numbers) and numbered from 0. With two labels the task is
    binary and the positive class is the larger/later label (``1`` of ``0/1``, ``yes`` of
    ``no/yes``) unless ``positive`` names it.

    Raises:
        DataError: missing file or column, a target with one class (or too few rows of a class),
            non-numeric feature columns (named), missing/non-finite values (counted, with their
            columns and line numbers).
    """
    if not os.path.exists(path):
        raise DataError(f"--data {path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"--data {path}: is a directory, expected a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(65536)
            f.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.reader(f, dialect))
    except UnicodeDecodeError as e:
        raise DataError(f"--data {path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"--data {path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not body:
        raise DataError(f"--data {path}: only a header row, no data rows")
    if target not in header:
        raise DataError(f"--target {target!r}: no such column in {path}; columns are: {', '.join(header)}")
    bad_len = [i + 2 for i, r in enumerate(body) if len(r) != len(header)]
    if bad_len:
        raise DataError(
            f"{path}: {len(bad_len)} row(s) do not have {len(header)} fields like the header (lines {_rows_text(bad_len)})"
        )
    t_idx = header.index(target)
    feat_idx = [j for j in range(len(header)) if j != t_idx]
    if not feat_idx:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")

    # features: numbers only
    X = np.empty((len(body), len(feat_idx)), dtype=np.float64)
    non_numeric = {}
    for c, j in enumerate(feat_idx):
        for i, r in enumerate(body):
            v = _as_float(r[j])
            if v is None:
                non_numeric.setdefault(header[j], (r[j].strip(), i + 2))
                v = math.nan
            X[i, c] = v
    if non_numeric:
        detail = "; ".join(f"{name!r} (e.g. {val!r} on line {line})" for name, (val, line) in non_numeric.items())
        raise DataError(
            f"{len(non_numeric)} feature column(s) are not numeric: {detail}. Encode them as numbers "
            f"(e.g. one-hot) or drop them; only --target may hold text labels"
        )
    bad = ~np.isfinite(X)
    if bad.any():
        cols = [(header[feat_idx[c]], int(n)) for c, n in enumerate(bad.sum(0)) if n]
        lines = (np.flatnonzero(bad.any(1)) + 2).tolist()
        raise DataError(
            f"{int(bad.sum())} missing or non-finite value(s) (NaN/empty/inf) in {len(cols)} column(s): "
            + ", ".join(f"{name!r} ({n})" for name, n in cols)
            + f"; on lines {_rows_text(lines)} of {path}. Impute or drop those rows first"
        )

    # target: any labels
    labels = [r[t_idx].strip() for r in body]
    missing = [i + 2 for i, lab in enumerate(labels) if lab.lower() in _MISSING]
    if missing:
        raise DataError(f"target column {target!r} has {len(missing)} missing value(s) on lines {_rows_text(missing)}")
    classes = sorted(set(labels), key=_label_key)
    if len(classes) < 2:
        raise DataError(f"target column {target!r} has only one class ({classes[0]!r}); need at least two to classify")
    if len(classes) > MAX_CLASSES:
        raise DataError(
            f"target column {target!r} has {len(classes)} distinct values; it looks continuous or like an ID. "
            "losskit compare is for classification (at most 100 classes)"
        )
    if positive is not None:
        if len(classes) != 2:
            raise DataError(f"--positive applies to binary targets; {target!r} has {len(classes)} classes")
        if positive not in classes:
            raise DataError(f"--positive {positive!r} is not a label of {target!r}; labels are {classes}")
        classes = [c for c in classes if c != positive] + [positive]
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[lab] for lab in labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(classes))
    few = [f"{classes[k]!r} ({int(n)})" for k, n in enumerate(counts) if n < MIN_PER_CLASS]
    if few:
        raise DataError(
            f"target column {target!r}: class(es) {', '.join(few)} have fewer than {MIN_PER_CLASS} rows; "
            "a stratified train/validation/test split needs more. Merge or drop rare classes"
        )
    return Dataset(
        os.path.splitext(os.path.basename(path))[0],
        X,
        y,
        classes,
        [header[j] for j in feat_idx],
        f"user file {os.path.abspath(path)} (target column {target!r})",
        "",
        f"{'binary' if len(classes) == 2 else f'{len(classes)}-class'} task from {os.path.basename(path)}",
    )


def split(ds: Dataset, seed: int, *, val: float = 0.2, test: float = 0.2) -> Split:
    """Stratified train/validation/test split (60/20/20 by default), then standardisation.

    The mean and standard deviation come from the training part only (constant columns are left
    at zero), so nothing about validation or test leaks into training.

    If ``ds.train_positive_keep`` is set (binary only), that share of the training split's positive
    rows is kept (chosen at random from ``seed``; at least 2) and the rest dropped, before the
    standardisation; validation and test are untouched. ``Split.note`` says what was dropped.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(ds.y))
    rest, te = train_test_split(idx, test_size=test, stratify=ds.y, random_state=seed)
    tr, va = train_test_split(rest, test_size=val / (1 - test), stratify=ds.y[rest], random_state=seed)
    note = ""
    if ds.train_positive_keep is not None:
        if ds.n_classes != 2 or not 0 < ds.train_positive_keep <= 1:
            raise DataError(f"train_positive_keep applies to binary data and must be in (0, 1]; "
                            f"got {ds.train_positive_keep} for {ds.n_classes} classes")
        pos = tr[ds.y[tr] == 1]
        k = min(len(pos), max(2, int(round(len(pos) * ds.train_positive_keep))))
        kept = np.random.default_rng(seed).choice(pos, k, replace=False)
        tr = tr[(ds.y[tr] == 0) | np.isin(tr, kept)]  # training order otherwise unchanged
        n_pos = int(ds.y[tr].sum())
        note = (f"training split: {k} of its {len(pos)} {ds.classes[1]!r} rows kept at random (seed {seed}), "
                f"{len(pos) - k} dropped, leaving {n_pos / len(tr):.1%} positives; validation and test untouched")
    mean = ds.X[tr].mean(0)
    std = ds.X[tr].std(0)
    std[std == 0] = 1.0

    def z(a):
        return (ds.X[a] - mean) / std

    return Split(z(tr), ds.y[tr], z(va), ds.y[va], z(te), ds.y[te], note)
