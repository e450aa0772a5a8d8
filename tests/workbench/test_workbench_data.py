"""Workbench data: bundled datasets, CSV loading and its error messages, the split."""

import numpy as np
import pytest

from losskit.workbench.data import BUILTIN, DataError, load_builtin, load_csv, split


def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("name", list(BUILTIN))
def test_builtin_datasets(name):
    ds = load_builtin(name)
    assert ds.X.dtype == np.float64 and ds.X.shape[0] == ds.y.shape[0]
    assert set(np.unique(ds.y)) == set(range(ds.n_classes))
    assert "UCI" in ds.license and "CC BY 4.0" in ds.license and ds.source
    if name == "digits-9":
        share = ds.y.mean()
        assert ds.task == "binary" and 0.09 < share < 0.11 and ds.classes[1] == "9"
    if name == "digits":
        assert ds.task == "multiclass" and ds.n_classes == 10
    if name == "digits-8-rare":
        assert ds.task == "binary" and ds.classes == ["not 8", "8"] and ds.train_positive_keep == 0.3
        assert 0.09 < ds.y.mean() < 0.11  # the dataset itself is natural; only the training split is thinned
    else:
        assert ds.train_positive_keep is None


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


def test_csv_binary_with_text_labels(tmp_path):
    rows = "\n".join(f"{i},{i % 7 * 0.5},{'yes' if i % 3 == 0 else 'no'}" for i in range(30))
    ds = load_csv(_write(tmp_path, "a,b,label\n" + rows + "\n"), "label")
    assert ds.task == "binary" and ds.classes == ["no", "yes"] and ds.feature_names == ["a", "b"]
    assert ds.y.sum() == 10 and ds.X.shape == (30, 2)
    flipped = load_csv(_write(tmp_path, "a,b,label\n" + rows + "\n"), "label", positive="no")
    assert flipped.classes == ["yes", "no"] and flipped.y.sum() == 20


def test_csv_numeric_labels_sort_numerically_and_multiclass(tmp_path):
    rows = "\n".join(f"{i};{[2, 10, -1][i % 3]}" for i in range(30))
    ds = load_csv(_write(tmp_path, "x;y\n" + rows + "\n"), "y")
    assert ds.classes == ["-1", "2", "10"] and ds.task == "multiclass"


@pytest.mark.parametrize(
    "text, target, match",
    [
        ("a,b\n1,0\n", "c", r"--target 'c': no such column in .*; columns are: a, b"),
        ("a,b\n" + "1,0\n" * 10, "b", r"target column 'b' has only one class \('0'\)"),
        ("a,b,c\n" + "1,x,0\n2,y,1\n" * 5, "c", r"1 feature column\(s\) are not numeric: 'b' \(e\.g\. 'x' on line 2\)"),
        (
            "a,b,c,y\n" + "1,2,3,0\n" * 4 + "1,,3,1\nnan,2,NA,0\n" + "1,2,3,1\n" * 4,
            "y",
            r"3 missing or non-finite value\(s\) \(NaN/empty/inf\) in 3 column\(s\): 'a' \(1\), 'b' \(1\), 'c' \(1\); "
            r"on lines 6, 7 of",
        ),
        ("a,y\n" + "1,0\n" * 6 + "2,1\n" * 2, "y", r"class\(es\) '1' \(2\) have fewer than 5 rows"),
        ("a,y\n" + "".join(f"{i},{i * 0.37}\n" for i in range(200)), "y", "looks continuous"),
        ("a,y\n1,0\n2\n", "y", r"1 row\(s\) do not have 2 fields like the header \(lines 3\)"),
        ("", "y", "the file is empty"),
        ("a,y\n", "y", "only a header row"),
        ("y\n0\n1\n", "y", "no feature columns"),
        ("a,y\n" + "1,0\n" * 5 + "1,\n" + "2,1\n" * 5, "y", r"target column 'y' has 1 missing value\(s\) on lines 7"),
    ],
)
def test_csv_errors_say_what_and_where(tmp_path, text, target, match):
    with pytest.raises(DataError, match=match):
        load_csv(_write(tmp_path, text), target)


def test_csv_missing_file_and_bad_positive(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(str(tmp_path / "nope.csv"), "y")
    path = _write(tmp_path, "a,y\n" + "1,0\n2,1\n" * 5)
    with pytest.raises(DataError, match=r"--positive '7' is not a label of 'y'; labels are \['0', '1'\]"):
        load_csv(path, "y", positive="7")
