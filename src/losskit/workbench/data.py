"""Data for ``losskit compare``: bundled real datasets of every task kind, the user's table, the split.

Bundled datasets (nothing is downloaded; every one comes from a copy that a package ships):

========================  =================  =========================================================
name                      kind               what
========================  =================  =========================================================
``digits-8-rare``         binary             "is this handwritten digit an 8?", with 7 in 10 of the
                                             training split's 8s dropped (≈3% positives in training;
                                             validation and test keep the natural ≈10%)
``digits-9``              binary             "is this handwritten digit a 9?" (≈10% positives)
``breast-cancer``         binary             malignant vs benign tumour (37% malignant)
``digits``                multiclass         10-class handwritten digits
``wine``                  multiclass         3 wine cultivars (178 samples: small, noisy metrics)
``digit-attributes``      multilabel         5 attributes of each handwritten digit (has a loop, even,
                                             prime, straight strokes only, is a zero)
``diabetes``              regression         disease progression one year after baseline, 442 patients
``digit-mosaics``         segmentation       16x16 mosaics of four cells, each holding a handwritten
                                             0-4 or nothing; stroke pixels labelled by their digit
========================  =================  =========================================================

A user's table is read with pandas (delimiter, header, compression and encoding detected; a
decimal comma named), its target kind detected, and its features prepared with scikit-learn's
transformers fitted on the training split only (numeric columns: median imputation with a
missing-value indicator, then standardisation; text columns: one-hot encoding). Every step is
recorded in the report. Anything that cannot be used is a :class:`DataError` that says what and where.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "DataError",
    "Dataset",
    "Split",
    "Problem",
    "ArrayPart",
    "LoaderPart",
    "BUILTIN",
    "DEFAULT_DATASETS",
    "TASK_DATASETS",
    "load_builtin",
    "load_table",
    "split",
    "problem",
    "user_problem",
]

#: minimum rows per class: a stratified train/validation/test split needs a few of each
MIN_PER_CLASS = 5
#: more classes than this is almost surely a continuous target or an ID column
MAX_CLASSES = 100
#: a numeric target with more distinct values than this (or any non-integer value) is regression
MAX_AUTO_CLASSES = 20
#: a text feature with more distinct values than this and than half the rows is an identifier or free text
MAX_TEXT_CATEGORIES = 50
_MISSING = ["", "nan", "NaN", "NA", "N/A", "n/a", "na", "null", "NULL", "None", "none", "?"]
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


class DataError(ValueError):
    """The data cannot be used as given; the message says what is wrong and where."""


@dataclass
class Dataset:
    """A table (or an image set) and what it is.

    ``X`` is a float array ``(N, D)``, a :class:`pandas.DataFrame` of feature columns (numeric or
    text: prepared at the split), or images ``(N, C, H, W)``; ``y`` is ``(N,)`` class indices
    (binary, multiclass), ``(N, L)`` 0/1 (multilabel), ``(N,)`` floats (regression) or ``(N, H, W)``
    class indices (segmentation). ``classes[i]`` names class (or label) ``i``; for binary data
    ``classes[1]`` is the positive one. ``steps`` records what reading the data did.
    """

    name: str
    X: Any  # (N, F) float array of a table, (N, 1, H, W) images
    y: np.ndarray
    classes: list
    feature_names: list
    source: str
    license: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)
    #: binary only: keep this share of the *training split's* positive rows, drop the rest
    train_positive_keep: float | None = None
    kind: str = ""
    steps: list = field(default_factory=list)

    def __post_init__(self):
        if not self.kind:
            self.kind = "binary" if len(self.classes) == 2 else "multiclass"

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def task(self) -> str:
        return self.kind

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y.reshape(-1), minlength=self.n_classes)


@dataclass
class Split:
    """A train/validation/test split, features prepared with transformers fitted on training only.

    ``steps`` says what the preparation did; ``note`` what was done to the training split beyond
    the plain split; ``y_scale`` the ``(mean, sd)`` a regression target was standardised with.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    note: str = ""
    steps: list = field(default_factory=list)
    y_scale: tuple = (0.0, 1.0)

    def sizes(self) -> dict:
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}


# --------------------------------------------------------------------------------------------
# bundled datasets
# --------------------------------------------------------------------------------------------
_UCI = "UCI Machine Learning Repository, licensed CC BY 4.0; the copy bundled with scikit-learn (BSD-3-Clause) is used, nothing is downloaded"
_DIGITS_SRC = (
    "Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998): 1797 8x8 images, "
    "pixel intensities 0-16, via sklearn.datasets.load_digits"
)


def _load_digits():
    from sklearn.datasets import load_digits

    return load_digits()


def _bunch(name: str, bunch, y: np.ndarray, classes: list, source: str, description: str, **more) -> Dataset:
    """A :class:`Dataset` of a scikit-learn ``Bunch``'s feature table (as float64) and its feature names."""
    more.setdefault("license", _UCI)
    X, features = bunch.data.astype(np.float64), list(bunch.feature_names)
    return Dataset(name, X, y, classes, features, source, description=description, **more)


def _digits(binary: bool) -> Dataset:
    d = _load_digits()
    if binary:
        y = (d.target == 9).astype(np.int64)
        return _bunch(
            "digits-9", d, y, ["not 9", "9"], _DIGITS_SRC, "binary, imbalanced: is the handwritten digit a 9?"
        )
    classes = [str(i) for i in range(10)]
    return _bunch("digits", d, d.target.astype(np.int64), classes, _DIGITS_SRC, "10-class handwritten digits")


#: share of the training 8s that ``digits-8-rare`` keeps
RARE_KEEP = 0.3


def _digits_8_rare() -> Dataset:
    d = _load_digits()
    y = (d.target == 8).astype(np.int64)
    desc = (
        f"binary, rare positives in training: is the handwritten digit an 8? {1 - RARE_KEEP:.0%} of the "
        f"training split's 8s are dropped (about 3% positives left); validation and test keep the natural 10%"
    )
    why = (
        "Why: on the plain digit tasks this small model is nearly perfect and every loss scores the same. A "
        "training set that under-represents the class of interest is common (positives are costly to label "
        "or collect), and it is where the choice of loss shows: losses that up-weight positives move "
        "predictions at threshold 0.5, while a threshold tuned on validation (which, like test, has the "
        "natural rate) recovers the difference. Of the digits tried (1, 3, 8, 9), 8 was the hardest to tell from the rest."
    )
    return _bunch(
        "digits-8-rare", d, y, ["not 8", "8"], _DIGITS_SRC, desc, extra={"why": why}, train_positive_keep=RARE_KEEP
    )


def _breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    y = (d.target == 0).astype(np.int64)  # sklearn codes malignant as 0; make malignant the positive class
    src = (
        "Breast Cancer Wisconsin (Diagnostic) (Wolberg, Street & Mangasarian, 1995): 569 tumours, 30 "
        "features of cell nuclei, via sklearn.datasets.load_breast_cancer"
    )
    return _bunch("breast-cancer", d, y, ["benign", "malignant"], src, "binary: malignant vs benign tumour")


def _wine() -> Dataset:
    from sklearn.datasets import load_wine

    d = load_wine()
    src = "Wine recognition (Forina et al., 1988): 178 wines, 13 chemical features, via sklearn.datasets.load_wine"
    classes = [str(n) for n in d.target_names]
    return _bunch(
        "wine", d, d.target.astype(np.int64), classes, src, "3-class wine cultivars (small: metrics are noisy)"
    )


#: the digit attributes of ``digit-attributes``: label name -> the digits that have it
DIGIT_ATTRIBUTES = {
    "loop": (0, 6, 8, 9),
    "even": (0, 2, 4, 6, 8),
    "prime": (2, 3, 5, 7),
    "straight": (1, 4, 7),
    "zero": (0,),
}


def _digit_attributes() -> Dataset:
    d = _load_digits()
    y = np.stack([np.isin(d.target, digits) for digits in DIGIT_ATTRIBUTES.values()], 1).astype(np.int64)
    desc = (
        "multi-label: five attributes of each handwritten digit at once: has a closed loop (0, 6, 8, 9), is "
        "even, is prime (2, 3, 5, 7), is drawn with straight strokes only (1, 4, 7), is a zero (rare: 10%)"
    )
    src = _DIGITS_SRC + "; the labels are derived from each image's digit as listed"
    return _bunch("digit-attributes", d, y, list(DIGIT_ATTRIBUTES), src, desc, kind="multilabel")


def _diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    d = load_diabetes(scaled=False)
    src = (
        "Diabetes data (Efron, Hastie, Johnstone & Tibshirani, 'Least Angle Regression', Annals of Statistics "
        "2004): 442 patients, 10 baseline variables (age, sex, body mass index, blood pressure, six serum "
        "measurements); target: a quantitative measure of disease progression one year later; via "
        "sklearn.datasets.load_diabetes"
    )
    lic = "distributed with scikit-learn (BSD-3-Clause) from the authors' published data; nothing is downloaded"
    desc = "regression: disease progression (25-346) from 10 baseline variables"
    return _bunch("diabetes", d, d.target.astype(np.float64), [], src, desc, license=lic, kind="regression")


#: pixels of at least this intensity (of 16) are a digit's stroke in ``digit-mosaics``
STROKE = 6
#: the digits drawn in ``digit-mosaics`` (classes 1..5; class 0 is the background)
MOSAIC_DIGITS = (0, 1, 2, 3, 4)
MOSAICS = 450


def _digit_mosaics() -> Dataset:
    d = _load_digits()
    rng = np.random.default_rng(0)
    pool = rng.permutation(np.flatnonzero(np.isin(d.target, MOSAIC_DIGITS)))  # each image used at most once
    X = np.zeros((MOSAICS, 1, 16, 16))
    y = np.zeros((MOSAICS, 16, 16), dtype=np.int64)
    used = 0
    for i in range(MOSAICS):
        for r in range(2):
            for c in range(2):
                if rng.random() < 0.5 or used >= len(pool):
                    continue
                img, digit = d.images[pool[used]], int(d.target[pool[used]])
                used += 1
                X[i, 0, 8 * r : 8 * r + 8, 8 * c : 8 * c + 8] = img / 16.0
                y[i, 8 * r : 8 * r + 8, 8 * c : 8 * c + 8] = np.where(img >= STROKE, MOSAIC_DIGITS.index(digit) + 1, 0)
    share = float((y == 0).mean())
    desc = (
        f"segmentation: {MOSAICS} 16x16 mosaics of 2x2 cells, each holding a handwritten "
        f"{', '.join(map(str, MOSAIC_DIGITS[:-1]))} or {MOSAIC_DIGITS[-1]} (probability 1/2) or nothing; each "
        f"stroke pixel (intensity >= {STROKE}/16) is labelled with its digit, the rest is background "
        f"({share:.0%} of the pixels)"
    )
    src = (
        _DIGITS_SRC + f"; the mosaics are built from {used} of its images of the digits "
        f"{', '.join(map(str, MOSAIC_DIGITS))} (seed 0, each image used once, so no digit appears in two splits)"
    )
    return Dataset(
        "digit-mosaics",
        X,
        y,
        ["background"] + [str(k) for k in MOSAIC_DIGITS],
        [],
        src,
        _UCI,
        desc,
        kind="segmentation",
    )


BUILTIN = {
    "digits-8-rare": _digits_8_rare,
    "digits-9": lambda: _digits(binary=True),
    "digits": lambda: _digits(binary=False),
    "breast-cancer": _breast_cancer,
    "wine": _wine,
    "digit-attributes": _digit_attributes,
    "diabetes": _diabetes,
    "digit-mosaics": _digit_mosaics,
}
DEFAULT_DATASETS = ("digits-8-rare", "digits")
#: the bundled dataset of each task kind (``losskit compare --task KIND``)
TASK_DATASETS = {
    "binary": "digits-8-rare",
    "multiclass": "digits",
    "multilabel": "digit-attributes",
    "regression": "diabetes",
    "segmentation": "digit-mosaics",
}


def load_builtin(name: str) -> Dataset:
    """One of the bundled datasets by name (see :data:`BUILTIN`)."""
    if name not in BUILTIN:
        raise DataError(f"unknown dataset {name!r}; bundled datasets: {', '.join(BUILTIN)}")
    return BUILTIN[name]()


# --------------------------------------------------------------------------------------------
# the user's table
# --------------------------------------------------------------------------------------------
_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _head(path: str, n: int = 65536) -> bytes:
    """The first ``n`` bytes of the (decompressed) file."""
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext in _OPENERS:
            with _OPENERS[ext](path, "rb") as f:
                return f.read(n)
        if ext == ".zip":
            with zipfile.ZipFile(path) as z:
                names = [i for i in z.namelist() if not i.endswith("/")]
                if len(names) != 1:
                    raise DataError(f"--data {path}: a zip file must hold exactly one file; it holds {len(names)}")
                with z.open(names[0]) as f:
                    return f.read(n)
        with open(path, "rb") as f:
            return f.read(n)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as e:
        raise DataError(f"--data {path}: cannot read it ({e})") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return cell.strip() in _MISSING


def _sniff(path: str):
    """Delimiter, encoding and whether the first row is a header, from the file's first 64 KB."""
    raw = _head(path)
    if not raw.strip():
        raise DataError(f"--data {path}: the file is empty")
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as e:
        if e.start < len(raw) - 4:  # not just a multi-byte character cut at the end of the sample
            text, encoding = raw.decode("latin-1"), "latin-1"
        else:
            text, encoding = raw[: e.start].decode("utf-8-sig"), "utf-8-sig"
    lines = text.splitlines()
    sample = "\n".join(lines[:-1] if len(lines) > 1 else lines)  # the last line may be cut
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    rows = [r for r in csv.reader(io.StringIO(sample), delimiter=sep) if any(c.strip() for c in r)]
    header = not all(_is_number(c) for c in rows[0]) if rows else True
    return sep, encoding, header


def _target_columns(target) -> list:
    if isinstance(target, str):
        cols = [t.strip() for t in target.split(",") if t.strip()]
    else:
        cols = [str(t) for t in target]
    if not cols:
        raise DataError("--target is empty: name the label column (or columns a,b,c for multi-label)")
    return cols


def _lines(rows: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f", ... ({len(rows)} rows)" if len(rows) > limit else "")


def _label_key(label: str):
    """Sort numeric labels numerically (``-1 < 1``, ``2 < 10``) and others alphabetically."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def load_table(
    path: str,
    target,
    *,
    task: str = "auto",
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    max_rows: int | None = None,
    positive: str | None = None,
    decimal: str | None = None,
    header: str | bool = "auto",
    seed: int = 0,
) -> Dataset:
    """Read a table (CSV/TSV, optionally ``.gz``/``.bz2``/``.xz``/``.zip``) for ``losskit compare``.

    Args:
        path: the file.
        target: the label column; several (``"a,b,c"`` or a list) make a multi-label task. Without a
            header row the columns are named ``c1, c2, ...``.
        task: ``"auto"`` (detected from the target: two values binary, up to
            :data:`MAX_AUTO_CLASSES` integers or any text multi-class, other numbers regression) or a kind.
        features, drop: keep only these feature columns / leave these out.
        max_rows: subsample to this many rows (stratified by class for classification), seed ``seed``.
        positive: the positive label of a binary target (default: the larger/later label).
        decimal: the decimal mark (``","`` for ``1,5``); ``None`` reads ``.`` and names columns that look like a comma.
        header: ``"auto"`` (a first row of numbers only is data), ``True`` or ``False``.

    Returns:
        A :class:`Dataset` whose ``X`` is a DataFrame of the feature columns (prepared at the split).

    Raises:
        DataError: what is wrong and where (file, columns, lines).
    """
    import pandas as pd

    if not os.path.exists(path):
        raise DataError(f"--data {path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"--data {path}: is a directory, expected a CSV file")
    if task not in ("auto", "binary", "multiclass", "multilabel", "regression"):
        raise DataError(
            f"--task {task!r} does not apply to a table; use auto, binary, multiclass, multilabel or regression"
        )
    sep, encoding, has_header = _sniff(path)
    if header != "auto":
        has_header = header in (True, "yes", "true")
    steps = []
    if encoding == "latin-1":
        steps.append("the file is not UTF-8: read as Latin-1")
    try:
        df = pd.read_csv(
            path,
            sep=sep,
            header=0 if has_header else None,
            decimal=decimal or ".",
            encoding=encoding,
            na_values=_MISSING,
            keep_default_na=True,
            skipinitialspace=True,
            low_memory=False,
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"--data {path}: the file is empty") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as e:
        msg = str(e).strip().splitlines()[-1]
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            msg = f"line {m.group(2)} has {m.group(3)} fields, the lines before it {m.group(1)}"
        raise DataError(f"--data {path}: cannot parse it as a table ({msg})") from None
    if not has_header:
        df.columns = [f"c{j + 1}" for j in range(df.shape[1])]
    df.columns = [str(c).strip() for c in df.columns]
    what = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(sep, repr(sep))
    steps.insert(
        0,
        f"read {os.path.basename(path)} with pandas: {len(df)} rows x {df.shape[1]} columns, {what}-separated, "
        + ("header row" if has_header else "no header row (the first row holds only numbers), columns named c1..")
        + (f", decimal mark {decimal!r}" if decimal else ""),
    )
    if df.empty:
        raise DataError(f"--data {path}: only a header row, no data rows")

    tcols = _target_columns(target)
    if not has_header and all(t.isdigit() for t in tcols):
        tcols = [f"c{t}" for t in tcols]
    missing = [t for t in tcols if t not in df.columns]
    if missing:
        hint = (
            (" (the file has no header row: its columns are named c1..; use --header yes if its first row is a header)")
            if not has_header
            else ""
        )
        raise DataError(
            f"--target {', '.join(map(repr, missing))}: no such column in {path}{hint}; columns are: "
            f"{', '.join(df.columns)}"
        )
    for name, cols in (("--features", features), ("--drop", drop)):
        bad = [c for c in (cols or []) if c not in df.columns]
        if bad:
            raise DataError(
                f"{name} {', '.join(map(repr, bad))}: no such column in {path}; columns are: {', '.join(df.columns)}"
            )
        if cols and set(cols) & set(tcols):
            raise DataError(f"{name} names the target column(s) {', '.join(sorted(set(cols) & set(tcols)))}")
    feat = [c for c in df.columns if c not in tcols and (features is None or c in features) and c not in (drop or [])]
    if features is not None or drop:
        steps.append(
            f"kept {len(feat)} feature column(s)"
            + (" named by --features" if features is not None else "")
            + (f"; dropped {', '.join(drop)} (--drop)" if drop else "")
        )

    # the target: rows without one are dropped
    bad_rows = df[tcols].isna().any(axis=1).to_numpy()
    if bad_rows.all():
        raise DataError(f"target column(s) {', '.join(tcols)}: every value is missing")
    if bad_rows.any():
        lines = (np.flatnonzero(bad_rows) + (2 if has_header else 1)).tolist()
        steps.append(f"dropped {int(bad_rows.sum())} row(s) with no target value (lines {_lines(lines)})")
        df = df.loc[~bad_rows].reset_index(drop=True)
    kind, y, classes, why = _target(df, tcols, task, positive, path)
    steps.append(why)

    X = df[feat]
    X, notes = _feature_columns(X, decimal, path)
    steps += notes
    if X.shape[1] == 0:
        raise DataError(f"{path}: no usable feature columns besides the target {', '.join(map(repr, tcols))}")
    if max_rows is not None and len(y) > max_rows:
        from sklearn.model_selection import train_test_split

        strat = y if kind in ("binary", "multiclass") else None
        keep, _ = train_test_split(np.arange(len(y)), train_size=max_rows, stratify=strat, random_state=seed)
        keep = np.sort(keep)
        steps.append(
            f"subsampled {max_rows} of {len(y)} rows at random (--max-rows"
            + (", stratified by class" if strat is not None else "")
            + f", seed {seed})"
        )
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    name = re.sub(r"(\.(csv|tsv|txt|dat))?(\.(gz|bz2|xz|zip))?$", "", os.path.basename(path), flags=re.I)
    return Dataset(
        name,
        X,
        y,
        classes,
        list(X.columns),
        f"user file {os.path.abspath(path)} "
        f"(target column{'s' if len(tcols) > 1 else ''} {', '.join(map(repr, tcols))})",
        "",
        f"{kind} task from {os.path.basename(path)}",
        kind=kind,
        steps=steps,
    )


def _target(df, tcols, task, positive, path):
    """``(kind, y, classes, sentence)`` for the target column(s)."""
    import pandas as pd

    if len(tcols) > 1 or task == "multilabel":
        if positive is not None:
            raise DataError("--positive applies to a binary target, not to multi-label targets")
        ys, names = [], []
        for t in tcols:
            vals = sorted(set(df[t].astype(str)), key=_label_key)
            if len(vals) > 2:
                raise DataError(
                    f"multi-label target {t!r} has {len(vals)} distinct values ({', '.join(vals[:5])}"
                    f"{', ...' if len(vals) > 5 else ''}); each label column must hold two values (0/1)"
                )
            pos = vals[-1]
            ys.append((df[t].astype(str) == pos).to_numpy().astype(np.int64))
            names.append(t)
        y = np.stack(ys, 1)
        return (
            "multilabel",
            y,
            names,
            f"multi-label target: {len(tcols)} label columns ({', '.join(tcols)}), positive = the larger value of each",
        )
    t = tcols[0]
    col = df[t]
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    values = col.to_numpy()
    if numeric:
        v = values.astype(np.float64)
        distinct = np.unique(v)
        integral = bool(np.all(np.equal(np.mod(distinct, 1), 0)))
        if task == "regression" or (
            task == "auto" and len(distinct) > 2 and (not integral or len(distinct) > MAX_AUTO_CLASSES)
        ):
            if positive is not None:
                raise DataError(f"--positive applies to a binary target; {t!r} is a regression target")
            why = (
                f"target {t!r}: {len(distinct)} distinct numeric values"
                + ("" if integral else ", not all integers")
                + ": regression"
                + (" (task='auto'; pass --task multiclass to treat the values as classes)" if task == "auto" else "")
            )
            if len(distinct) < 2:
                raise DataError(f"target column {t!r} has one value ({distinct[0]:g}); nothing to regress")
            return "regression", v, [], why
        labels = np.array([f"{x:g}" for x in v])
    else:
        if task == "regression":
            raise DataError(f"--task regression needs a numeric target; {t!r} holds text (e.g. {str(values[0])!r})")
        labels = col.astype(str).str.strip().to_numpy()
    classes = sorted(set(labels.tolist()), key=_label_key)
    if len(classes) < 2:
        raise DataError(f"target column {t!r} has only one class ({classes[0]!r}); need at least two to classify")
    if len(classes) > MAX_CLASSES:
        raise DataError(
            f"target column {t!r} has {len(classes)} distinct text values; it looks like an ID or free "
            f"text, not classes (at most {MAX_CLASSES})"
        )
    if task == "binary" and len(classes) != 2:
        raise DataError(f"--task binary: target {t!r} has {len(classes)} classes")
    if positive is not None:
        if len(classes) != 2:
            raise DataError(f"--positive applies to binary targets; {t!r} has {len(classes)} classes")
        if positive not in classes:
            raise DataError(f"--positive {positive!r} is not a label of {t!r}; labels are {classes}")
        classes = [c for c in classes if c != positive] + [positive]
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[lab] for lab in labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(classes))
    few = [f"{classes[k]!r} ({int(n)})" for k, n in enumerate(counts) if n < MIN_PER_CLASS]
    if few:
        raise DataError(
            f"target column {t!r}: class(es) {', '.join(few)} have fewer than {MIN_PER_CLASS} rows; "
            "a stratified train/validation/test split needs more. Merge or drop rare classes"
        )
    kind = "binary" if len(classes) == 2 else "multiclass"
    why = f"target {t!r}: {len(classes)} classes ({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''}): {kind}"
    if kind == "binary":
        why += f", positive class {classes[1]!r}"
    return kind, y, classes, why


def _feature_columns(X, decimal, path):
    """Numeric columns as they are, booleans as 0/1, text columns kept for one-hot encoding; identifiers
    (mostly distinct text) dropped; a column of decimal-comma numbers is an error that names the fix."""
    import pandas as pd

    notes, keep = [], []
    for c in X.columns:
        col = X[c]
        if pd.api.types.is_bool_dtype(col):
            X = X.assign(**{c: col.astype(float)})
            keep.append(c)
            continue
        if pd.api.types.is_numeric_dtype(col):
            keep.append(c)
            continue
        text = col.dropna().astype(str)
        if decimal is None and len(text) and text.head(1000).str.match(_DECIMAL_COMMA).all():
            raise DataError(
                f"feature column {c!r} holds numbers with a decimal comma (e.g. {text.iloc[0]!r}); "
                f"read the file with --decimal , (decimal=',' in Python)"
            )
        n = text.nunique()
        if n > MAX_TEXT_CATEGORIES and n > 0.5 * len(text):
            notes.append(
                f"dropped text column {c!r}: {n} distinct values in {len(text)} rows (an identifier or free "
                "text, not a category)"
            )
            continue
        X = X.assign(**{c: col.astype(str).where(col.notna(), np.nan).astype(object)})  # text, NaN for missing
        keep.append(c)
    return X[keep], notes


# --------------------------------------------------------------------------------------------
# the split and the preparation
# --------------------------------------------------------------------------------------------
def _prepare(X_train, parts):
    """Fit scikit-learn's transformers on the training features, apply them to every part; the steps taken."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if not isinstance(X_train, pd.DataFrame):
        scaler = StandardScaler().fit(X_train)
        const = int((scaler.var_ == 0).sum())
        steps = [
            f"standardised the {X_train.shape[1]} numeric features with the training mean and standard deviation"
            + (f" ({const} constant in training: left at 0)" if const else "")
        ]
        return [scaler.transform(p) for p in parts], steps
    num = [c for c in X_train.columns if pd.api.types.is_numeric_dtype(X_train[c])]
    cat = [c for c in X_train.columns if c not in num]
    steps = []
    miss = {c: int(n) for c, n in X_train[num].isna().sum().items() if n}
    every = [c for c in num if X_train[c].isna().all()]
    if every:
        steps.append(f"dropped numeric column(s) {', '.join(every)}: no value in the training split")
        num = [c for c in num if c not in every]
        miss = {c: n for c, n in miss.items() if c not in every}
    transformers = []
    if num:
        transformers.append(
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), num)
        )
        if miss:
            steps.append(
                "imputed missing numeric values with the training median, and added a 0/1 "
                "'was missing' column for each: "
                + ", ".join(f"{c} ({n})" for c, n in miss.items())
                + " missing in training"
            )
        steps.append(f"standardised {len(num)} numeric column(s) with the training mean and standard deviation")
    if cat:
        transformers.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False),
                ),
                cat,
            )
        )
        counts = {c: int(X_train[c].nunique()) for c in cat}
        steps.append(
            "one-hot encoded text column(s) "
            + ", ".join(f"{c} ({n} categories)" for c, n in counts.items())
            + "; missing text takes the most frequent training value, categories unseen in training map to "
            "the rare-category column or to zeros, beyond 30 categories the rarest are grouped"
        )
    ct = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0).fit(X_train)
    out = [np.asarray(ct.transform(p), dtype=np.float64) for p in parts]
    steps.append(f"{out[0].shape[1]} model inputs in all")
    return out, steps


def split(ds: Dataset, seed: int, *, val: float = 0.2, test: float = 0.2) -> Split:
    """Train/validation/test split (60/20/20 by default; stratified by class for binary and multi-class
    data), then the preparation, fitted on the training part only (nothing about validation or test
    leaks into training).

    Tables and feature arrays are prepared with scikit-learn (see :func:`_prepare`: standardisation,
    imputation, one-hot encoding); images are used as they are. A regression target is standardised
    with the training mean and standard deviation (metrics are reported in its own units).

    If ``ds.train_positive_keep`` is set (binary only), that share of the training split's positive
    rows is kept (chosen at random from ``seed``; at least 2) and the rest dropped, before the
    preparation; validation and test are untouched. ``Split.note`` says what was dropped.
    """
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(ds.y))
    strat = ds.y if ds.kind in ("binary", "multiclass") else None
    rest, te = train_test_split(idx, test_size=test, stratify=strat, random_state=seed)
    tr, va = train_test_split(
        rest, test_size=val / (1 - test), stratify=None if strat is None else ds.y[rest], random_state=seed
    )
    note = ""
    if ds.train_positive_keep is not None:
        if ds.kind != "binary" or not 0 < ds.train_positive_keep <= 1:
            raise DataError(
                f"train_positive_keep applies to binary data and must be in (0, 1]; "
                f"got {ds.train_positive_keep} for {ds.n_classes} classes"
            )
        pos = tr[ds.y[tr] == 1]
        k = min(len(pos), max(2, round(len(pos) * ds.train_positive_keep)))
        kept = np.random.default_rng(seed).choice(pos, k, replace=False)
        tr = tr[(ds.y[tr] == 0) | np.isin(tr, kept)]  # training order otherwise unchanged
        n_pos = int(ds.y[tr].sum())
        note = (
            f"training split: {k} of its {len(pos)} {ds.classes[1]!r} rows kept at random (seed {seed}), "
            f"{len(pos) - k} dropped, leaving {n_pos / len(tr):.1%} positives; validation and test untouched"
        )

    def rows(a):
        return ds.X.iloc[a] if hasattr(ds.X, "iloc") else ds.X[a]

    if ds.kind == "segmentation":
        Xs = [ds.X[a] for a in (tr, va, te)]
        steps = ["images used as they are (pixel intensities scaled to [0, 1] when the dataset was built)"]
    else:
        Xs, steps = _prepare(rows(tr), [rows(tr), rows(va), rows(te)])
    ys = [ds.y[a] for a in (tr, va, te)]
    scale = (0.0, 1.0)
    if ds.kind == "regression":
        scale = (float(ys[0].mean()), float(ys[0].std()) or 1.0)
        ys = [(y - scale[0]) / scale[1] for y in ys]
        steps.append(
            f"standardised the target with the training mean {scale[0]:.4g} and standard deviation "
            f"{scale[1]:.4g} for training; predictions are scored in the target's own units"
        )
    return Split(Xs[0], ys[0], Xs[1], ys[1], Xs[2], ys[2], note, steps, scale)


# --------------------------------------------------------------------------------------------
# what a run trains on: parts that give minibatches
# --------------------------------------------------------------------------------------------
class ArrayPart:
    """Tensors ``(X, y)`` held in memory: shuffled minibatches from a generator, ordered chunks to evaluate."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device) -> ArrayPart:
        return ArrayPart(self.X.to(device), self.y.to(device))

    def batches(self, batch_size: int, generator: torch.Generator):
        perm = torch.randperm(len(self.y), generator=generator).to(self.X.device)
        for start in range(0, len(self.y), batch_size):
            idx = perm[start : start + batch_size]
            yield self.X[idx], self.y[idx]

    def ordered(self, batch_size: int = 4096):
        for start in range(0, len(self.y), batch_size):
            yield self.X[start : start + batch_size], self.y[start : start + batch_size]

    def targets(self) -> np.ndarray:
        return self.y.cpu().numpy()


class LoaderPart:
    """A user's DataLoader of ``(x, y)`` batches (its own order, batch size and workers)."""

    def __init__(self, loader, y_transform=None, device="cpu"):
        self.loader, self.y_transform, self.device = loader, y_transform, torch.device(device)
        self._n = None

    def __len__(self) -> int:
        if self._n is None:
            self._n = sum(len(y) for _, y in self._iter())
        return self._n

    def to(self, device) -> LoaderPart:
        return LoaderPart(self.loader, self.y_transform, device)

    def _iter(self):
        for item in self.loader:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise DataError(
                    f"a DataLoader must yield (x, y) pairs; it yielded {type(item).__name__}"
                    + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "")
                )
            x, y = (torch.as_tensor(v) for v in item)
            if self.y_transform is not None:
                y = self.y_transform(y)
            yield x.to(self.device), y.to(self.device)

    def batches(self, batch_size: int, generator: torch.Generator):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=generator)))  # the loader's shuffle order
        yield from self._iter()

    def ordered(self, batch_size: int = 4096):
        yield from self._iter()

    def targets(self) -> np.ndarray:
        return torch.cat([y for _, y in self._iter()]).cpu().numpy()


@dataclass
class Problem:
    """One seed's data for every loss of a task: the parts, their targets, and what was done to them."""

    name: str
    kind: str
    classes: list
    train: Any  # ArrayPart, or the user's data (tensors, arrays or a DataLoader)
    val: Any
    test: Any
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    counts: torch.Tensor
    in_shape: tuple
    steps: list = field(default_factory=list)
    note: str = ""
    y_scale: tuple = (0.0, 1.0)
    test_is_val: bool = False

    def sizes(self) -> dict:
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}


def _counts(kind: str, y: np.ndarray, n_classes: int) -> torch.Tensor:
    from .tasks import get

    return get(kind).counts(y, n_classes)


def _tensors(X, y, kind):
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
    X = X.float() if X.is_floating_point() or X.dtype in (torch.int64, torch.int32, torch.uint8) else X
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if kind in ("multiclass", "segmentation", "binary"):
        y = y.long()
    else:
        y = y.float()
    return X, y


def problem(ds: Dataset, seed: int) -> Problem:
    """The split of a bundled or read dataset for one seed (each seed draws its own split)."""
    sp = split(ds, seed)
    parts = [
        ArrayPart(*_tensors(X, y, ds.kind))
        for X, y in ((sp.X_train, sp.y_train), (sp.X_val, sp.y_val), (sp.X_test, sp.y_test))
    ]
    return Problem(
        ds.name,
        ds.kind,
        list(ds.classes),
        parts[0],
        parts[1],
        parts[2],
        sp.y_train,
        sp.y_val,
        sp.y_test,
        _counts(ds.kind, sp.y_train, ds.n_classes),
        tuple(parts[0].X.shape[1:]),
        list(ds.steps) + sp.steps,
        sp.note,
        sp.y_scale,
    )


# --------------------------------------------------------------------------------------------
# the user's data in the Python API
# --------------------------------------------------------------------------------------------
def _is_loader(x) -> bool:
    return isinstance(x, torch.utils.data.DataLoader)


def _pair(data, name: str):
    if _is_loader(data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
        if len(X) != len(y):
            raise DataError(f"{name}: X has {len(X)} samples but y has {len(y)}")
        if len(y) == 0:
            raise DataError(f"{name} is empty")
        return data
    raise DataError(
        f"{name} must be an (X, y) pair of tensors/arrays or a DataLoader of (x, y) batches; got {type(data).__name__}"
    )


def _loader_arrays(loader):
    xs, ys = [], []
    for item in loader:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise DataError(f"a DataLoader must yield (x, y) pairs; it yielded {type(item).__name__}")
        xs.append(torch.as_tensor(item[0])[:1])
        ys.append(torch.as_tensor(item[1]))
    if not ys:
        raise DataError("a DataLoader yielded no batch")
    return xs[0], torch.cat(ys)


def detect_kind(x0: torch.Tensor, y: torch.Tensor) -> tuple:
    """``(kind, sentence)`` from the inputs' and targets' shapes and values (``task="auto"``)."""
    if y.dim() == 3 and x0.dim() == 4:
        k = int(y.max()) + 1
        return (
            "segmentation",
            f"task='auto': (N, C, H, W) inputs with (N, H, W) integer masks: segmentation, {k} classes",
        )
    if y.dim() == 2 and y.shape[1] > 1:
        return "multilabel", f"task='auto': targets of shape (N, {y.shape[1]}): multi-label, {y.shape[1]} labels"
    v = torch.unique(y.double().reshape(-1))
    integral = bool(torch.all(v == v.round()))
    if len(v) > 2 and (not integral or y.is_floating_point()):
        return "regression", (
            f"task='auto': the target holds {len(v)} distinct "
            + ("non-integer " if not integral else "")
            + "numbers: regression (pass task='multiclass' to treat them as classes)"
        )
    if len(v) <= 2:
        return "binary", "task='auto': a target with two values: binary"
    return "multiclass", (
        f"task='auto': integer targets with {len(v)} values: multi-class "
        "(pass task='regression' to fit them as numbers)"
    )


def user_problem(
    train, val, test=None, *, task: str = "auto", classes=None, name: str = "your data", device="cpu"
) -> tuple:
    """``(Problem, sentence)`` from the Python API's ``train``/``val``/``test`` (``(X, y)`` or DataLoaders).

    The split is the user's: it is the same for every seed. A regression target is standardised with
    the training mean and sd for training (scored in its own units); inputs are used as given.
    """
    train, val = _pair(train, "train"), _pair(val, "val")
    test = _pair(test, "test") if test is not None else None
    if _is_loader(train):
        x0, y_tr = _loader_arrays(train)
    else:
        x0, y_tr = (
            torch.as_tensor(np.asarray(train[0]) if not isinstance(train[0], torch.Tensor) else train[0]),
            torch.as_tensor(np.asarray(train[1]) if not isinstance(train[1], torch.Tensor) else train[1]),
        )
    kinds = ("binary", "multiclass", "multilabel", "regression", "segmentation")
    if task == "auto":
        task, why = detect_kind(x0, y_tr)
    elif task not in kinds:
        raise DataError(f"task must be 'auto' or one of {', '.join(kinds)}; got {task!r}")
    else:
        why = f"task={task!r}"
    if task in ("binary", "multilabel"):
        bad = torch.unique(y_tr.double())
        if not bool(torch.all((bad == 0) | (bad == 1))):
            raise DataError(f"a {task} target must hold 0/1 values; the training targets hold {bad[:6].tolist()}")
    if task in ("multiclass", "segmentation") and (
        y_tr.is_floating_point() and not bool(torch.all(y_tr == y_tr.round()))
    ):
        raise DataError(f"a {task} target must hold class indices; the training targets are not integers")
    if task in ("multiclass", "segmentation") and int(y_tr.min()) < 0:
        raise DataError(f"a {task} target must hold class indices >= 0; the training targets hold {int(y_tr.min())}")
    if task == "multilabel":
        n = y_tr.shape[1]
    elif task in ("multiclass", "segmentation"):
        n = int(y_tr.max()) + 1
    else:
        n = 2 if task == "binary" else 0
    if classes is not None:
        classes = [str(c) for c in classes]
        if task != "regression" and len(classes) < n:
            raise DataError(f"classes names {len(classes)} classes but the targets hold {n}")
        n = len(classes)
    elif task == "binary":
        classes = ["0", "1"]
    elif task == "multilabel":
        classes = [f"label {j}" for j in range(n)]
    elif task != "regression":
        classes = [str(k) if task == "multiclass" else ("background" if k == 0 else f"class {k}") for k in range(n)]
    else:
        classes = []
    scale = (0.0, 1.0)
    steps = [why]
    if task == "regression":
        yt = y_tr.double()
        scale = (float(yt.mean()), float(yt.std(unbiased=False)) or 1.0)
        steps.append(
            f"standardised the target with the training mean {scale[0]:.4g} and standard deviation "
            f"{scale[1]:.4g} for training; predictions are scored in the target's own units"
        )
    steps.append("inputs used as given (no preparation)")

    def y_transform(y):
        y = y.float() if task in ("regression", "multilabel") else y.long() if task != "binary" else y.float()
        if task == "regression":
            y = (y - scale[0]) / scale[1]
        elif task == "binary":
            y = y.reshape(-1)
        return y

    def part(data):
        if _is_loader(data):
            return LoaderPart(data, y_transform, device)
        X, y = _tensors(*data, task)
        return ArrayPart(X, y_transform(y))

    p_tr, p_va = part(train), part(val)
    p_te = part(test) if test is not None else p_va
    y_train = p_tr.targets()
    prob = Problem(
        name,
        task,
        classes,
        p_tr,
        p_va,
        p_te,
        y_train,
        p_va.targets(),
        p_te.targets(),
        _counts(task, y_train.astype(np.int64) if task not in ("regression",) else y_train, n),
        tuple(x0.shape[1:]),
        steps,
        "",
        scale,
        test is None,
    )
    if test is None:
        prob.note = (
            "no test split given: the metrics are on the validation split, which also chose the epoch, the "
            "threshold and the temperature, so they are optimistic; pass test= for an unbiased score"
        )
    return prob, why
