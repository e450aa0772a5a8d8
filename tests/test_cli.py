"""The ``losskit`` command line: ``list``, ``--version`` and ``compare`` end to end, bad input, interruption, pipes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from losskit.cli import main

TINY = ["--epochs", "2", "--seeds", "1", "--no-progress", "--workers", "1"]
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _compare(tmp_path, *args, out="out"):
    return main(["compare", "--out", str(tmp_path / out), *TINY, *args])


def _metrics(path):
    with open(path) as f:
        data = json.load(f)
    return [
        [(r["key"], r["per_seed"][0]["metrics"], r["per_seed"][0]["history"]) for r in t["runs"]] for t in data["tasks"]
    ]


def test_list_and_version(capsys):
    assert main(["list"]) == 0
    assert "cross_entropy" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    from losskit import __version__

    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"losskit {__version__}"


def test_cli_defaults_are_the_train_config():
    import argparse

    from losskit.cli import _compare_parser, _config
    from losskit.workbench.train import TrainConfig

    p = _compare_parser(argparse.ArgumentParser().add_subparsers())
    cfg = _config(p.parse_args([]))
    assert cfg == TrainConfig()
    quick = _config(p.parse_args(["--quick"]))
    assert (quick.epochs, quick.seeds) == (8, 1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["compare", "--out", str(out), *TINY, "--dataset", "digits-8-rare,wine", "--losses", "bce,focal,ce"])
    return code, out


def test_compare_end_to_end_writes_tables_and_report(tiny_run):
    code, out = tiny_run
    assert code == 0
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 11  # 6 figures for the binary task, 5 for the multi-class one
    assert "A loss that pushes probabilities up or down" in html
    assert "sklearn.datasets.load_digits" in html and "CC BY 4.0" in html
    data = json.loads((out / "results.json").read_text())
    assert [t["task"] for t in data["tasks"]] == ["digits-8-rare", "wine"]
    assert data["tasks"][0]["splits"][0]["note"].startswith("training split: 31 of its 104 '8' rows kept")
    assert [r["key"] for r in data["tasks"][0]["runs"]] == ["bce", "focal"]
    assert [r["key"] for r in data["tasks"][1]["runs"]] == ["ce", "focal"]
    assert set(data["tasks"][0]["runs"][0]["per_seed"][0]["metrics"]) >= {
        "accuracy",
        "roc_auc",
        "pr_auc",
        "ece",
        "threshold",
        "f1_tuned",
        "epoch",
    }
    assert (out / "results.csv").read_text().startswith("task,kind,loss,display,seed,metric,value")


def test_compare_prints_a_table_per_task(tmp_path, capsys):
    assert _compare(tmp_path, "--dataset", "wine", "--losses", "ce,smooth-ce", "--no-report") == 0
    out = capsys.readouterr().out
    assert "wine (3 classes" in out and "label-smoothed CE" in out
    for col in ("acc", "macro-F1", "ROC-AUC", "PR-AUC", "log-loss", "ECE", "epoch", "time"):
        assert col in out.splitlines()[1]
    assert "What this shows: One seed only" in out and "report: " in out


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
    assert (
        main(
            [
                "compare",
                "--out",
                str(tmp_path / "s"),
                "--epochs",
                "1",
                "--no-progress",
                "--no-report",
                "--dataset",
                "wine",
                "--losses",
                "ce,focal",
                "--seed",
                "2",
                "--seeds",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "mean and sd over 3 seeds (2-4)" in out and "difference from CE, paired by seed" in out
    data = json.loads((tmp_path / "s" / "results.json").read_text())
    assert data["meta"]["seeds"] == [2, 3, 4] and data["tasks"][0]["seeds"] == [2, 3, 4]
    assert [p["seed"] for p in data["tasks"][0]["runs"][0]["per_seed"]] == [2, 3, 4]


def test_default_is_five_seeds_on_the_rare_digit_task():
    from losskit.workbench.data import DEFAULT_DATASETS
    from losskit.workbench.train import TrainConfig

    assert TrainConfig().seeds == 5 and DEFAULT_DATASETS[0] == "digits-8-rare"


def test_losses_sweep_from_the_command_line(tmp_path):
    assert _compare(tmp_path, "--dataset", "breast-cancer", "--losses", "bce,focal:gamma=0.5|2", "--no-report") == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["display"] for r in data["tasks"][0]["runs"]] == ["BCE", "focal (gamma=0.5)", "focal (gamma=2)"]


@pytest.mark.parametrize("task, first", [("regression", "mse"), ("multilabel", "bce"), ("segmentation", "ce")])
def test_task_runs_its_bundled_dataset(tmp_path, task, first):
    args = ["--task", task, "--no-report", "--epochs", "1"]
    if task == "segmentation":
        args += ["--losses", "ce,dice,ce+dice"]
    assert _compare(tmp_path, *args) == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    t = data["tasks"][0]
    assert t["kind"] == task and t["runs"][0]["key"] == first


def test_compare_on_a_csv(tmp_path, capsys):
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    lines = [",".join([*d.feature_names[:5], "diagnosis"])]
    for x, y in zip(d.data[:200, :5], d.target[:200], strict=True):
        lines.append(",".join(f"{v:g}" for v in x) + "," + ("benign" if y else "malignant"))
    path = tmp_path / "cancer.csv"
    path.write_text("\n".join(lines) + "\n")
    code = _compare(
        tmp_path,
        "--data",
        str(path),
        "--target",
        "diagnosis",
        "--positive",
        "malignant",
        "--losses",
        "bce,weighted-bce",
        "--no-report",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "cancer (binary, positive class 'malignant'" in out and "weighted BCE" in out


def test_compare_on_a_regression_csv_with_text_and_gaps(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["size,city,price"]
    for i in range(150):
        size = "" if i % 17 == 0 else f"{rng.uniform(20, 200):.1f}"
        rows.append(f"{size},{['Paris', 'Lyon', 'Nice'][i % 3]},{rng.uniform(100, 900):.2f}")
    (tmp_path / "h.csv").write_text("\n".join(rows) + "\n")
    assert _compare(tmp_path, "--data", str(tmp_path / "h.csv"), "--target", "price", "--losses", "mse,l1") == 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "150 distinct numeric values, not all integers: regression" in html
    assert "one-hot encoded text column(s) city (3 categories)" in html and "imputed missing numeric values" in html


def _bad(tmp_path, capsys, *args):
    code = main(["compare", "--out", str(tmp_path / "o"), *TINY, *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("losskit compare: error: ") and err.count("\n") == 1  # one line
    return err


def test_bad_input_missing_file(tmp_path, capsys):
    assert "nope.csv: no such file" in _bad(tmp_path, capsys, "--data", str(tmp_path / "nope.csv"), "--target", "y")


def test_bad_input_missing_column(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,b\n1,0\n")
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "label")
    assert "--target 'label': no such column" in err and "columns are: a, b" in err


def test_bad_input_one_class(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,y\n" + "1,yes\n" * 8)
    assert "has only one class ('yes')" in _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "y")


def test_bad_input_decimal_comma_names_the_fix(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a;y\n" + "".join(f"{i},5;{i % 2}\n" for i in range(20)))
    err = _bad(tmp_path, capsys, "--data", str(tmp_path / "d.csv"), "--target", "y")
    assert "decimal comma" in err and "--decimal ," in err


def test_bad_input_unknown_loss_lists_known(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--losses", "bce,focl")
    assert "unknown loss name 'focl' (did you mean 'focal'?)" in err and "known losses: bce, weighted-bce, focal" in err


def test_bad_input_losses_that_fit_no_task(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--dataset", "digits", "--losses", "bce")
    assert "none of --losses apply" in err and "multiclass tasks take ce, focal, poly1, smooth-ce" in err


def test_bad_loss_option_is_caught_before_training(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--dataset", "wine", "--losses", "focal:gamma=-1")
    assert "loss 'focal:gamma=-1' (focal_loss) cannot run on this data" in err


@pytest.mark.parametrize(
    "args, match",
    [
        (["--data", "x.csv"], "--data needs --target"),
        (["--target", "y"], "--target needs --data"),
        (["--max-rows", "10"], "--max-rows needs --data"),
        (["--epochs", "0"], "--epochs must be >= 1; got 0"),
        (["--seeds", "0"], "--seeds must be >= 1; got 0"),
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["--dataset", "wine", "--task", "regression"], "--task regression: wine (multiclass) is another kind"),
    ],
)
def test_bad_arguments(tmp_path, capsys, args, match):
    assert match in _bad(tmp_path, capsys, *args)


def test_out_is_checked_before_training(tmp_path, capsys):
    (tmp_path / "o").write_text("a file")
    err = _bad(tmp_path, capsys, "--dataset", "wine")
    assert "--out" in err and "exists and is not a directory" in err
    assert capsys.readouterr().out == ""  # nothing trained, nothing printed


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_unavailable_is_a_clear_error(tmp_path, capsys):
    err = _bad(tmp_path, capsys, "--device", "cuda")
    assert "--device cuda: CUDA is not available" in err and "use --device cpu" in err


def test_console_exit_code_and_stderr(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "losskit", "compare", "--losses", "nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert proc.returncode == 2 and "unknown loss name 'nope'" in proc.stderr and proc.stdout == ""
    assert "Traceback" not in proc.stderr


def test_log_lines_when_not_a_terminal(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "losskit",
            "compare",
            "--dataset",
            "wine",
            "--losses",
            "ce,focal",
            "--epochs",
            "2",
            "--seeds",
            "2",
            "--no-report",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("losskit compare: 1 task(s), 4 runs (2 seed(s)) on") and "at most about" in lines[0]
    runs = [ln for ln in lines if "] wine | " in ln]
    assert len(runs) == 4 and all(" | acc " in ln and " | epoch " in ln and ln.endswith("s") for ln in runs)


def test_closed_pipe_is_not_an_error(tmp_path):
    cmd = (
        f"{sys.executable} -m losskit compare --dataset wine --losses ce,focal {' '.join(TINY)} "
        f"--no-report --out {tmp_path} | head -1"
    )
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wine (3 classes") and "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr and (tmp_path / "results.json").exists()


def test_ctrl_c_keeps_what_finished_and_exits_130(tmp_path):
    """SIGINT during training: one line, exit 130, results.json and the report for the seeds that finished."""
    out = tmp_path / "r"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "losskit",
            "compare",
            "--dataset",
            "wine",
            "--losses",
            "ce,focal",
            "--epochs",
            "60",
            "--patience",
            "60",
            "--seeds",
            "40",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    deadline = time.time() + 240
    seen = ""
    while time.time() < deadline:  # wait until at least one (task, seed) group finished
        line = proc.stderr.readline()
        seen += line
        if "] wine | focal | seed" in line:
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=240)
    stderr = seen + stderr
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    last = [ln for ln in stderr.splitlines() if ln.startswith("losskit compare: interrupted")]
    assert len(last) == 1 and "(marked partial)" in last[0]
    data = json.loads((out / "results.json").read_text())
    assert data["partial"] is True and 1 <= len(data["tasks"][0]["seeds"]) < 40
    html = (out / "report.html").read_text()
    assert "Partial results." in html and "PARTIAL: interrupted" in stdout


def test_explain_is_wired(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--help"])
    assert exc.value.code == 0 and "explain" in capsys.readouterr().out
