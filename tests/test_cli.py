"""The ``losskit`` command line: ``list`` and ``compare`` end to end, bad input, seeds."""

import json
import os
import subprocess
import sys

import pytest
import torch

from losskit.cli import main

TINY = ["--epochs", "2", "--seeds", "1", "--no-progress"]


def _compare(tmp_path, *args, out="out"):
    return main(["compare", "--out", str(tmp_path / out), *TINY, *args])


def _metrics(path):
    with open(path) as f:
        data = json.load(f)
    return [[(r["key"], r["metrics"], r["history"]) for r in t["runs"]] for t in data["tasks"]]


def test_list_runs(capsys):
    assert main(["list"]) == 0


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["compare", "--out", str(out), *TINY, "--dataset", "digits-8-rare,wine", "--losses", "bce,focal,ce"])
    return code, out


def test_compare_end_to_end_writes_tables_and_report(tiny_run, capsys):
    code, out = tiny_run
    assert code == 0
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 8  # 4 figures x 2 tasks
    assert "Look at these histograms before choosing a threshold" in html
    assert "sklearn.datasets.load_digits" in html and "CC BY 4.0" in html
    data = json.loads((out / "results.json").read_text())
    assert [t["dataset"] for t in data["tasks"]] == ["digits-8-rare", "wine"]
    assert data["tasks"][0]["split_note"].startswith("training split: 31 of its 104 '8' rows kept")
    assert [r["key"] for r in data["tasks"][0]["runs"]] == ["bce", "focal"]
    assert [r["key"] for r in data["tasks"][1]["runs"]] == ["ce", "focal"]
    assert set(data["tasks"][0]["runs"][0]["metrics"]) >= {"accuracy", "roc_auc", "pr_auc", "ece", "threshold", "f1_tuned"}


def test_compare_prints_a_table_per_task(tmp_path, capsys):
    assert _compare(tmp_path, "--dataset", "wine", "--losses", "ce,smooth-ce") == 0
    out = capsys.readouterr().out
    assert "wine (3 classes" in out and "label-smoothed CE" in out
    for col in ("acc", "macro-F1", "ROC-AUC", "PR-AUC", "log-loss", "ECE", "time"):
        assert col in out.splitlines()[1]
    assert "report: " in out


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    args = ["--dataset", "wine", "--losses", "ce,focal", "--no-report"]
    assert _compare(tmp_path, *args, "--seed", "3", out="a") == 0
    assert _compare(tmp_path, *args, "--seed", "3", out="b") == 0
    assert _compare(tmp_path, *args, "--seed", "4", out="c") == 0
    a, b, c = (_metrics(tmp_path / d / "results.json") for d in "abc")
    assert a == b
    assert a != c
    assert not (tmp_path / "a" / "report.html").exists()


def test_several_seeds_give_mean_sd_and_paired_differences(tmp_path, capsys):
    assert main(["compare", "--out", str(tmp_path / "s"), "--epochs", "1", "--no-progress", "--no-report",
                 "--dataset", "wine", "--losses", "ce,focal", "--seed", "2", "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    assert "mean and sd over 3 seeds (2-4)" in out and "difference from CE, paired by seed" in out
    data = json.loads((tmp_path / "s" / "results.json").read_text())
    assert data["meta"]["seeds"] == [2, 3, 4] and data["tasks"][0]["seeds"] == [2, 3, 4]
    assert [p["seed"] for p in data["tasks"][0]["runs"][0]["per_seed"]] == [2, 3, 4]


def test_default_is_five_seeds_on_the_rare_digit_task():
    from losskit.cli import DEFAULT_SEEDS
    from losskit.workbench.data import DEFAULT_DATASETS

    assert DEFAULT_SEEDS == 5 and DEFAULT_DATASETS[0] == "digits-8-rare"


def test_quick_is_one_seed(tmp_path, capsys):
    assert main(["compare", "--out", str(tmp_path / "q"), "--quick", "--epochs", "1", "--no-progress", "--no-report",
                 "--dataset", "wine", "--losses", "ce"]) == 0
    data = json.loads((tmp_path / "q" / "results.json").read_text())
    assert data["meta"]["seeds"] == [0] and "difference from" not in capsys.readouterr().out


def test_compare_on_a_csv(tmp_path, capsys):
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    lines = [",".join(list(d.feature_names[:5]) + ["diagnosis"])]
    for x, y in zip(d.data[:200, :5], d.target[:200]):
        lines.append(",".join(f"{v:g}" for v in x) + "," + ("benign" if y else "malignant"))
    path = tmp_path / "cancer.csv"
    path.write_text("\n".join(lines) + "\n")
    code = _compare(tmp_path, "--data", str(path), "--target", "diagnosis", "--positive", "malignant",
                    "--losses", "bce,weighted-bce")
    assert code == 0
    out = capsys.readouterr().out
    assert "cancer (binary, positive class 'malignant'" in out and "weighted BCE" in out


def _bad(tmp_path, capsys, *args):
    code = main(["compare", "--out", str(tmp_path / "o"), *TINY, *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("losskit compare: error: ")
    return err


def test_bad_input_missing_file(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "nope.csv"), "--target", "y")
    assert "nope.csv: no such file" in err


def test_bad_input_missing_column(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,b\n1,0\n")
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "label")
    assert "--target 'label': no such column" in err and "columns are: a, b" in err


def test_bad_input_one_class(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,y\n" + "1,yes\n" * 8)
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "y")
    assert "has only one class ('yes')" in err


def test_bad_input_non_numeric_features_are_named(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("age,city,colour,y\n" + "1,Paris,red,0\n2,Rome,blue,1\n" * 5)
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "y")
    assert "2 feature column(s) are not numeric: 'city' (e.g. 'Paris' on line 2); 'colour'" in err


def test_bad_input_nans_are_counted_and_located(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,b,y\n" + "1,2,0\n2,3,1\n" * 4 + "nan,2,0\n3,,1\n")
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "y")
    assert "2 missing or non-finite value(s)" in err and "'a' (1), 'b' (1)" in err and "lines 10, 11" in err


def test_bad_input_unknown_loss_lists_known(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--losses", "bce,focl")
    assert "unknown loss name(s) 'focl' (did you mean 'focal'?)" in err
    assert "known losses: bce, weighted-bce, focal" in err


def test_bad_input_losses_that_fit_no_task(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--dataset", "digits", "--losses", "bce")
    assert "none of --losses apply" in err and "multiclass tasks take ce, focal, poly1, smooth-ce" in err


@pytest.mark.parametrize(
    "args, match",
    [
        (["--data", "x.csv"], "--data needs --target"),
        (["--target", "y"], "--target needs --data"),
        (["--epochs", "0"], "--epochs must be >= 1; got 0"),
        (["--seeds", "0"], "--seeds must be >= 1; got 0"),
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    ],
)
def test_bad_arguments(tmp_path, capsys, args, match):
    assert match in _bad(tmp_path, capsys, *args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_unavailable_is_a_clear_error(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--device", "cuda")
    assert "--device cuda: CUDA is not available" in err and "use --device cpu" in err


def test_console_exit_code_and_stderr(tmp_path):
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "losskit", "compare", "--losses", "nope", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2 and "unknown loss name(s) 'nope'" in proc.stderr and proc.stdout == ""


def test_explain_is_wired_when_present(capsys):
    explain = pytest.importorskip("losskit.explain")
    if not hasattr(explain, "add_arguments"):
        pytest.skip("losskit.explain has no command line yet")
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--help"])
    assert exc.value.code == 0 and "explain" in capsys.readouterr().out
