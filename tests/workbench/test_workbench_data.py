"""Workbench data: bundled datasets of every kind, tables read with pandas and prepared with scikit-learn, the split."""

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from losskit.workbench import data as wd
from losskit.workbench.data import BUILTIN, DataError, load_builtin, load_table, split


def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_datasets(name):
    ds = load_builtin(name)
    assert ds.X.shape[0] == ds.y.shape[0] and ds.source and ds.license
    assert "nothing is downloaded" in ds.license
    if ds.kind in ("binary", "multiclass"):
        assert set(np.unique(ds.y)) == set(range(ds.n_classes))
        assert "UCI" in ds.license and "CC BY 4.0" in ds.license
    if name == "digits-9":
        assert ds.task == "binary" and 0.09 < ds.y.mean() < 0.11 and ds.classes[1] == "9"
    if name == "digits":
        assert ds.task == "multiclass" and ds.n_classes == 10
    if name == "digits-8-rare":
        assert ds.task == "binary" and ds.classes == ["not 8", "8"] and ds.train_positive_keep == 0.3
        assert 0.09 < ds.y.mean() < 0.11  # the dataset itself is natural; only the training split is thinned
    else:
        assert ds.train_positive_keep is None
    if name == "digit-attributes":
        assert ds.kind == "multilabel" and ds.y.shape == (1797, 5) and ds.classes[0] == "loop"
        from sklearn.datasets import load_digits

        digit = load_digits().target
        np.testing.assert_array_equal(ds.y[:, 1], digit % 2 == 0)  # "even"
        np.testing.assert_array_equal(ds.y[:, 4], digit == 0)  # "zero": the rare label
    if name == "diabetes":
        assert ds.kind == "regression" and ds.X.shape == (442, 10) and ds.y.min() == 25 and ds.y.max() == 346
        assert "Efron" in ds.source
    if name == "digit-mosaics":
        assert ds.kind == "segmentation" and ds.X.shape == (450, 1, 16, 16) and ds.y.shape == (450, 16, 16)
        assert ds.classes == ["background", "0", "1", "2", "3", "4"]
        assert 0.75 < (ds.y == 0).mean() < 0.9  # background dominant
        strokes = ds.X[:, 0] >= wd.STROKE / 16
        np.testing.assert_array_equal(ds.y > 0, strokes)  # stroke pixels, and only those, are labelled
        assert set(np.unique(ds.y)) == set(range(6))


def test_every_kind_has_a_bundled_dataset():
    assert wd.TASK_DATASETS == {
        "binary": "digits-8-rare",
        "multiclass": "digits",
        "multilabel": "digit-attributes",
        "regression": "diabetes",
        "segmentation": "digit-mosaics",
    }
    for kind, name in wd.TASK_DATASETS.items():
        assert load_builtin(name).kind == kind


def test_default_datasets_are_bundled():
    from losskit.workbench.data import DEFAULT_DATASETS

    assert DEFAULT_DATASETS == ("digits-8-rare", "digits") and all(n in BUILTIN for n in DEFAULT_DATASETS)


def test_rare_split_thins_only_the_training_positives():
    ds = load_builtin("digits-8-rare")
    plain = load_builtin("digits-8-rare")
    plain.train_positive_keep = None
    a, b, full = split(ds, 0), split(ds, 0), split(plain, 0)
    # validation and test are the plain stratified split (the natural ~10% of 8s), row for row
    assert np.array_equal(a.y_val, full.y_val) and np.array_equal(a.y_test, full.y_test)
    assert 0.09 < a.y_test.mean() < 0.11
    # training: every negative kept, 31 of the 104 positives (30%, rounded) kept
    assert (a.y_train == 0).sum() == (full.y_train == 0).sum()
    assert full.y_train.sum() == 104 and a.y_train.sum() == 31
    assert a.sizes() == {"train": 1004, "validation": 360, "test": 360}
    assert a.note.startswith("training split: 31 of its 104 '8' rows kept at random (seed 0), 73 dropped")
    assert "3.1% positives" in a.note and full.note == ""
    # standardised on the thinned training part; the same seed draws the same rows, another seed others
    np.testing.assert_allclose(a.X_train.mean(0), 0, atol=1e-9)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(split(ds, 1).y_test, a.y_test)


def test_train_positive_keep_is_checked():
    ds = load_builtin("wine")
    ds.train_positive_keep = 0.5
    with pytest.raises(DataError, match="train_positive_keep applies to binary data"):
        split(ds, 0)
    ds = load_builtin("breast-cancer")
    ds.train_positive_keep = 0.0
    with pytest.raises(DataError, match=r"must be in \(0, 1\]; got 0.0"):
        split(ds, 0)


def test_unknown_builtin_lists_the_known_ones():
    with pytest.raises(DataError, match="unknown dataset 'mnist'; bundled datasets: digits-8-rare, digits-9, digits"):
        load_builtin("mnist")


def test_split_is_stratified_standardised_and_seeded():
    ds = load_builtin("digits-9")
    a, b, c = split(ds, 0), split(ds, 0), split(ds, 1)
    assert a.sizes() == {"train": 1077, "validation": 360, "test": 360}
    for part in (a.y_train, a.y_val, a.y_test):
        assert abs(part.mean() - ds.y.mean()) < 0.01
    np.testing.assert_allclose(a.X_train.mean(0), 0, atol=1e-9)
    std = a.X_train.std(0)
    assert np.all((np.abs(std - 1) < 1e-9) | (std == 0))  # constant pixels stay 0
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.X_test, c.X_test)
    assert "standardised the 64 numeric features" in a.steps[0] and "constant in training" in a.steps[0]


def test_regression_split_standardises_the_target_on_training_only():
    ds = load_builtin("diabetes")
    sp = split(ds, 0)
    loc, scale = sp.y_scale
    np.testing.assert_allclose(sp.y_train.mean(), 0, atol=1e-9)
    np.testing.assert_allclose(sp.y_train.std(), 1, atol=1e-9)
    assert abs(loc - 152) < 10 and 60 < scale < 90
    assert any("standardised the target" in s for s in sp.steps)


def test_segmentation_split_keeps_images_and_masks():
    sp = split(load_builtin("digit-mosaics"), 0)
    assert sp.X_train.shape[1:] == (1, 16, 16) and sp.y_train.shape[1:] == (16, 16)
    assert sp.sizes() == {"train": 270, "validation": 90, "test": 90}


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
def test_csv_binary_with_text_labels(tmp_path):
    rows = "\n".join(f"{i},{i % 7 * 0.5},{'yes' if i % 3 == 0 else 'no'}" for i in range(30))
    ds = load_table(_write(tmp_path, "a,b,label\n" + rows + "\n"), "label")
    assert ds.task == "binary" and ds.classes == ["no", "yes"] and ds.feature_names == ["a", "b"]
    assert ds.y.sum() == 10 and ds.X.shape == (30, 2)
    flipped = load_table(_write(tmp_path, "a,b,label\n" + rows + "\n"), "label", positive="no")
    assert flipped.classes == ["yes", "no"] and flipped.y.sum() == 20


def test_csv_numeric_labels_sort_numerically_and_multiclass(tmp_path):
    rows = "\n".join(f"{i};{[2, 10, -1][i % 3]}" for i in range(30))
    ds = load_table(_write(tmp_path, "x;y\n" + rows + "\n"), "y")
    assert ds.classes == ["-1", "2", "10"] and ds.task == "multiclass"
    assert "semicolon-separated" in ds.steps[0]


def test_continuous_target_is_regression_and_says_so(tmp_path):
    path = _write(tmp_path, "a,y\n" + "".join(f"{i},{i * 0.37}\n" for i in range(200)))
    ds = load_table(path, "y")
    assert ds.kind == "regression" and ds.classes == [] and ds.y.dtype == np.float64
    assert any("200 distinct numeric values, not all integers: regression (task='auto'" in s for s in ds.steps)
    # an explicit task wins: integer codes read as classes unless told otherwise
    ints = _write(tmp_path, "a,y\n" + "".join(f"{i},{i % 4}\n" for i in range(40)), "ints.csv")
    assert load_table(ints, "y").kind == "multiclass" and load_table(ints, "y", task="regression").kind == "regression"


def test_header_is_detected_and_columns_named_by_position(tmp_path):
    path = _write(tmp_path, "".join(f"{i},{i % 5},{i % 2}\n" for i in range(40)))
    ds = load_table(path, "3")
    assert ds.feature_names == ["c1", "c2"] and ds.kind == "binary" and len(ds.y) == 40  # the first row is data
    assert "no header row" in ds.steps[0]
    with pytest.raises(DataError, match=r"--target 'y': no such column .*no header row.*columns are: c1, c2, c3"):
        load_table(path, "y")
    assert load_table(path, "c3", header="no").feature_names == ["c1", "c2"]


def test_compressed_csv(tmp_path):
    p = tmp_path / "d.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(30)))
    ds = load_table(str(p), "y")
    assert ds.name == "d" and ds.X.shape == (30, 2) and ds.kind == "binary"


def test_decimal_comma_is_named_and_read_with_decimal(tmp_path):
    text = "a;b;y\n" + "".join(f"{i},5;{i % 3},25;{i % 2}\n" for i in range(30))
    path = _write(tmp_path, text)
    with pytest.raises(
        DataError,
        match=r"column 'a' holds numbers with a decimal comma \(e\.g\. '0,5'\); read the "
        r"file with --decimal ,",
    ):
        load_table(path, "y")
    ds = load_table(path, "y", decimal=",")
    np.testing.assert_allclose(ds.X["a"].to_numpy()[:3], [0.5, 1.5, 2.5])


def test_text_features_are_one_hot_encoded_and_missing_values_imputed_on_training(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "city": rng.choice(["Paris", "Rome", "Oslo"], n),
            "id": [f"user{i}" for i in range(n)],
            "y": rng.integers(0, 2, n),
        }
    )
    df.loc[:9, "age"] = np.nan
    df.loc[10:14, "city"] = np.nan
    path = str(tmp_path / "t.csv")
    df.to_csv(path, index=False)
    ds = load_table(path, "y")
    assert list(ds.X.columns) == ["age", "city"]
    assert any("dropped text column 'id': 200 distinct values" in s for s in ds.steps)
    sp = split(ds, 0)
    # median imputation + a 'was missing' indicator, then standardisation; city one-hot: 1 + 1 + 3 columns
    assert sp.X_train.shape[1] == 5 and np.isfinite(sp.X_train).all() and np.isfinite(sp.X_test).all()
    text = " ".join(sp.steps)
    assert "imputed missing numeric values with the training median" in text and "age (" in text
    assert "one-hot encoded text column(s) city (3 categories)" in text
    onehot = sp.X_train[:, 2:]
    assert set(np.unique(onehot)) <= {0.0, 1.0} and np.all(onehot.sum(1) == 1)
    # the transformers are fitted on training rows only: the numeric column is standardised on them
    np.testing.assert_allclose(sp.X_train[:, 0].mean(), 0, atol=1e-9)


def test_features_drop_and_max_rows(tmp_path):
    rng = np.random.default_rng(1)
    n = 1000
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.normal(size=n),
            "y": (rng.random(n) < 0.1).astype(int),
        }
    )
    path = str(tmp_path / "m.csv")
    df.to_csv(path, index=False)
    assert load_table(path, "y", features=["a", "c"]).feature_names == ["a", "c"]
    assert load_table(path, "y", drop=["b"]).feature_names == ["a", "c"]
    sub = load_table(path, "y", max_rows=200)
    assert len(sub.y) == 200 and abs(sub.y.mean() - df.y.mean()) < 0.01  # stratified
    assert any(
        "subsampled 200 of 1000 rows at random (--max-rows, stratified by class, seed 0)" in s for s in sub.steps
    )
    with pytest.raises(DataError, match=r"--features 'z': no such column"):
        load_table(path, "y", features=["z"])
    with pytest.raises(DataError, match="--drop names the target"):
        load_table(path, "y", drop=["y"])


def test_several_target_columns_are_multilabel(tmp_path):
    rows = "".join(f"{i},{i % 2},{'yes' if i % 3 else 'no'}\n" for i in range(30))
    ds = load_table(_write(tmp_path, "x,a,b\n" + rows), "a,b")
    assert ds.kind == "multilabel" and ds.classes == ["a", "b"] and ds.y.shape == (30, 2)
    np.testing.assert_array_equal(ds.y[:, 1], [1 if i % 3 else 0 for i in range(30)])
    with pytest.raises(DataError, match="multi-label target 'x' has 30 distinct values"):
        load_table(_write(tmp_path, "x,a,b\n" + rows, "x.csv"), "x,a")


def test_rows_without_target_are_dropped_and_stated(tmp_path):
    ds = load_table(_write(tmp_path, "a,y\n" + "1,0\n" * 5 + "1,\n" + "2,1\n" * 5), "y")
    assert len(ds.y) == 10 and any("dropped 1 row(s) with no target value (lines 7)" in s for s in ds.steps)


@pytest.mark.parametrize(
    "text, target, match",
    [
        ("a,b\n1,0\n", "c", r"--target 'c': no such column in .*; columns are: a, b"),
        ("a,b\n" + "1,0\n" * 10, "b", r"target column 'b' has only one class \('0'\)"),
        ("a,y\n" + "1,0\n" * 6 + "2,1\n" * 2, "y", r"class\(es\) '1' \(2\) have fewer than 5 rows"),
        ("a,y\n1,0\n2,1,5\n", "y", r"cannot parse it as a table \(line 3 has 3 fields, the lines before it 2\)"),
        ("", "y", "the file is empty"),
        ("a,y\n", "y", "only a header row"),
        ("y\n" + "0\n1\n" * 5, "y", "no usable feature columns"),
        ("a,y\n" + "1,\n" * 6, "y", r"target column\(s\) y: every value is missing"),
        ("a,y\n" + "".join(f"{i},id{i}\n" for i in range(150)), "y", "150 distinct text values; it looks like an ID"),
    ],
)
def test_table_errors_say_what_and_where(tmp_path, text, target, match):
    with pytest.raises(DataError, match=match):
        load_table(_write(tmp_path, text), target)


def test_missing_file_directory_and_bad_positive(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_table(str(tmp_path / "nope.csv"), "y")
    with pytest.raises(DataError, match="is a directory"):
        load_table(str(tmp_path), "y")
    path = _write(tmp_path, "a,y\n" + "1,0\n2,1\n" * 5)
    with pytest.raises(DataError, match=r"--positive '7' is not a label of 'y'; labels are \['0', '1'\]"):
        load_table(path, "y", positive="7")


def test_latin1_file_is_read_and_stated(tmp_path):
    p = tmp_path / "l.csv"
    p.write_bytes(
        ("a,ville,y\n" + "".join(f"{i},{'Besançon' if i % 2 else 'Nîmes'},{i % 2}\n" for i in range(20))).encode(
            "latin-1"
        )
    )
    ds = load_table(str(p), "y")
    assert "the file is not UTF-8: read as Latin-1" in ds.steps and set(ds.X["ville"]) == {"Besançon", "Nîmes"}


# --------------------------------------------------------------------------------------------
# the user's data in the Python API
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, y, kind, says",
    [
        (torch.randn(20, 3), torch.randint(0, 2, (20,)), "binary", "two values"),
        (torch.randn(20, 3), torch.arange(20) % 4, "multiclass", "integer targets with 4 values"),
        (torch.randn(20, 3), torch.randn(20), "regression", "20 distinct non-integer numbers: regression"),
        (torch.randn(20, 3), torch.randint(0, 2, (20, 5)).float(), "multilabel", "(N, 5): multi-label"),
        (torch.randn(20, 1, 4, 4), torch.randint(0, 3, (20, 4, 4)), "segmentation", "segmentation, 3 classes"),
    ],
)
def test_task_auto_detects_the_kind_and_says_why(x, y, kind, says):
    got, why = wd.detect_kind(x, y)
    assert got == kind and says in why


def test_user_problem_from_tensors_and_loaders():
    X, y = torch.randn(60, 3), torch.randn(60) * 5 + 10
    prob, why = wd.user_problem((X[:40], y[:40]), (X[40:50], y[40:50]), (X[50:], y[50:]))
    assert prob.kind == "regression" and "regression" in why
    loc, scale = prob.y_scale
    assert abs(loc - float(y[:40].mean())) < 1e-5
    np.testing.assert_allclose(prob.y_test, ((y[50:] - loc) / scale).numpy(), rtol=1e-5)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X[:40], y[:40] > 10), batch_size=16)
    prob, _ = wd.user_problem(loader, (X[40:], y[40:] > 10), task="binary")
    assert prob.kind == "binary" and prob.test_is_val and "no test split given" in prob.note
    assert len(prob.train) == 40 and prob.y_train.dtype == np.float32
    with pytest.raises(DataError, match="must hold 0/1 values"):
        wd.user_problem((X, y), (X, y), task="binary")
    with pytest.raises(DataError, match="X has 60 samples but y has 10"):
        wd.user_problem((X, y[:10]), (X, y))
    with pytest.raises(DataError, match="train must be an \\(X, y\\) pair"):
        wd.user_problem(X, (X, y))
